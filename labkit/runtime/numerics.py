"""``labkit.numerics``: where quantization loses accuracy, operator by operator.

Three sources at every operator of the compiled graph (the node names of
``report.operators``):

- ``pytorch-float`` and ``fake-quant-int8`` come from one graph: the PT2E-quantized
  program, converted with its float weights kept (``fold_quantize=False``), run
  twice in PyTorch: once as it is (fake-quant) and once with every quantize /
  dequantize node passed through (float). Running one graph both ways aligns them
  node for node, so what the quantizer changed in the graph's structure (batch
  norm folded into the convolution, ``flatten`` exported as ``view``, LayerNorm,
  softmax and GELU decomposed by the Arm quantizer) is in both. How far that float
  graph is from the nn.Module itself is recorded (``attrs["float_graph_max_abs_diff"]``).
- ``tosa-reference``: the compiled program run on the host, each NPU partition on
  the TOSA reference model with every operator's output made a graph output
  (``runtime.tosa_reference.with_every_output``). Each TOSA tensor is joined to an operator
  by ExecuTorch's debug JSON (``attribution.tensor_rows``, as for cycles); the
  last integer tensor of an operator is its output, dequantized with the scale
  and zero point of that output's quantize node.

Each operator is compared at its quantized output: the quantize -> dequantize its
result reaches (an operator quantized together with the next one, e.g. a
convolution and its ReLU, shares that point, ``compared_at``).
"""

from __future__ import annotations

import json
import math
import threading
from typing import Any, Callable

from ..errors import CompileCancelled
from ..fx import is_qdq, op_name, output_quantize, rows_by_origin
from ..inputs import check_like, leaves
from ..jobs import origin_of
from ..models import resolve
from ..toolchain.attribution import tensor_rows
from ..toolchain.export import in_eval_mode
from ..toolchain.native import quiet_stdout
from . import program as program_mod
from .evaluate import same_model, samples_for

DEFAULT_SAMPLES = 16  # of the model's own evaluation data, when no data= is given
COLUMNS = ["node", "op", "module", "source", "placement", "partition", "compared_at", "sqnr_fake_quant_db",
           "max_abs_error", "sqnr_tosa_db", "tosa_vs_fake_quant_lsb", "sqnr_drop_db", "act_bits", "weight_bits"]


def numerics(model, target="corstone-320", *, data=None, example_inputs=None, quantization="int8",
             calibration=None, progress: "bool | Callable[[int, int], None]" = False,
             cancel: threading.Event | None = None, cpu_kernels: str = "cmsis-nn"):
    """One row per operator of the compiled graph: how far fake-quant and the TOSA
    reference model are from float at that operator's output.

    Columns: ``sqnr_fake_quant_db`` and ``max_abs_error`` (fake-quant-int8 vs
    pytorch-float), ``sqnr_tosa_db`` (tosa-reference vs pytorch-float, NPU operators),
    ``tosa_vs_fake_quant_lsb`` (their largest difference in output quantization steps),
    ``sqnr_drop_db`` (the SQNR of the operator's inputs minus its own: where error
    enters), with node, op, module, source, placement, partition and bits.
    ``attrs``: model, target, quantization, samples, data, sources, report.

    data: as ``labkit.evaluate`` takes it; default: the first 16 samples of the model's
        evaluation data (else seeded random inputs). quantization, calibration, cpu_kernels: as ``compile``.
    progress: True for the compile's progress bar, or a callback(samples done, samples).
    cancel: set this Event to stop between samples (CompileCancelled).
    """
    import torch


    m = resolve(model, example_inputs=example_inputs)
    samples, _, described = samples_for(m, data)
    if data is None and len(samples) > DEFAULT_SAMPLES:
        samples, described = samples[:DEFAULT_SAMPLES], f"the first {DEFAULT_SAMPLES} of {described}"
    _check_shapes(m, samples)
    same = same_model(m, target, quantization, calibration, samples[0], progress is True, cpu_kernels)
    report, graph = same.report, same.fake_quant
    rows = [r for r in json.loads(report.artifacts.operator_rows.read_text()) if not r.get("added")]
    at = _align(rows, graph)

    stats = _Stats()
    float_diff = 0.0
    program = program_mod.load(report)
    tosa_rows = _TosaRows(report, rows)
    points = {_compared_at(node) for node in at if node is not None}
    module = m.float_module()
    with quiet_stdout(), tosa_rows.capturing(program), in_eval_mode(module):
        for done, sample in enumerate(samples):
            if callable(progress):
                progress(done, len(samples))
            if cancel is not None and cancel.is_set():
                raise CompileCancelled(f"Numerics cancelled after {done} of {len(samples)} samples.")
            floats = _run(graph, sample, float_mode=True)
            quants = _run(graph, sample, float_mode=False)
            with torch.no_grad():
                out = leaves(module(*sample))[0]
            mine = _output(graph, floats)
            if mine is not None and mine.shape == out.shape:
                float_diff = max(float_diff, float((mine - out).abs().max()))
            program.run(tuple(leaves(sample)))
            tosa = tosa_rows.collect()
            for point in points:
                stats.add("fq", point.name, floats[point.name], quants[point.name])
            for i, node in enumerate(at):
                if node is not None and i in tosa:
                    stats.add_tosa(i, node, floats, quants, tosa[i])

    if callable(progress):
        progress(len(samples), len(samples))
    table = _table(report, rows, at, stats)
    table.attrs.update({
        "model": m.name, "target": report.target.accelerator, "quantization": same.quantization.describe(),
        "samples": len(samples), "data": described, "calibration_samples": same.calibration_samples,
        "sources": {"sqnr_fake_quant_db": "fake-quant-int8 vs pytorch-float",
                    "max_abs_error": "fake-quant-int8 vs pytorch-float",
                    "sqnr_tosa_db": "tosa-reference vs pytorch-float",
                    "tosa_vs_fake_quant_lsb": "tosa-reference vs fake-quant-int8"},
        "float_graph_max_abs_diff": float_diff, "report": str(report.summary.get("cache_key", ""))})
    return table


