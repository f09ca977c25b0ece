# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 6 — Does my int8 model still work?
#
# The NPU computes in **int8**. Before a model reaches it, the Ethos-U quantizer maps every weight and activation to 8-bit integers, calibrated on a few sample inputs. Cycles and memory (lessons 1–5) are worth nothing if the answers are wrong, so this lesson checks the answers — on your laptop, without an FVP or a board.
#
# We use **digits_cnn**, a small CNN that learned something real: it reads scikit-learn's 8×8 handwritten digits (1,797 images, bundled with scikit-learn). Its weights were trained by `data/train_digits_cnn.py` (seeded, reproducible) and 20 % of the images were held out to test it.
#
# Every number below says where it came from:
#
# | source | what runs |
# |---|---|
# | `pytorch-float` | the trained model in float32, in PyTorch: the reference |
# | `fake-quant-int8` | the quantized graph in PyTorch, rounding to the int8 grid in float — what the quantizer *believes* the int8 model computes |
# | `tosa-reference` | the compiled `.pte` itself: the NPU partitions run on the **TOSA reference model**, bit-exact int8, on exactly the TOSA graph Vela compiled; the CPU parts run in PyTorch |

# %%
import labkit
import pandas as pd
import plotly.graph_objects as go
import torch
from labkit.models import digits

TARGET = "corstone-300"  # Cortex-M55 + Ethos-U55-128
report = labkit.compile("digits_cnn", TARGET)
report

# %% [markdown]
# ## Run the compiled program on the host
#
# `labkit.simulate(report, inputs)` runs what was compiled, instruction by instruction: the input quantize on the CPU, the NPU partition on the TOSA reference model, the output dequantize. Here are the first eight held-out digits, with what the float model and the int8 program say they are.

# %%
x_test, y_test = digits.evaluation()
int8 = labkit.simulate(report, x_test[:8])
with torch.no_grad():
    fp32 = digits.build()(x_test[:8])
print("outputs from:", int8.source)
pd.DataFrame({"label": y_test[:8].tolist(), "pytorch-float": fp32.argmax(1).tolist(),
              "tosa-reference": int8[0].argmax(1).tolist()})

# %%
fig = go.Figure()
for k in range(8):
    fig.add_trace(go.Heatmap(z=x_test[k, 0].flip(0).numpy(), colorscale="gray_r", showscale=False,
                             xaxis=f"x{k + 1}", yaxis=f"y{k + 1}"))
grid = {f"xaxis{k + 1}": dict(domain=[k / 8 + 0.005, (k + 1) / 8 - 0.005], visible=False) for k in range(8)}
grid.update({f"yaxis{k + 1}": dict(visible=False, scaleanchor=f"x{k + 1}") for k in range(8)})
fig.update_layout(**grid, height=170, margin=dict(l=10, r=10, t=40, b=10),
                  title="Held-out digits · int8 prediction (tosa-reference): "
                        + " ".join(map(str, int8[0].argmax(1).tolist())),
                  paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)")
fig

# %% [markdown]
# ## Float vs int8 on the whole held-out split
#
# `labkit.evaluate` runs all three on the 360 held-out digits. Besides **accuracy** against the true labels it compares each int8 run with the float outputs: the **largest absolute error** of any output, the **mean cosine similarity** of the output vectors (1 = same direction) and **top-1 agreement** (how often int8 picks the same class as float, right or wrong).

# %%
fidelity = labkit.evaluate("digits_cnn", TARGET)
fidelity

# %% [markdown]
# Quantization cost a fraction of a point of accuracy, or nothing at all — on this model. And `fake-quant-int8` predicts the NPU's integer arithmetic almost exactly: the TOSA reference run differs from it by at most **one int8 step** of the output (rounding in the integer rescale). So a fake-quant evaluation in PyTorch is a faithful stand-in for the NPU, and the TOSA run is the proof.

# %%
from labkit.runtime.evaluate import outputs

table = outputs("digits_cnn", TARGET)  # every output value, per source and sample
y = [c for c in table.columns if c.startswith("y")]
step = table.attrs["output_scale"]  # one int8 step of the output, in logit units
npu_vs_fake = (table.loc["tosa-reference", y] - table.loc["fake-quant-int8", y]).abs()
print(f"one output step = {step:.4f}; tosa-reference vs fake-quant: at most "
      f"{npu_vs_fake.to_numpy().max() / step:.2f} step(s), {int((npu_vs_fake.to_numpy() > 0).sum())} of "
      f"{npu_vs_fake.size} values differ at all")

# %% [markdown]
# ## Which outputs suffer most?
#
# The per-output error: for each of the ten class scores (logits), the largest and the mean absolute difference between the int8 program and float, over the held-out digits — in int8 steps of the output.

# %%
err = (table.loc["tosa-reference", y] - table.loc["pytorch-float", y]).abs() / step
per_output = pd.DataFrame({"max_steps": err.max(), "mean_steps": err.mean()})
per_output.index = [f"digit {i}" for i in range(10)]
fig = go.Figure([go.Bar(x=per_output.index, y=per_output[c], name=c.replace("_", " "))
                 for c in per_output.columns])
