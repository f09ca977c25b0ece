# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 3 — Where the cycles go
#
# Vela estimates a model layer by layer. For each NPU layer it models two things: the **compute** — how many cycles the MAC array and the other units need for the layer's arithmetic — and the **memory traffic** — how many bytes the layer reads and writes in each memory (SRAM, DRAM, flash), divided by that memory's bandwidth. Compute and transfers overlap, so the layer takes as long as the slowest of them. The model's estimate is the sum over its layers.
#
# labkit joins every Vela layer back to the PyTorch operator and `nn.Module` it came from, so you can ask the question in your model's terms: *which part of my network costs what, and why?* We start with **MobileNetV2** on **Corstone-320** (Ethos-U85-256), the model of lesson 1 (from the cache if you ran it), then make two models cheaper by reading what the estimate says.
#
# Every number here is a **Vela estimate**, not a measurement.

# %%
import labkit
import pandas as pd
import torch
import torch.nn.functional as F
from IPython.display import display
from torch import nn

from labkit import plots
from labkit.views import styled

pd.set_option("display.max_colwidth", None)  # hints and source lines in full

report = labkit.compile("mobilenet_v2", "corstone-320")
print(report.summary_text())

# %% [markdown]
# ## Per operator
#
# `plots.cycles` ranks the operators by their estimated cycles: the fifteen most expensive, the rest summed as *other*. Each label is the operator's position in execution order, its type and its module; hover a bar for its compute, memory and MAC counts. A convolution here includes everything the backend lowered it to (the convolution, its requantization, layout changes).

# %%
plots.cycles(report, by="operator")

# %% [markdown]
# No single operator dominates: MobileNetV2 spreads its work over 52 convolutions. The most expensive ones are the first convolution and the layers of the first blocks — the layers that work on the largest feature maps (112×112 and 56×56). A convolution's cost grows with the number of output pixels times the channels in and out, so the early, high-resolution layers are expensive even though they have few channels.

# %% [markdown]
# ## Per module
#
# Operators are the wrong grain for a model of this size; modules are how you wrote it. `report.by_module(depth)` sums the cycles, MACs and memory-access cycles of every NPU operator by its module path cut to `depth` parts. At depth 1 that is `features` vs `classifier`; the *(top level)* row is work written in `forward()` itself, outside any submodule (here the global average pool). The rows always add up to the model's total.

# %%
report.by_module(1)

# %%
blocks = report.by_module(2)
blocks["share_pct"] = 100 * blocks["cycles"] / report.summary["total_cycles"]
print(f"sum over modules: {blocks['cycles'].sum():,.0f} cycles · model total: "
      f"{report.summary['total_cycles']:,} cycles (Vela estimate)")
blocks.round(1)

# %% [markdown]
# At depth 2 each row is one inverted-residual block (`features.1` … `features.17`), the stem (`features.0`), the last 1×1 convolution (`features.18`) and the classifier's linear layer (`classifier.1`; `classifier.0` is the dropout, which costs nothing in inference). The same table as a figure:

# %%
plots.cycles(report, by="module", depth=2)

# %% [markdown]
# The treemap shows the whole hierarchy at once: each tile is a module sized by its cycles, with its submodules inside it. Click a tile to zoom in, click the top bar to zoom out. The colour says how much of a module's time is spent waiting on memory beyond its compute (blue: none, purple: all).

# %%
plots.module_treemap(report)

# %% [markdown]
# ## Compute vs memory access
#
# Every row of these tables has a `cycles` column (the layer's estimated time) and `npu_cycles` (its compute), and one column per memory: `sram_ac`, `dram_ac`, `flash_ac`, the cycles its transfers in that memory take. Vela takes the largest of them:
#
# - `cycles == npu_cycles`: **compute-bound**. A faster memory would not help; more MACs or a higher clock would.
# - `cycles > npu_cycles`: **memory-bound**. The NPU waits on the memory whose access cycles equal the total; more MACs would not help.
#
# On Corstone-320 (`Sram_Only`: weights and activations in SRAM, two SRAM ports) MobileNetV2 is compute-bound everywhere:

