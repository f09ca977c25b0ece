"""Every part of labkit a user reaches from one compiled model, step by step: what the
model zoo (and any test of a user's model) runs, and what a step that fails says."""

from __future__ import annotations

import math
from pathlib import Path

import labkit
from labkit.inputs import leaves  # noqa: F401 - the zoo's tests count inputs by leaf
from labkit.views import html, plots

STEPS = ("compile", "figures", "tables", "model_explorer", "html", "simulate", "numerics", "evaluate", "advise")


def figures(report) -> list:
    """Every figure of one report (the Lab's and the lessons' report figures)."""
    return [plots.summary_card(report), plots.placement(report), plots.timeline(report),
            plots.cycles(report), plots.cycles(report, by="module"), plots.module_treemap(report),
            plots.memory(report)]


def walk(model, args, target: str, folder: Path, *, advise_budget: int | None = 2, evaluate_data=None,
         cpu_kernels: str = "cmsis-nn", steps=STEPS) -> dict:
    """Run ``model`` (an nn.Module, forward()'s arguments ``args``) through ``steps`` of labkit
    on ``target``; {step: what it gave}. A step's failure is an AssertionError naming it.
    ``evaluate_data``: evaluate's data (default: its own 32 seeded samples)."""
    done = {}

    def step(name, fn):
        if name in steps:
            try:
                done[name] = fn()
            except Exception as e:
                raise AssertionError(f"{name} failed: {type(e).__name__}: {e}") from e

    report = labkit.compile(model, target, example_inputs=args, progress=False, cpu_kernels=cpu_kernels)
    done["compile"] = report
    step("figures", lambda: figures(report))
    step("tables", lambda: (report.hotspots(), report.by_module(1), report.memory, report.cpu_work,
                            report.summary_text()))
    step("model_explorer", lambda: labkit.to_model_explorer(report, folder / "me"))
    step("html", lambda: html.write_html(report, folder / "report.html"))
    step("simulate", lambda: labkit.simulate(report, args))
    step("numerics", lambda: labkit.numerics(model, target, example_inputs=args, cpu_kernels=cpu_kernels))
    step("evaluate", lambda: labkit.evaluate(model, target, example_inputs=args, data=evaluate_data,
                                             cpu_kernels=cpu_kernels))
    step("advise", lambda: labkit.advise(report, budget=advise_budget, progress=False))
    return done


def check(done: dict) -> None:
    """What each step gave is a real answer, not an empty shell."""
    report = done["compile"]
    s = report.summary
    assert s["total_cycles"] > 0 and s["npu_ops"] > 0 and s["partitions"] >= 1
    if "figures" in done:
        assert all(len(f.data) or f.layout.annotations for f in done["figures"])
    if "model_explorer" in done:
        assert Path(done["model_explorer"]).exists()
    if "html" in done:
        text = Path(done["html"]).read_text()
        assert str(s["model"]) in text and "vela-estimate" in text
    if "simulate" in done:
        out = done["simulate"]
        assert out.source == "tosa-reference" and len(out) >= 1
    if "numerics" in done:
        table = done["numerics"]
        assert len(table) > 0
        assert table["sqnr_fake_quant_db"].map(lambda v: not math.isnan(v)).any()
    if "evaluate" in done:
        ev = done["evaluate"]
        assert list(ev.index) == ["pytorch-float", "fake-quant-int8", "tosa-reference"]
        assert ev["max_abs_error"].map(math.isfinite).all()
    if "advise" in done:
        assert "message" in done["advise"].attrs or len(done["advise"])
