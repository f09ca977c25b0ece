"""A Report for Google's Model Explorer (``ai-edge-model-explorer``): the graph the
Ethos-U partitioner saw, as Model Explorer graph JSON, and labkit's numbers as
node-data overlays.

- Node ids are the node names of ``report.operators``; nodes are grouped by nn.Module
  (Model Explorer's namespace, ``features/3/conv``), edges come from the compile's
  operator rows (``artifacts.operator_rows``: each operator's inputs).
- Overlays, in Model Explorer's node-data format ``{graph_id: {"name", "results":
  {node_id: {"value"}}, "gradient" | "thresholds"}}``, each named with its source:
  placement (categories: ``NPU partition n`` or the CPU kernel), NPU cycles
  (vela-estimate; the values sum to the report's attributed cycles), the CPU range
  (cortex-m-estimate, low and high) and, given a numerics table, SQNR
  (fake-quant-int8 and tosa-reference vs pytorch-float).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from ..sources import short_source
from .theme import CPU_COLOR, LIMIT_COLOR, NPU_COLOR

GRAPH_FILE = "graph.json"
_PARAM_PREFIXES = ("b__", "p_", "c_", "_param_constant", "_tensor_constant")


def graph_id(report) -> str:
    return str(report.summary["model"])


def graph(report) -> dict:
    """Model Explorer graph JSON ({"label", "graphs": [...]}) of the report's operators."""
    ops = report.operators
    rows = {r["node"]: r for r in json.loads(Path(report.artifacts.operator_rows).read_text())}
    known = set(ops["node"])
    nodes, inputs_seen = [], []
    for _, op in ops.iterrows():
        row = rows.get(op["node"], {})
        edges = []
        for i, source in enumerate(row.get("inputs", [])):
            if source in known or not source.startswith(_PARAM_PREFIXES):
                if source not in known and source not in inputs_seen:
                    inputs_seen.append(source)
                edges.append({"sourceNodeId": source, "sourceNodeOutputId": "0", "targetNodeInputId": str(i)})
        nodes.append({"id": op["node"], "label": str(op["op"]).split(".")[-1] if op["op"] else op["node"],
                      "namespace": _namespace(op), "attrs": _attrs(op), "incomingEdges": edges,
                      "outputsMetadata": [{"id": "0", "attrs": [{"key": "tensor_shape",
                                                                  "value": f"{op['dtype']}[{op['shape']}]"}]}]})
    inputs = [{"id": name, "label": "input", "namespace": "", "attrs": [{"key": "name", "value": name}],
               "incomingEdges": [], "outputsMetadata": []} for name in inputs_seen]
    # A graph collection, the form Model Explorer's JSON loader reads from a file (its
    # server hands the app the "graphs" alone: app/graph.py).
    return {"label": graph_id(report), "graphs": [{"id": graph_id(report), "nodes": inputs + nodes}]}


def _namespace(op) -> str:
    if op.get("origin") == "backend":
        return "(inserted by the backend)"
    return "/".join(str(op["module"]).split(".")) if op["module"] else ""


def _attrs(op) -> list[dict]:
    shown = {"op": op["op"], "module": op["module"], "placement": op["placement"],
             "partition": "" if pd.isna(op.get("partition")) else int(op["partition"]),
             "source": short_source(op["source"]) if op["source"] else "", "shape": op["shape"],
             "dtype": op["dtype"], "reason": op.get("reason") or "", "kernel": op.get("kernel") or ""}
    return [{"key": k, "value": str(v)} for k, v in shown.items() if v not in ("", None)]


def overlays(report, numerics=None) -> dict[str, dict]:
    """The node-data overlays by file stem; each is Model Explorer's node-data JSON."""
    ops = report.operators
    gid = graph_id(report)
    out = {}
    cycles = ops[ops["cycles"].notna()]
    out["npu_cycles"] = _overlay(gid, "NPU cycles (vela-estimate)", dict(zip(cycles["node"], cycles["cycles"])),
                                 gradient=NPU_COLOR)
    if "cpu_cycles_low" in ops:
        cpu = ops[ops["cpu_cycles_est"].notna()]
        for end in ("low", "high"):
            out[f"cpu_cycles_{end}"] = _overlay(
                gid, f"CPU cycles, {end} end of the range (cortex-m-estimate)",
                dict(zip(cpu["node"], cpu[f"cpu_cycles_{end}"])), gradient=CPU_COLOR)
    if numerics is not None:
        for column, name in (("sqnr_fake_quant_db", "SQNR dB (fake-quant-int8 vs pytorch-float)"),
                             ("sqnr_tosa_db", "SQNR dB (tosa-reference vs pytorch-float)")):
            known = numerics[numerics[column].map(lambda v: isinstance(v, (int, float)) and math.isfinite(v))]
            out[column.replace("_db", "")] = _overlay(gid, name, dict(zip(known["node"], known[column])),
                                                      thresholds=True)
    # Last: Model Explorer colours the graph by the overlay added last.
    out["placement"] = _overlay(gid, f"placement (ExecuTorch Ethos-U partitioner; CPU kernels: "
                                     f"{report.summary.get('cpu_kernels', 'portable')})",
                                {n: _placement(op) for n, op in zip(ops["node"], ops.to_dict("records"))},
                                colours=True)
    return out


def _placement(op: dict) -> str:
    if op["placement"] == "NPU":
        return "NPU" if pd.isna(op.get("partition")) else f"NPU partition {int(op['partition'])}"
    return op.get("kernel") or "CPU"


def _overlay(gid: str, name: str, values: dict, *, colours: bool = False, gradient: str | None = None,
             thresholds: bool = False) -> dict:
    results = {}
    for node, value in values.items():
        value = value if isinstance(value, str) else float(value)
        result = {"value": value}
        if colours:
            result["bgColor"] = NPU_COLOR if value.startswith("NPU") else CPU_COLOR
            result["textColor"] = "#ffffff"
        results[node] = result
    data = {"name": name, "results": results}
    if gradient:
        data["gradient"] = [{"stop": 0, "bgColor": "#ffffff"}, {"stop": 1, "bgColor": gradient}]
    if thresholds:  # SQNR: under 10 dB is poor, under 20 dB worth a look
        data["thresholds"] = [{"value": 10, "bgColor": LIMIT_COLOR}, {"value": 20, "bgColor": "#f2b134"},
                              {"value": 1e9, "bgColor": "#5aa469"}]
    return {gid: data}


def export(report, folder, numerics=None) -> Path:
    """Write ``graph.json`` and one ``<overlay>.json`` per overlay into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / GRAPH_FILE).write_text(json.dumps(graph(report)))
    for stem, data in overlays(report, numerics).items():
        (folder / f"{stem}.json").write_text(json.dumps(data, indent=1))
    return folder
