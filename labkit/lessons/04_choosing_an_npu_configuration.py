# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 4 — Choosing an NPU configuration
#
# "Ethos-U" is a family of configurable designs. A chip maker who licenses one picks three things, and Vela needs all three to estimate a model:
#
# 1. **The accelerator**: the family (U55, U65, U85) and its size — how many 8-bit multiply-accumulates (MACs) it can do per cycle, from 32 to 2048.
# 2. **The system config**: the chip around the NPU — its clock, and which memories sit on its two AXI ports (SRAM, flash or DRAM) with their speed and latency.
# 3. **The memory mode**: which of those memories hold the weights, the activations and (with a `Dedicated_Sram` mode) a fast cache.
#
# This lesson changes one knob at a time on the same model and reads what moves. Every number is a **Vela estimate** for one inference.

# %%
import labkit
import pandas as pd
import plotly.graph_objects as go

from labkit import plots, targets

targets.targets_table()[["accelerator", "family", "macs_per_cycle", "default_system_config",
                         "default_memory_mode"]]

# %% [markdown]
# ## MAC count
#
# **resnet8** is the MLPerf Tiny image classifier (32×32 RGB, about 12.5 million MACs per inference). Compile it for four sizes of Ethos-U55 and three of Ethos-U85, each with its family's default system config and memory mode, and collect one summary row per compile. Each compile takes 10–20 seconds the first time and comes from the cache after that.
#
# (`labkit.sweep(model, targets)` runs this kind of loop for you, and faster: it lowers the model once per TOSA profile (one for U55 and U65, one for U85) and runs Vela per target; lesson 7 uses it to compare every configuration at once. Written out, the loop shows there is nothing more to it than one `labkit.compile` per configuration.)

# %%
ACCELERATORS = ["ethos-u55-32", "ethos-u55-64", "ethos-u55-128", "ethos-u55-256",
                "ethos-u85-128", "ethos-u85-256", "ethos-u85-512"]
COLUMNS = ["accelerator", "system_config", "memory_mode", "clock_hz", "total_cycles", "npu_cycles",
           "flash_access_cycles", "inference_ms", "macs", "npu_ops", "cpu_ops", "partitions", "source"]

rows = []
for accelerator in ACCELERATORS:
    report = labkit.compile("resnet8", accelerator)
    rows.append({**report.summary[COLUMNS], "family": report.target.family, "macs_per_cycle": report.target.macs})

sizes = pd.DataFrame(rows)
sizes["clock_mhz"] = sizes["clock_hz"] / 1e6
# cycles spent waiting on memory beyond the compute
sizes["memory_wait_cycles"] = sizes["total_cycles"] - sizes["npu_cycles"]
# how busy the MAC array is over the whole inference: the model's MACs / (cycles × MACs per cycle)
sizes["mac_utilisation_pct"] = 100 * sizes["macs"] / (sizes["total_cycles"] * sizes["macs_per_cycle"])
# what one doubling of the MACs bought: the previous size's cycles / these cycles
sizes["speedup_from_doubling"] = sizes.groupby("family")["total_cycles"].transform(lambda c: c.shift(1) / c)
sizes.set_index("accelerator")[["system_config", "memory_mode", "clock_mhz", "total_cycles", "npu_cycles",
                                 "memory_wait_cycles", "inference_ms", "mac_utilisation_pct",
                                 "speedup_from_doubling", "cpu_ops", "partitions", "source"]].round(3)

# %%
fig = go.Figure()
for family, rows in sizes.groupby("family"):
    fig.add_scatter(x=rows["macs_per_cycle"], y=rows["inference_ms"], mode="lines+markers", name=family,
                    customdata=rows[["accelerator", "total_cycles", "npu_cycles", "clock_hz"]],
                    hovertemplate="<b>%{customdata[0]}</b><br>%{y:.3f} ms<br>%{customdata[1]:,} cycles "
                                  "(compute %{customdata[2]:,})<br>clock %{customdata[3]:.3s}Hz<extra></extra>")
fig.update_layout(title="<b>resnet8: inference time vs MACs per cycle</b><br><sup>each family's default "
                        "system config and memory mode · Vela estimate</sup>",
                  xaxis=dict(title="MACs per cycle", type="log", tickvals=[32, 64, 128, 256, 512]),
                  yaxis=dict(title="inference (ms)", rangemode="tozero"), height=420,
                  paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)")
fig

# %% [markdown]
# Three things to read in this plot and the table above it:
#
# - **Doubling the MACs halves the time — at first.** From U55-32 to U55-64 the cycles halve (`speedup_from_doubling` ≈ 2); each further doubling buys less.
# - **Why less?** Two reasons, both in the table. The compute itself (`npu_cycles`) shrinks less than the array grows: resnet8's layers are small (32×32 feature maps and below, 16 to 64 channels), and a bigger array has more lanes than a small layer can fill. And memory starts to show: `memory_wait_cycles` — layers waiting on their weights, which the U55's default `Shared_Sram` mode keeps in flash — grows as the compute gets faster. `mac_utilisation_pct` sums it up: a bigger array, idle more of the time. Paying for MACs that a model cannot feed buys little.
# - **The families are different systems.** The U85 rows need fewer cycles at the same MAC count and keep scaling further: its default memory mode keeps the weights in SRAM (`Sram_Only`, no waiting on flash). In milliseconds the gap is wider still, because the U85's default system runs at 1 GHz where the U55's runs at 500 MHz. Compare cycles to compare the NPUs; compare milliseconds to compare the systems.

# %% [markdown]
# ## System config and memory mode
#
# System configs and memory modes are sections of Vela's `.ini` file. labkit reads them from the installed Vela (or from your own file: `config_ini=`) and asks Vela itself which combinations are valid for an accelerator, so a mistake fails before anything compiles. Each system config names its family; the memory modes valid for it depend on the memories it has:

