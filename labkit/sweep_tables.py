"""Analyses of a sweep's table (``labkit.sweep``: one row per configuration), as the
figures, the Lab's Compare tab and a user read it: the rows that compiled, one row per
accelerator, the Pareto front, the operators that fall back to the CPU on one NPU family
but not another, and the table to show. pandas only (the figures are views/sweep_plots.py)."""

from __future__ import annotations

import pandas as pd

from . import formats as fmt
from . import targets

PARETO_OBJECTIVES = ("inference_ms", "macs_per_cycle", "sram_need_kib")
ACCURACY = "accuracy (tosa-reference)"  # the table's header: the source is the TOSA reference run


def model_name(data, model: str | None = None) -> str:
    """The model a sweep (or a list of Reports) is of: ``model`` if given, else
    ``df.attrs['model']`` / the ``model`` column, else the first Report's."""
    if model:
        return str(model)
    if isinstance(data, pd.DataFrame):
        if data.attrs.get("model"):
            return str(data.attrs["model"])
        if "model" in data and data["model"].notna().any():
            return str(data["model"].dropna().iloc[0])
        return "model"
    for report in data:
        if report is not None:
            return str(report.model)
    return "model"


def ok_rows(df: pd.DataFrame) -> pd.DataFrame:
    """The rows that compiled (no error, numbers present) for an NPU target: the NPU figures'
    rows (a CPU-only target has no NPU time; ``whole_inference`` shows it)."""
    return compiled_rows(df)[lambda d: d["family"].ne("cortex-m")]


def compiled_rows(df: pd.DataFrame) -> pd.DataFrame:
    """The rows that compiled (no error, numbers present), CPU-only targets included."""
    error = df["error"].fillna("").astype(str) if "error" in df else pd.Series("", index=df.index)
    return df[error.eq("") & df["inference_ms"].notna()]


def short_config(system_config: str) -> str:
    """'High_End_Embedded' for 'Ethos_U55_High_End_Embedded'."""
    parts = str(system_config).split("_")
    return "_".join(parts[2:]) if len(parts) > 2 and parts[0] == "Ethos" else str(system_config)


def clock_mhz(row) -> float:
    """The NPU clock a row's milliseconds were computed at (cycles / time)."""
    return row["total_cycles"] / row["inference_ms"] / 1e3 if row["inference_ms"] else float("nan")


def family_rows(df: pd.DataFrame) -> pd.DataFrame:
    """One row per accelerator, in MAC order per family: the family's default
    system config and memory mode (ExecuTorch's) where the sweep has it, else the
    combination swept most often in that family, else the accelerator's first row."""
    out = []
    for family, rows in ok_rows(df).groupby("family", sort=False):
        combos = list(zip(rows["system_config"], rows["memory_mode"]))
        common = max(sorted(set(combos)), key=combos.count)
        preferred = [targets.FAMILY_DEFAULTS.get(family), common]
        rank = [preferred.index(c) if c in preferred else 2 for c in combos]
        ranked = rows.assign(_rank=rank).sort_values(["macs_per_cycle", "_rank"], kind="stable")
        out.append(ranked.drop_duplicates("accelerator").drop(columns="_rank"))
    return pd.concat(out) if out else df.iloc[:0]


def _objectives(df: pd.DataFrame, objectives) -> pd.DataFrame:
    rows = ok_rows(df)
    if "fits" in rows:  # a configuration that needs more SRAM than its memory mode gives cannot run
        rows = rows[rows["fits"].fillna(True).astype(bool)]
    return rows[list(objectives)].astype(float)


def pareto_front(df: pd.DataFrame, objectives=PARETO_OBJECTIVES) -> pd.Series:
    """True for the rows no other row dominates (as good or better in every
    objective, strictly better in one); every objective is minimised. The default
    objectives: inference time, MACs per cycle, SRAM needed (``sram_need_kib``).
    Rows that failed, or do not fit their memory mode, are False."""
    values = _objectives(df, objectives)
    optimal = pd.Series(False, index=df.index)
    optimal[values.index] = non_dominated(values.to_numpy())
    return optimal


def non_dominated(v) -> list[bool]:
    """Per row of ``v`` (rows: candidates, columns: objectives to minimise): True when no
    other row is as good or better in every objective and strictly better in one."""
    return [not ((v <= v[i]).all(axis=1) & (v < v[i]).any(axis=1)).any() for i in range(len(v))]


