"""The front door's functions: compile(), cached(), warm_up(), and make_job, which
turns any model form and a Target into a CompileJob with its cache key."""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from typing import Any, Callable

from . import cache as disk_cache  # `cache` is compile()'s flag
from . import quantization as quant
from . import scheduler
from .cpu import kernels as kernel_sets
from .errors import ModelTooLargeError
from .inputs import hash_into
from .models import ResolvedModel, resolve
from .report import Report
from .targets import Target, resolve_target
from .toolchain.job import STAGES, CompileJob

__all__ = ["compile", "cached", "warm_up", "make_job", "retarget", "STAGES"]
# compile()'s arguments that say what to compile, apart from the target (CompiledFrom.kwargs)
_ASKED = ("model", "example_inputs", "calibration_inputs", "quantization", "calibration", "name", "cpu_kernels",
          "cpu", "config_ini")


def compile(model: Any, target: "str | Target" = "corstone-320", *, example_inputs=None,
            calibration_inputs=None, quantization=None, calibration: int | None = None,
            system_config: str | None = None, memory_mode: str | None = None,
            config_ini: str | None = None, cache: bool = True, in_process: bool = False,
            progress: "bool | Callable[[str, str], None]" = True, name: str | None = None,
            cancel: threading.Event | None = None, allow_overflow: bool = False, cpu_kernels: str = "cmsis-nn",
            cpu: str | None = None) -> Report:
    """Compile ``model`` for an Ethos-U ``target`` and return its Report.

    model: a built-in name (see ``labkit models``), an nn.Module (with ``example_inputs``),
        a ``(module, example_inputs)`` pair, a ModelSpec, or the path of a torch.export ``.pt2`` file.
    target: a preset ('corstone-300', 'corstone-320'), an accelerator ('ethos-u55-128', ...)
        or a Target; ``system_config`` / ``memory_mode`` / ``config_ini`` override its parts.
    quantization: a scheme ('int8', the default; 'int8-per-tensor', 'a16w8', 'a8w4'), or a mapping
        with a 'default' scheme and overrides by nn.Module path or type, e.g.
        ``{"default": "int8", "features.1": "a16w8", torch.nn.Linear: "a16w8"}``.
    calibration: how many of the model's own calibration samples to calibrate on (default: all of
        them; a built-in model has 8, digits_cnn 64); ``calibration_inputs`` chooses the samples.
    cpu_kernels: the kernels of the operators outside the NPU: 'cmsis-nn' (the Cortex-M backend's
        CMSIS-NN kernels, the default) or 'portable' (ExecuTorch's portable kernels).
    cpu: the Cortex-M core next to the NPU ('cortex-m55', 'cortex-m85'; default: the Corstone
        design's for the NPU family).
    cache: reuse and store results in the content-addressed cache (LABKIT_CACHE_DIR).
    in_process: compile in this process instead of the worker process (for debugging).
    progress: True for a progress bar through the stages, False for none, or a callback(stage, detail).
    cancel: set this Event to stop the compile (CompileCancelled; nothing is cached).
    allow_overflow: return the Report (with a warning) even when the model needs more SRAM than the
        memory mode provides, instead of raising ModelTooLargeError.
    """
    asked = {k: v for k, v in locals().items() if k in _ASKED}
    resolved = resolve_target(target, system_config, memory_mode, config_ini, cpu)
    m = resolve(model, example_inputs=example_inputs, calibration_inputs=calibration_inputs, name=name)
    job = make_job(m, resolved, quantization=quantization, calibration=calibration, cpu_kernels=cpu_kernels)
    shown = scheduler.Progress(progress, label=f"{job.model} → {job.target.accelerator}")
    outcome = scheduler.run([job], use_cache=cache, in_process=in_process, progress=shown, cancel=cancel)
    if job.key in outcome.errors:
        raise outcome.errors[job.key]
    report = _as_asked(outcome.reports[job.key], job, CompiledFrom(m, job, asked))
    if not report.fits and not allow_overflow:
        s = report.summary
        raise ModelTooLargeError(
            f"{s['model']} needs {s['sram_kib']:.0f} KiB of SRAM but memory mode {s['memory_mode']} gives Vela "
            f"{s['sram_limit_kib']:.0f} KiB. Pick a memory mode with more SRAM (see `labkit targets`) or a "
            "smaller model; compile(..., allow_overflow=True) returns the report anyway.", report)
    return report


