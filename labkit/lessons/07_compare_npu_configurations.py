# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 7 — Choosing an NPU: compare every configuration at once
#
# Lesson 4 turned one knob at a time. Here we turn them all: `labkit.sweep` compiles one model for every Ethos-U configuration in one call and returns one row per configuration. It is cheaper than it sounds: the expensive part of a compile (export, int8 quantization, lowering to TOSA) depends only on the **TOSA profile** — the U55 and U65 share one, the U85 has its own — so the model is lowered twice, in parallel, and only Vela runs per configuration. Every report lands in the cache, so a second sweep is instant, and a later compile or sweep of the same model for *new* configurations reuses the cached lowering: only Vela runs.
#
# The model is **ds_cnn**, the MLPerf Tiny keyword-spotting network (a 49×10 MFCC input, one regular convolution, four depthwise-separable blocks, an average pool and a classifier; about 2.5 million multiply-accumulates per inference; its weights are random, which changes nothing about speed or memory). Every number in this lesson is a **Vela estimate** for one inference; the end of the lesson says what such an estimate leaves out.

# %%
import labkit
from labkit import sweep_plots, targets
from labkit.sweeps import reports

df = labkit.sweep("ds_cnn", "all")  # all 11 accelerators, each with its family's default system config and memory mode
df[["accelerator", "system_config", "memory_mode", "total_cycles", "inference_ms", "sram_kib",
    "flash_kib", "dram_kib", "npu_ops", "cpu_ops", "partitions", "source", "from_cache"]]

# %% [markdown]
# ## MAC count: where more MACs stop paying off
#
# An Ethos-U55 comes with 32 to 256 MACs per cycle, a U65 with 256 or 512, a U85 with 128 to 2048. The MAC array is a large part of the NPU's silicon, so a chip maker pays for every doubling. The dotted lines show what perfect scaling would give (twice the MACs, half the time); each label is the speed-up one doubling actually bought. The time axis is logarithmic, so equal gaps are equal ratios.

# %%
sweep_plots.scaling(df)

# %%
defaults = sweep_plots.family_rows(df).sort_values(["family", "macs_per_cycle"])
for family, rows in defaults.groupby("family"):
    macs, ms = rows["macs_per_cycle"].tolist(), rows["inference_ms"].tolist()
    steps = [f"{a}→{b} MACs ×{x / y:.2f}" for a, b, x, y in zip(macs, macs[1:], ms, ms[1:])]
    print(f"{family}: " + ", ".join(steps))
    small = [f"{b}" for a, b, x, y in zip(macs, macs[1:], ms, ms[1:]) if x / y < 1.2]
    if small:
        print(f"   stops paying off: going to {small[0]} MACs buys less than ×1.2")

# %% [markdown]
# Doubling the MACs only shortens the part of the work that the MAC array does, and only when the layer is big enough to keep a larger array busy. ds_cnn's feature maps are small (25×5 positions, 64 channels), so a larger array mostly waits: on memory traffic for the weights and activations, on fixed per-layer overheads, and on the layers that were never MAC-bound (depthwise convolutions do few MACs for the data they move; pooling and the classifier hardly any).
#
# The per-operator estimate shows it. `util_pct` is Vela's estimate of how busy the MAC array is while that operator runs: when it collapses, extra MACs are idle silicon.

# %%
by_acc = {r.summary["accelerator"]: r for r in reports(df)}

def per_operator(accelerator):
    ops = by_acc[accelerator].operators
    ops = ops[ops["cycles"].fillna(0) > 0]
    label = ops["op"].str.replace("aten.", "") + " · " + ops["module"]
    return ops.set_index(label)[["cycles", "util_pct"]]

small, large = per_operator("ethos-u55-64"), per_operator("ethos-u55-256")
ops = small.add_suffix(" (u55-64)").join(large.add_suffix(" (u55-256)"))
ops["speed-up"] = ops["cycles (u55-64)"] / ops["cycles (u55-256)"]
ops.round(2).sort_values("cycles (u55-256)", ascending=False).head(8)

# %% [markdown]
# On the U55, four times the MACs makes the first convolution faster, but Vela's estimate for the pointwise convolutions — the bulk of ds_cnn's arithmetic — does not improve (it gets slightly worse): the larger array is mostly idle on them, as the `util_pct` columns show. For this model a U55-64 or U55-128 is where the curve flattens; a bigger model with larger feature maps (try `resnet8`, or `mobilenet_v2` if you have a few minutes) keeps a large array busier.
#
# ## U55, U65 or U85?
#
# At the same MAC count the three families are not the same machine:
#
# * **Ethos-U55** is the microcontroller NPU: a Cortex-M55/M85 companion that reads its weights from flash. Its default system config here runs at 500 MHz.
# * **Ethos-U65** has the U55's compute engine with two wide AXI ports for a bigger system (DRAM, Cortex-A or Cortex-M); its default keeps weights and tensors in DRAM with SRAM as a cache, at 1 GHz.
# * **Ethos-U85** is the newer architecture (a transformer-capable operator set, more of TOSA natively, better utilisation per MAC), here at 1 GHz too.
#
# Comparing **cycles** separates the architecture from the clock:

