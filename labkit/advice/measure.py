"""Measuring a candidate against the report: its whole inference time (NPU plus the CPU
range's middle), cycles, SRAM, fit, and tosa-reference accuracy, once per lowering."""

from __future__ import annotations

import pandas as pd

from .. import cache
from ..runtime.evaluate import data_samples, tosa_accuracy
from .candidate import Candidate
from .rank import benefit


class Accuracy:
    """tosa-reference accuracy of the report and of each changed program, once per lowering."""

    def __init__(self, origin, evaluation):
        self.origin, self.evaluation = origin, evaluation
        self.found = {}

    def of(self, measured, c: Candidate | None = None) -> float:
        if self.evaluation is None:
            return float("nan")
        job = c.job if c is not None else self.origin.job
        key = cache.lowering_key(job)
        if key not in self.found:
            data = self.evaluation
            if c is not None and c.as_fed is not None:
                samples, labels, _ = data_samples(data, self.origin.model.example())
                data = ([c.as_fed(s) for s in samples], labels)
            self.found[key] = tosa_accuracy(measured, data, job.example_inputs or self.origin.model.example())
        return self.found[key]


def total_ms(report) -> float:
    s = report.summary
    cpu = s.get("cpu_ms_est", 0.0)
    return float(s["inference_ms"]) + (0.0 if pd.isna(cpu) else float(cpu))


def row(c: Candidate, report, measured, accuracy: Accuracy) -> dict:
    s, m = report.summary, measured.summary
    base_ms, ms = total_ms(report), total_ms(measured)
    delta_accuracy = (accuracy.of(measured, c) - accuracy.of(report)) if accuracy.evaluation is not None \
        else float("nan")
    row = {"change": c.change, "lever": c.lever, "why": c.why, "kwargs": c.kwargs,
           "delta_ms": ms - base_ms, "delta_cycles": float(m["total_cycles"] - s["total_cycles"]),
           "delta_cpu_cycles": float(m.get("cpu_cycles_est", float("nan")) - s.get("cpu_cycles_est", float("nan"))),
           "delta_sram_kib": measured.sram_need_kib - report.sram_need_kib,
           "delta_accuracy": delta_accuracy, "fits": measured.fits}
    row["benefit"], row["_score"] = benefit(row, report, measured, base_ms)
    return row