def of_report(report, **kwargs):
    """``numerics`` of the model, target, quantization, calibration and CPU kernels that
    ``report`` was compiled with (a Report compiled in this session); ``kwargs`` as numerics
    takes them (data, progress, cancel)."""
    origin = origin_of(report)
    asked = origin.kwargs
    return numerics(origin.model, report.target, quantization=origin.job.quantization,
                    calibration=asked.get("calibration_inputs") or asked.get("calibration"),
                    cpu_kernels=origin.job.cpu_kernels, **kwargs)


def by_module(table, depth: int = 1):
    """Per nn.Module path at ``depth``: the worst SQNR and the largest drop inside it."""
    import pandas as pd

    t = table[table["module"].fillna("") != ""].copy()
    t["module"] = t["module"].map(lambda p: ".".join(str(p).split(".")[:depth]))
    out = t.groupby("module", sort=False).agg(
        operators=("node", "size"), worst_sqnr_fake_quant_db=("sqnr_fake_quant_db", "min"),
        worst_sqnr_tosa_db=("sqnr_tosa_db", "min"), largest_drop_db=("sqnr_drop_db", "max"),
        max_lsb=("tosa_vs_fake_quant_lsb", "max"))
    out = pd.DataFrame(out).reset_index()
    out.attrs.update(table.attrs)
    return out


# ---------------------------------------------------------------- running one graph two ways

def _run(graph, sample, *, float_mode: bool) -> dict:
    """Every call_function node's value: as quantized (fake-quant), or with each
    quantize/dequantize passed through (float)."""
    import torch

    values = {}

    class Recorder(torch.fx.Interpreter):
        def run_node(self, n):
            if float_mode and n.op == "call_function" and (is_qdq(n) or is_qdq(n, "dequantize")):
                result = self.env[n.args[0]]
            else:
                result = super().run_node(n)
            if n.op == "call_function":
                values[n.name] = result
            return result

    with torch.no_grad():
        Recorder(graph).run(*leaves(sample))  # the graph's placeholders: the inputs' leaves
    return values


def _output(graph, values):
    first = leaves(next(n for n in graph.graph.nodes if n.op == "output").args[0])[0]
    return values.get(getattr(first, "name", None))  # None: an output that no operator computes