# %%
same = df[df["macs_per_cycle"] == 256].set_index("accelerator")
same = same.assign(clock_mhz=same["total_cycles"] / same["inference_ms"] / 1e3)
same[["system_config", "clock_mhz", "total_cycles", "inference_ms", "npu_ops", "cpu_ops", "partitions"]]

# %%
u55, u65, u85 = (same.at[a, "total_cycles"] for a in ("ethos-u55-256", "ethos-u65-256", "ethos-u85-256"))
print(f"cycles at 256 MACs: U65 / U55 = {u65 / u55:.2f}, U55 / U85 = {u55 / u85:.2f}")
print(f"time at 256 MACs: U55 {same.at['ethos-u55-256', 'inference_ms']:.3f} ms, "
      f"U65 {same.at['ethos-u65-256', 'inference_ms']:.3f} ms, U85 {same.at['ethos-u85-256', 'inference_ms']:.3f} ms")

# %% [markdown]
# The U65 needs about as many cycles as the U55 (the same engine, its weights further away in DRAM) and is faster in milliseconds only because its system config clocks it twice as fast. The U85 needs far fewer cycles for the same MAC count. And the U55 and U65 rows show two NPU partitions and more CPU operators: part of ds_cnn does not run on their NPU at all.
#
# ## What falls back to the CPU on the U55 but not on the U85
#
# Each configuration's Report knows where every operator ran and, for the CPU, the partitioner's reason. `sweep_plots.fallbacks` takes the sweep's Reports (`reports(df)` loads them from the cache) and lists the operators that stay on the CPU on every U55 but run on the NPU of every U85.

# %%
sweep_plots.fallbacks(reports(df))

# %%
sweep_plots.fallback_table(reports(df))[["op", "module", "reason", "cycles"]]

# %% [markdown]
# The final average pool has a 24×5 kernel; with padding, the U55 takes average-pool kernels smaller than 8 in each dimension (the partitioner's reason says so), so the pool stays on the Cortex-M. That costs more than the pool itself: the NPU work splits into two partitions, and the tensor goes NPU → CPU (dequantize, pool, quantize) → NPU. The U85 runs the same pool on the NPU in one partition. **Vela does not estimate the CPU part**, so the U55 and U65 times above are too low by however long the Cortex-M takes for those operators. The U65 places operators like the U55: they share the TOSA profile.
#
# ## System config and memory mode
#
# The accelerator is one of three choices. The **system config** describes the chip around the NPU (clock, which memory sits on each AXI port, its bandwidth and latency); the **memory mode** says where the weights and the tensors live. A second sweep takes one accelerator per family through every system config Vela's `.ini` defines for it and three memory modes (only the combinations Vela accepts are compiled; nothing is lowered again: the first sweep's lowering is in the cache).

# %%
SYSTEM_CONFIGS = sorted({c for a in ("ethos-u55-128", "ethos-u65-512", "ethos-u85-256")
                         for c in targets.valid_system_configs(a)})
grid = labkit.sweep("ds_cnn", ["ethos-u55-128", "ethos-u65-512", "ethos-u85-256"],
                    system_configs=SYSTEM_CONFIGS,
                    memory_modes=["Sram_Only", "Shared_Sram", "Dedicated_Sram_384KB"])
print(f"{len(grid)} configurations")
sweep_plots.configurations(grid)

# %%
grid.pivot_table(index=["accelerator", "system_config"], columns="memory_mode", values="inference_ms").round(4)

# %%
g = grid.set_index(["accelerator", "system_config", "memory_mode"])
deep = g.loc[("ethos-u55-128", "Ethos_U55_Deep_Embedded", "Shared_Sram")]
high = g.loc[("ethos-u55-128", "Ethos_U55_High_End_Embedded", "Shared_Sram")]
print(f"U55-128 Deep_Embedded vs High_End_Embedded: {deep['total_cycles'] / high['total_cycles']:.2f}× "
      f"the cycles, {deep['inference_ms'] / high['inference_ms']:.2f}× the time")
u85 = g.loc[("ethos-u85-256", "Ethos_U85_SYS_DRAM_Mid")]["inference_ms"]
print("U85-256 SYS_DRAM_Mid: " + ", ".join(f"{m} {t:.4f} ms" for m, t in u85.items()))
u65 = g.loc[("ethos-u65-512", "Ethos_U65_High_End")]["inference_ms"]
print("U65-512 High_End: " + ", ".join(f"{m} {t:.4f} ms" for m, t in u65.items()))

