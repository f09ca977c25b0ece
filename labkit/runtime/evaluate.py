"""Float vs int8 on the same inputs, from three sources: ``pytorch-float`` (the
nn.Module), ``fake-quant-int8`` (the PT2E-quantized graph with quantize/dequantize
in float, in PyTorch: what the quantizer believes the int8 model computes) and
``tosa-reference`` (the compiled program on the host, NPU partitions on the TOSA
reference model). ``outputs`` gives every value; ``evaluate`` summarises: accuracy
on labelled data and, against the float outputs, max/mean absolute error, mean
cosine similarity and top-1 agreement."""

from __future__ import annotations

import dataclasses
import os
import warnings
from typing import Any

from .. import cache
from ..api import compile as compile_model
from ..errors import InputValueError
from ..inputs import (
    as_args,
    batch_size,
    check_finite,
    check_like,
    hash_into,
    leaves,
    random_like,
    same_samples,
    split_batch,
    unstack,
)
from ..models import resolve
from ..quantization import check_calibration, parse
from ..targets import resolve_target
from ..toolchain import graph_file
from ..toolchain.export import export_module, in_eval_mode
from ..toolchain.native import quiet_stdout
from ..toolchain.quantize import calibrated, compile_spec, fake_quant_graph
from . import program as program_mod

SOURCES = ("pytorch-float", "fake-quant-int8", "tosa-reference")
RANDOM_SAMPLES = 32  # inputs evaluate() draws when a model has no evaluation data


def data_samples(data, example) -> tuple[list, Any, str]:
    """(list of samples, each forward()'s arguments; labels or None; description) from evaluate's ``data``."""
    import torch

    if data is None:
        g = torch.Generator().manual_seed(1234)
        samples = [random_like(example, g) for _ in range(RANDOM_SAMPLES)]
        return samples, None, (f"{RANDOM_SAMPLES} seeded random inputs within the example's range "
                               "(the model has no evaluation data)")
    labels = None
    if isinstance(data, (tuple, list)) and len(data) == 2 and _looks_like_labels(data[1], data[0]):
        data, labels = data
        labels = torch.as_tensor(labels).reshape(-1).long()
    if isinstance(data, list) and data:
        samples = [as_args(s, f"data[{i}]", InputValueError) for i, s in enumerate(data)]
    elif isinstance(data, (torch.Tensor, tuple)) and (isinstance(data, torch.Tensor) or data):
        args = as_args(data, "data", InputValueError)
        if example is not None:
            samples = split_batch(args, example) or [args]
        else:
            n = batch_size(args)
            samples = unstack(args, n) if n else [args]
    else:
        raise InputValueError("data must be (inputs, labels), inputs stacked along the first dimension, or a "
                              "list of samples (each a tuple of forward()'s arguments).")
    for s in samples:
        check_finite(s)
        if example is not None:
            check_like(s, example)
    if labels is not None and len(labels) != len(samples):
        raise InputValueError(f"data has {len(samples)} samples but {len(labels)} labels.")
    return samples, labels, f"{len(samples)} samples" + (" with labels" if labels is not None else "")


def _looks_like_labels(y, x) -> bool:
    import torch

    try:
        y = torch.as_tensor(y)
    except Exception:
        return False
    if isinstance(x, list):
        n = len(x)
    else:
        try:
            n = batch_size(as_args(x))
        except Exception:
            return False
    return y.dim() == 1 and not y.is_floating_point() and len(y) == n


def _calibration(calibration) -> tuple[list | None, int | None]:
    """(calibration samples given, or None; a count of the model's own, or None)."""
    if calibration is None or (isinstance(calibration, int) and not isinstance(calibration, bool)):
        return None, check_calibration(calibration)
    samples = [as_args(s, f"calibration[{i}]", InputValueError) for i, s in enumerate(calibration)]
    if not samples:
        raise InputValueError("calibration is empty; pass at least one input tuple.")
    for s in samples:
        check_finite(s)
    return samples, None


def samples_for(m, data) -> tuple[list, Any, str]:
    """evaluate's inputs: ``data``, else the model's evaluation data, else seeded random inputs."""
    example, evaluation = m.example(), m.evaluation()
    if data is None and evaluation is None and example is None:
        raise InputValueError(f"{m.name} needs example_inputs=(tensor, ...) or data= to evaluate on.")
    return data_samples(evaluation if data is None else data, example)


@dataclasses.dataclass
class SameModel:
    """A compile and, in this process, the same PT2E quantization of the same model."""

    report: Any
    fake_quant: Any  # the exported fake-quant GraphModule (float weights, Q/DQ kept)
    quantization: Any
    calibration_samples: int


