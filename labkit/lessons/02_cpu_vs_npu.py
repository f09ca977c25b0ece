# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 2 — CPU vs NPU: why operators fall back
#
# An Ethos-U NPU is not a general-purpose processor. It runs a fixed menu of int8 operations — convolutions, pooling, elementwise arithmetic, a few reshapes and lookups — and each of them only within hardware limits: kernel sizes, strides, tensor dimensions. Anything else has to run on the Cortex-M CPU next to it.
#
# Who decides? Before anything is compiled, ExecuTorch's **Ethos-U partitioner** walks the exported graph and asks of every operator: can TOSA (the operator set the NPU compiler reads) express it, and can *this* NPU run it within its limits? Operators that pass are grouped into **NPU partitions**; Vela compiles each partition into one command stream. Operators that fail stay in the ExecuTorch program and run on the CPU — and the partitioner records why.
#
# This lesson reads those reasons, shows what splitting a model into several partitions costs, compares an Ethos-U55 with an Ethos-U85 on the same model, and fixes a fallback by changing the model.

# %%
import labkit
import pandas as pd
import torch
from IPython.display import display
from torch import nn

from labkit import plots
from labkit.views import styled

pd.set_option("display.max_colwidth", None)  # show the partitioner's reasons in full

u55 = labkit.compile("ds_cnn", "ethos-u55-128")  # the NPU of Corstone-300
u55

# %% [markdown]
# ## The partitioner's reasons
#
# **ds_cnn** is the MLPerf Tiny keyword-spotting network: a 49×10 MFCC "image" of one second of audio goes through a convolution and four depthwise-separable blocks, then an `nn.AvgPool2d((24, 5))` averages the feature map and a linear layer picks one of 12 keywords.
#
# `report.operators` has one row per operator of the graph the partitioner saw; the CPU rows carry its reason:

# %%
ops = u55.operators
ops.loc[ops["placement"] == "CPU", ["op", "module", "shape", "reason"]]

# %% [markdown]
# Three kinds of CPU rows:
#
# - **The graph's input quantize and output dequantize.** The program takes and returns float tensors; the NPU computes on integers (int8 here), so the conversions at the very edges always run on the CPU.
# - **`aten.avg_pool2d`, rejected with a reason.** The U55's pooling hardware takes strides up to 3, and kernels larger than 8×8 only without padding. ds_cnn's pool has kernel = stride = (24, 5) over a 25×5 feature map: the 24-row window does not tile 25 rows, so the lowering has to crop the last row (TOSA writes that as a negative padding), and the stride of 24 is out of range anyway. The check lives in ExecuTorch (`backends/arm/operator_support/pool_2d_support.py`); labkit only passes its message on.
# - **A dequantize before the pool and a quantize after it**: the CPU's kernels work in float, so the int8 tensor coming out of the NPU is converted to float32 for the pool, and back to int8 for the NPU.
#
# Hover over the bars below: each operator in execution order, NPU lane above, CPU lane below, with the shaded NPU partitions.

# %%
plots.placement(u55)

# %% [markdown]
# ## Partitions: NPU islands and the work at their edges
#
# The pool sits between the feature extractor and the classifier, so it cuts the NPU work in two: **partition 0** (everything up to the pool) and **partition 1** (the classifier). Each partition is a separate call from the ExecuTorch runtime into the NPU driver, with the CPU's work in between.
#
# `report.cpu_work` lists that CPU work, with the size of every tensor it touches, the kernel each step runs on, and its cycles as a range:

# %%
print("NPU partitions:", u55.summary["partitions"])
styled.cpu_work(u55.cpu_work[["op", "kind", "shape", "dtype", "bytes", "kernel", "cpu_cycles_low", "cpu_cycles_est", "cpu_cycles_high"]])

# %% [markdown]
# Read it from the top: the input is quantized; partition 0 runs; the pool runs on the CPU; partition 1 runs; the 12 scores are dequantized. labkit compiles the CPU side as ExecuTorch's Cortex-M backend does (`cpu_kernels="cmsis-nn"`, the default): the dequantize → float pool → quantize round trip becomes **one int8 CMSIS-NN kernel**, `cortex_m.quantized_avg_pool2d`, so the two conversions have no kernel of their own.
#
# **These CPU cycles are not Vela's.** Vela estimates the NPU partitions only. The Cortex-M's numbers come from labkit's cost model, `cortex-m-estimate`: fitted to cycles measured on a Cortex-M55 (an Alif E8 board running MobileNetV2's layers), shown as a range because the core, the memory the tensors live in and the kernel library's version each move them by about 2×. The summary keeps the two apart and adds them only as a range:

# %%
print(u55.summary_text())

# %% [markdown]
# With ExecuTorch's portable kernels instead (`cpu_kernels="portable"`), the pool runs in float32 and the whole 64×25×5 feature map is dequantized first: compare the CPU ranges.

# %%
portable = labkit.compile("ds_cnn", "ethos-u55-128", cpu_kernels="portable")
styled.cpu_work(portable.cpu_work[["op", "kind", "bytes", "kernel", "cpu_cycles_low", "cpu_cycles_est", "cpu_cycles_high"]])

# %% [markdown]
# What you can see is the shape of the cost: every partition boundary is a round trip of dequantize → CPU operator → quantize over the whole tensor that crosses it, plus one more start of the NPU. Fewer boundaries and smaller tensors at them mean less CPU work.
#
# The NPU pays at the boundary too. It stores feature maps channels-last (NHWC), while the program hands tensors to and from the CPU channels-first (NCHW) as PyTorch does, so a partition that gives a feature map back to the CPU ends with **layout changes**: TOSA `TRANSPOSE` layers, which Vela does estimate. `report.layers` is Vela's own per-layer table, with the TOSA operator of each layer:

# %%
u55.layers.groupby(["partition", "tosa_op"])["Op Cycles"].agg(["count", "sum"])

# %% [markdown]
# Partition 0 ends with two TRANSPOSE layers that turn the 64×25×5 feature map back to channels-first for the CPU's pool. Partition 1 starts from 64 averages, a 1×1 map where the layout makes no difference, so it needs none.

# %% [markdown]
# ## The same model on the Ethos-U85
#
# The Ethos-U85 is the newer design: its TOSA profile is wider and its pooling has none of the U55's kernel and stride limits. Same model, the Corstone-320's NPU:

# %%
u85 = labkit.compile("ds_cnn", "ethos-u85-256")  # the NPU of Corstone-320
u85.operators.loc[u85.operators["op"] == "aten.avg_pool2d", ["op", "module", "placement", "partition", "cycles"]]

# %% [markdown]
# The pool now runs on the NPU, so the whole network is one partition and only the input and output conversions stay on the CPU. One above the other, so that operator *k* of the U55 lines up with operator *k* of the U85:

# %%
for report in (u55, u85):
    display(plots.placement(report))


# %% [markdown]
# And the numbers side by side. Every figure is a Vela estimate of the NPU's work; the U55 row leaves out the pool it hands to the CPU.

# %%
def compare(reports):
    """One row per report: the target and its headline numbers (Vela estimates)."""
    columns = ["accelerator", "system_config", "memory_mode", "total_cycles", "inference_ms",
               "npu_ops", "cpu_ops", "partitions", "sram_kib", "flash_kib", "source"]
    table = pd.DataFrame([r.summary[columns] for r in reports])
    table.insert(3, "clock_mhz", [r.summary["clock_hz"] / 1e6 for r in reports])
    return table.set_index("accelerator")

compare([u55, u85])

# %% [markdown]
# Fewer cycles on the U85 — but read the columns before concluding anything about the NPU alone. Each accelerator compiled with its family's default *system*: the U85 has twice the MACs, a clock twice as fast (1 GHz vs 500 MHz: fewer milliseconds per cycle) and keeps its weights in SRAM (`Sram_Only`), while the U55 reads them from flash (`Shared_Sram`). This table compares two systems, Corstone-300 vs Corstone-320 style. Lesson 4 takes MACs, clock and memory apart.

# %% [markdown]
# ## Fixing the fallback on the U55
#
# A reason is a specification: it says what the hardware would accept. The pool averages the whole feature map down to one value per channel — a *global* average. Written as `nn.AdaptiveAvgPool2d(1)`, it lowers to a pool whose window is exactly the 25×5 map with stride 1: no padding, no large stride, within the U55's limits. Swap the module and compile again (the weights, inputs and calibration data are ds_cnn's own):

# %%
spec = labkit.models.get("ds_cnn")
net = spec.factory()
net.pool = nn.AdaptiveAvgPool2d(1)
fixed = labkit.compile(net, "ethos-u55-128", example_inputs=spec.example_inputs(),
                       calibration_inputs=spec.calibration_inputs(), name="ds_cnn (global pool)")
compare([u55, fixed]).set_index(pd.Index(["ds_cnn", "ds_cnn (global pool)"], name="model"))