# %% [markdown]
# Three lessons in these numbers:
#
# * **The system config's clock dominates.** The two U55 system configs need almost the same cycles, but Deep_Embedded clocks the NPU at 200 MHz instead of 500 MHz, and the time follows the clock.
# * **Where the weights live matters next.** `Sram_Only` keeps everything in fast SRAM; `Shared_Sram` streams the weights from flash or DRAM; `Dedicated_Sram` puts everything in DRAM and uses the SRAM as a cache. The slower the memory behind the weights, the more cycles the NPU waits.
# * **The defaults are not the fastest for a small model.** The U65's default (`Dedicated_Sram_384KB`) is built for models too large for SRAM; ds_cnn fits in a few dozen KiB, so `Sram_Only` is faster — if the chip has that much SRAM to spare. That is the catch: `Sram_Only` needs room for the weights too (Vela books them as 'on-chip flash' in that mode, but they sit in the same SRAM).
#
# ## The Pareto view
#
# No configuration is best at everything. Three things matter to a chip maker here: **time** per inference, **MACs per cycle** (a rough proxy for silicon area, hence cost and power) and **SRAM** (often the largest block on a microcontroller). A configuration is *Pareto-optimal* when no other one is as good or better on all three at once and strictly better on one; all the others can be dropped from the shortlist. The SRAM counted is what the configuration needs: Vela's SRAM use plus the weights when the memory mode keeps them in SRAM.

# %%
sweep_plots.pareto(df)

# %%
front = sweep_plots.pareto_front(df)
need = df["sram_need_kib"]
print("Pareto-optimal:", ", ".join(df.loc[front, "accelerator"]))
for i in df.index[~front]:
    beats = [j for j in df.index[front] if df.at[j, "inference_ms"] <= df.at[i, "inference_ms"]
             and df.at[j, "macs_per_cycle"] <= df.at[i, "macs_per_cycle"] and need[j] <= need[i]]
    print(f"{df.at[i, 'accelerator']} ({df.at[i, 'inference_ms']:.3f} ms, {need[i]:.1f} KiB) is "
          f"dominated by {df.at[beats[0], 'accelerator']} ({df.at[beats[0], 'inference_ms']:.3f} ms, "
          f"{need[beats[0]]:.1f} KiB)")

# %% [markdown]
# Read the front from left to right: each step buys speed with MACs or SRAM. The configuration dropped here, the U55-256, loses to the U65-256 — which, in its default memory mode, also needs DRAM that a microcontroller may not have: three axes leave the rest of the system out. With SRAM counted honestly, the U85s are not free wins — in their default `Sram_Only` mode they hold the weights in SRAM, so they need about twice the SRAM of a U55 that streams its weights from flash. Which point to pick depends on the budget: the deadline (a keyword spotter typically classifies a new window every few tens of milliseconds, which every configuration here meets by a wide margin — so the smallest, cheapest NPU may be the right answer), the silicon area, and the SRAM the rest of the application needs.
#
# ## What these estimates don't capture
#
# Vela's numbers are a compiler's performance model, good for comparing configurations, not a measurement. Before choosing silicon, keep in mind what they leave out:
#
# * **The CPU.** Operators that fall back to the Cortex-M (the U55's average pool, every graph's input quantize and output dequantize) have no cycles at all in these numbers.
# * **The rest of the system.** No runtime or driver overhead, no interrupt latency, no other bus masters competing for SRAM, flash or DRAM, no caches on the CPU side; memory is modelled by the latencies and bandwidths in the `.ini`.
# * **Your chip.** The system configs are Arm's examples: a real chip has its own clock and memories. Pass your own `.ini` with `config_ini=` to model it.
# * **Area and power.** MACs per cycle is only a proxy; the families differ in design, SRAM costs area too, and nothing here estimates energy.
# * **Accuracy.** The int8 arithmetic is the same on every configuration, but the U55 and U85 get different lowered graphs; lesson 6 checks the answers.
#
# A Corstone FVP (lesson 8) runs the real command stream and counts cycles with its own model of the NPU; only silicon (or an FPGA) gives the final word.
#
# ## Try it: the Compare tab
#
# The Lab has a **Compare** tab: pick a model and press **Compare all NPUs** to get every figure of this lesson and the table for it (the sweep runs in the background, with progress; the `with` menu adds every memory mode or system config). The cell below opens it on ds_cnn, already filled from the cache. Try `resnet8` next: a larger model moves the point where MACs stop paying off.

# %%
lab = labkit.Lab(model="ds_cnn")
lab.compare.run()  # what the button does; from the cache, this takes a moment
lab.tabs.selected_index = lab.tabs.titles.index("Compare")
lab
