"""Questions a user asks of a Report: which modules are expensive, how memory
is used, what CPU fallbacks cost, and which layers to look at first."""

from __future__ import annotations

import math
import re

import pandas as pd

from .sources import short_source

BACKEND = "(backend)"
MODEL_IO = "(model input/output conversion)"  # the graph input's quantize, the output's dequantize
MODEL_FORWARD = "(the model's own forward)"  # operators forward() of the root module calls itself
# The costs toolchain/attribution.py gives each operator row (Vela's, joined back).
COST_COLUMNS = ["cycles", "npu_cycles", "macs", "sram_ac", "dram_ac", "flash_ac"]
CPU_COLUMNS = ["cpu_cycles_low", "cpu_cycles_est", "cpu_cycles_high"]


def by_module(operators: pd.DataFrame, depth: int = 1) -> pd.DataFrame:
    """Cost per nn.Module path cut at ``depth``, in order of first appearance: Vela's
    cycles of its NPU operators and the CPU range of its CPU operators (cortex-m-estimate)."""
    cpu_columns = [c for c in CPU_COLUMNS if c in operators]
    ops = operators[(operators["placement"] == "NPU") | operators.get("cpu_cycles_est", pd.Series(
        float("nan"), index=operators.index)).notna()]

    def key(row) -> str:
        if row["origin"] == "backend":
            return BACKEND
        return ".".join(row["module"].split(".")[:depth]) if row["module"] else module_label("", row["op"])

    keyed = ops.assign(module=ops.apply(key, axis=1) if len(ops) else pd.Series(dtype=str))
    out = keyed.groupby("module", sort=False)[COST_COLUMNS + cpu_columns].sum(min_count=1).reset_index()
    out[COST_COLUMNS] = out[COST_COLUMNS].fillna(0.0)
    return out


def module_label(module: str, op: str = "") -> str:
    """What a user reads for an operator's nn.Module: its path, or for an operator of no
    submodule, whether it converts the model's input or output or is forward()'s own."""
    if module:
        return module
    return MODEL_IO if "quantize" in str(op) else MODEL_FORWARD


def memory(layers: pd.DataFrame) -> pd.DataFrame:
    """Vela's SRAM staging use per layer, in execution order."""
    if layers.empty:
        return pd.DataFrame(columns=["partition", "layer", "op", "node", "module", "staging_kib", "peak_pct"])
    out = pd.DataFrame({
        "partition": layers["partition"],
        "layer": layers.groupby("partition").cumcount(),
        "op": layers.get("tosa_op", layers["NNG Operator"]),
        "node": layers.get("node", ""),
        "module": layers.get("module", ""),
        "staging_kib": layers["Staging Usage"] / 1024,
        "peak_pct": layers["Peak% (Staging)"],
    })
    return out.reset_index(drop=True)


_DTYPE_BYTES = {"bool": 1, "int8": 1, "uint8": 1, "int16": 2, "float16": 2, "bfloat16": 2, "int32": 4,
                "float32": 4, "int64": 8, "float64": 8}


def cpu_work(operators: pd.DataFrame) -> pd.DataFrame:
    """What runs on the CPU, and the tensors it converts or copies at NPU island boundaries
    (quantize, dequantize, transpose, copy: one row each), with the kernel each runs on and
    its cycle range (cortex-m-estimate; reports from before the estimate say so)."""
    cpu = operators[operators["placement"] == "CPU"].copy()

    def kind(op: str) -> str:
        if "dequantize" in op:
            return "dequantize"
        if "quantize" in op:
            return "quantize"
        if "permute" in op or "transpose" in op:
            return "transpose"
        if "copy" in op or "clone" in op:
            return "copy"
        return "operator"

    def elements(shape: str) -> list[int]:  # one per output ("8x16x16, 8x16x16" for two)
        return [math.prod(int(d) for d in s.split("x") if d) for s in shape.split(", ")] if shape else []

    cpu["kind"] = cpu["op"].map(kind)
    cpu["elements"] = cpu["shape"].map(lambda s: sum(elements(s)))
    cpu["bytes"] = [sum(n * _DTYPE_BYTES.get(d, 4) for n, d in zip(elements(s), t.split(", ")))
                    for s, t in zip(cpu["shape"], cpu["dtype"])]
    columns = ["node", "op", "kind", "module", "shape", "dtype", "elements", "bytes", "reason"]
    if "cpu_cycles_est" not in cpu:
        cpu["cost"] = "not estimated (compiled before labkit estimated the Cortex-M side)"
        return cpu[columns + ["cost"]].reset_index(drop=True)
    cpu["source"] = ["cortex-m-estimate" if est == est else "" for est in cpu["cpu_cycles_est"]]
    return cpu[columns + ["kernel", "cpu_cycles_low", "cpu_cycles_est", "cpu_cycles_high", "source"]] \
        .reset_index(drop=True)


# ---------------------------------------------------------------- hotspots

def _hint(row, macs_per_cycle: int) -> str:
    where = f" ({short_source(row['source'])})" if row["source"] else ""
    if re.match(r"aten\.(mean|sum)", row["op"]):
        # torch's mean decomposes to sum (+ mul) before partitioning; both lower to
        # REDUCE_SUM with transposes, while adaptive_avg_pool2d becomes one AVG_POOL2D.
        return (f"a mean/sum over H,W lowers to REDUCE_SUM layers (with transposes on U55); for a global average, "
                f"torch.nn.functional.adaptive_avg_pool2d(x, 1) maps onto the NPU's pooling and is cheaper{where}")
    access = {"flash": row["flash_ac"], "DRAM": row["dram_ac"], "SRAM": row["sram_ac"]}
    slow = max(access, key=access.get)
    if row["cycles"] > row["npu_cycles"] and access[slow] >= row["npu_cycles"]:
        fix = ("a memory mode that keeps the weights in SRAM (Sram_Only) or a system config with faster "
               f"{slow} speeds it up") if slow != "SRAM" else "a system config with more SRAM bandwidth speeds it up"
        return (f"memory-bound: {slow} access ({int(access[slow]):,} cycles) exceeds compute "
                f"({int(row['npu_cycles']):,}); {fix}{where}")
    if row["macs"] > 0 and row["util_pct"] < 10:
        return (f"only {row['util_pct']:.1f}% of the {macs_per_cycle} MACs/cycle are busy: few input channels, "
                f"depthwise convolutions or small feature maps fill the MAC array poorly{where}")
    return ""


def hotspots(operators: pd.DataFrame, total_cycles: float, macs_per_cycle: int, top: int = 5) -> pd.DataFrame:
    """The rows that dominate the cycles, with a plain-language note where one applies."""
    ops = operators[(operators["placement"] == "NPU") & (operators["cycles"] > 0)]
    ops = ops.sort_values("cycles", ascending=False).head(top).copy()
    ops["share_pct"] = 100.0 * ops["cycles"] / total_cycles if total_cycles else float("nan")
    ops["hint"] = [_hint(r, macs_per_cycle) for _, r in ops.iterrows()]
    return ops[["node", "op", "module", "source", "cycles", "share_pct", "npu_cycles", "sram_ac", "dram_ac",
                "flash_ac", "util_pct", "hint"]].reset_index(drop=True)