# %%
def layer_cycles(report, tosa_op):
    """Vela's estimated cycles of every layer of one TOSA operator type."""
    return int(report.layers.loc[report.layers["tosa_op"] == tosa_op, "Op Cycles"].sum())

for r in (u55, fixed):
    print(f"{r.summary['model']:22} pool on the NPU: {layer_cycles(r, 'tosa.AVG_POOL2D'):6,} cycles · "
          f"layout changes: {layer_cycles(r, 'tosa.TRANSPOSE'):6,} cycles (Vela estimates)")


# %% [markdown]
# One partition, and only the two edge conversions left on the CPU. The cycle estimate hardly moves: the pool's own cycles now count, and the layout changes at the old boundary are gone. The real device gains more than the estimate shows — the dequantize / float pool / quantize round trip on the Cortex-M, which Vela never counted, is gone too.
#
# Careful: this is a slightly different model. It averages all 25 rows where the original dropped the last one. With trained weights you would check the accuracy again (lesson 6), or fine-tune.

# %% [markdown]
# ## Your own model: an unsupported operator in the middle
#
# Some operators have no NPU equivalent at all. `torch.sort` is one: TOSA has no sort operation, on any Ethos-U. Put it between two convolutions and it splits the NPU work:

# %%
class SortInTheMiddle(nn.Module):
    """conv → sort along the width → conv: the sort falls back to the CPU."""

    def __init__(self):
        super().__init__()
        self.head = nn.Conv2d(3, 16, 3, padding=1)
        self.tail = nn.Conv2d(16, 16, 3, padding=1)

    def forward(self, x):
        x = torch.relu(self.head(x))
        x, _ = torch.sort(x, dim=-1)
        return torch.relu(self.tail(x))


torch.manual_seed(0)
image = (torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0)),)
middle = labkit.compile(SortInTheMiddle(), "ethos-u55-128", example_inputs=image)
plots.placement(middle)

# %%
middle.cpu_work[["op", "kind", "shape", "dtype", "elements", "reason"]]


# %% [markdown]
# Two partitions, and the whole 16×32×32 activation crosses the CPU twice: dequantized for the sort, quantized again for the second convolution. The reason for the sort is the generic one: no TOSA operator and no registered check for it. The `getitem` row is Python's `x, _ = ...`: picking the values out of sort's (values, indices) pair, which stays with the sort on the CPU.
#
# You cannot make sort run on the NPU, but you can choose *where* it runs. Moved to the end of the model, it no longer separates two NPU islands:

# %%
class SortAtTheEnd(SortInTheMiddle):
    """The same operators, with the sort last."""

    def forward(self, x):
        x = torch.relu(self.tail(torch.relu(self.head(x))))
        return torch.sort(x, dim=-1)[0]


torch.manual_seed(0)
end = labkit.compile(SortAtTheEnd(), "ethos-u55-128", example_inputs=image)

reports = {"sort in the middle": middle, "sort at the end": end}
pd.DataFrame({"partitions": [r.summary["partitions"] for r in reports.values()],
              "TRANSPOSE layers": [int((r.layers["tosa_op"] == "tosa.TRANSPOSE").sum()) for r in reports.values()],
              "their cycles": [layer_cycles(r, "tosa.TRANSPOSE") for r in reports.values()],
              "total_cycles": [r.summary["total_cycles"] for r in reports.values()],
              "source": [r.summary["source"] for r in reports.values()]},
             index=pd.Index(list(reports), name="model"))

# %% [markdown]
# One partition instead of two, and with it half the layout changes: every partition converts its input to channels-last and its output back, so the second partition's pair of conversions — a good part of the estimate for a model this small — disappears with it. The same two convolutions, the same sort: only its *place* changed. (The two models compute different things, of course; the point is the cost of where an unsupported operator sits.)
#
# The CPU still runs the sort, now on the final feature map, and `end.cpu_work` shows one quirk: the quantizer gave sort's output int8 parameters too, so the program quantizes the sorted values and dequantizes them straight back before returning them — a CPU round trip that only rounds.
#
# When you design for an NPU, keep the operators it cannot run at the edges of the graph, or take them out of the model into your application code. The same holds on the U85: sort has no TOSA operator there either.

# %% [markdown]
# ## Try it yourself
#
# Compile ds_cnn (or any built-in model) for the Ethos-U55 and the Ethos-U85. The **Placement** tab lists every CPU operator with the partitioner's reason; compare the two NPU families.

# %%
labkit.Lab(model="ds_cnn", target="corstone-300")
