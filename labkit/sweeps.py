"""Many NPU configurations (and quantizations) at once: ``labkit.sweep``. The TOSA
graph of a quantized model is the same for every accelerator of one TOSA profile
(U55 and U65 share one, U85 has its own), so each (quantization, profile) pair is
lowered once (or reused from the cache) and Vela runs per target (scheduler.py);
the result is one row per configuration."""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import threading
from typing import Callable

import pandas as pd

from . import cache, hardware, scheduler
from . import targets as targets_mod
from .errors import CompileCancelled, LabkitError, TargetError
from .jobs import make_job, retarget
from .models import resolve
from .runtime.evaluate import tosa_accuracy
from .toolchain.export import export_module

COLUMNS = ["model", "board", "quantization", "accelerator", "family", "macs_per_cycle", "system_config", "memory_mode",
           "total_cycles", "npu_cycles", "inference_ms", "inferences_per_s", "sram_kib", "sram_need_kib", "flash_kib",
           "dram_kib", "npu_ops", "cpu_ops", "partitions", "macs", "fits", "accuracy", "source", "npu_ms",
           "cpu_core", "cpu_kernels", "cpu_ms_low", "cpu_ms_est", "cpu_ms_high", "total_ms_low", "total_ms_high",
           "tightest_region", "margin_kib", "from_cache", "cache_key", "error"]


def expand_targets(targets="all", system_configs=None, memory_modes=None, config_ini=None) -> list:
    """Targets from 'all' / 'u55' / 'u65' / 'u85' / a list, times the system configs
    and memory modes asked for (only the combinations Vela accepts)."""
    if isinstance(targets, str) and targets.lower() in ("all", "u55", "u65", "u85"):
        family = targets.lower()
        accs = [a for a in targets_mod.accelerators() if family == "all" or a.startswith(f"ethos-{family}")]
        base = [targets_mod.resolve_target(a, config_ini=config_ini) for a in accs]
    else:
        items = [targets] if isinstance(targets, (str, targets_mod.Target)) else list(targets)
        base = [targets_mod.resolve_target(t, config_ini=config_ini) for t in items]
    out = [t for t in base if not t.has_npu]  # a CPU-only target has no NPU memory system to vary
    for t in (t for t in base if t.has_npu):
        scs = [s for s in (system_configs or [t.system_config])
               if s in targets_mod.valid_system_configs(t.accelerator, config_ini)]
        for sc in scs:
            modes = targets_mod.valid_memory_modes(t.accelerator, sc, config_ini)
            for mm in (memory_modes or [t.memory_mode if sc == t.system_config else None]):
                mm = mm or targets_mod.FAMILY_DEFAULTS[t.family][1]
                if mm in modes:
                    out.append(targets_mod.Target(t.accelerator, sc, mm, t.config_ini))
    if not out:
        raise TargetError("No valid target in this sweep: the system configs / memory modes given fit none of "
                          "the accelerators. See `labkit targets` for what fits which NPU.")
    return out


