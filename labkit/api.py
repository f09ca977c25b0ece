"""labkit.compile: turn (model, target) into a Report, from the cache when possible."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import threading
from pathlib import Path
from typing import Any, Callable

from . import cache as disk_cache  # `cache` is compile()'s flag
from . import models
from .errors import ExampleInputError, InvalidModelError, ModelTooLargeError
from .pipeline import STAGES, CompileJob
from .report import Report
from .targets import Target, resolve_target


def compile(model: Any, target: "str | Target" = "corstone-320", *, example_inputs=None,
            calibration_inputs=None, system_config: str | None = None, memory_mode: str | None = None,
            config_ini: str | None = None, cache: bool = True, in_process: bool = False,
            progress: "bool | Callable[[str, str], None]" = True, name: str | None = None,
            cancel: threading.Event | None = None, allow_overflow: bool = False) -> Report:
    """Compile ``model`` for an Ethos-U ``target`` and return its Report.

    model: a built-in name (see ``labkit models``), an nn.Module (with ``example_inputs``),
        a ModelSpec, or the path of a torch.export ``.pt2`` file.
    target: a preset ('corstone-300', 'corstone-320'), an accelerator ('ethos-u55-128', ...)
        or a Target; ``system_config`` / ``memory_mode`` / ``config_ini`` override its parts.
    cache: reuse and store results in the content-addressed cache (LABKIT_CACHE_DIR).
    in_process: compile in this process instead of the worker process (for debugging).
    progress: True for a progress bar through the stages, False for none, or a callback(stage, detail).
    allow_overflow: return the Report (with a warning) even when the model needs more SRAM than the
        memory mode provides, instead of raising ModelTooLargeError.
    """
    resolved = resolve_target(target, system_config, memory_mode, config_ini)
    job = make_job(model, resolved, example_inputs=example_inputs, calibration_inputs=calibration_inputs,
                   name=name)
    report = disk_cache.lookup(job.key) if cache else None
    if report is not None:
        report.summary["model"] = job.model  # the same graph and weights under the name asked for
    else:
        report = _compile_job(job, use_cache=cache, in_process=in_process, progress=progress, cancel=cancel)
    if not report.fits and not allow_overflow:
        s = report.summary
        raise ModelTooLargeError(
            f"{s['model']} needs {s['sram_kib']:.0f} KiB of SRAM but memory mode {s['memory_mode']} gives Vela "
            f"{s['sram_limit_kib']:.0f} KiB. Pick a memory mode with more SRAM (see `labkit targets`) or a "
            "smaller model; compile(..., allow_overflow=True) returns the report anyway.", report)
    return report


def _compile_job(job: CompileJob, *, use_cache: bool, in_process: bool, progress, cancel) -> Report:
    staging = disk_cache.build_dir(job.key, use_cache)
    # The same model compiled for a target of the same TOSA profile: reuse its lowering
    # (Vela and the .pte only: about a second instead of a full compile).
    donor = disk_cache.find_lowering(job) if use_cache else None
    reporter, close = _progress_reporter(progress, job)
    try:
        if in_process:
            from . import pipeline

            pipeline.run_group([job], [staging], reporter, donor=donor)
        else:
            from .worker import shared

            shared().run_group([job], [staging], reporter, cancel, donor=donor)
    except BaseException:
        disk_cache.discard(staging)
        raise
    finally:
        close()
    return Report.load(disk_cache.finish(staging, job))


def make_job(model, target: Target, *, example_inputs=None, calibration_inputs=None,
             name: str | None = None) -> CompileJob:
    """Resolve any accepted model form into a picklable CompileJob with its cache key."""
    if isinstance(model, str) and model in models.registry():
        if example_inputs is not None:
            raise ExampleInputError(f"{model!r} is a built-in model with its own example inputs; "
                                    "drop example_inputs=, or pass your own nn.Module instead.")
        spec = models.get(model)
        identity = {"builtin": model, "fingerprint": spec.fingerprint()}
        return CompileJob(model=name or model, target=target, key=disk_cache.make_key(identity, target.key()),
                          weights=spec.weights, registry_name=model, identity=identity)
    if isinstance(model, (str, os.PathLike)):
        text = str(model)
        if not (text.endswith(".pt2") or os.sep in text or os.path.exists(text)):
            models.get(text)  # raises UnknownModelError listing the built-ins
        from .pipeline import load_pt2, pt2_example_inputs

        ep = load_pt2(text)
        inputs = _as_tuple(example_inputs) if example_inputs is not None else pt2_example_inputs(ep)
        return _exported_job(ep, inputs, calibration_inputs, target, name or Path(text).stem, "user-supplied")
    if isinstance(model, models.ModelSpec):
        spec = model
        module, inputs = spec.factory(), spec.example_inputs()
        calibration = calibration_inputs or (spec.calibration_inputs() if spec.calibration_inputs else None)
        return _module_job(module, inputs, calibration, target, name or spec.name, spec.weights)
    return _module_job(model, example_inputs, calibration_inputs, target,
                       name or type(model).__name__, "user-supplied")


def _module_job(module, example_inputs, calibration_inputs, target, name, weights) -> CompileJob:
    from .pipeline import export_module

    ep = export_module(module, example_inputs)
    return _exported_job(ep, _as_tuple(example_inputs), calibration_inputs, target, name, weights)


def _exported_job(ep, example_inputs, calibration_inputs, target, name, weights) -> CompileJob:
    from .pipeline import exported_bytes

    blob = exported_bytes(ep)
    calibration = [_as_tuple(c) for c in calibration_inputs] if calibration_inputs else None
    # Hash the graph's code and tensors, not the saved bytes: those carry stack traces
    # with file paths (a notebook's /tmp/ipykernel_<pid>/...) that change every kernel.
    h = hashlib.sha256(ep.graph_module.code.encode() + str(ep.graph_signature).encode())
    tensors = list(ep.state_dict.items()) + list(ep.constants.items())
    samples = [t for sample in [example_inputs] + (calibration or []) for t in sample]
    for name_, t in tensors + [("", t) for t in samples]:
        if hasattr(t, "detach"):
            h.update(repr((name_, tuple(t.shape), str(t.dtype))).encode())
            h.update(t.detach().contiguous().cpu().numpy().tobytes())
    identity = {"exported": h.hexdigest()}
    return CompileJob(model=name, target=target, key=disk_cache.make_key(identity, target.key()), weights=weights,
                      exported=blob, example_inputs=example_inputs, calibration_inputs=calibration,
                      identity=identity)


def retarget(job: CompileJob, target: Target) -> CompileJob:
    """The same model for another target (no second export)."""
    return dataclasses.replace(job, target=target, key=disk_cache.make_key(job.identity, target.key()))


def _as_tuple(inputs) -> tuple:
    import torch

    if isinstance(inputs, torch.Tensor):
        return (inputs,)
    if not isinstance(inputs, (tuple, list)):
        raise ExampleInputError(f"inputs must be a tensor or a tuple of tensors, not {type(inputs).__name__}.")
    return tuple(inputs)


def _progress_reporter(progress, job: CompileJob):
    """A (callback, close) pair: the user's callback, a tqdm bar over the stages, or
    nothing; each sees the compile stages only (not the pipeline's "saved" event)."""
    if not progress:
        return (lambda stage, detail="": None), lambda: None
    close = lambda: None  # noqa: E731
    if callable(progress):
        show = progress
    else:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(STAGES), desc=f"{job.model} → {job.target.accelerator}", unit="stage",
                   bar_format="{desc}: {bar} {n_fmt}/{total_fmt} [{elapsed}]", leave=False)

        def show(stage: str, detail: str = "") -> None:
            bar.n = max(bar.n, STAGES.index(stage))
            bar.set_postfix_str(f"{stage} {detail}".strip())
            bar.refresh()

        def close() -> None:
            bar.n = len(STAGES)
            bar.close()

    def stages_only(stage: str, detail: str = "") -> None:
        if stage in STAGES:
            show(stage, detail)

    return stages_only, close
