# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 11 — Acting on advice
#
# Lesson 3's hotspots come with hints: *memory-bound*, *few MACs busy*, *a mean that lowers to REDUCE_SUM*. A hint says what might help; it does not say whether it pays off, or by how much. `report.advise()` answers that the only honest way: it **compiles every candidate change** and shows the ones that measurably help, best first. Its levers:
#
# - **the NPU configuration**: the next MAC count down and up, the other system configs and memory modes. These reuse the report's TOSA graph, so each costs a Vela run (about a second), not a compile;
# - **source rewrites** labkit can prove on the exported graph: feeding the input channels-last, or averaging with `adaptive_avg_pool2d` instead of `mean`. They are compiled on a rewritten copy of your model;
# - **the CPU kernels** (CMSIS-NN or portable), when operators run on the Cortex-M;
# - **quantization**: 16-bit activations for the module where `numerics` finds the largest SQNR drop, when there is labelled data to measure accuracy on.
#
# Every row carries its measured deltas, each with its source, and the `labkit.compile` arguments that reproduce it.

# %%
import labkit
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from labkit.views import styled

pd.set_option("display.max_colwidth", None)

# %% [markdown]
# ## A model of your own, with a hint in it
#
# A small image classifier whose head averages over height and width with `mean` — a common way to write a global average pool:

# %%
class SmallNet(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 32, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(64, 64, 3, padding=1), nn.ReLU())
        self.classifier = nn.Linear(64, classes)

    def forward(self, x):
        x = self.features(x)
        x = x.mean((2, 3))  # global average over H and W
        return self.classifier(x)


torch.manual_seed(0)
model = SmallNet().eval()
samples = torch.Generator().manual_seed(0)
example_inputs = (torch.rand(1, 3, 64, 64, generator=samples),)
calibration_inputs = [(torch.rand(1, 3, 64, 64, generator=samples),) for _ in range(8)]

report = labkit.compile(model, "corstone-320", example_inputs=example_inputs, calibration_inputs=calibration_inputs)
print(report.summary_text())
styled.hotspots(report.hotspots(3)[["op", "module", "source", "cycles", "share_pct", "hint"]])

# %% [markdown]
# ## Ask for advice
#
# `advise()` shows a progress bar while it compiles the candidates. Rows are ranked by measured benefit: a change that makes the model fit first, then by time saved (NPU time plus the middle of the CPU's range), then by accuracy gained and SRAM saved.

# %%
advice = report.advise()
styled.advice(advice)

# %% [markdown]
# Read a row as *change → benefit, because of why*. The `why` column names the hotspot, CPU fallback or numerics row the change answers; the rewrite rows quote your own source line, from this notebook. Nothing appears unmeasured: what was tried without a benefit is kept in `advice.attrs["rejected"]`, with its deltas:

# %%
pd.DataFrame(advice.attrs["rejected"])[["change", "delta_ms", "delta_cycles", "delta_sram_kib", "fits"]]

# %% [markdown]
# ## Act on it: make the edit yourself
#
# The rewrite is one line in `forward()`. Make it, compile, and compare with what `advise()` measured:

# %%
class SmallNetPooled(SmallNet):
    def forward(self, x):
        x = self.features(x)
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.classifier(x)


edited = SmallNetPooled().eval()
edited.load_state_dict(model.state_dict())
mine = labkit.compile(edited, "corstone-320", example_inputs=example_inputs, calibration_inputs=calibration_inputs)
rewrite = advice[advice["change"].str.contains("adaptive_avg_pool2d")].iloc[0]
print(f"advise() measured    {rewrite['delta_cycles']:+,.0f} cycles (vela-estimate)")
print(f"the edit, by hand    {mine.summary['total_cycles'] - report.summary['total_cycles']:+,.0f} cycles (vela-estimate)")

# %% [markdown]
# The same number: the advice was a real compile of the same change, not a prediction.
#
# ## Or in one call
#
# Each row's `kwargs` are the arguments of `labkit.compile` for that change — for a rewrite, they carry the rewritten copy of your model; for the channels-last input, the example inputs in channels-last memory format. Compiling them is a cache hit:

# %%
best = advice.iloc[0]
print(best["change"])
again = labkit.compile(**best["kwargs"])
print(f"from the cache: {again.from_cache}; {int(again.summary['total_cycles']):,} cycles, "
      f"{again.summary['inference_ms']:.3f} ms (vela-estimate)")

# %% [markdown]
# A channels-last program takes its input as `x.to(memory_format=torch.channels_last)`: the same values, stored NHWC. Many camera and image pipelines produce NHWC anyway; then the NPU's first layer no longer transposes the input.
#
# ## A trade-off: faster, but more SRAM
#
# The MLPerf Tiny anomaly detector is fully connected: every weight is read once per inference. On Corstone-300's default memory mode the weights stay in flash, and the NPU waits on it:

# %%
autoencoder = labkit.compile("deep_autoencoder", "corstone-300")
memory = autoencoder.advise(levers=["target"])
memory[["change", "benefit", "delta_ms", "delta_sram_kib", "fits"]]

# %% [markdown]
# Keeping the weights in SRAM (`Sram_Only`) makes it several times faster — and the SRAM the configuration needs grows by the size of the weights (`delta_sram_kib`, vela-estimate). Whether that is a good trade is your call: `fits` says whether the memory mode gives that much, and your SoC's SRAM budget says whether you can afford it.
#
# ## Keeping it quick
#
# - `levers=[...]` chooses what to try: `"target"`, `"rewrites"`, `"cpu_kernels"`, `"quantization"`.
# - `budget=N` caps the compiles (cache hits are free); what was not tried is listed in `attrs["not_tried"]`, so asking again continues where it stopped.
# - From a terminal: `labkit advise deep_autoencoder --target corstone-300 --levers target`.
# - In the app, the **Advice** tab does the same, and a button next to each change compiles it.

# %%
labkit.Lab(model="deep_autoencoder", target="corstone-300")
