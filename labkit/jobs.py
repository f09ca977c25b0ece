"""Compile jobs: ``make_job`` turns any model form, a Target and the compile options into a
picklable CompileJob with its cache key; ``retarget`` and ``vary`` give the same model for
another target or with other options, without a second export. compile(), sweep() and
advise() all make their jobs here."""

from __future__ import annotations

import dataclasses
import hashlib

from . import cache
from . import quantization as quant
from .cpu import kernels as kernel_sets
from .errors import InputValueError
from .inputs import hash_into
from .models import ResolvedModel, resolve
from .targets import Target
from .toolchain.export import export_module, exported_bytes
from .toolchain.job import CompileJob

__all__ = ["make_job", "retarget", "vary", "origin_of", "CompiledFrom"]


def make_job(model, target: Target, *, example_inputs=None, calibration_inputs=None, quantization=None,
             calibration: int | None = None, name: str | None = None, cpu_kernels: str = "cmsis-nn") -> CompileJob:
    """Resolve any accepted model form into a picklable CompileJob with its cache key.
    The quantization (scheme, overrides, calibration count) and the CPU kernel set are
    part of the model's identity (they change its lowered program)."""
    q, samples = quant.parse(quantization), quant.check_calibration(calibration)
    cpu_kernels = kernel_sets.check(cpu_kernels)
    m = resolve(model, example_inputs=example_inputs, calibration_inputs=calibration_inputs, name=name)
    if q.modules or q.types:
        quant.check_modules(q, m.exported if m.module is None and m.exported is not None else m.float_module())
    if m.builtin is not None:
        if samples is not None:
            m.spec.calibration(samples)  # enough samples? (the worker makes them again)
        identity = {"builtin": m.builtin, "fingerprint": m.spec.fingerprint(), **_quant_identity(q, samples),
                    "cpu_kernels": cpu_kernels}
        return CompileJob(model=m.name, target=target, key=cache.make_key(identity, target.key()),
                          weights=m.weights, registry_name=m.builtin, identity=identity, quantization=q,
                          calibration_samples=samples, cpu_kernels=cpu_kernels)

    example = m.example()
    ep = m.exported if m.exported is not None else export_module(m.float_module(), example)
    return _exported_job(ep, example, m.own_calibration(samples), target, m.name, m.weights, q, cpu_kernels)


def _quant_identity(q: quant.Quantization, samples: int | None) -> dict:
    return {"quantization": q.key(), "calibration": samples}


def _exported_job(ep, example_inputs, calibration, target, name, weights, q, cpu_kernels) -> CompileJob:

    # Hash the graph's code and tensors, not the saved bytes: those carry stack traces
    # with file paths (a notebook's /tmp/ipykernel_<pid>/...) that change every kernel.
    h = hashlib.sha256(ep.graph_module.code.encode() + str(ep.graph_signature).encode())
    for name_, t in list(ep.state_dict.items()) + list(ep.constants.items()):
        if hasattr(t, "detach"):
            h.update(repr((name_, tuple(t.shape), str(t.dtype))).encode())
            h.update(t.detach().contiguous().cpu().numpy().tobytes())
    for sample in [example_inputs] + (calibration or []):
        hash_into(h, sample)
    identity = {"exported": h.hexdigest(), **_quant_identity(q, None), "cpu_kernels": cpu_kernels}
    return CompileJob(model=name, target=target, key=cache.make_key(identity, target.key()), weights=weights,
                      exported=exported_bytes(ep), example_inputs=tuple(example_inputs),
                      calibration_inputs=calibration, identity=identity, quantization=q, cpu_kernels=cpu_kernels)


def retarget(job: CompileJob, target: Target) -> CompileJob:
    """The same model for another target (no second export)."""
    return dataclasses.replace(job, target=target, key=cache.make_key(job.identity, target.key()))


def vary(job: CompileJob, *, quantization=None, cpu_kernels: str | None = None) -> CompileJob:
    """The same model and target with another quantization or CPU kernel set (no second export)."""
    q = quant.parse(quantization) if quantization is not None else job.quantization
    kernels = kernel_sets.check(cpu_kernels) if cpu_kernels is not None else job.cpu_kernels
    identity = {**job.identity, "quantization": q.key(), "cpu_kernels": kernels}
    return dataclasses.replace(job, quantization=q, cpu_kernels=kernels, identity=identity,
                               key=cache.make_key(identity, job.target.key()))


def origin_of(report) -> "CompiledFrom":
    """How ``report`` was asked for in this session (what a variant of it, its numerics or
    advice, is compiled from); a clear error for a Report loaded from a folder or a sweep."""
    if report.compiled_from is None:
        raise InputValueError("This Report was not compiled in this session (it was loaded from a folder or a "
                              "sweep), so labkit does not have its model. Get it with labkit.compile(model, "
                              "target, ...) (a cache hit: instant), then ask again with that report.")
    return report.compiled_from


@dataclasses.dataclass(frozen=True)
class CompiledFrom:
    """How a Report was asked for in this session: the model, the job and ``compile``'s
    keyword arguments (less the target), so a variant of it can be compiled (``advise``)."""

    model: ResolvedModel
    job: CompileJob
    kwargs: dict
