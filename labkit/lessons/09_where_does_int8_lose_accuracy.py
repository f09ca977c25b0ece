# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 9 — Where does int8 lose accuracy?
#
# Lesson 6 compared float and int8 at the model's output: it told us *whether* int8 costs accuracy, not *where*. When it does, the usual answer is to guess a layer, change it, and try again. Here we measure instead: `labkit.numerics` runs the model three ways on the same inputs and compares them **at every operator** of the compiled graph:
#
# | source | what runs |
# |---|---|
# | `pytorch-float` | the quantized graph with every quantize/dequantize passed through: the float model, operator by operator |
# | `fake-quant-int8` | the same graph as quantized: what the quantizer believes the int8 model computes |
# | `tosa-reference` | the compiled program on the TOSA reference model, with every intermediate tensor of the NPU dumped |
#
# The measure is the **SQNR** (signal-to-quantization-noise ratio) of each operator's output against float, in dB: about 6 dB per bit, so 40 dB means the error is about 1 % of the signal. Where the SQNR falls from one operator to the next, error *enters* there (`sqnr_drop_db`).
#
# Two models trained on scikit-learn's handwritten digits (upsampled to 32×32, 20 % held out) by the seeded scripts in `labkit/data/`:
#
# - **digits_mobilenet**, a small MobileNetV2 (inverted residuals with depthwise convolutions);
# - **digits_vit**, a small vision transformer (16 patches, 2 blocks of self-attention and a GELU MLP, LayerNorm). Transformers are the Ethos-U85's headline feature, and softmax and LayerNorm are where int8 usually hurts most.

# %%
import labkit
import pandas as pd
from labkit.runtime.numerics import by_module
from labkit.views import styled

TARGET = "corstone-320"  # Cortex-M85 + Ethos-U85-256
table = labkit.numerics("digits_mobilenet", TARGET)
labkit.plots.numerics(table)

# %% [markdown]
# Each point is one operator, in execution order (quantize/dequantize nodes hidden); the shaded band is the NPU partition. Hover a point for its module, its source line, and how far the TOSA reference model is from fake-quant in output steps (it should be 0 or 1: the NPU computes what the quantizer predicted). Per module, worst first:

# %%
modules = by_module(table, depth=2).sort_values("largest_drop_db", ascending=False)
styled.numerics_modules(modules.head(6))

# %% [markdown]
# ## Give the worst module 16-bit activations
#
# The module with the largest drop is where int8 hurts most. The Arm quantizer can give one module 16-bit activations (`a16w8`: int16 activations, int8 weights) and leave the rest int8. Measure what that buys and what it costs, on the whole held-out set (360 digits) for accuracy, from the TOSA reference model:

# %%
worst = modules.iloc[0]["module"]
mixed = {"default": "int8", worst: "a16w8"}
print(f"worst module: {worst}  →  quantization {mixed}")

rows = []
for name, quantization in [("int8", "int8"), (f"int8, {worst} a16w8", mixed), ("a16w8", "a16w8")]:
    report = labkit.compile("digits_mobilenet", TARGET, quantization=quantization)
    accuracy = labkit.evaluate("digits_mobilenet", TARGET, quantization=quantization).loc["tosa-reference", "accuracy"]
    rows.append({"quantization": name, "NPU cycles (vela-estimate)": report.summary["npu_cycles"],
                 "SRAM KiB (vela-estimate)": report.summary["sram_kib"],
                 "accuracy (tosa-reference)": accuracy})
pd.DataFrame(rows).set_index("quantization")

# %%
after = labkit.numerics("digits_mobilenet", TARGET, quantization=mixed)


def inside(t):
    return t[t["module"].str.startswith(worst) & t["sqnr_drop_db"].notna()]["sqnr_fake_quant_db"]


print(f"SQNR inside {worst}: int8 {inside(table).min():.1f} dB → with a16w8 {inside(after).min():.1f} dB (fake-quant vs float)")

# %% [markdown]
# 16-bit activations double the activation traffic and halve the MAC array's throughput for those layers, so the cycles go up; whether the accuracy pays for it is the measurement above, not a rule of thumb. A model whose int8 accuracy is already at its float accuracy gains nothing, and the table shows it.
#
# ## The transformer: U55 vs U85, and per scheme
#
# Now the vision transformer, on the Ethos-U55 of Corstone-300 and the U85 of Corstone-320, in int8 and in a16w8, with the held-out accuracy of each compiled program (`accuracy`, tosa-reference over all 360 digits: computed once per TOSA graph, so the same for every NPU of a family, and kept in the cache). Where an NPU cannot run an operator in a scheme, the partitioner leaves it on the CPU (`cpu_ops`); a scheme Vela refuses outright shows its error in the last column.

# %%
schemes = labkit.sweep("digits_vit", ["ethos-u55-128", "ethos-u85-256"], quantization=["int8", "a16w8"])
schemes[["quantization", "accelerator", "npu_cycles", "inference_ms", "sram_kib", "npu_ops", "cpu_ops", "accuracy", "error"]]

# %%
ok = schemes[schemes["error"] == ""].pivot(index="quantization", columns="accelerator", values="npu_cycles")
ok["U55 / U85"] = ok["ethos-u55-128"] / ok["ethos-u85-256"]
ok.round(2)

# %%
labkit.sweep_plots.precision(schemes)

# %% [markdown]
# And where the transformer's int8 error enters (LayerNorm, softmax and GELU are decomposed into several integer operators each; hover the points):

# %%
vit = labkit.numerics("digits_vit", TARGET)
labkit.plots.numerics(vit)

# %%
styled.numerics_modules(by_module(vit, depth=3).sort_values("largest_drop_db", ascending=False).head(6))

# %% [markdown]
# ## In the Lab
#
# The Lab has the same controls: pick a **quantization** scheme, add **overrides** per module (`module=scheme, …`), compile, and open the **Numerics** tab.

# %%
labkit.Lab(model="digits_vit", target="corstone-320")
