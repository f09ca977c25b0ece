"""Source rewrites labkit can prove on the exported graph, for ``advise``: each gives a
rewritten copy of the model (or the same model fed another way) that computes the same
function, and the edit a user would make in their own source.

- ``channels_last_input``: feed the input in channels-last memory format. ExecuTorch's
  Arm backend then reads NHWC at the delegate boundary (``NormalizeDelegateIOLayoutPass``)
  and the NPU's NCHW→NHWC input transpose goes away. Same values, another layout.
- ``mean_to_adaptive_pool``: ``x.mean((2, 3))`` of a 4-D tensor is
  ``adaptive_avg_pool2d(x, 1)`` (flattened when the mean drops the dims): one AVG_POOL2D
  on the NPU instead of REDUCE_SUM layers. Checked on the example inputs as well.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from .fx import source_line
from .inputs import leaves
from .sources import code_at, short_source
from .toolchain.export import export_module


@dataclass
class Rewrite:
    """A rewritten copy of the model and how to compile it."""

    change: str  # the edit, in the user's terms, with their source line
    why: str  # the report rows it answers
    module: Any  # the copy to compile (an nn.Module)
    example_inputs: tuple
    calibration_inputs: list | None
    as_fed: Callable[[tuple], tuple] | None = None  # a data sample as the copy takes it (None: as it is)


def channels_last_input(report, example: tuple, calibration: list | None) -> Rewrite | None:
    """When the NPU's first layer transposes a 4-D graph input from NCHW to NHWC."""
    import torch

    layers = report.layers
    first = layers[layers["partition"] == layers["partition"].min()].head(1) if len(layers) else layers
    if first.empty or "TRANSPOSE" not in str(first.iloc[0].get("tosa_op", "")).upper():
        return None
    images = [i for i, t in enumerate(example) if isinstance(t, torch.Tensor) and t.dim() == 4
              and t.is_floating_point() and not t.is_contiguous(memory_format=torch.channels_last)]
    if not images:
        return None
    layer = first.iloc[0]
    ops = report.operators
    row = ops[ops["node"] == layer["node"]]
    source = row.iloc[0]["source"] if len(row) and row.iloc[0]["source"] else ""
    cycles = int(layer["Op Cycles"])

    def as_fed(sample: tuple) -> tuple:
        return tuple(t.to(memory_format=torch.channels_last) if i in images else t for i, t in enumerate(sample))

    where = f" at {short_source(source)} {code_at(source)}".rstrip() if source else ""
    return Rewrite(
        change="feed the input channels-last: call the model with `x.to(memory_format=torch.channels_last)` "
               "(and compile with such example inputs); the NPU then reads NHWC and needs no input transpose",
        why=f"the NPU transposes the NCHW input to NHWC first: {cycles:,} cycles (vela-estimate), attributed to "
            f"{layer['node']}{where}",
        module=None, example_inputs=as_fed(example),
        calibration_inputs=[as_fed(tuple(s)) for s in calibration] if calibration else None, as_fed=as_fed)


def mean_to_adaptive_pool(report, module, example: tuple, calibration: list | None) -> Rewrite | None:
    """Every ``mean`` over the last two dims of a 4-D tensor, as ``adaptive_avg_pool2d``."""
    import torch


    graph_module = export_module(module, example).module(check_guards=False)
    graph = graph_module.graph
    rewritten = []
    for node in list(graph.nodes):
        if node.op != "call_function" or node.target != torch.ops.aten.mean.dim:
            continue
        x, dims = node.args[0], node.args[1]
        keepdim = node.args[2] if len(node.args) > 2 else node.kwargs.get("keepdim", False)
        value = x.meta.get("val")
        if value is None or value.dim() != 4 or sorted(d % 4 for d in dims) != [2, 3] or node.kwargs.get("dtype"):
            continue
        kept = {k: v for k, v in node.meta.items() if k in ("stack_trace", "nn_module_stack")}
        with graph.inserting_before(node):
            pooled = graph.call_function(torch.ops.aten.adaptive_avg_pool2d.default, (x, [1, 1]))
            pooled.meta.update(kept)
            out = pooled if keepdim else graph.call_function(torch.ops.aten.flatten.using_ints, (pooled, 1))
            out.meta.update(kept)
        node.replace_all_uses_with(out)
        graph.erase_node(node)
        rewritten.append((source_line(kept.get("stack_trace")), keepdim))
    if not rewritten:
        return None
    # A plain GraphModule of the edited graph: ExportedProgram.module()'s own refuses eval().
    graph_module = torch.fx.GraphModule(graph_module, graph)
    with torch.no_grad():  # the proof is algebraic; this guards the rewrite itself
        before, after = module(*example), graph_module(*example)
    if not all(torch.allclose(a, b, atol=1e-5) for a, b in zip(leaves(before), leaves(after))):
        return None
    edits = "; ".join(
        f"{short_source(src) if src else 'forward()'}: {code_at(src) or '`x.mean((2, 3))`'} → "
        f"`{'F.adaptive_avg_pool2d(x, 1)' if keep else 'F.adaptive_avg_pool2d(x, 1).flatten(1)'}`"
        for src, keep in rewritten)
    return Rewrite(change=f"average over H,W with adaptive_avg_pool2d instead of mean: {edits}",
                   why=_mean_rows(report.operators, [src for src, _ in rewritten]),
                   module=graph_module, example_inputs=example, calibration_inputs=calibration)


def _mean_rows(ops: pd.DataFrame, sources: list[str]) -> str:
    # By file name and line: a cache hit of a notebook's model keeps the first kernel's cell path.
    names = {Path(s).name for s in sources if s}
    rows = ops[ops["source"].map(lambda s: Path(s).name in names if s else False)
               & ops["op"].str.match(r"aten\.(mean|sum|mul)")]
    npu = rows[rows["placement"] == "NPU"]
    cycles = int(npu["cycles"].fillna(0).sum())
    where = ", ".join(sorted({short_source(s) for s in sources if s}))
    placed = f"{len(rows) - len(npu)} on the CPU, " if len(rows) > len(npu) else ""
    return (f"the mean over H,W lowers to REDUCE_SUM and a multiply ({placed}{cycles:,} NPU cycles, "
            f"vela-estimate) at {where or 'forward()'}")