fig.update_layout(title="int8 error per output · tosa-reference vs pytorch-float (int8 steps)",
                  yaxis_title="|int8 − float| / output step", barmode="group", height=340,
                  paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)")
fig

# %% [markdown]
# The mean error is a fraction of a step to a few steps; the maximum is larger. An error of a few steps on a logit matters only when two classes are close — which is why top-1 agreement stays near 100 %.

# %% [markdown]
# ## Calibration matters
#
# The quantizer picks each tensor's int8 range from the **calibration** inputs. digits_cnn calibrates on 64 training digits. With fewer samples the ranges are guessed from less evidence; with inputs that do not look like the real data they are simply wrong. Each line below is a separate compile (and a separate cache entry).

# %%
x_train = digits.split()[0]
dim = [(x_train[i:i + 1] * 0.25,) for i in range(64)]  # the right images, at a quarter of the contrast
runs = {"1 digit": 1, "8 digits": 8, "64 digits": 64, "64 dim digits": dim}
rows = []
for name, calibration in runs.items():
    r = labkit.evaluate("digits_cnn", TARGET, calibration=calibration)
    rows.append(r.loc["tosa-reference"].rename(name))
calib = pd.DataFrame(rows).rename_axis("calibration")
calib[["accuracy", "top1_agreement", "max_abs_error", "mean_abs_error", "mean_cosine"]]

# %%
fig = go.Figure(go.Bar(x=calib.index, y=calib["mean_abs_error"], text=[f"{a:.1%} accurate"
                       for a in calib["accuracy"]], textposition="outside"))
fig.update_layout(title="Calibration vs int8 error · tosa-reference, 360 held-out digits",
                  yaxis_title="mean |int8 − float| (logits)", height=360, yaxis_type="log",
                  paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)")
fig

# %% [markdown]
# One digit already gives good accuracy on this easy task, but its error is several times that of 64 digits: the ranges fit that one image. Calibrating on images of the wrong contrast is far worse than calibrating on few: real inputs overflow the ranges and saturate, and accuracy collapses. **Calibrate on data that looks like what the device will see.**

# %% [markdown]
# ## Do the weight values change the cycle estimate?
#
# The built-in MLPerf Tiny models compile with *random* weights, and labkit warns that Vela's estimate depends on weight values. Here is why: Vela encodes (compresses) the weights for the NPU, and trained weights encode differently from random ones. Compare digits_cnn with its own architecture at random weights, on Corstone-300 (Ethos-U55, weights read from off-chip flash) and Corstone-320 (Ethos-U85). The encoded weight size comes from Vela's own summary CSV.

# %%
def encoded_weight_bytes(r):
    return sum(int(pd.read_csv(next(p.vela_dir.glob("out_summary_*.csv")))["total_npu_encoded_weights"].iloc[0])
               for p in r.artifacts.partitions)

rows = []
for target in ("corstone-300", "corstone-320"):
    trained = labkit.compile("digits_cnn", target)
    untrained = labkit.compile(digits.untrained(), target, example_inputs=digits.example_inputs(),
                               calibration_inputs=digits.calibration_inputs(), name="digits_cnn, random weights")
    for weights, r in (("trained", trained), ("random", untrained)):
        rows.append({"target": target, "weights": weights, "encoded_weight_bytes": encoded_weight_bytes(r),
                     **r.summary[["total_cycles", "npu_cycles", "flash_access_cycles", "source"]]})
weights_table = pd.DataFrame(rows).set_index(["target", "weights"])
weights_table

# %% [markdown]
# On Corstone-300 the trained weights encode smaller, so the NPU spends fewer cycles fetching them from flash; its compute cycles are the same. On Corstone-320 this small model's weights encode to the same size either way and the estimate does not move. The lesson: for a model whose weights stream from flash, estimate with trained weights.

# %% [markdown]
# ## Try it yourself
#
# Pick a held-out digit: the bars are the ten class scores from float and from the int8 program.

# %%
import ipywidgets as widgets

program_outputs = table.loc["tosa-reference", y].to_numpy()
float_outputs = table.loc["pytorch-float", y].to_numpy()

def show(sample=0):
    fig = go.Figure([go.Bar(x=list(range(10)), y=float_outputs[sample], name="pytorch-float"),
                     go.Bar(x=list(range(10)), y=program_outputs[sample], name="tosa-reference")])
    fig.update_layout(title=f"Held-out digit {sample}: a {int(y_test[sample])} · class scores",
                      xaxis_title="class", yaxis_title="logit", height=320, barmode="group",
                      paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)")
    fig.show()

widgets.interact(show, sample=widgets.IntSlider(0, 0, len(y_test) - 1, description="digit"));

# %% [markdown]
# **Your own model**: `labkit.evaluate(my_module, TARGET, data=(inputs, labels))` runs the same three-way comparison (inputs stacked along the first dimension), and `labkit.simulate(labkit.compile(my_module, TARGET, example_inputs=...), inputs)` runs its compiled program. Inputs with NaN or infinity are refused with a clear error: int8 has no such values.
