"""Writes lesson 2 (kept as code so the prose is reviewed like code). Run: python notebooks/make_lesson_02.py"""

from lesson import code, md, write

cells = [
    md("# Lesson 2 — CPU vs NPU: why operators fall back\n\n"
       "An Ethos-U NPU is not a general-purpose processor. It runs a fixed menu of int8 operations — "
       "convolutions, pooling, elementwise arithmetic, a few reshapes and lookups — and each of them only "
       "within hardware limits: kernel sizes, strides, tensor dimensions. Anything else has to run on the "
       "Cortex-M CPU next to it.\n\n"
       "Who decides? Before anything is compiled, ExecuTorch's **Ethos-U partitioner** walks the exported "
       "graph and asks of every operator: can TOSA (the operator set the NPU compiler reads) express it, and "
       "can *this* NPU run it within its limits? Operators that pass are grouped into **NPU partitions**; "
       "Vela compiles each partition into one command stream. Operators that fail stay in the ExecuTorch "
       "program and run on the CPU — and the partitioner records why.\n\n"
       "This lesson reads those reasons, shows what splitting a model into several partitions costs, "
       "compares an Ethos-U55 with an Ethos-U85 on the same model, and fixes a fallback by changing the model."),
    code("import labkit\nimport pandas as pd\nimport torch\nfrom IPython.display import display\n"
         "from torch import nn\n\nfrom labkit import plots\n\n"
         "pd.set_option(\"display.max_colwidth\", None)  # show the partitioner's reasons in full\n\n"
         "u55 = labkit.compile(\"ds_cnn\", \"ethos-u55-128\")  # the NPU of Corstone-300\nu55"),
    md("## The partitioner's reasons\n\n"
       "**ds_cnn** is the MLPerf Tiny keyword-spotting network: a 49×10 MFCC \"image\" of one second of audio "
       "goes through a convolution and four depthwise-separable blocks, then an `nn.AvgPool2d((24, 5))` "
       "averages the feature map and a linear layer picks one of 12 keywords.\n\n"
       "`report.operators` has one row per operator of the graph the partitioner saw; the CPU rows carry "
       "its reason:"),
    code("ops = u55.operators\nops.loc[ops[\"placement\"] == \"CPU\", [\"op\", \"module\", \"shape\", \"reason\"]]"),
    md("Three kinds of CPU rows:\n\n"
       "- **The graph's input quantize and output dequantize.** The program takes and returns float tensors; "
       "the NPU computes on integers (int8 here), so the conversions at the very edges always run on the "
       "CPU.\n"
       "- **`aten.avg_pool2d`, rejected with a reason.** The U55's pooling hardware takes strides up to 3, "
       "and kernels larger than 8×8 only without padding. ds_cnn's pool has kernel = stride = (24, 5) over a "
       "25×5 feature map: the 24-row window does not tile 25 rows, so the lowering has to crop the last row "
       "(TOSA writes that as a negative padding), and the stride of 24 is out of range anyway. The check "
       "lives in ExecuTorch (`backends/arm/operator_support/pool_2d_support.py`); labkit only passes its "
       "message on.\n"
       "- **A dequantize before the pool and a quantize after it**: the CPU's kernels work in float, so the "
       "int8 tensor coming out of the NPU is converted to float32 for the pool, and back to int8 for the NPU.\n\n"
       "Hover over the bars below: each operator in graph order, NPU lane above, CPU lane below, with the "
       "shaded NPU partitions."),
    code("plots.placement(u55)"),
    md("## Partitions: NPU islands and the work at their edges\n\n"
       "The pool sits between the feature extractor and the classifier, so it cuts the NPU work in two: "
       "**partition 0** (everything up to the pool) and **partition 1** (the classifier). Each partition is a "
       "separate call from the ExecuTorch runtime into the NPU driver, with the CPU's work in between.\n\n"
       "`report.cpu_work` lists that CPU work, with the size of every tensor it touches:"),
    code("print(\"NPU partitions:\", u55.summary[\"partitions\"])\n"
         "u55.cpu_work[[\"op\", \"kind\", \"module\", \"shape\", \"dtype\", \"elements\", \"bytes\", \"reason\", \"cost\"]]"),
    md("Read it from the top: the input is quantized; partition 0 runs; the CPU dequantizes the whole "
       "64×25×5 feature map to float32, averages it, quantizes the 64 averages back to int8; partition 1 "
       "runs; the 12 scores are dequantized.\n\n"
       "**None of this is in the cycle count.** Vela estimates the NPU partitions only; the Cortex-M's time "
       "depends on the core (with or without Helium vector instructions), on ExecuTorch's kernels and on "
       "where the tensors live. labkit writes *not estimated by Vela* instead of guessing. So a model that "
       "falls back looks *cheaper* in Vela's estimate than it is: part of its work has simply left the "
       "estimate. To time it, run the program on a Corstone FVP or a board (lesson 8).\n\n"
       "What you can see is the shape of the cost: every partition boundary is a round trip of "
       "dequantize → CPU operator → quantize over the whole tensor that crosses it, plus one more start of "
       "the NPU. Fewer boundaries and smaller tensors at them mean less CPU work.\n\n"
       "The NPU pays at the boundary too. It stores feature maps channels-last (NHWC), while the program "
       "hands tensors to and from the CPU channels-first (NCHW) as PyTorch does, so a partition that gives a "
       "feature map back to the CPU ends with **layout changes**: TOSA `TRANSPOSE` layers, which Vela does "
       "estimate. `report.layers` is Vela's own per-layer table, with the TOSA operator of each layer:"),
    code("u55.layers.groupby([\"partition\", \"tosa_op\"])[\"Op Cycles\"].agg([\"count\", \"sum\"])"),
    md("Partition 0 ends with two TRANSPOSE layers that turn the 64×25×5 feature map back to channels-first "
       "for the CPU's pool. Partition 1 starts from 64 averages, a 1×1 map where the layout makes no "
       "difference, so it needs none."),
    md("## The same model on the Ethos-U85\n\n"
       "The Ethos-U85 is the newer design: its TOSA profile is wider and its pooling has none of the U55's "
       "kernel and stride limits. Same model, the Corstone-320's NPU:"),
    code("u85 = labkit.compile(\"ds_cnn\", \"ethos-u85-256\")  # the NPU of Corstone-320\n"
         "u85.operators.loc[u85.operators[\"op\"] == \"aten.avg_pool2d\", [\"op\", \"module\", \"placement\", "
         "\"partition\", \"cycles\"]]"),
    md("The pool now runs on the NPU, so the whole network is one partition and only the input and output "
       "conversions stay on the CPU. One above the other, so that operator *k* of the U55 lines up with "
       "operator *k* of the U85:"),
    code("for report in (u55, u85):\n    display(plots.placement(report))"),
    md("And the numbers side by side. Every figure is a Vela estimate of the NPU's work; the U55 row leaves "
       "out the pool it hands to the CPU."),
    code("def compare(reports):\n"
         "    \"\"\"One row per report: the target and its headline numbers (Vela estimates).\"\"\"\n"
         "    columns = [\"accelerator\", \"system_config\", \"memory_mode\", \"total_cycles\", \"inference_ms\",\n"
         "               \"npu_ops\", \"cpu_ops\", \"partitions\", \"sram_kib\", \"flash_kib\", \"source\"]\n"
         "    table = pd.DataFrame([r.summary[columns] for r in reports])\n"
         "    table.insert(3, \"clock_mhz\", [r.summary[\"clock_hz\"] / 1e6 for r in reports])\n"
         "    return table.set_index(\"accelerator\")\n\n"
         "compare([u55, u85])"),
    md("Fewer cycles on the U85 — but read the columns before concluding anything about the NPU alone. "
       "Each accelerator compiled with its family's default *system*: the U85 has twice the MACs, a clock "
       "twice as fast (1 GHz vs 500 MHz: fewer milliseconds per cycle) and keeps its weights in SRAM "
       "(`Sram_Only`), while the U55 reads them from flash (`Shared_Sram`). This table compares two "
       "systems, Corstone-300 vs Corstone-320 style. Lesson 4 takes MACs, clock and memory apart."),
    md("## Fixing the fallback on the U55\n\n"
       "A reason is a specification: it says what the hardware would accept. The pool averages the whole "
       "feature map down to one value per channel — a *global* average. Written as "
       "`nn.AdaptiveAvgPool2d(1)`, it lowers to a pool whose window is exactly the 25×5 map with stride 1: "
       "no padding, no large stride, within the U55's limits. Swap the module and compile again (the "
       "weights, inputs and calibration data are ds_cnn's own):"),
    code("spec = labkit.models.get(\"ds_cnn\")\nnet = spec.factory()\nnet.pool = nn.AdaptiveAvgPool2d(1)\n"
         "fixed = labkit.compile(net, \"ethos-u55-128\", example_inputs=spec.example_inputs(),\n"
         "                       calibration_inputs=spec.calibration_inputs(), name=\"ds_cnn (global pool)\")\n"
         "compare([u55, fixed]).set_index(pd.Index([\"ds_cnn\", \"ds_cnn (global pool)\"], name=\"model\"))"),
    code("def layer_cycles(report, tosa_op):\n"
         "    \"\"\"Vela's estimated cycles of every layer of one TOSA operator type.\"\"\"\n"
         "    return int(report.layers.loc[report.layers[\"tosa_op\"] == tosa_op, \"Op Cycles\"].sum())\n\n"
         "for r in (u55, fixed):\n"
         "    print(f\"{r.summary['model']:22} pool on the NPU: {layer_cycles(r, 'tosa.AVG_POOL2D'):6,} cycles · \"\n"
         "          f\"layout changes: {layer_cycles(r, 'tosa.TRANSPOSE'):6,} cycles (Vela estimates)\")"),
    md("One partition, and only the two edge conversions left on the CPU. The cycle estimate hardly moves: "
       "the pool's own cycles now count, and the layout changes at the old boundary are gone. The real "
       "device gains more than the estimate shows — the dequantize / float pool / quantize round trip on "
       "the Cortex-M, which Vela never counted, is gone too.\n\n"
       "Careful: this is a slightly different model. It averages all 25 rows where the original dropped the "
       "last one. With trained weights you would check the accuracy again (lesson 6), or fine-tune."),
    md("## Your own model: an unsupported operator in the middle\n\n"
       "Some operators have no NPU equivalent at all. `torch.sort` is one: TOSA has no sort operation, on "
       "any Ethos-U. Put it between two convolutions and it splits the NPU work:"),
    code("class SortInTheMiddle(nn.Module):\n"
         "    \"\"\"conv → sort along the width → conv: the sort falls back to the CPU.\"\"\"\n\n"
         "    def __init__(self):\n"
         "        super().__init__()\n"
         "        self.head = nn.Conv2d(3, 16, 3, padding=1)\n"
         "        self.tail = nn.Conv2d(16, 16, 3, padding=1)\n\n"
         "    def forward(self, x):\n"
         "        x = torch.relu(self.head(x))\n"
         "        x, _ = torch.sort(x, dim=-1)\n"
         "        return torch.relu(self.tail(x))\n\n\n"
         "torch.manual_seed(0)\n"
         "image = (torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0)),)\n"
         "middle = labkit.compile(SortInTheMiddle(), \"ethos-u55-128\", example_inputs=image)\n"
         "plots.placement(middle)"),
    code("middle.cpu_work[[\"op\", \"kind\", \"shape\", \"dtype\", \"elements\", \"reason\"]]"),
    md("Two partitions, and the whole 16×32×32 activation crosses the CPU twice: dequantized for the sort, "
       "quantized again for the second convolution. The reason for the sort is the generic one: no TOSA "
       "operator and no registered check for it. The `getitem` row is Python's `x, _ = ...`: picking the "
       "values out of sort's (values, indices) pair, which stays with the sort on the CPU.\n\n"
       "You cannot make sort run on the NPU, but you can choose *where* it runs. Moved to the end of the "
       "model, it no longer separates two NPU islands:"),
    code("class SortAtTheEnd(SortInTheMiddle):\n"
         "    \"\"\"The same operators, with the sort last.\"\"\"\n\n"
         "    def forward(self, x):\n"
         "        x = torch.relu(self.tail(torch.relu(self.head(x))))\n"
         "        return torch.sort(x, dim=-1)[0]\n\n\n"
         "torch.manual_seed(0)\n"
         "end = labkit.compile(SortAtTheEnd(), \"ethos-u55-128\", example_inputs=image)\n\n"
         "reports = {\"sort in the middle\": middle, \"sort at the end\": end}\n"
         "pd.DataFrame({\"partitions\": [r.summary[\"partitions\"] for r in reports.values()],\n"
         "              \"TRANSPOSE layers\": [int((r.layers[\"tosa_op\"] == \"tosa.TRANSPOSE\").sum()) for r in reports.values()],\n"
         "              \"their cycles\": [layer_cycles(r, \"tosa.TRANSPOSE\") for r in reports.values()],\n"
         "              \"total_cycles\": [r.summary[\"total_cycles\"] for r in reports.values()],\n"
         "              \"source\": [r.summary[\"source\"] for r in reports.values()]},\n"
         "             index=pd.Index(list(reports), name=\"model\"))"),
    md("One partition instead of two, and with it half the layout changes: every partition converts its "
       "input to channels-last and its output back, so the second partition's pair of conversions — a good "
       "part of the estimate for a model this small — disappears with it. The same two convolutions, the "
       "same sort: only its *place* changed. (The two models compute different things, of course; the point "
       "is the cost of where an unsupported operator sits.)\n\n"
       "The CPU still runs the sort, now on the final feature map, and `end.cpu_work` shows one quirk: the "
       "quantizer gave sort's output int8 parameters too, so the program quantizes the sorted values and "
       "dequantizes them straight back before returning them — a CPU round trip that only rounds.\n\n"
       "When you design for an NPU, keep the operators it cannot run at the edges of the graph, or take them "
       "out of the model into your application code. The same holds on the U85: sort has no TOSA operator "
       "there either."),
    md("## Try it yourself\n\n"
       "Compile ds_cnn (or any built-in model) for the Ethos-U55 and the Ethos-U85. The **Placement** tab "
       "lists every CPU operator with the partitioner's reason; compare the two NPU families."),
    code("labkit.Lab(model=\"ds_cnn\", target=\"corstone-300\")"),
]
write(cells, "02_cpu_vs_npu.ipynb")