def fallback_table(reports: list, *, cpu_family: str = "ethos-u55", npu_family: str = "ethos-u85",
                   boundary: bool = False) -> pd.DataFrame:
    """Operators the partitioner puts on the CPU for every ``cpu_family`` Report
    and on the NPU for every ``npu_family`` one: [node, op, module, source, reason,
    cycles, cpu_on, npu_on], ``cycles`` being the Vela estimate on the first
    ``npu_family`` accelerator. ``reports``: Reports of one model (a sweep's:
    ``labkit.sweeps.reports(df)``; None entries are skipped). The quantize /
    dequantize nodes at the partition boundaries these ops create are left out
    unless ``boundary``."""
    reports = [r for r in reports if r is not None]
    cpu = [r for r in reports if r.target.family == cpu_family]
    npu = [r for r in reports if r.target.family == npu_family]
    columns = ["node", "op", "module", "source", "reason", "cycles", "cpu_on", "npu_on"]
    if not cpu or not npu:
        return pd.DataFrame(columns=columns)
    npu = sorted(npu, key=lambda r: r.target.macs)
    on_cpu = set.intersection(*[set(r.operators.loc[r.operators["placement"] == "CPU", "node"]) for r in cpu])
    on_npu = set.intersection(*[set(r.operators.loc[r.operators["placement"] == "NPU", "node"]) for r in npu])
    ops = cpu[0].operators
    rows = ops[ops["node"].isin(on_cpu & on_npu)].copy()
    if not boundary:
        rows = rows[~rows["reason"].fillna("").str.contains("partition boundary")]
    rows["cycles"] = rows["node"].map(npu[0].operators.set_index("node")["cycles"])
    rows["cpu_on"] = ", ".join(r.target.accelerator for r in sorted(cpu, key=lambda r: r.target.macs))
    rows["npu_on"] = ", ".join(r.target.accelerator for r in npu)
    return rows[columns].reset_index(drop=True)


def _total_range(df: pd.DataFrame) -> pd.Series:
    """'0.234–0.476': the whole inference, NPU (vela-estimate) plus the CPU range (cortex-m-estimate)."""
    if "total_ms_low" not in df:
        return pd.Series("", index=df.index)
    return pd.Series([fmt.ms_range(lo, hi) if lo == lo else "" for lo, hi in zip(df["total_ms_low"],
                                                                                 df["total_ms_high"])],
                     index=df.index)


def table(df: pd.DataFrame) -> pd.DataFrame:
    """The sweep as a readable table: one row per configuration, fastest first,
    with the SRAM it needs and a Pareto-optimal flag (the Lab's Compare tab shows it)."""
    optimal = pareto_front(df)
    out = pd.DataFrame({
        "quantization": df.get("quantization", pd.Series("int8", index=df.index)),
        "accelerator": df["accelerator"], "system config": df["system_config"].map(short_config),
        "memory mode": df["memory_mode"], "ms": df["inference_ms"].where(df["family"].ne("cortex-m")).round(4),
        "total ms (NPU + CPU est.)": _total_range(df),
        "inferences/s": df["inferences_per_s"].round(0).astype("Int64"), "cycles": df["total_cycles"].astype("Int64"),
        "SRAM KiB": df["sram_kib"].round(1), "SRAM needed KiB": df["sram_need_kib"].round(1),
        "flash KiB": df["flash_kib"].round(1),
        "DRAM KiB": df["dram_kib"].round(1), "NPU ops": df["npu_ops"], "CPU ops": df["cpu_ops"],
        "partitions": df["partitions"],
        ACCURACY: df.get("accuracy", pd.Series(float("nan"), index=df.index)),
        "Pareto": optimal.map({True: "✓", False: ""}),
        "fits": df["fits"].map({True: "", False: "no"}) if "fits" in df else "",
        "error": df["error"].fillna(""),
    })
    whole = (df["npu_ms"].fillna(0) + df["cpu_ms_est"]) if "cpu_ms_est" in df else df["inference_ms"]
    out = out.assign(_order=whole.where(whole.notna(), df["inference_ms"]).to_numpy())
    out = out.sort_values("_order", kind="stable", na_position="last").drop(columns="_order").reset_index(drop=True)
    for col in ("error", "fits"):  # only when something failed / does not fit
        if not out[col].astype(bool).any():
            out = out.drop(columns=col)
    if out[ACCURACY].isna().all():
        out = out.drop(columns=ACCURACY)
    if out["quantization"].nunique() <= 1:
        out = out.drop(columns="quantization")
    return out
