# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 10 — What does the NPU buy you?
#
# An Ethos-U never works alone: a Cortex-M runs everything the NPU does not — the input's quantization, the output's dequantization, any operator the partitioner rejected — and it starts each NPU partition. So "is it fast enough?" needs both halves:
#
# * the **NPU**: Vela's estimate, `vela-estimate`;
# * the **CPU**: labkit's Cortex-M cost model, `cortex-m-estimate`, always a **range**. Nothing here can measure a Cortex-M, so labkit fits a per-kernel cost model to cycles measured on real silicon (a Cortex-M55 running MobileNetV2's layers) and says how far it can be trusted.
#
# This lesson compiles the four MLPerf Tiny models three ways: on Corstone-300 (Cortex-M55 + Ethos-U55-128), on Corstone-320 (Cortex-M85 + Ethos-U85-256), and on a **Cortex-M55 alone** (`"cortex-m55"`, a CPU-only target: every operator on CMSIS-NN kernels, no NPU).

# %%
import labkit
import pandas as pd
from IPython.display import display

from labkit import plots
from labkit.cpu import cost_model
from labkit.views import sweep_plots

MODELS = ["ds_cnn", "resnet8", "mobilenet_v1_025", "deep_autoencoder"]
TARGETS = ["corstone-300", "corstone-320", "cortex-m55"]

sweeps = {m: labkit.sweep(m, TARGETS) for m in MODELS}

# %% [markdown]
# ## With and without the NPU
#
# One row per model: the whole inference on each target, as a range (NPU estimate plus the CPU range; a CPU-only target has no NPU part), and the speed-up the NPU gives, from its most pessimistic to its most optimistic reading.

# %%
def whole(df, accelerator):
    row = df[df["accelerator"] == accelerator].iloc[0]
    return row["total_ms_low"], row["total_ms_high"]


rows = []
for model, df in sweeps.items():
    cpu_lo, cpu_hi = whole(df, "cortex-m55")
    u55_lo, u55_hi = whole(df, "ethos-u55-128")
    u85_lo, u85_hi = whole(df, "ethos-u85-256")
    rows.append({"model": model, "Cortex-M55 alone (ms)": f"{cpu_lo:.3g}–{cpu_hi:.3g}",
                 "Corstone-300 (ms)": f"{u55_lo:.3g}–{u55_hi:.3g}", "Corstone-320 (ms)": f"{u85_lo:.3g}–{u85_hi:.3g}",
                 "Ethos-U55 speed-up": f"{cpu_lo / u55_hi:.2g}×–{cpu_hi / u55_lo:.2g}×",
                 "Ethos-U85 speed-up": f"{cpu_lo / u85_hi:.2g}×–{cpu_hi / u85_lo:.2g}×"})
pd.DataFrame(rows).set_index("model")

# %% [markdown]
# For the three convolutional models even the pessimistic end of the range is a large factor: their convolutions run at 128 or 256 MACs per cycle on the NPU and at most 8 on the Cortex-M55's Helium unit.
#
# **deep_autoencoder** is the exception, and a lesson in itself. It is fully connected layers: every weight is used once per inference, so its time is reading weights, not multiplying. On Corstone-300's default memory mode (`Shared_Sram`) the Ethos-U55 streams them from off-chip flash and waits; Vela's estimate is about the same as the Cortex-M55 on its own (whose range is wide: its fully connected kernels have no measurement behind them). The Ethos-U85 on Corstone-320 keeps its weights in SRAM (`Sram_Only`) and is far ahead. Where the NPU buys little, look at the memory system (lesson 4) before the MAC count.
#
# The figure shows every configuration of one model, its NPU part and its CPU part (the whisker is the CPU range):

# %%
sweep_plots.whole_inference(sweeps["ds_cnn"])

# %% [markdown]
# ## One inference, in order
#
# `plots.timeline` draws one inference as it runs: NPU partitions in blue, the CPU's work between them in orange, with its range. On Corstone-300, ds_cnn's average pool falls back to the CPU (lesson 2), which splits the NPU work in two:

# %%
u55 = labkit.compile("ds_cnn", "corstone-300")
plots.timeline(u55)

# %% [markdown]
# ## The CPU's kernels matter
#
# That pool is an int8 operator. With ExecuTorch's Cortex-M backend (`cpu_kernels="cmsis-nn"`, labkit's default) it runs as one CMSIS-NN kernel on int8 data. With ExecuTorch's **portable** kernels, the program dequantizes the whole 64×25×5 feature map to float, pools it in float, and quantizes the result back: three kernels, and a float tensor four times the size.

# %%
portable = labkit.compile("ds_cnn", "corstone-300", cpu_kernels="portable")
for report in (u55, portable):
    work = report.cpu_work
    print(f"{report.summary['cpu_kernels']:>9}: CPU {report.summary['cpu_ms_low']:.3f}–"
          f"{report.summary['cpu_ms_high']:.3f} ms (cortex-m-estimate)")
    display(work[["op", "kind", "bytes", "kernel", "cpu_cycles_low", "cpu_cycles_high"]])
plots.timeline(portable)

# %% [markdown]
# ## How far can the CPU estimate be trusted?
#
# Each kernel class has its own coefficients and its own basis. Pointwise and depthwise convolutions, the first convolution and input quantization were **measured** (on an Alif Ensemble E8's Cortex-M55 with CMSIS-NN, published in ExecuTorch issue #17651); pooling, fully connected, elementwise, softmax, copies and portable float kernels are **derived** from those and get wider ranges:

# %%
pd.DataFrame([{"class": c.kernel_class, "cycles per MAC": round(c.per_mac, 3),
               "per output element": round(c.per_output, 2), "per input element": round(c.per_input, 2),
               "range": f"÷{c.spread:g} to ×{c.spread:g}", "basis": c.basis}
              for c in cost_model.coefficients().values()]).set_index("class")

# %% [markdown]
# And the fit against the layers it was fitted to (`error` is the estimate's relative error; every measurement lies inside its range):

# %%
cost_model.calibration()[["layer", "kernel_class", "measured", "cpu_cycles_est", "error", "in_range"]]

# %% [markdown]
# What the range does not cover: a different board, clock or memory placement (tensors in TCM, SRAM or flash move Cortex-M cycles by 2× or more), another CMSIS-NN version, and the per-call overhead of small kernels, which the calibration layers (75 k–1.2 M output elements each) cannot show. Where the numbers decide a design, measure: lesson 8 runs the program on a Corstone FVP, whose CPU is functional but not cycle-accurate, so for CPU time a board is the final word.