def _align(rows: list[dict], graph) -> list:
    """The node of the fake-quant graph each report row came from (None where none did).
    Operators by the nearest name in their provenance that the graph has. Q/DQ nodes by
    the graph's edges, since their names are numbered in order and the graph here keeps
    its weights' quantize nodes: a row's inputs, position by position, are its node's
    inputs; a quantize is the input of the dequantize after it; the graph input's
    quantize is the one of the input placeholder."""
    nodes = {n.name: n for n in graph.graph.nodes}
    index = {r["node"]: i for i, r in enumerate(rows)}
    qdq = [op.startswith("quantized_decomposed.") for op in (r["op"] for r in rows)]
    at = [None if qdq[i] else _by_provenance(r, nodes) for i, r in enumerate(rows)]
    for i, r in enumerate(rows):
        if at[i] is not None and not qdq[i]:
            for name, mine in zip(r.get("inputs", []), at[i].all_input_nodes):
                j = index.get(name)
                if j is not None and at[j] is None:
                    at[j] = mine
    for i, r in enumerate(rows):  # a dequantize's input: the quantize row before it
        if at[i] is not None and qdq[i] and is_qdq(at[i], "dequantize"):
            for name in r.get("inputs", []):
                j = index.get(name)
                if j is not None and at[j] is None and at[i].args and is_qdq(at[i].args[0]):
                    at[j] = at[i].args[0]
    for i, r in enumerate(rows):  # a quantize after an operator, then the dequantize after it
        producer = at[index[r["inputs"][0]]] if r.get("inputs") and r["inputs"][0] in index else None
        if at[i] is None and producer is not None:
            if r["op"] == "quantized_decomposed.quantize_per_tensor":
                at[i] = next(iter(output_quantize(producer)), None) if not is_qdq(producer) else None
            elif is_qdq(producer):
                at[i] = next((u for u in producer.users if is_qdq(u, "dequantize")), None)
    inputs = [n for n in graph.graph.nodes if n.op == "placeholder"]
    for i, r in enumerate(rows):  # the graph input's quantize
        graph_input = not any(n in index for n in r.get("inputs", []))
        if at[i] is None and r["op"] == "quantized_decomposed.quantize_per_tensor" and graph_input:
            users = [u for p in inputs for u in p.users if is_qdq(u)]
            if len(users) == 1:
                at[i] = users[0]
    return at


def _by_provenance(row: dict, nodes: dict):
    for name, _ in row.get("origins") or []:
        node = nodes.get(name)
        if node is not None and node.op == "call_function":
            return node
    return None


def _compared_at(node):
    """Where an operator's output is quantized: the dequantize after the quantize its
    result reaches (itself for a dequantize; the node itself when nothing quantizes it)."""
    if is_qdq(node, "dequantize"):
        return node
    quants = [node] if is_qdq(node) else output_quantize(node)
    for q in quants:
        for user in q.users:
            if is_qdq(user, "dequantize"):
                return user
    return node


def _qparams(point):
    """(scale, zero point, qmin, qmax) of the per-tensor dequantize at ``point``, or None."""
    if not is_qdq(point, "dequantize") or "per_tensor" not in op_name(point.target):
        return None
    _, scale, zp, qmin, qmax = point.args[:5]
    return float(scale), int(zp), int(qmin), int(qmax)


class _Stats:
    """Sums over samples for SQNR and the largest errors."""

    def __init__(self):
        self.sums: dict = {}

    def _acc(self, key, ref, x, lsb=None):
        import torch

        ref, x = ref.detach().double(), x.detach().double()
        s = self.sums.setdefault(key, [0.0, 0.0, 0.0, 0.0])
        s[0] += float((ref ** 2).sum())
        s[1] += float(((ref - x) ** 2).sum())
        s[2] = max(s[2], float((ref - x).abs().max()) if ref.numel() else 0.0)
        if lsb is not None:
            s[3] = max(s[3], float(torch.as_tensor(lsb).max()))

    def add(self, kind, name, ref, x):
        if hasattr(ref, "shape") and hasattr(x, "shape") and ref.shape == x.shape and ref.is_floating_point():
            self._acc((kind, name), ref, x)

    def add_tosa(self, row, node, floats, quants, array):
        import torch

        point = _compared_at(node)
        qp = _qparams(point)
        ref, fq = floats[point.name], quants[point.name]
        if qp is None or not hasattr(ref, "shape"):
            return
        scale, zp, qmin, qmax = qp
        tosa = _as_layout(torch.from_numpy(array).to(torch.int64), fq, scale, zp)
        if tosa is None:
            return
        fq_int = torch.clamp(torch.round(fq.double() / scale) + zp, qmin, qmax)
        self._acc(("tosa", row), ref, (tosa.double() - zp) * scale, lsb=(tosa.double() - fq_int).abs())

    def sqnr(self, key) -> float:
        s = self.sums.get(key)
        if s is None:
            return math.nan
        return math.inf if s[1] == 0 else 10 * math.log10(s[0] / s[1]) if s[0] > 0 else -math.inf

    def get(self, key, index) -> float:
        s = self.sums.get(key)
        return s[index] if s is not None else math.nan