def same_model(m, target, quantization, calibration, example, progress, cpu_kernels="cmsis-nn") -> SameModel:
    """Compile ``m`` (in the worker, cached) and the fake-quant graph of that compile:
    the one the compile kept (``report.artifacts.fake_quant``), else ``m`` quantized
    here exactly as the compile did (same quantizer, configs and calibration samples)."""
    resolved, q = resolve_target(target), parse(quantization)
    example = m.example() if m.example() is not None else example
    calib, count = _calibration(calibration)
    own = m.own_calibration(count)
    if calib is not None and own is not None and same_samples(calib, own):
        calib = None  # the model's own calibration: the same compile as labkit.compile(name)
    used = calib if calib is not None else (own or [example])
    chosen = dataclasses.replace(m, example_inputs=example)
    if calib is not None:
        chosen, count = dataclasses.replace(chosen, builtin=None, calibration_inputs=calib), None
    report = compile_model(chosen, resolved, quantization=q, calibration=count, progress=progress,
                           cpu_kernels=cpu_kernels)
    kept = report.artifacts.fake_quant
    if kept is not None and kept.exists():
        return SameModel(report, graph_file.load(kept), q, len(used))
    ep = m.exported if m.exported is not None else export_module(m.float_module(), example)
    fake_quant = fake_quant_graph(calibrated(ep, used, compile_spec(resolved), q), example)
    return SameModel(report, fake_quant, q, len(used))


def outputs(model, target="corstone-320", *, data=None, quantization=None, calibration=None, example_inputs=None,
            progress: bool = False, cpu_kernels: str = "cmsis-nn"):
    """Every output value of the model on ``data`` from the three sources, one row per (source, sample).

    Columns: ``y0``, ``y1``, ... (all outputs, flattened) and ``label`` when ``data`` has labels.
    ``attrs``: model, target, data, calibration_samples, output_scale (the int8 step of the
    program's output), report (the compile's cache key). ``evaluate`` summarises this table.
    """
    import pandas as pd


    m = resolve(model, example_inputs=example_inputs)
    samples, labels, described = samples_for(m, data)
    same = same_model(m, target, quantization, calibration, samples[0], progress, cpu_kernels)
    report, program, fake_quant = same.report, program_mod.load(same.report), same.fake_quant
    module = m.float_module()
    _check_same_quantization(fake_quant, program)

    with quiet_stdout(), in_eval_mode(module):
        results = {
            "pytorch-float": _run_all(lambda s: module(*s), samples),
            "fake-quant-int8": _run_all(lambda s: fake_quant(*s), samples),
            "tosa-reference": tosa_outputs(report, samples),
        }
    frames = []
    for source, values in results.items():
        df = pd.DataFrame(values, columns=[f"y{i}" for i in range(values.shape[1])])
        if labels is not None:
            df.insert(0, "label", labels.numpy())
        df.index = pd.MultiIndex.from_product([[source], range(len(df))], names=["source", "sample"])
        frames.append(df)
    table = pd.concat(frames)
    classes = _classes(program)
    table.attrs.update({"model": m.name, "target": report.target.accelerator, "data": described,
                        "classes": classes, "calibration_samples": same.calibration_samples,
                        "quantization": same.quantization.describe(), "output_scale": _output_scale(program),
                        "report": str(report.summary.get("cache_key", ""))})
    return table



def _classes(program) -> int:
    """The class count of a (1, classes) first output, else 0 (no top-1)."""
    first = program.plan.values[program.plan.outputs[0]].val.sizes
    return int(first[1]) if len(first) == 2 and first[0] == 1 and first[1] > 1 else 0


def _output_scale(program: program_mod.Program) -> float:
    """The quantization step of the program's (first) output: the scale of the
    dequantize that produces it, or NaN when the output is not dequantized on the CPU."""
    target = program.plan.outputs[0]
    for ins in program.instructions:
        args = ins.instr_args
        if type(args).__name__ == "KernelCall" and target in args.args[-2:]:
            name = program.ops[args.op_index][3]
            if "dequantize_per_tensor" in name:
                return float(program.template[args.args[1]])
    return float("nan")


def _check_same_quantization(fake_quant, program: program_mod.Program) -> None:
    """The input quantization of the fake-quant graph must be the one compiled into the
    .pte: otherwise the two did not calibrate identically and comparing them is moot."""
    first = None
    for node in fake_quant.graph.nodes:
        if node.op == "call_function" and "quantize_per_tensor" in str(node.target) \
                and "dequantize" not in str(node.target) and node.args[0].op == "placeholder":
            first = float(node.args[1])
            break
    pte_scale = None
    for ins in program.instructions:
        args = ins.instr_args
        if type(args).__name__ == "KernelCall":
            name = program.ops[args.op_index][3]
            if "quantize_per_tensor" in name and "dequantize" not in name:
                pte_scale = float(program.template[args.args[1]])
                break
    if first is not None and pte_scale is not None and abs(first - pte_scale) > 1e-6 * abs(pte_scale):
        warnings.warn(f"the fake-quant model quantizes its input with scale {first:g} but the compiled program "
                      f"with {pte_scale:g}: calibration differed, so fake-quant and tosa-reference are not "
                      "the same int8 model", stacklevel=3)


