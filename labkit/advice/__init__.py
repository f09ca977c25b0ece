"""``labkit.advise(report)``: candidate changes, each measured by a real compile.

Levers, where they apply (``LEVERS``):

- ``target``: the NPU configuration: the next MAC count down and up, the other system
  configs and memory modes Vela accepts for the accelerator (not for a board's report). The TOSA graph is the
  report's own, so each costs Vela and a patched .pte (the lowering is reused), and the
  accuracy is the report's (the same program on the NPU).
- ``board``: for a report compiled for a board, the other boards: the smallest that fits
  where this one does not, or a smaller one that runs it as well.
- ``rewrites``: source edits labkit proves on the exported graph (``labkit.rewrites``),
  compiled as a rewritten copy of the model.
- ``cpu_kernels``: the other CPU kernel set, when operators run on the CPU.
- ``quantization``: 16-bit activations (a16w8) for the module where ``numerics`` finds the
  largest SQNR drop (needs evaluation data, to measure accuracy), or int8 for an a16w8
  model.

Candidates are compiled cheapest first (target, board, rewrites, cpu_kernels, quantization);
``budget`` caps the compiles (cache hits are free). Only measured improvements are
shown: faster (whole inference, NPU + CPU), less SRAM, more accurate, or fitting where
the report does not; and a smaller NPU that is as fast (within 2%).

One file per lever (``target.py``, ``board.py``, ``rewrites.py``, ``cpu_kernels.py``,
``quantization.py``), each giving its Candidates (``candidate.py``); ``measure.py``
measures a compiled candidate against the report and ``rank.py`` ranks what improved.
"""

from __future__ import annotations

import threading
from typing import Callable

import pandas as pd

from .. import cache, scheduler
from ..errors import CompileCancelled, InputValueError, LabkitError
from ..jobs import origin_of
from ..views import styled
from . import board, cpu_kernels, quantization, rewrites, target
from .candidate import call_text, describe_kwargs
from .measure import Accuracy, row
from .rank import best_first, message

__all__ = ["advise", "LEVERS", "COLUMNS", "SOURCES", "call_text", "describe_kwargs"]

LEVERS = ("target", "board", "rewrites", "cpu_kernels", "quantization")
COLUMNS = ["change", "lever", "benefit", "why", "delta_ms", "delta_cycles", "delta_cpu_cycles", "delta_sram_kib",
           "delta_accuracy", "fits", "kwargs"]
SOURCES = {"delta_ms": "vela-estimate + cortex-m-estimate (NPU time plus the CPU range's middle)",
           "delta_cycles": "vela-estimate", "delta_cpu_cycles": "cortex-m-estimate",
           "delta_sram_kib": "vela-estimate", "delta_accuracy": "tosa-reference", "fits": "vela-estimate"}
_CANDIDATES = {"target": target.candidates, "board": board.candidates, "rewrites": rewrites.candidates,
               "cpu_kernels": cpu_kernels.candidates, "quantization": quantization.candidates}  # cheapest first


def advise(report, *, data=None, levers=None, budget: int | None = None,
           progress: "bool | Callable[[int, int, str], None]" = True,
           cancel: threading.Event | None = None) -> pd.DataFrame:
    """Candidate changes to ``report``'s compile, each measured by a real compile and
    ranked by measured benefit (the changes that make the model fit first, then by time
    saved, accuracy gained, SRAM saved).

    Columns: ``change`` (in your terms), ``lever``, ``benefit``, ``why`` (the hotspot,
    fallback or numerics row it answers), the measured deltas against the report
    (``delta_ms``, ``delta_cycles`` vela-estimate, ``delta_cpu_cycles`` cortex-m-estimate,
    ``delta_sram_kib``, ``delta_accuracy`` tosa-reference when there is data), ``fits``,
    and ``kwargs``: ``labkit.compile(**kwargs)`` compiles the change.
    ``attrs``: ``message`` (what was tried), ``sources``, ``rejected`` (changes measured
    without a benefit, with their deltas), ``not_tried`` (over budget), ``failed``
    (candidates that could not be measured, with the error).

    data: (inputs, labels) to measure accuracy on; default: the model's evaluation data.
    levers: a subset of ``LEVERS``; default all. budget: at most this many compiles.
    progress, cancel: as for ``labkit.sweep``.
    """
    origin = origin_of(report)
    chosen = _levers(levers)
    if budget is not None and (not isinstance(budget, int) or budget < 0):
        raise InputValueError(f"budget={budget!r}: give the number of compiles advise may spend (an int ≥ 0), "
                              "or None for no limit.")
    evaluation = data if data is not None else origin.model.evaluation()
    candidates, failed = [], []
    for lever, make in _CANDIDATES.items():
        if lever in chosen:
            try:
                candidates += make(report, origin, evaluation)
            except LabkitError as e:  # the lever cannot apply to this model: say so, keep the others
                failed.append({"change": lever, "error": str(e)})
    tried, not_tried = _within_budget(candidates, budget)
    jobs = list({c.job.key: c.job for c in tried}.values())
    shown = scheduler.Progress(progress, label=f"advise {report.summary['model']}", total=len(jobs),
                               per_target=True)
    outcome = scheduler.run(jobs, progress=shown, cancel=cancel)
    if cancel is not None and cancel.is_set():
        raise CompileCancelled(f"Advice cancelled after {len(outcome.reports)} of {len(jobs)} compiles; those are "
                               "cached, so asking again continues from there.")
    accuracy = Accuracy(origin, evaluation)
    rows = []
    for c in tried:
        measured = outcome.reports.get(c.job.key)
        if measured is None:
            error = outcome.errors.get(c.job.key)
            failed.append({"change": c.change, "error": str(error) if isinstance(error, LabkitError)
                           else f"{type(error).__name__}: {error}"})
            continue
        rows.append(row(c, report, measured, accuracy))
    every = pd.DataFrame(rows, columns=COLUMNS + ["_score"])
    table = best_first(every, report)
    rejected = every[every["_score"].isna()].drop(columns=["_score", "kwargs", "benefit"])
    table.attrs.update({"model": report.summary["model"], "target": report.target.label, "sources": SOURCES,
                        "tried": len(tried), "not_tried": [c.change for c in not_tried], "failed": failed,
                        "rejected": rejected.to_dict(orient="records"),
                        "data": "none: accuracy not measured" if evaluation is None else "given" if data is not None
                        else "the model's evaluation data"})
    table.attrs["message"] = message(table, report, len(tried), not_tried, failed)
    return styled.shown_as(table, styled.advice)


def _levers(levers) -> tuple:
    if levers is None:
        return LEVERS
    chosen = (levers,) if isinstance(levers, str) else tuple(levers)
    unknown = [lever for lever in chosen if lever not in LEVERS]
    if unknown:
        raise InputValueError(f"Unknown lever(s) {', '.join(map(repr, unknown))}: choose from {', '.join(LEVERS)}.")
    return chosen


def _within_budget(candidates: list, budget: int | None) -> tuple[list, list]:
    """The candidates to measure: those in the cache, and the first ``budget`` compiles."""
    if budget is None:
        return candidates, []
    tried, not_tried, spent = [], [], set()
    for c in candidates:
        hit = cache.holds(c.job.key)
        if hit or c.job.key in spent or len(spent) < budget:
            tried.append(c)
            spent |= set() if hit else {c.job.key}
        else:
            not_tried.append(c)
    return tried, not_tried