# %%
costs = ["cycles", "npu_cycles", "sram_ac", "dram_ac", "flash_ac"]
bound = blocks[["module", *costs]].copy()
bound["bound_by"] = ["memory" if c > n else "compute" for c, n in zip(bound["cycles"], bound["npu_cycles"])]
print(bound["bound_by"].value_counts().to_string())
report.summary[["total_cycles", "npu_cycles", "sram_access_cycles", "dram_access_cycles",
                "flash_access_cycles", "source"]]

# %% [markdown]
# **How much** memory is a separate question from **how fast**. `plots.memory` shows, for each Vela layer in execution order, how much SRAM it holds while it runs (its *staging*: input and output feature maps, buffered weights). The peak is the SRAM the model needs for activations.
#
# The dashed limit is the memory mode's: `Sram_Only` and `Shared_Sram` set no size, so Vela's only limit is what the NPU can address (1 GiB on the U85) — not the SRAM of your chip. Compare the peak with your part's data sheet.

# %%
plots.memory(report)

# %% [markdown]
# ## Hotspots, with hints
#
# `report.hotspots()` lists the operators that dominate the estimate, with the source line that created them and, where a rule applies, a hint you can act on. `util_pct` (*MAC use %*) is how busy the MAC array is: the operator's MACs over its cycles × the NPU's MACs per cycle.

# %%
styled.hotspots(report.hotspots())

# %% [markdown]
# The MAC array of an Ethos-U computes many channels in parallel, so layers with few channels per output — like the depthwise convolutions of the inverted-residual blocks, one input channel per output channel — leave much of it idle.
#
# The top row deserves a closer look. One PyTorch operator can become several Vela layers, and when a row surprises you, those layers tell you why. `report.layers` is Vela's per-layer table, joined to the operators by node name:

# %%
top = report.hotspots(1).iloc[0]
report.layers.loc[report.layers["node"] == top["node"],
                  ["tosa_op", "Op Cycles", "NPU", "SRAM AC", "MAC Count", "Util% (MAC)"]]


# %% [markdown]
# Two layers: the convolution itself, and before it a `TRANSPOSE` of the 224×224×3 input image from PyTorch's channels-first layout to the NPU's channels-last (the layout changes of lesson 2). labkit charges it to the first operator that reads the input, and it costs more than the convolution: the low utilisation in the hint comes mostly from it, while the convolution alone keeps a fair share of the MACs busy. Both are the price of a 3-channel image entering the NPU in channels-first layout: nothing to fix inside the model, but something to fix in how it is fed (lesson 11 measures feeding the input channels-last).
#
# ## The same numbers on the graph
#
# `report.explore()` opens the compiled graph in Google's Model Explorer, inside the notebook: the operators grouped by nn.Module (double-click a group to open it), with labkit's numbers as overlays — placement (NPU partition or CPU kernel), NPU cycles (vela-estimate) and the CPU range (cortex-m-estimate). Pick one under *Node data providers* on the right; the tables under it list each node's value. Model Explorer runs on a local server (127.0.0.1) started for this kernel, and needs no internet.

# %%
report.explore()

# %% [markdown]
# Next, two hints you can act on.

# %% [markdown]
# ## Worked example 1: `mean` vs `adaptive_avg_pool2d`
#
# A small CNN for 64×64 images: two strided convolutions, a global average over height and width, a linear classifier. There are two common ways to write the global average. `x.mean((2, 3))` is the obvious one; `F.adaptive_avg_pool2d(x, 1)` computes the same values. Compile both for the Ethos-U85-256, with the same weights:

# %%
class SmallCNN(nn.Module):
    def __init__(self, head="mean"):
        super().__init__()
        self.head = head
        self.features = nn.Sequential(nn.Conv2d(3, 32, 3, stride=2, padding=1), nn.ReLU(),
                                      nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU())
        self.classifier = nn.Linear(64, 10)

    def forward(self, x):
        x = self.features(x)
        if self.head == "mean":
            x = x.mean((2, 3))
        else:
            x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.classifier(x)


image = (torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0)),)
heads = {}
for head in ("mean", "pool"):
    torch.manual_seed(0)  # the same weights for both
    heads[head] = labkit.compile(SmallCNN(head), "ethos-u85-256", example_inputs=image,
                                 name=f"SmallCNN ({head})")
styled.hotspots(heads["mean"].hotspots())

