# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 8 — Run it on the FVP
#
# Every number so far was a **Vela estimate**: the compiler's model of the NPU, computed without running anything. Arm's **Corstone FVPs** (Fixed Virtual Platforms) simulate the reference systems — Corstone-300 (Cortex-M55 + Ethos-U55 or U65) and Corstone-320 (Cortex-M85 + Ethos-U85) — and run the compiled `.pte` with ExecuTorch's bare-metal `arm_executor_runner`. A run adds what an estimate cannot:
#
# * **measured NPU cycles** — the Ethos-U PMU's active-cycle counter (the FVP is *cycle-approximate* for the NPU);
# * **PMU counters** — memory beats read and written per port, NPU idle cycles;
# * **CPU cycles** of the Cortex-M — printed, but **not cycle-accurate**: the FVP does not time the CPU.
#
# Everything an FVP produces is labelled `fvp-measured`.
#
# The FVPs are a free download from Arm behind a licence acceptance, so they may not be installed on this machine. This lesson finds out, and explains instead of failing.

# %% [markdown]
# ## Is an FVP installed?
#
# labkit looks on `PATH`, under `LABKIT_FVP_DIR`, and in an ExecuTorch checkout (`EXECUTORCH_ROOT`) for the FVP of each NPU family and for ExecuTorch's runner. This is what `labkit doctor` prints.

# %%
import labkit
from labkit import fvp, fvp_plots

print("\n".join(fvp.doctor_lines()))

# %% [markdown]
# ## The model
#
# MobileNetV2 on Corstone-320 (Ethos-U85-256), as in lesson 1 — it comes from the cache.

# %%
report = labkit.compile("mobilenet_v2", "corstone-320")
report

# %% [markdown]
# ## Run it — if we can
#
# `labkit.fvp.run(report)` launches the FVP for the report's NPU (`FVP_Corstone_SSE-320` for an Ethos-U85) with the options ExecuTorch's own scripts use: the NPU's MAC count, the UART on standard output, semihosting so the runner reads the `.pte` and the inputs from this machine, and a time limit. It returns the parsed run. Without an FVP it raises an error that says how to get one (and a timeout or a failed run each raise one that names the fix); here we catch them and print them.

# %%
from labkit.errors import LabkitError

measured = None
missing = fvp.missing(report)
if missing:
    print("Not run: this machine cannot run the FVP yet.")
    for line in missing:
        print(" -", line)
else:
    try:
        measured = fvp.run(report, timeout=1800)  # the simulator is slow: minutes for MobileNetV2
        print(f"{measured.npu_cycles:,} NPU active cycles ({measured.source}), "
              f"simulated in {measured.seconds:.0f} s")
    except LabkitError as e:  # no FVP for this NPU, a timeout, a failed run: say so
        print("Not run:", e)

# %% [markdown]
# To build the runner for this report's own configuration (its timing adapters come from the system config and memory mode, so build it for the ones Vela estimated), ExecuTorch's scripts do it:

# %%
print(fvp.how_to_build_runner(report.summary["accelerator"], report.summary["system_config"],
                              report.summary["memory_mode"]))

# %% [markdown]
# ## Estimate beside measurement: a published log
#
# Even without an FVP here we can look at a real one. ExecuTorch's Arm delegate tutorial published the console output of **MobileNetV2 on the Corstone-320 FVP**. labkit parses it as it would parse a run of its own, and puts it beside our Vela estimate.
#
# Read the caption: this is **not** a run of our `.pte`. The tutorial's model has torchvision's trained weights and was built with a much older ExecuTorch and Vela; ours has random weights and today's toolchain. So the two bars are two different builds of the same network — a sense of scale, not a verdict on Vela's accuracy. Where an FVP is installed, the next cell shows your own run instead.

# %%
name = "corstone320_mv2_executorch_tutorial.log"
info = fvp.PUBLISHED_LOGS[name]
published = fvp.parse(fvp.published_log(name), info["target"])  # ships with labkit
if measured is not None:
    fig = fvp_plots.estimate_vs_measured(report, measured)  # our own run
else:
    fig = fvp_plots.estimate_vs_measured(report, published, caption=info["caption"],
                                         run_label="FVP measured (published log)")
fig

# %% [markdown]
# The counters behind the measured bar. `EXT0_RD_DATA_BEAT_RECEIVED` counts data beats the NPU read over its external port; `NPU_IDLE` the cycles it waited. The CPU rows are printed by the runner but the FVP is not cycle-accurate for the CPU: use an FPGA or a board for CPU timing.

# %%
fvp_plots.measured_table(measured if measured is not None else published)

# %% [markdown]
# ## In the app
#
# The Lab has an **FVP** tab. Where an FVP and the runner are installed it offers **Run on the FVP**, which runs the compiled model in the background and shows the estimate beside the measurement and the PMU counters. Where they are not, it says what is missing and how to install it.

# %%
lab = labkit.Lab(model="mobilenet_v2", target="corstone-320")
lab.tabs.selected_index = lab.tabs.titles.index("FVP")
lab
