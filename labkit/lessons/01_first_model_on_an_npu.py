# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 1 — Your first model on an NPU
#
# We take **MobileNetV2** (224×224), the model of Arm's Learning Path, and compile it for the **Corstone-320** reference system: a Cortex-M85 CPU with an **Ethos-U85-256** NPU.
#
# labkit runs the real toolchain in a worker process: `torch.export` → int8 quantization (PT2E, the Ethos-U quantizer) → lowering to TOSA → the **Vela** compiler → an ExecuTorch `.pte` file. The first compile takes about a minute; after that, results come from an on-disk cache instantly.

# %%
import labkit
from labkit import plots
from labkit.views import styled

report = labkit.compile("mobilenet_v2", "corstone-320")
report

# %% [markdown]
# ## What the numbers mean
#
# Every figure below is a **Vela estimate**: Vela's performance model of the NPU, computed at compile time — not a measurement on hardware. Cycles are NPU clock cycles; the inference time divides them by the clock of the chosen *system config*. Run the model on a Corstone FVP (lesson 8) to measure.

# %%
print(report.summary_text())
plots.summary_card(report)

# %% [markdown]
# ## Which operators run on the NPU?
#
# Each bar is one operator of the exported PyTorch graph, in the order the compiled program runs them. CPU operators carry the reason the Ethos-U partitioner gave for rejecting them (hover to see it). Quantize/dequantize at the graph's input and output always run on the CPU.

# %%
plots.placement(report)

# %% [markdown]
# ## Where do the cycles go?
#
# labkit joins every Vela layer back to the PyTorch operator and `nn.Module` it came from, so costs read in your model's own terms: `features.3` is the fourth block of `model.features`.

# %%
plots.cycles(report, by="module", depth=2)

# %%
styled.hotspots(report.hotspots())

# %% [markdown]
# ## Try it yourself
#
# The app below compiles any built-in model for any Ethos-U configuration. Pick a target or press a preset, then **Compile**. Configurations you already compiled come back from the cache instantly.

# %%
labkit.Lab(model="mobilenet_v2", target="corstone-320")