def tosa_accuracy(report, data, example=None) -> float:
    """Top-1 accuracy of ``report``'s compiled program on labelled ``data`` ((inputs,
    labels), as evaluate takes it), on the TOSA reference model: 'tosa-reference'."""
    samples, labels, _ = data_samples(data, example)
    if labels is None:
        raise InputValueError("accuracy needs labels: pass data=(inputs, labels).")
    first = tosa_outputs(report, samples)[:, :_classes(program_mod.load(report)) or None]
    return float((first.argmax(1) == labels.numpy()).mean())


def _run_all(fn, samples):
    """Every output of ``fn`` on each sample, flattened: one row per sample."""
    import numpy as np
    import torch

    with torch.no_grad():
        rows = []
        for s in samples:
            rows.append(torch.cat([o.detach().float().reshape(-1) for o in leaves(fn(s))]).numpy())
        return np.stack(rows)


def tosa_outputs(report, samples: list):
    """``_run_all`` of the compiled program on the TOSA reference model, kept in the cache
    by (report, inputs): the run is deterministic, and slow for a transformer."""
    import hashlib

    import numpy as np


    h = hashlib.sha256()
    for s in samples:
        hash_into(h, s)
    path = cache.run_path(str(report.summary.get("cache_key", "")), h.hexdigest())
    if path is not None and path.is_file():
        return np.load(path)
    program = program_mod.load(report)
    with quiet_stdout():
        values = _run_all(lambda s: program.run(tuple(leaves(s))), samples)
    if path is not None:
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(tmp, values)
        os.replace(tmp, path)  # whole or not at all
    return values


def summarize(table):
    """evaluate()'s summary of an ``outputs`` table: one row per source."""
    import numpy as np
    import pandas as pd

    ycols = [c for c in table.columns if str(c).startswith("y")]
    ref = table.loc["pytorch-float", ycols].to_numpy()
    labels = table.loc["pytorch-float", "label"].to_numpy() if "label" in table.columns else None
    classes = int(table.attrs.get("classes", 0))  # top-1 and accuracy: a (1, classes) first output only
    rows = []
    for source in SOURCES:
        y = table.loc[source, ycols].to_numpy()
        diff = np.abs(y - ref)
        denom = np.linalg.norm(y, axis=1) * np.linalg.norm(ref, axis=1)
        cos = np.where(denom > 0, (y * ref).sum(axis=1) / np.where(denom > 0, denom, 1), 1.0)
        top1 = y[:, :classes].argmax(1) if classes else None
        row = {"source": source,
               "accuracy": float((top1 == labels).mean()) if classes and labels is not None else float("nan"),
               "top1_agreement": float((top1 == ref[:, :classes].argmax(1)).mean()) if classes
               else float("nan"),
               "max_abs_error": float(diff.max()), "mean_abs_error": float(diff.mean()),
               "mean_cosine": float(cos.mean()), "samples": len(y)}
        rows.append(row)
    out = pd.DataFrame(rows).set_index("source")
    out.attrs.update(table.attrs)
    return out


def evaluate(model, target="corstone-320", *, data=None, quantization=None, calibration=None,
             example_inputs=None, progress: bool = False, cpu_kernels: str = "cmsis-nn"):
    """Float vs int8: one row per source ('pytorch-float', 'fake-quant-int8', 'tosa-reference').

    Columns: ``accuracy`` (when ``data`` — or the model's own evaluation data — has labels),
    ``top1_agreement``, ``max_abs_error``, ``mean_abs_error`` and ``mean_cosine`` against the
    float outputs, and ``samples``. ``attrs`` records the model, target, data, number of
    calibration samples and the output's int8 step (``output_scale``).

    model: a built-in name, a ModelSpec, an nn.Module (with ``example_inputs`` or ``data``)
        or a .pt2 path. data: (inputs, labels), inputs stacked along dim 0, or a list of input
        tuples; default: the model's evaluation data, else 32 seeded random inputs.
    quantization: as for ``labkit.compile`` (default 'int8').
    calibration: None (the model's own), an int N (the first N of the model's own
        calibration samples) or a list of input tuples.
    cpu_kernels: as for ``labkit.compile``.
    """
    return summarize(outputs(model, target, data=data, quantization=quantization, calibration=calibration,
                             example_inputs=example_inputs, progress=progress, cpu_kernels=cpu_kernels))