# %% [markdown]
# The reduction is the most expensive operator of the model, and the hint names the line that wrote it (in a notebook, the cell's temporary file). Why? `mean` is decomposed into a sum and a multiplication before partitioning, and the sum over H and W lowers to a chain of TOSA `REDUCE_SUM` layers, while `adaptive_avg_pool2d(x, 1)` becomes one `AVG_POOL2D`, which the NPU's pooling unit does in a single pass. Vela's layer table shows the difference (the `TRANSPOSE`, the same in both, is the input image entering the NPU):

# %%
pd.concat({head: r.layers.groupby("tosa_op")["Op Cycles"].agg(["count", "sum"])
           for head, r in heads.items()}, names=["head", "tosa_op"])

# %%
summary = pd.DataFrame([r.summary[["total_cycles", "inference_ms", "npu_ops", "source"]]
                        for r in heads.values()], index=["x.mean((2, 3))", "F.adaptive_avg_pool2d(x, 1)"])
saved = 1 - summary["total_cycles"].iloc[1] / summary["total_cycles"].iloc[0]
print(f"adaptive_avg_pool2d: {saved:.0%} fewer cycles for the whole model (Vela estimate)")
summary

# %%
for r in heads.values():
    display(plots.cycles(r, by="operator"))

# %% [markdown]
# One line of Python, the same arithmetic, a large part of this model's estimate. In a big network the head is a small share, but the habit pays: write operations the way the hardware does them.
#
# (How much it saves depends on the NPU: on the Ethos-U55 the gap is smaller. Change the target above and see.)

# %% [markdown]
# ## Worked example 2: a memory-bound model
#
# **deep_autoencoder** is the MLPerf Tiny anomaly-detection model: ten fully connected layers (640 → 128 → … → 8 → … → 128 → 640). A fully connected layer uses each weight exactly once per inference, so for every multiply-accumulate it must fetch one byte of weights. On Corstone-300's NPU with its default memory mode, `Shared_Sram`, the weights stay in flash, which the `Ethos_U55_High_End_Embedded` system reads at one eighth of the SRAM's clock:

# %%
in_flash = labkit.compile("deep_autoencoder", "ethos-u55-128")  # Shared_Sram: weights in flash
styled.hotspots(in_flash.hotspots(3))

# %%
plots.cycles(in_flash, by="operator")

# %% [markdown]
# Purple everywhere: each layer's compute (blue) is a small part of its time; the rest is waiting on flash. The hint suggests a memory mode that keeps the weights in SRAM. `Sram_Only` does exactly that — one SRAM for everything:

# %%
in_sram = labkit.compile("deep_autoencoder", "ethos-u55-128", memory_mode="Sram_Only")
columns = ["memory_mode", "total_cycles", "npu_cycles", "flash_access_cycles", "sram_access_cycles",
           "inference_ms", "sram_kib", "flash_kib", "source"]
modes = pd.DataFrame([r.summary[columns] for r in (in_flash, in_sram)]).set_index("memory_mode")
print(f"{modes['total_cycles'].iloc[0] / modes['total_cycles'].iloc[1]:.1f}× fewer cycles with the "
      "weights in SRAM (Vela estimate)")
modes

# %%
plots.cycles(in_sram, by="operator")

# %% [markdown]
# The compute did not change; the wait did. With the weights in SRAM the layers are (nearly) compute-bound, and what is left is the fully connected layers' poor use of the MAC array: at batch 1 each weight takes part in a single multiply, so there is little work to spread over 128 MACs (`in_sram.hotspots()` says so).
#
# The catch is in the memory columns. Vela models an SRAM-only system as "on-chip flash with the SRAM's speed", so the weights still appear under `flash_kib` — but on the device they live in SRAM, next to the activations. The SRAM the model needs is `sram_kib + flash_kib`. Whether your chip has it, and whether the application can spare it, decides between the two rows. Lesson 4 compares memory systems more generally.

# %% [markdown]
# ## Try it yourself
#
# Pick a model and a target; the **Cycles** tab has the per-operator bars and the module treemap. For deep_autoencoder on the Ethos-U55, switch the memory mode between `Shared_Sram` and `Sram_Only`.

# %%
labkit.Lab(model="deep_autoencoder", target="corstone-300")