def cached(model: Any, target: "str | Target" = "corstone-320", *, example_inputs=None, calibration_inputs=None,
           quantization=None, calibration: int | None = None, system_config: str | None = None,
           memory_mode: str | None = None, config_ini: str | None = None,
           name: str | None = None, cpu_kernels: str = "cmsis-nn", cpu: str | None = None) -> Report | None:
    """The Report ``compile`` would return, if the cache holds it; None otherwise. Never
    compiles: for a built-in model this costs about 50 ms and imports no toolchain (your
    own model is exported once to compute its key)."""
    asked = {k: v for k, v in locals().items() if k in _ASKED}
    m = resolve(model, example_inputs=example_inputs, calibration_inputs=calibration_inputs, name=name)
    job = make_job(m, resolve_target(target, system_config, memory_mode, config_ini, cpu),
                   quantization=quantization, calibration=calibration, cpu_kernels=cpu_kernels)
    report = disk_cache.lookup(job.key)
    if report is None:
        return None
    return _as_asked(report, job, CompiledFrom(m, job, asked))


@dataclasses.dataclass(frozen=True)
class CompiledFrom:
    """How a Report was asked for in this session: the model, the job and ``compile``'s
    keyword arguments (less the target), so a variant of it can be compiled (``advise``)."""

    model: ResolvedModel
    job: CompileJob
    kwargs: dict


def _as_asked(report: Report, job: CompileJob, origin: CompiledFrom) -> Report:
    """A cached Report may come from a compile of the same graph and weights under another
    name, or of the same hardware asked for by accelerator rather than preset: show it as asked."""
    report.summary["model"] = job.model
    report.summary["preset"] = job.target.preset or ""
    report.target = job.target
    report.compiled_from = origin
    return report


def warm_up(background: bool = True) -> None:
    """Start the compile worker and import the toolchain now, so the first compile does not
    wait ~10 s for it (the Lab does this when it opens). ``background``: return at once."""
    from .worker import shared

    if not background:
        shared().warm()
        return

    def warm() -> None:
        try:
            shared().warm()
        except Exception:  # noqa: BLE001 - warming is an optimisation; a compile reports real errors
            pass

    threading.Thread(target=warm, daemon=True, name="labkit-warm").start()


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
        return CompileJob(model=m.name, target=target, key=disk_cache.make_key(identity, target.key()),
                          weights=m.weights, registry_name=m.builtin, identity=identity, quantization=q,
                          calibration_samples=samples, cpu_kernels=cpu_kernels)
    from .toolchain.export import export_module

    example = m.example()
    ep = m.exported if m.exported is not None else export_module(m.float_module(), example)
    return _exported_job(ep, example, m.own_calibration(samples), target, m.name, m.weights, q, cpu_kernels)


def _quant_identity(q: quant.Quantization, samples: int | None) -> dict:
    return {"quantization": q.key(), "calibration": samples}


def _exported_job(ep, example_inputs, calibration, target, name, weights, q, cpu_kernels) -> CompileJob:
    from .toolchain.export import exported_bytes

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
    return CompileJob(model=name, target=target, key=disk_cache.make_key(identity, target.key()), weights=weights,
                      exported=exported_bytes(ep), example_inputs=tuple(example_inputs),
                      calibration_inputs=calibration, identity=identity, quantization=q, cpu_kernels=cpu_kernels)


def retarget(job: CompileJob, target: Target) -> CompileJob:
    """The same model for another target (no second export)."""
    return dataclasses.replace(job, target=target, key=disk_cache.make_key(job.identity, target.key()))


def vary(job: CompileJob, *, quantization=None, cpu_kernels: str | None = None) -> CompileJob:
    """The same model and target with another quantization or CPU kernel set (no second export)."""
    q = quant.parse(quantization) if quantization is not None else job.quantization
    kernels = kernel_sets.check(cpu_kernels) if cpu_kernels is not None else job.cpu_kernels
    identity = {**job.identity, "quantization": q.key(), "cpu_kernels": kernels}
    return dataclasses.replace(job, quantization=q, cpu_kernels=kernels, identity=identity,
                               key=disk_cache.make_key(identity, job.target.key()))