# %%
ini = targets.read_vela_ini(targets.bundled_vela_ini())
rows = []
for accelerator in ("ethos-u55-128", "ethos-u85-256"):
    for system_config in targets.valid_system_configs(accelerator):
        section = ini["system_configs"][system_config]
        rows.append({"accelerator": accelerator, "system_config": system_config,
                     "clock_mhz": float(section["core_clock"]) / 1e6,
                     "axi0": section["axi0_port"], "axi1": section["axi1_port"],
                     "memory_modes": ", ".join(targets.valid_memory_modes(accelerator, system_config))})
pd.DataFrame(rows).set_index(["accelerator", "system_config"])

# %% [markdown]
# A memory mode maps three kinds of data onto the two AXI ports: `const` (weights), `arena` (activations) and `cache` (a fast staging area). `Axi0` is the SRAM in every config above; `Axi1` is flash or DRAM:

# %%
pd.DataFrame(ini["memory_modes"]).T.fillna("")

# %% [markdown]
# - `Shared_Sram`: weights on Axi1 (flash or DRAM), activations in SRAM, which the NPU shares with the CPU's software. The usual microcontroller setup.
# - `Sram_Only`: everything in SRAM. Fastest, and the SRAM must hold the weights too.
# - `Dedicated_Sram*` (U65/U85 with DRAM): weights and activations in DRAM, with the SRAM as the NPU's own cache of the given size.
#
# Now resnet8 on the Ethos-U55-128 in three settings: the Corstone-300 default, a lower-end system (200 MHz, slower flash), and the default system with everything in SRAM:

# %%
SETTINGS = [("Ethos_U55_High_End_Embedded", "Shared_Sram"),
            ("Ethos_U55_Deep_Embedded", "Shared_Sram"),
            ("Ethos_U55_High_End_Embedded", "Sram_Only")]
rows = []
for system_config, memory_mode in SETTINGS:
    report = labkit.compile("resnet8", "ethos-u55-128", system_config=system_config, memory_mode=memory_mode)
    rows.append(report.summary[COLUMNS + ["sram_kib", "flash_kib"]])
systems = pd.DataFrame(rows).set_index(["system_config", "memory_mode"])
systems["clock_mhz"] = systems["clock_hz"] / 1e6
systems[["clock_mhz", "total_cycles", "npu_cycles", "flash_access_cycles", "inference_ms", "sram_kib",
         "flash_kib", "source"]].round(3)

# %%
labels = [f"{s}<br>{m}" for s, m in systems.index]
fig = go.Figure([go.Bar(x=labels, y=systems["npu_cycles"], name="NPU compute", marker_color=plots.NPU_COLOR),
                 go.Bar(x=labels, y=systems["total_cycles"] - systems["npu_cycles"],
                        name="waiting on memory beyond compute", marker_color=plots.MEMORY_COLOR)])
fig.update_layout(barmode="stack", height=380, yaxis_title="cycles",
                  title="<b>resnet8 on ethos-u55-128: system config and memory mode</b>"
                        "<br><sup>cycles per inference · Vela estimate</sup>",
                  paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)")
fig

# %% [markdown]
# - **Deep_Embedded** runs at 200 MHz instead of 500: every cycle is 2.5× longer. Its flash is also slower *relative to the clock* (one sixteenth of it, against one eighth), so the NPU waits on flash for more cycles as well — the time grows by more than the clock ratio.
# - **Sram_Only** removes the flash wait: the cycles drop to (almost) the compute alone. The price is SRAM: the model's weights (`flash_kib`, which Vela files under on-chip flash in this mode) now have to fit in SRAM next to the activations (`sram_kib`).
#
# Which one is *right* is not a compiler question: it is which chip you can buy, and how much of its SRAM the rest of your application needs.

# %% [markdown]
# ## What the numbers do not tell you
#
# Everything in this lesson is an estimate from Vela's performance model. It is good for comparing configurations and spotting bottlenecks; it is not a stopwatch.
#
# - **Not a measurement.** Vela models the NPU and its memory transfers one layer at a time. It does not see the CPU competing for the same SRAM, driver and interrupt overhead, or caches. A Corstone FVP or a board measures (lesson 8).
# - **No CPU time.** Operators that fall back to the Cortex-M, and the conversions around them, are not in any of these numbers (lesson 2). resnet8 runs entirely on the NPU except for its input and output conversions; other models do not.
# - **Random weights.** The built-in MLPerf Tiny models compile with random weights. Vela compresses weights before storing them, and how well depends on their values, so a model whose weights stream from flash can estimate differently once trained (lesson 6 shows it). labkit says so on every such report:

# %%
for warning in labkit.compile("resnet8", "ethos-u55-128").warnings:
    print("warning:", warning)

# %% [markdown]
# - **No size check for SRAM you do not have.** `Shared_Sram` and `Sram_Only` set no SRAM size, so Vela accepts any model; the `Dedicated_Sram_*KB` modes do set one. Check `sram_kib` (and in `Sram_Only`, `flash_kib`) against your part.
# - **No silicon cost.** A U85-512 is a bigger, more power-hungry block than a U55-64. Power, area, price and which parts exist are outside the model — the estimate tells you what a configuration would buy, not what it costs.
#
# Used for what it is, the estimate answers the questions of this lesson well: is my model compute-bound or memory-bound on this system, and would more MACs, a faster clock or another memory mode help?

# %% [markdown]
# ## Try it yourself
#
# Pick a model, an accelerator, a system config and a memory mode; the dropdowns only offer valid combinations. Configurations compiled above come back from the cache instantly.

# %%
labkit.Lab(model="resnet8", target="corstone-300")
