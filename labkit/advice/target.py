"""The ``target`` lever: the next MAC count down and up, and the other system configs and
memory modes Vela accepts for the accelerator. The TOSA graph is the report's own, so
each costs Vela and a patched .pte (the lowering is reused)."""

from __future__ import annotations

from .. import targets as targets_mod
from ..jobs import retarget
from .candidate import Candidate, base_kwargs


def candidates(report, origin, evaluation) -> list:
    t = report.target
    if not t.has_npu or t.board is not None:  # a board's NPU is its own: the board lever tries other boards
        return []
    hot = report.hotspots(top=len(report.operators))
    memory_bound = hot[hot["hint"].str.startswith("memory-bound")]
    poorly_used = hot[hot["hint"].str.startswith("only")]
    share = lambda rows: f"{rows['share_pct'].sum():.1f}% of the cycles"  # noqa: E731
    s = report.summary
    compute_why = (f"{int(s['npu_cycles']):,} of the NPU's {int(s['total_cycles']):,} cycles are MAC compute "
                   "(vela-estimate)")
    found: dict[tuple, tuple[str, str]] = {}
    family = [a for a in targets_mod.accelerators() if targets_mod.family_of(a) == t.family]
    macs = sorted(family, key=targets_mod.macs_of)
    i = macs.index(t.accelerator)
    if i + 1 < len(macs):
        found[(macs[i + 1], t.system_config, t.memory_mode)] = (
            f"{targets_mod.macs_of(macs[i + 1])} MACs/cycle instead of {t.macs} ({macs[i + 1]})", compute_why)
    if i > 0:
        found[(macs[i - 1], t.system_config, t.memory_mode)] = (
            f"{targets_mod.macs_of(macs[i - 1])} MACs/cycle instead of {t.macs} ({macs[i - 1]}): a smaller NPU",
            f"{len(poorly_used)} hotspot(s) keep under 10% of the MACs busy ({share(poorly_used)})"
            if len(poorly_used) else "a smaller NPU may be as fast where memory or the CPU limits the time")
    memory_why = (f"{len(memory_bound)} memory-bound hotspot(s), {share(memory_bound)}, e.g. "
                  f"{memory_bound.iloc[0]['node']}: {memory_bound.iloc[0]['hint'].split(';')[0]}"
                  if len(memory_bound) else "memory access: " + ", ".join(
                      f"{name} {int(report.operators[col].sum()):,}" for name, col in
                      (("SRAM", "sram_ac"), ("DRAM", "dram_ac"), ("flash", "flash_ac"))) +
                  f" cycles against {int(s['npu_cycles']):,} of compute (vela-estimate)")
    if not report.fits:
        memory_why = (f"the model needs {report.summary['sram_kib']:.0f} KiB of SRAM, more than "
                      f"{t.memory_mode} gives ({report.summary['sram_limit_kib']:.0f} KiB)")
    for system in _neighbour_systems(t):
        modes = targets_mod.valid_memory_modes(t.accelerator, system, t.config_ini)
        mode = t.memory_mode if t.memory_mode in modes else targets_mod.FAMILY_DEFAULTS[t.family][1]
        if mode in modes:
            found[(t.accelerator, system, mode)] = (f"system config {system} instead of {t.system_config}"
                                                    + (f", memory mode {mode}" if mode != t.memory_mode else ""),
                                                    memory_why)
    for mode in _other_memory_modes(t, report):
        change = f"memory mode {mode} instead of {t.memory_mode}"
        probe = targets_mod.Target(t.accelerator, t.system_config, mode, t.config_ini)
        if probe.weights_in_sram != t.weights_in_sram:
            change += " (the weights move from flash to SRAM)" if probe.weights_in_sram else \
                " (the weights move from SRAM to flash)"
        found[(t.accelerator, t.system_config, mode)] = (change, memory_why)
    base = base_kwargs(report, origin)
    out = []
    for (accelerator, system, mode), (change, why) in found.items():
        target = targets_mod.resolve_target(accelerator, system, mode, t.config_ini, t.cpu)
        kwargs = {**base, "target": accelerator, "system_config": system, "memory_mode": mode}
        out.append(Candidate("target", change, why, retarget(origin.job, target), kwargs))
    return out


def _neighbour_systems(t) -> list[str]:
    """The other system configs of the same memory technology (Ethos_U85_SYS_DRAM_Low/_High
    for ..._Mid), else every other one Vela accepts for the accelerator."""
    valid = [s for s in targets_mod.valid_system_configs(t.accelerator, t.config_ini) if s != t.system_config]
    stem = t.system_config.rsplit("_", 1)[0]
    same = [s for s in valid if s.rsplit("_", 1)[0] == stem]
    return same or valid


def _other_memory_modes(t, report) -> list[str]:
    """The other memory modes; of the sized variants (Dedicated_Sram_384KB, ...), only when
    the model does not fit, the smallest that gives it enough."""
    valid = [m for m in targets_mod.valid_memory_modes(t.accelerator, t.system_config, t.config_ini)
             if m != t.memory_mode]
    plain = [m for m in valid if not m.endswith("KB")]
    if report.fits:
        return plain
    need = report.summary["sram_kib"]
    sized = sorted((int(m.rsplit("_", 1)[1][:-2]), m) for m in valid if m.endswith("KB"))
    return plain + [next(m for kib, m in sized if kib >= need)] if any(k >= need for k, _ in sized) else plain
