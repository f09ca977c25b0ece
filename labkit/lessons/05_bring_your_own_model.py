# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 5 — Bring your own model
#
# The built-in models are a starting point; the question you care about is how *your* network does on an NPU. labkit compiles any `torch.nn.Module` that `torch.export` can capture, or a `.pt2` file written by `torch.export.save`. It needs three things from you:
#
# - **the model**, in eval mode (labkit puts it there);
# - **example inputs**: a tuple of tensors with the shapes and dtypes `forward()` takes. `torch.export` traces the model with them, so the compiled program is fixed to these shapes;
# - ideally **calibration inputs**: a few samples that look like real data. The int8 quantizer sets each tensor's range from them (lesson 6 shows why that matters). Without them labkit calibrates on the example inputs alone.

# %% [markdown]
# ## A model of your own
#
# A small keyword-spotting-style network for a 32×32 single-channel input (a spectrogram, say) with 4 classes: a convolution stem, two depthwise-separable blocks with batch norm, a global average pool and a linear classifier. Nothing in it is specific to labkit.

# %%
import os
import tempfile

import labkit
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from labkit import plots
from labkit.views import styled

pd.set_option("display.max_colwidth", None)


class SeparableBlock(nn.Module):
    """Depthwise 3×3 (one filter per channel), then a pointwise 1×1 that mixes channels."""

    def __init__(self, channels_in, channels_out, stride):
        super().__init__()
        self.depthwise = nn.Conv2d(channels_in, channels_in, 3, stride=stride, padding=1,
                                   groups=channels_in, bias=False)
        self.pointwise = nn.Conv2d(channels_in, channels_out, 1, bias=False)
        self.bn = nn.BatchNorm2d(channels_out)

    def forward(self, x):
        return F.relu(self.bn(self.pointwise(self.depthwise(x))))


class TinyNet(nn.Module):
    def __init__(self, classes=4):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, stride=2, padding=1, bias=False),
                                  nn.BatchNorm2d(16), nn.ReLU())
        self.blocks = nn.Sequential(SeparableBlock(16, 32, stride=2), SeparableBlock(32, 64, stride=2))
        self.classifier = nn.Linear(64, classes)

    def forward(self, x):
        x = self.blocks(self.stem(x))
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)  # global average: one NPU pooling op (lesson 3)
        return self.classifier(x)


torch.manual_seed(0)
model = TinyNet().eval()
samples = torch.Generator().manual_seed(0)
example_inputs = (torch.rand(1, 1, 32, 32, generator=samples),)
calibration_inputs = [(torch.rand(1, 1, 32, 32, generator=samples),) for _ in range(8)]

with torch.no_grad():
    print("output:", tuple(model(*example_inputs).shape), "·",
          f"{sum(p.numel() for p in model.parameters()):,} parameters")

# %% [markdown]
# First make sure the model runs in plain PyTorch with the example inputs (above). Then compile it for Corstone-300's Ethos-U55-128. Random samples stand in for real calibration data here — this model's weights are random too; with a trained model, calibrate on real inputs.

# %%
report = labkit.compile(model, "corstone-300", example_inputs=example_inputs,
                        calibration_inputs=calibration_inputs)
print(report.summary_text())

# %% [markdown]
# ## What became of my layers?
#
# The placement shows every operator the partitioner saw. Where are the batch norms? The quantizer **folded** each one into the convolution before it (in eval mode a batch norm is a per-channel scale and shift, which the convolution's weights and bias can absorb), so they never reach the NPU as operators. The ReLUs are fused into the layers before them as well: they show as NPU operators with no cycles of their own.

# %%
plots.placement(report)

# %%
ops = report.operators
print("batch-norm operators left:", int(ops["op"].str.contains("batch_norm").sum()))
ops.loc[ops["op"].isin(["aten.convolution", "aten.relu", "aten.avg_pool2d", "aten.linear"]),
        ["op", "module", "shape", "placement", "cycles", "util_pct"]]

