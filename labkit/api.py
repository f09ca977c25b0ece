"""The front door's functions: compile(), cached() and warm_up(). Their jobs come from
jobs.py, and run through the one orchestrator, scheduler.py."""

from __future__ import annotations

import threading
from typing import Any, Callable

from . import cache as disk_cache  # `cache` is compile()'s flag
from . import hardware, scheduler
from .errors import ModelTooLargeError
from .jobs import CompiledFrom, make_job
from .models import resolve
from .report import Report
from .targets import Target
from .toolchain.job import STAGES, CompileJob

__all__ = ["compile", "cached", "warm_up", "STAGES"]
# compile()'s arguments that say what to compile, apart from the target (CompiledFrom.kwargs)
_ASKED = ("model", "example_inputs", "calibration_inputs", "quantization", "calibration", "name", "cpu_kernels",
          "cpu", "config_ini")


def compile(model: Any, target: "str | Target | None" = None, *, board=None, example_inputs=None,
            calibration_inputs=None, quantization=None, calibration: int | None = None,
            system_config: str | None = None, memory_mode: str | None = None,
            config_ini: str | None = None, cache: bool = True, in_process: bool = False,
            progress: "bool | Callable[[str, str], None]" = True, name: str | None = None,
            cancel: threading.Event | None = None, allow_overflow: bool = False, cpu_kernels: str = "cmsis-nn",
            cpu: str | None = None) -> Report:
    """Compile ``model`` for an Ethos-U ``target`` and return its Report.

    model: a built-in name (see ``labkit models``), an nn.Module (with ``example_inputs``),
        a ``(module, example_inputs)`` pair, a ModelSpec, or the path of a torch.export ``.pt2`` file.
    target: a preset ('corstone-300', 'corstone-320', the default), an accelerator ('ethos-u55-128',
        ...) or a Target; ``system_config`` / ``memory_mode`` / ``config_ini`` override its parts.
    board: a board instead of a target (an id of ``labkit.boards()``, e.g. 'alif-e8-hp', or your own
        as a dict or .toml file): its NPU, clocks and memory regions; the report then says whether
        the whole deployment fits each region (``report.deployment``, ``report.regions``).
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
        memory mode provides (or, on a board, more of a region than it has), instead of raising
        ModelTooLargeError.
    """
    asked = {k: v for k, v in locals().items() if k in _ASKED}
    resolved = hardware.resolve(target, board, system_config, memory_mode, config_ini, cpu)
    m = resolve(model, example_inputs=example_inputs, calibration_inputs=calibration_inputs, name=name)
    job = make_job(m, resolved, quantization=quantization, calibration=calibration, cpu_kernels=cpu_kernels)
    shown = scheduler.Progress(progress, label=f"{job.model} → {job.target.accelerator}")
    outcome = scheduler.run([job], use_cache=cache, in_process=in_process, progress=shown, cancel=cancel)
    if job.key in outcome.errors:
        raise outcome.errors[job.key]
    report = _as_asked(outcome.reports[job.key], job, CompiledFrom(m, job, asked))
    if not report.fits and not allow_overflow and report.board is not None:
        raise ModelTooLargeError(hardware.overflow_message(report.model, report.target, report.regions,
                                                           report.deployment), report)
    if not report.fits and not allow_overflow:
        s = report.summary
        raise ModelTooLargeError(
            f"{s['model']} needs {s['sram_kib']:.0f} KiB of SRAM but memory mode {s['memory_mode']} gives Vela "
            f"{s['sram_limit_kib']:.0f} KiB. Pick a memory mode with more SRAM (see `labkit targets`) or a "
            "smaller model; compile(..., allow_overflow=True) returns the report anyway.", report)
    return report


def cached(model: Any, target: "str | Target | None" = None, *, board=None, example_inputs=None,
           calibration_inputs=None,
           quantization=None, calibration: int | None = None, system_config: str | None = None,
           memory_mode: str | None = None, config_ini: str | None = None,
           name: str | None = None, cpu_kernels: str = "cmsis-nn", cpu: str | None = None) -> Report | None:
    """The Report ``compile`` would return, if the cache holds it; None otherwise. Never
    compiles: for a built-in model this costs about 50 ms and imports no toolchain (your
    own model is exported once to compute its key)."""
    asked = {k: v for k, v in locals().items() if k in _ASKED}
    m = resolve(model, example_inputs=example_inputs, calibration_inputs=calibration_inputs, name=name)
    job = make_job(m, hardware.resolve(target, board, system_config, memory_mode, config_ini, cpu),
                   quantization=quantization, calibration=calibration, cpu_kernels=cpu_kernels)
    report = disk_cache.lookup(job.key)
    if report is None:
        return None
    return _as_asked(report, job, CompiledFrom(m, job, asked))




def _as_asked(report: Report, job: CompileJob, origin: CompiledFrom) -> Report:
    """A cached Report may come from a compile of the same graph and weights under another
    name, or of the same hardware asked for by accelerator rather than preset: show it as asked."""
    report.model, report.target = job.model, job.target
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
