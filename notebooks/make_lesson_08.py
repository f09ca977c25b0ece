"""Writes lesson 8 (kept as code so the prose is reviewed like code). Run: python notebooks/make_lesson_08.py"""

from lesson import code, md, write

cells = [
    md("# Lesson 8 — Run it on the FVP\n\n"
       "Every number so far was a **Vela estimate**: the compiler's model of the NPU, computed without running "
       "anything. Arm's **Corstone FVPs** (Fixed Virtual Platforms) simulate the reference systems — "
       "Corstone-300 (Cortex-M55 + Ethos-U55 or U65) and Corstone-320 (Cortex-M85 + Ethos-U85) — and run the "
       "compiled `.pte` with ExecuTorch's bare-metal `arm_executor_runner`. A run adds what an estimate cannot:\n\n"
       "* **measured NPU cycles** — the Ethos-U PMU's active-cycle counter (the FVP is *cycle-approximate* for "
       "the NPU);\n"
       "* **PMU counters** — memory beats read and written per port, NPU idle cycles;\n"
       "* **CPU cycles** of the Cortex-M — printed, but **not cycle-accurate**: the FVP does not time the CPU.\n\n"
       "Everything an FVP produces is labelled `fvp-measured`.\n\n"
       "The FVPs are a free download from Arm behind a licence acceptance, so they may not be installed on "
       "this machine. This lesson finds out, and explains instead of failing."),
    md("## Is an FVP installed?\n\n"
       "labkit looks on `PATH`, under `LABKIT_FVP_DIR`, and in an ExecuTorch checkout (`EXECUTORCH_ROOT`) for "
       "the FVP of each NPU family and for ExecuTorch's runner. This is what `labkit doctor` prints."),
    code("import labkit\nfrom pathlib import Path\nfrom labkit import fvp, fvp_plots\n\n"
         "print(\"\\n\".join(fvp.doctor_lines()))"),
    md("## The model\n\n"
       "MobileNetV2 on Corstone-320 (Ethos-U85-256), as in lesson 1 — it comes from the cache."),
    code("report = labkit.compile(\"mobilenet_v2\", \"corstone-320\")\nreport"),
    md("## Run it — if we can\n\n"
       "`labkit.fvp.run(report)` launches the FVP for the report's NPU (`FVP_Corstone_SSE-320` for an Ethos-U85) "
       "with the options ExecuTorch's own scripts use: the NPU's MAC count, the UART on standard output, "
       "semihosting so the runner reads the `.pte` and the inputs from this machine, and a time limit. It "
       "returns the parsed run. Without an FVP it raises an error that says how to get one (and a timeout or a failed run each "
       "raise one that names the fix); here we catch them and print them."),
    code("from labkit.errors import LabkitError\n\n"
         "measured = None\n"
         "missing = fvp.missing(report)\n"
         "if missing:\n"
         "    print(\"Not run: this machine cannot run the FVP yet.\")\n"
         "    for line in missing:\n"
         "        print(\" -\", line)\n"
         "else:\n"
         "    try:\n"
         "        measured = fvp.run(report, timeout=1800)  # the simulator is slow: minutes for MobileNetV2\n"
         "        print(f\"{measured.npu_cycles:,} NPU active cycles ({measured.source}), \"\n"
         "              f\"simulated in {measured.seconds:.0f} s\")\n"
         "    except LabkitError as e:  # no FVP for this NPU, a timeout, a failed run: say so\n"
         "        print(\"Not run:\", e)"),
    md("To build the runner for this report's own configuration (its timing adapters come from the system "
       "config and memory mode, so build it for the ones Vela estimated), ExecuTorch's scripts do it:"),
    code("print(fvp.how_to_build_runner(report.summary[\"accelerator\"], report.summary[\"system_config\"],\n"
         "                              report.summary[\"memory_mode\"]))"),
    md("## Estimate beside measurement: a published log\n\n"
       "Even without an FVP here we can look at a real one. ExecuTorch's Arm delegate tutorial published the "
       "console output of **MobileNetV2 on the Corstone-320 FVP**. labkit parses it as it would parse a run of "
       "its own, and puts it beside our Vela estimate.\n\n"
       "Read the caption: this is **not** a run of our `.pte`. The tutorial's model has torchvision's trained "
       "weights and was built with a much older ExecuTorch and Vela; ours has random weights and today's "
       "toolchain. So the two bars are two different builds of the same network — a sense of scale, not a "
       "verdict on Vela's accuracy. Where an FVP is installed, the next cell shows your own run instead."),
    code("name = \"corstone320_mv2_executorch_tutorial.log\"\n"
         "log = Path.cwd().parent.parent / \"shared\" / \"fvp-logs\" / name  # notebooks/ -> repo -> beside it\n"
         "info = fvp_plots.PUBLISHED_LOGS[name]\n"
         "if measured is not None:\n"
         "    fig = fvp_plots.estimate_vs_measured(report, measured)  # our own run\n"
         "elif log.is_file():\n"
         "    published = fvp.parse(log.read_text(), info[\"target\"])\n"
         "    fig = fvp_plots.estimate_vs_measured(report, published, caption=info[\"caption\"],\n"
         "                                         run_label=\"FVP measured (published log)\")\n"
         "else:\n"
         "    print(f\"The published log is not at {log}: showing Vela's estimate alone.\")\n"
         "    published = None\n"
         "    fig = fvp_plots.estimate_vs_measured(report, None)\n"
         "fig"),
    md("The counters behind the measured bar. `EXT0_RD_DATA_BEAT_RECEIVED` counts data beats the NPU read "
       "over its external port; `NPU_IDLE` the cycles it waited. The CPU rows are printed by the runner but "
       "the FVP is not cycle-accurate for the CPU: use an FPGA or a board for CPU timing."),
    code("run = measured if measured is not None else (published if log.is_file() else None)\n"
         "fvp_plots.measured_table(run) if run is not None else \"no FVP output to show\""),
    md("## In the app\n\n"
       "The Lab has an **FVP** tab. Where an FVP and the runner are installed it offers **Run on the FVP**, "
       "which runs the compiled model in the background and shows the estimate beside the measurement and the "
       "PMU counters. Where they are not, it says what is missing and how to install it."),
    code("lab = labkit.Lab(model=\"mobilenet_v2\", target=\"corstone-320\")\n"
         "lab.tabs.selected_index = lab.tabs.titles.index(\"FVP\")\nlab"),
]
write(cells, "08_run_on_the_fvp.ipynb")
