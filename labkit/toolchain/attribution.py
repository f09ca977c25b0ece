"""Join Vela's per-layer cycles back to the PyTorch operators and nn.Modules.

The chain, per NPU partition (each key confirmed in the installed sources):
  Vela out_debug.xml  perf.source_id -> source.id ; source.ext_key = index of
                      the operator in the TOSA flatbuffer Vela read
  TOSA flatbuffer     operator[ext_key] -> its output tensor name
  debug.json          (ExecuTorch DebugMode.JSON) aten_info.node_name is that
                      name; torch_info.node_trace lists (name, graph_id) of
                      every FX node it came from, nearest first
  operators table     each node the partitioner saw keeps the same
                      (name, graph_id) pairs in its ``from_node`` provenance
A Vela layer whose chain breaks is backend work and gets its own row.
"""

from __future__ import annotations

import pandas as pd

from ..fx import rows_by_origin
from ..insights import COST_COLUMNS
from . import debug, tosa, vela

# Vela debug-db access-cycle columns by memory, folded into labkit's three.
_ACCESS = {"sram_ac": ["Sram_ac"], "dram_ac": ["Dram_ac"], "flash_ac": ["OnChipFlash_ac", "OffChipFlash_ac"]}


def tensor_rows(partition, row_by_origin: dict, graph=None) -> dict[str, int]:
    """{TOSA tensor name: operators-table row} of one partition: each TOSA operator's output
    joined to its row through the debug JSON (operators whose chain breaks are left out)."""
    graph = graph or (tosa.read(partition.tosa) if partition.tosa else None)
    traces = debug.read_traces(partition.debug_json)
    found = {}
    for name in graph.output_names if graph else ():
        row = next((row_by_origin[tuple(p)] for p in traces.get(name, []) if tuple(p) in row_by_origin), None)
        if row is not None:
            found[name] = row
    return found


def partition_layers(partition, row_by_origin: dict) -> pd.DataFrame:
    """Vela's layers of one Partition, each with the operators-table row it belongs to (or -1)."""
    db = vela.read_debug_db(partition.vela_dir)
    perf = db.get("perf")
    if perf is None or perf.empty:
        return pd.DataFrame()
    ext_key = db["source"].set_index("id")["ext_key"]
    graph = tosa.read(partition.tosa) if partition.tosa else None
    outputs = graph.output_names if graph else ()
    op_types = graph.op_types if graph else ()
    row_of = tensor_rows(partition, row_by_origin, graph)

    rows = []
    for _, layer in perf.iterrows():
        index = ext_key.get(layer["source_id"], -1)
        tosa_name = outputs[index] if 0 <= index < len(outputs) else ""
        row = row_of.get(tosa_name, -1)
        rows.append({
            "partition": partition.index, "vela_op": layer["operator"], "tensor": layer["name"],
            "tosa_op": f"tosa.{op_types[index]}" if 0 <= index < len(op_types) else "",
            "row": row, "staging_bytes": layer["staging_usage"],
            "cycles": layer["op_cycles"], "npu_cycles": layer["npu_cycles"], "macs": layer["mac_count"],
            **{col: sum(layer.get(c, 0) for c in cs) for col, cs in _ACCESS.items()},
        })
    return pd.DataFrame(rows)


def attribute(operators: pd.DataFrame, origins: list[list[tuple]], partitions: list,
              macs_per_cycle: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Add cost columns to ``operators`` (plus backend rows) and return (operators, joined layers)."""
    row_by_origin = rows_by_origin(origins)
    frames = [partition_layers(p, row_by_origin) for p in partitions]
    layers = pd.concat([f for f in frames if not f.empty], ignore_index=True) if any(
        not f.empty for f in frames) else pd.DataFrame(columns=["partition", "row", *COST_COLUMNS])

    ops = operators.copy()
    ops["origin"] = "model"
    npu = ops["placement"] == "NPU"
    for col in COST_COLUMNS:
        ops[col] = 0.0
        ops.loc[~npu, col] = float("nan")  # CPU work is not estimated by Vela
    attributed = layers[layers["row"] >= 0]
    sums = attributed.groupby("row")[COST_COLUMNS].sum()
    for col in COST_COLUMNS:
        ops.loc[sums.index, col] = sums[col].astype(float)

    # Backend work with no PyTorch origin: its own row, placed after the operator
    # Vela scheduled just before it; a partition's leading layers before its first one
    # (not after the previous partition's last), so each partition's rows stay together.
    after: dict[int, list[dict]] = {}
    before: dict[int, list[dict]] = {}
    first = attributed.groupby("partition")["row"].first()
    last = pd.Series(ops.index[npu], index=ops.loc[npu, "partition"]).groupby(level=0).max()
    previous, partition = -1, None
    for _, layer in layers.iterrows():
        if layer["partition"] != partition:
            partition, previous = layer["partition"], None
        if layer["row"] >= 0:
            previous = layer["row"]
            continue
        record = {"node": layer["tensor"], "op": layer["tosa_op"] or layer["vela_op"], "module": "",
                  "module_type": "", "source": "", "placement": "NPU", "partition": layer["partition"],
                  "reason": "", "origin": "backend", **{c: float(layer[c]) for c in COST_COLUMNS}}
        if previous is None and partition in first.index:
            before.setdefault(first[partition], []).append(record)
        else:
            after.setdefault(previous if previous is not None else last.get(partition, -1), []).append(record)
    pieces = list(after.get(-1, []))
    for j, record in enumerate(ops.to_dict("records")):
        pieces += before.get(j, []) + [record] + after.get(j, [])
    result = pd.DataFrame(pieces, columns=list(ops.columns))
    result["partition"] = result["partition"].astype("Int64")
    result["util_pct"] = 100.0 * result["macs"] / (result["cycles"] * macs_per_cycle)
    result.loc[result["cycles"].fillna(0) == 0, "util_pct"] = float("nan")
    layers["node"] = [ops.at[r, "node"] if r >= 0 else "" for r in layers["row"]]
    layers["module"] = [ops.at[r, "module"] if r >= 0 else "" for r in layers["row"]]
    return result, layers.drop(columns="row")
