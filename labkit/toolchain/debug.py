"""Reading ExecuTorch's Arm debug JSON (``EthosUCompileSpec.DebugMode.JSON``)."""

from __future__ import annotations

import json
from pathlib import Path


def read_traces(debug_json: Path) -> dict[str, list[tuple[str, int]]]:
    """TOSA node name -> the (name, graph_id) chain of FX nodes it came from, nearest first."""
    if not Path(debug_json).exists():
        return {}
    traces = {}
    for event in json.loads(Path(debug_json).read_text()):
        trace = event["torch_info"]["node_trace"]
        pairs = [(n["name"], n["graph_id"]) for n in trace] if isinstance(trace, list) else []
        traces[event["aten_info"]["node_name"]] = pairs
    return traces