# %% [markdown]
# Costs per module of *your* model, `stem`, `blocks.0`, `blocks.1`, `classifier`, and the pooling written in `forward()` (*top level*) — Vela estimates:

# %%
plots.cycles(report, by="module", depth=2)

# %% [markdown]
# ## When something is wrong: one clear message
#
# Every mistake labkit can recognise raises a `labkit.LabkitError` subclass whose message names the problem and the fix — one line, no ExecuTorch traceback to dig through. Catch `LabkitError` in your own scripts to report it. Here are some common mistakes; none of them starts a compile:

# %%
mistakes = {
    "RGB input for a 1-channel model": lambda: labkit.compile(
        model, "corstone-300", example_inputs=(torch.rand(1, 3, 32, 32),)),
    "no example inputs": lambda: labkit.compile(model, "corstone-300"),
    "the class, not an instance": lambda: labkit.compile(TinyNet, "corstone-300", example_inputs=example_inputs),
    "a target that does not exist": lambda: labkit.compile(model, "corstone-3000", example_inputs=example_inputs),
}
for what, attempt in mistakes.items():
    try:
        attempt()
    except labkit.LabkitError as error:
        print(f"{what}\n  {type(error).__name__}: {error}\n")

# %% [markdown]
# The wrong-shaped input is caught before anything is exported: labkit first runs the model once in PyTorch on the example inputs, and passes PyTorch's own complaint on with the shapes it was given.
#
# Two more you may meet. A `forward()` that decides a Python `if` on a tensor's *value* (say `if x.mean() > 0:`) raises an `ExportError` naming the line: `torch.export` traces one path through the code and cannot pick a branch on a value it does not know yet; `torch.where` computes both sides and picks per element, which exports. And failures deeper in the toolchain, in the quantizer, the lowering or Vela, raise `CompileError` or `VelaError` with the tool's own first line and the path of the full log.

# %% [markdown]
# ## A `.pt2` file
#
# You do not need the model's Python code to compile it. `torch.export.save` writes the exported program — graph, weights and example inputs — to one `.pt2` file; labkit compiles it by path, reading the example inputs from the file. Here it goes to a temporary folder that is deleted afterwards:

# %%
with tempfile.TemporaryDirectory() as folder:
    path = os.path.join(folder, "tinynet.pt2")
    torch.export.save(torch.export.export(model, example_inputs), path)
    print(f"{os.path.basename(path)}: {os.path.getsize(path):,} bytes")
    from_file = labkit.compile(path, "corstone-300", calibration_inputs=calibration_inputs)
print("from the cache:", from_file.from_cache)

pd.DataFrame([r.summary[["total_cycles", "inference_ms", "npu_ops", "cpu_ops", "source"]]
              for r in (report, from_file)], index=["nn.Module", ".pt2 file"])

# %% [markdown]
# The same numbers — and the file's compile came straight from the cache. labkit's cache is keyed by *content*: the exported graph and weights, the example and calibration inputs, the target and the tool versions. The file holds the same program as the module, so it is the same entry (it even keeps the first compile's name). Change one weight, one input value or the target, and it compiles again.
#
# From a terminal, the same file compiles with `labkit compile tinynet.pt2 --target ethos-u85-256`.

# %% [markdown]
# ## The same model on Corstone-320
#
# With the model in hand, comparing NPUs is one more call. On the Ethos-U85-256:

# %%
u85 = labkit.compile(model, "corstone-320", example_inputs=example_inputs,
                     calibration_inputs=calibration_inputs)
columns = ["accelerator", "system_config", "memory_mode", "total_cycles", "npu_cycles", "inference_ms",
           "npu_ops", "cpu_ops", "partitions", "sram_kib", "flash_kib", "source"]
pd.DataFrame([r.summary[columns] for r in (report, u85)]).set_index("accelerator")