def sweep(model, targets=None, *, boards=None, quantization=None, data=None, system_configs=None, memory_modes=None,
          executor: cf.Executor | None = None, example_inputs=None, config_ini: str | None = None,
          name: str | None = None, progress: "bool | Callable[[int, int, str], None]" = True,
          cancel: threading.Event | None = None, cpu_kernels: str = "cmsis-nn") -> pd.DataFrame:
    """Compile ``model`` for many NPU configurations (and quantizations); one row per
    (quantization, target) with the summary columns. Each TOSA profile is lowered
    once per quantization (or not at all when the cache holds such a compile);
    lowerings run in parallel, in labkit worker processes or on ``executor``. Every
    row's full Report is cached like a single compile (``reports(df)`` loads them).

    targets: 'all' (the default), 'u55', 'u65', 'u85', or a list of presets, accelerators and CPU-only
        targets ('cortex-m55', 'cortex-m85': the same model without an NPU).
    boards: instead of targets, 'all' or a list of boards (ids of ``labkit.boards()``, or your own):
        which boards run the model, how fast, and whether it fits each (``fits``, the tightest
        memory region and its margin).
    quantization: a scheme or mapping as for ``labkit.compile``, or a list of them to compare.
    cpu_kernels: the kernels of the operators outside the NPU, as for ``labkit.compile``.
    data: evaluation data ((inputs, labels), as for ``labkit.evaluate``); with it, or with the
        model's own evaluation data, an ``accuracy`` column from the TOSA reference model
        (the same for every target of one TOSA profile and quantization, so run once per pair).
    progress: True for a progress bar, False for none, or a callback(done, total, label).
    cancel: set this Event to stop; finished targets stay cached, CompileCancelled is raised.
    """
    if boards is not None:
        if targets is not None:
            raise TargetError("Give targets or boards, not both.")
        chosen = list(hardware.presets()) if boards == "all" else [boards] if isinstance(boards, str) else boards
        wanted = [hardware.board(b).target() for b in chosen]
    else:
        wanted = expand_targets("all" if targets is None else targets, system_configs, memory_modes, config_ini)
    schemes = list(quantization) if isinstance(quantization, (list, tuple)) else [quantization]
    resolved = resolve(model, example_inputs=example_inputs, name=name)
    if resolved.builtin is None and resolved.exported is None:  # export once for every quantization
        resolved = dataclasses.replace(resolved, exported=export_module(resolved.float_module(), resolved.example()))
    jobs = []
    for scheme in schemes:
        first = make_job(resolved, wanted[0], quantization=scheme, cpu_kernels=cpu_kernels)
        jobs += [first] + [retarget(first, t) for t in wanted[1:]]
    shown = scheduler.Progress(progress, label=f"sweep {jobs[0].model}", total=len(jobs), per_target=True)
    outcome = scheduler.run(jobs, executor=executor, progress=shown, cancel=cancel)
    if cancel is not None and cancel.is_set():
        raise CompileCancelled(f"Sweep cancelled after {len(outcome.reports)} of {len(jobs)} configurations; those "
                               "are cached, so running it again continues from there.")
    table = _table(jobs, outcome)
    evaluation = resolved.evaluation() if data is None else data
    if evaluation is not None:
        table["accuracy"] = _accuracies(jobs, outcome, evaluation, resolved.example())
    return table


def _accuracies(jobs, outcome, data, example) -> list:
    """Top-1 accuracy on the TOSA reference model, per row: computed once per lowering
    (the TOSA graph every target of a profile and quantization shares)."""
    found = {}
    out = []
    for job in jobs:
        report = outcome.reports.get(job.key)
        if report is None:
            out.append(float("nan"))
            continue
        lowering = cache.lowering_key(job)
        if lowering not in found:
            found[lowering] = tosa_accuracy(report, data, example)
        out.append(found[lowering])
    return out


def _table(jobs, outcome) -> pd.DataFrame:
    rows = []
    for job in jobs:
        t = job.target
        error = outcome.errors.get(job.key)
        if error is not None and not isinstance(error, LabkitError):
            error = f"{type(error).__name__}: {error}"
        row = {"model": job.model, "board": t.board.id if t.board is not None else "",
               "quantization": job.quantization.describe(), "accelerator": t.accelerator,
               "family": t.family, "macs_per_cycle": t.macs,
               "system_config": t.system_config, "memory_mode": t.memory_mode, "cache_key": job.key,
               "sram_need_kib": float("nan"), "error": str(error or "")}
        report = outcome.reports.get(job.key)
        if report is not None:
            row.update({c: report.summary[c] for c in COLUMNS if c in report.summary.index and c not in row})
            row["from_cache"] = report.from_cache
            row["fits"] = report.fits  # False: needs more SRAM than the memory mode gives
            row["sram_need_kib"] = report.sram_need_kib
            if t.board is not None:  # how close the whole deployment comes to filling the board
                tight = report.regions.sort_values("margin").iloc[0]
                row.update(tightest_region=tight["region"], margin_kib=tight["margin"] / 1024)
        rows.append(row)
    return pd.DataFrame(rows).reindex(columns=COLUMNS)


def reports(df: pd.DataFrame) -> list:
    """The full Report of every row of a sweep (from the cache)."""
    return [cache.lookup(k) if isinstance(k, str) else None for k in df["cache_key"]]
