"""The Cortex-M side of a Report: per CPU operator its cycle range
(``cpu_cycles_min`` <= ``cpu_cycles_low`` <= ``cpu_cycles_est`` <= ``cpu_cycles_high``,
all ``cortex-m-estimate``), and the summary's CPU and total time, kept apart from
Vela's NPU figure (``vela-estimate``)."""

from __future__ import annotations

import math

from . import cost_model

CYCLE_COLUMNS = ["cpu_cycles_min", "cpu_cycles_low", "cpu_cycles_est", "cpu_cycles_high"]


def add_columns(operators, works: dict, core: str, clock_hz: float):
    """``operators`` with the CPU cycle columns and ``cpu_basis`` filled for the rows of
    ``works`` ({node: the kernels' work, as annotate_rows stored it}) on ``core`` at
    ``clock_hz``; NaN elsewhere."""
    ops = operators.copy()
    for col in CYCLE_COLUMNS:
        ops[col] = math.nan
    ops["cpu_basis"] = ""
    position = {node: i for i, node in enumerate(ops["node"])}
    for node, work in works.items():
        i = position.get(node)
        if i is None:
            continue
        estimates = [cost_model.estimate(cost_model.Work(**w), core, clock_hz) for w in work["kernels"]]
        for col in CYCLE_COLUMNS:
            ops.iloc[i, ops.columns.get_loc(col)] = float(sum(e[col] for e in estimates))
        ops.iloc[i, ops.columns.get_loc("cpu_basis")] = "; ".join(sorted({e["cpu_basis"] for e in estimates}))
    return ops


def summary_fields(operators, target, cpu_kernels: str, npu_ms: float) -> dict:
    """The summary's CPU fields: cycle sums, their time at the CPU clock, and the total
    (NPU + CPU) as a range. NPU and CPU are not overlapped: ExecuTorch runs the
    delegates and the CPU kernels one after the other."""
    sums = {col: float(operators[col].sum(skipna=True)) for col in CYCLE_COLUMNS}
    clock = target.cpu_clock_hz
    ms = {col: sums[col] / clock * 1e3 for col in CYCLE_COLUMNS}
    return {
        "cpu_kernels": cpu_kernels,
        **{col: int(round(v)) for col, v in sums.items()},
        "cpu_ms_low": ms["cpu_cycles_low"], "cpu_ms_est": ms["cpu_cycles_est"], "cpu_ms_high": ms["cpu_cycles_high"],
        "npu_ms": npu_ms, "total_ms_low": npu_ms + ms["cpu_cycles_low"],
        "total_ms_high": npu_ms + ms["cpu_cycles_high"],
        "cpu_source": cost_model.source_of(target.cpu_core),
    }