# %% [markdown]
# Everything runs on the NPU on both, so the comparison is fair as far as Vela can see: the CPU does only the input and output conversions. (A model defined in a notebook keeps its cache entry in a new kernel session too: the key is computed from the exported graph and its tensors, not from where the code was written. The source lines a cached report shows then point to the cells of the kernel that first compiled it.)

# %% [markdown]
# ## A model with state: inputs nested as `forward()` takes them
#
# Example inputs need not be a flat tuple of tensors. A streaming model — keyword spotting on a live microphone, say — is called once per chunk of frames and hands its memory back for the next call. Here an LSTM with a classifier per frame: `forward(self, x, state)` takes the state as a tuple `(h, c)` and returns `(logits, (h, c))`. The example inputs are nested the same way, `(x, (h0, c0))`, and so is everything below: calibration samples, `simulate`'s inputs and its outputs.
#
# A chunk is 2 frames of 8 features. The compiled program is fixed to that length: ExecuTorch unrolls the LSTM's loop into one copy of the cell per frame, so the graph, and the compile time, grow with the chunk. The calibration samples are what the model meets when streaming: each chunk comes with the state the chunk before it left, starting from zeros.

# %%
class Streaming(nn.Module):
    """An LSTM over a chunk of frames and a classifier for each frame; the state goes in and comes back out."""

    def __init__(self, features=8, hidden=16, classes=4):
        super().__init__()
        self.lstm = nn.LSTM(features, hidden, batch_first=True)
        self.head = nn.Linear(hidden, classes)

    def forward(self, x, state):
        y, (h, c) = self.lstm(x, state)
        return self.head(y), (h, c)


def stream(model, chunks, generator, steps):
    """Samples as a streaming caller makes them: (chunk, state the previous chunk left), from zeros."""
    state, out = (torch.zeros(1, 1, 16), torch.zeros(1, 1, 16)), []
    with torch.no_grad():
        for _ in range(chunks):
            chunk = torch.rand(1, steps, 8, generator=generator) * 2 - 1
            out.append((chunk, state))
            state = model(chunk, state)[1]
    return out


torch.manual_seed(0)
rnn = Streaming().eval()
frames = torch.Generator().manual_seed(1)
STEPS = 2  # frames per call
rnn_calibration = stream(rnn, 32, frames, STEPS)
rnn_inputs = rnn_calibration[3]  # (x, (h0, c0)): a chunk in the middle of the stream, with its state
x, (h0, c0) = rnn_inputs
with torch.no_grad():
    logits, (h, c) = rnn(*rnn_inputs)
print(f"x {tuple(x.shape)}, state ({tuple(h0.shape)}, {tuple(c0.shape)}) -> "
      f"logits {tuple(logits.shape)}, state ({tuple(h.shape)}, {tuple(c.shape)})")

# %%
rnn_report = labkit.compile(rnn, "corstone-320", example_inputs=rnn_inputs, calibration_inputs=rnn_calibration)
print(rnn_report.summary_text())

# %% [markdown]
# Everything but six operators runs on the NPU, in one partition: the CPU only quantizes the three inputs (`x`, `h`, `c`) and dequantizes the three outputs (`logits`, `h`, `c`). Two frames cost 5,102 cycles, about 5 µs at 1 GHz (vela-estimate). The 147 NPU operators are mostly two copies of the LSTM cell, its gates written out as linears, slices, sigmoids, tanhs, products and sums.

# %%
plots.placement(rnn_report)

# %% [markdown]
# Hover over the bars: the same run of operators repeats once per frame, ending in the `cat` that stacks the frames for the classifier. The ten marked *inserted by the backend* are `tosa.TABLE` lookups: the Arm backend computes every sigmoid and tanh as a lookup table, so Vela charges their cycles to those tables, not to the `aten.sigmoid` and `aten.tanh` rows.
#
# ## Run it, state and all
#
# `labkit.simulate` takes the inputs nested as the example was and returns the outputs nested as `forward()` returns them, so the usual unpacking works. The NPU partition runs on the TOSA reference model, bit-exact int8:

# %%
out = labkit.simulate(rnn_report, rnn_inputs)
npu_logits, (npu_h, npu_c) = out
print(f"{out.source}: logits {tuple(npu_logits.shape)}, state ({tuple(npu_h.shape)}, {tuple(npu_c.shape)})")
for name, npu, ref in (("logits", npu_logits, logits), ("h", npu_h, h), ("c", npu_c, c)):
    print(f"  {name:6}  largest |int8 - float| {(npu - ref).abs().max():.4f}   (float values up to {ref.abs().max():.3f})")
print("class per frame, tosa-reference:", npu_logits.argmax(-1).tolist(), " pytorch-float:", logits.argmax(-1).tolist())

# %% [markdown]
# The outputs come back nested as `(logits, (h, c))`, shaped as the float model's. On this chunk the int8 program stays within 0.0023 of the float logits, which reach 0.281, and picks the same class for both frames (tosa-reference vs pytorch-float). To stream, pass `(npu_h, npu_c)` to the next call.
#
# ## Where does int8 lose accuracy?
#
# `labkit.numerics` (lesson 9) compares float, fake-quant int8 and the TOSA reference at every operator. Give it samples from a second stream and the same calibration as the compile (it is the same compile: a cache hit). The five operators where the SQNR drops most:

# %%
rnn_numerics = labkit.numerics(rnn, "corstone-320", example_inputs=rnn_inputs, calibration=rnn_calibration,
                               data=stream(rnn, 16, frames, STEPS))
worst = rnn_numerics.nlargest(5, "sqnr_drop_db")
styled.numerics(worst[["node", "module", "placement", "sqnr_fake_quant_db", "sqnr_tosa_db", "sqnr_drop_db",
                       "tosa_vs_fake_quant_lsb"]])

# %% [markdown]
# The TOSA reference agrees with fake-quant to the step (0 in the last column): the NPU adds no error of its own, all of it comes from rounding to int8. (The tanh has no TOSA value: on the NPU it became a lookup table, a different operator.) Node names number the copies of the cell: `aten_linear_default` is the first frame's input projection, `aten_linear_default_2` the second's. Four of the five are in the second frame: in a recurrent model rounding does not stay put, the state hands it on to the next frame (and, when streaming, to the next call). The largest drop, 8.0 dB (fake-quant-int8 vs pytorch-float), is at `aten_mul_tensor_3`, the second frame's forget-gate product f·c.
#
# ## Keep it, ask what would help
#
# The HTML report is one offline file with the figures and tables above; here it goes to a temporary folder:

# %%
with tempfile.TemporaryDirectory() as folder:
    page = rnn_report.to_html(os.path.join(folder, "streaming.html"))
    print(f"{page.name}: {page.stat().st_size / 1e6:.1f} MB")

# %% [markdown]
# `advise` (lesson 11) compiles candidate changes and keeps those that measurably help. `budget=2` caps it at two compiles:

# %%
rnn_advice = rnn_report.advise(budget=2, progress=False)
styled.advice(rnn_advice) if len(rnn_advice) else print(rnn_advice.attrs["message"])

# %% [markdown]
# Both measured changes are NPU sizes. The Ethos-U85-512 is 15.5% faster (913 cycles fewer), and the U85-128 is only 1.0% slower (58 more; vela-estimate): a layer this small keeps under 10% of the MACs busy, so halving the MACs costs almost nothing. The four candidates over the budget (system configurations and memory modes) are in `rnn_advice.attrs["not_tried"]`; asking again continues with them.

# %% [markdown]
# ## Try it yourself
#
# Hand your model to the app with `Lab(models={name: (module, example_inputs)})`: it joins the built-in models in the dropdown. Change the NPU and press **Compile**. (The app calibrates on the example inputs; for your own calibration data, call `labkit.compile` as above.)

# %%
labkit.Lab(models={"mine": (model, example_inputs)})