def _as_layout(tosa, like, scale, zp):
    """The TOSA tensor in the layout of the PyTorch value: as it is, or from NHWC (the
    backend's layout for 4-D activations); of the two that fit, the one nearer ``like``."""
    import torch

    options = []
    if tuple(tosa.shape) == tuple(like.shape):
        options.append(tosa)
    elif tosa.numel() == like.numel() and tosa.dim() != like.dim():
        options.append(tosa.reshape(like.shape))
    if tosa.dim() == 4 and tuple(tosa.permute(0, 3, 1, 2).shape) == tuple(like.shape):
        options.append(tosa.permute(0, 3, 1, 2))
    if not options:
        return None
    target = torch.round(like.double() / scale) + zp
    return min(options, key=lambda t: float((t.double() - target).abs().max()))


class _TosaRows:
    """The TOSA reference model's intermediates of each run, as {report row: array}:
    each TOSA operator's output joined to its row through the partition's debug JSON;
    the last integer tensor of a row is its output."""

    def __init__(self, report, rows: list[dict]):
        by_origin = rows_by_origin([row.get("origins") for row in rows])
        # partition folder -> {tensor name: row}: the join the cycle attribution uses
        self.tensor_rows = {str(p.folder): tensor_rows(p, by_origin) for p in report.artifacts.partitions if p.tosa}
        self.delegates: list = []

    def capturing(self, program):
        import contextlib

        @contextlib.contextmanager
        def capture():
            self.delegates = list(program.delegates)
            for d in self.delegates:
                d.intermediates = []
            try:
                yield
            finally:
                for d in self.delegates:
                    d.intermediates = None

        return capture()

    def collect(self) -> dict[int, Any]:
        found = {}
        for d in self.delegates:
            names = self.tensor_rows.get(str(d.path.parent), {})
            for dump in d.intermediates or []:
                for name, array in dump.items():  # graph order: the last one of a row wins
                    if name in names and array.dtype.kind == "i" and array.dtype.itemsize <= 2:
                        found[names[name]] = array
            d.intermediates = []
        return found


def _table(report, rows, at, stats):
    import pandas as pd

    ops = {r["node"]: r for r in report.operators.to_dict("records") if r.get("origin") == "model"}
    records = []
    sqnr_at = {}
    for i, (row, node) in enumerate(zip(rows, at)):
        point = _compared_at(node) if node is not None else None
        sq = stats.sqnr(("fq", point.name)) if point is not None else math.nan
        if node is not None:
            sqnr_at[node.name] = sq
        info = ops.get(row["node"], {})
        records.append({
            "node": row["node"], "op": row["op"], "module": row["module"], "source": row["source"],
            "placement": row["placement"], "partition": info.get("partition", pd.NA),
            "compared_at": point.name if point is not None else "",
            "sqnr_fake_quant_db": sq, "max_abs_error": stats.get(("fq", point.name), 2) if point else math.nan,
            "sqnr_tosa_db": stats.sqnr(("tosa", i)), "tosa_vs_fake_quant_lsb": stats.get(("tosa", i), 3),
            "act_bits": info.get("act_bits", pd.NA), "weight_bits": info.get("weight_bits", pd.NA),
        })
    for rec, node in zip(records, at):
        rec["sqnr_drop_db"] = _drop(node, sqnr_at, stats) if node is not None else math.nan
    table = pd.DataFrame(records, columns=COLUMNS)
    for col in ("partition", "act_bits", "weight_bits"):
        table[col] = table[col].astype("Int64")
    return table


def _drop(node, sqnr_at: dict, stats) -> float:
    """SQNR of the operator's quantized activation inputs (the worst) minus its own (dB):
    how much it loses, its weights' rounding included. NaN for Q/DQ nodes and where its
    inputs are computed with it (a fused chain: the first operator of it carries the drop)."""
    if is_qdq(node) or is_qdq(node, "dequantize"):
        return math.nan
    inputs = [stats.sqnr(("fq", a.name)) for a in node.all_input_nodes
              if a.op == "call_function" and is_qdq(a, "dequantize") and not _is_weight(a)]
    inputs = [s for s in inputs if math.isfinite(s)]
    own = sqnr_at.get(node.name, math.nan)
    return min(inputs) - own if inputs and math.isfinite(own) else math.nan


def _is_weight(dequantize) -> bool:
    """A dequantized constant (weight or bias): get_attr -> quantize -> dequantize."""
    source = dequantize.args[0]
    while getattr(source, "op", None) == "call_function" and is_qdq(source):
        source = source.args[0]
    return getattr(source, "op", None) == "get_attr"


def _check_shapes(m, samples) -> None:
    """Data must have the nesting, shapes and dtypes the model takes: one clear error otherwise."""
    if m.example() is not None:
        check_like(samples[0], m.example(), f"data for {m.name}")
