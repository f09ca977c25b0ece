"""The ``quantization`` lever: 16-bit activations (a16w8) for the module where
``numerics`` finds the largest SQNR drop (needs evaluation data, to measure accuracy),
or int8 for an a16w8 model."""

from __future__ import annotations

from ..inputs import first_samples
from ..jobs import vary
from ..runtime.numerics import by_module
from ..runtime.numerics import of_report as numerics_of
from .candidate import Candidate, base_kwargs

NUMERICS_SAMPLES = 16


def candidates(report, origin, evaluation) -> list:
    if evaluation is None or not report.target.has_npu:
        return []
    q = origin.job.quantization
    base = base_kwargs(report, origin)
    if q.schemes() == {"a16w8"}:
        return [Candidate("quantization", "int8 everywhere instead of a16w8",
                          f"a16w8's 16-bit activations cost NPU cycles ({int(report.summary['total_cycles']):,} "
                          "cycles, vela-estimate) and memory", vary(origin.job, quantization="int8"),
                          {**base, "quantization": "int8"})]
    if "a16w8" in q.schemes() or q.types:
        return []
    inputs, labels = evaluation
    subset = (first_samples(inputs, NUMERICS_SAMPLES), labels[:NUMERICS_SAMPLES])
    table = numerics_of(report, data=subset)
    modules = by_module(table, depth=2).dropna(subset=["largest_drop_db"])
    modules = modules[modules["module"] != ""].sort_values("largest_drop_db", ascending=False)
    if modules.empty or modules.iloc[0]["largest_drop_db"] <= 0:
        return []
    worst = modules.iloc[0]
    mapping = {"default": q.default, **dict(q.modules), worst["module"]: "a16w8"}
    why = (f"numerics: the largest SQNR drop is inside {worst['module']}, {worst['largest_drop_db']:.1f} dB "
           f"(fake-quant-int8 vs pytorch-float, {table.attrs['samples']} samples)")
    return [Candidate("quantization", f"16-bit activations in {worst['module']}: quantization={mapping!r}", why,
                      vary(origin.job, quantization=mapping), {**base, "quantization": mapping})]
