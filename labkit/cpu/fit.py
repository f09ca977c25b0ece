"""The Cortex-M55 cost model's fit: every kernel class's coefficients and band from the
silicon measurements (labkit.cpu.calibration), written to ``data/cortex-m/coefficients.json``.

    python -m labkit.cpu.fit          # refit and write coefficients.json (a few seconds)

How (the counts are ``cost_model.features``; every fit is least squares on
log(measured / predicted) with non-negative coefficients, each distinct measurement once):

- quantize and dequantize: per element plus a fixed cost, which their 16-element rows pin.
  That fixed cost is ExecuTorch's per-operator dispatch, ``D``: the fixed cost of every
  class whose rows are too large to show one.
- convolution and pointwise share CMSIS-NN's matrix-multiply core (vector blocks, per-output
  requantization), fitted jointly; convolution adds its im2col copies. matmul and fully
  connected fit their own per-block / per-MAC cost with the shared per-output cost.
- depthwise: per MAC plus per im2col copy; pooling per tap (+ per output for average);
  elementwise, pad, transpose and portable float kernels per element, by operator.
- softmax and layout copies have no usable measurement: derived, with a wide band.

A class's band is the widest of its in-sample residual (inflated for the parameters it
spent), its misses when a source is left out of the fit and predicted, and a floor by
evidence (``FLOORS``). A class measured on one source only takes the 90th percentile of
all classes' cross-source misses as its floor: one board's tight fit says nothing about
the next board's.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import least_squares, nnls

from .calibration import SOURCES, Measurement, at_reference_clock, measurements
from .cost_model import CLOCK_STEP_UNCERTAINTY, COEFFICIENTS, clock_factor, features, reference_cycles

FLOORS = {"multi-source": 1.25, "single-source": 1.5, "few points": 1.5, "assumed shapes only": 2.0, "derived": 3.0}
M85_KIND = {  # how each term carries to a Cortex-M85 (cost_model.M85)
    "blocks": "vector", "macs": "vector", "taps": "vector", "outputs": "mixed", "elements": "mixed",
    "im2col_taps": "scalar", "im2col_calls": "scalar", "rows": "scalar"}
SCALAR_CLASSES = ("quantize", "dequantize", "transpose", "layout_copy", "portable_float")  # scalar C loops
NOTES = {
    "convolution": "CMSIS-NN arm_convolve_s8: the matrix-multiply core (16-byte vector blocks of kh·kw·cin, "
                   "per-output requantize) shared with pointwise, plus one im2col copy per kernel tap and pixel",
    "pointwise": "CMSIS-NN arm_convolve_1x1_s8_fast: the matrix-multiply core shared with convolution",
    "matmul": "CMSIS-NN arm_nn_mat_mult_nt_t_s8: its own per-block cost, the shared per-output cost",
    "fully_connected": "CMSIS-NN arm_nn_vec_mat_mult_t_s8 (batch 1: each weight read once, so the speed of "
                       "streaming weights); the shared per-output cost",
    "depthwise": "CMSIS-NN arm_depthwise_conv_s8_opt: per MAC plus one im2col copy per tap, pixel and 124 "
                 "channels (all rows 3x3, so the per-output cost is inside the per-MAC one)",
    "pooling": "CMSIS-NN arm_avgpool_s8 (per tap and output) and arm_max_pool_s8 (per tap)",
    "elementwise": "CMSIS-NN elementwise kernels, per element by operator (add, mul, min/max measured; a "
                   "lookup-table activation at 3 and div at twice mul are derived)",
    "quantize": "cortex_m::quantize_per_tensor, a scalar C loop, per element plus its own fixed cost",
    "dequantize": "cortex_m::dequantize_per_tensor, a scalar C loop, per element plus its own fixed cost",
    "pad": "CMSIS-NN arm_pad_s8 (row copies), per output element",
    "transpose": "CMSIS-NN arm_transpose_s8 (cortex_m.transpose), per element",
    "portable_float": "ExecuTorch's portable float kernels, per element by operator (leaky_relu, sub, clamp and "
                      "mean measured; others take the median of sub and clamp, and a derived 8 cycles per MAC)",
    "softmax": "derived from CMSIS-NN arm_softmax_s8: two passes of a 4-lane fixed-point exp (about 30 cycles "
               "per element) plus the row's max, 1/sum and scalar tail (about 250 cycles per row); no "
               "measurement with a stated shape",
    "layout_copy": "derived: ExecuTorch's portable copies (_clone_dim_order, permute_copy, cat, slice_copy, ...) "
                   "are scalar loops with index arithmetic per element and no arithmetic on the value: a third "
                   "of the measured portable elementwise cost per element; no measurement",
}


@dataclass
class Fitted:
    """One kernel class while it is fitted."""

    name: str
    terms: dict  # {term: coef}, or {variant: {term: coef}, "_default": {...}}
    fixed: float
    kind: str = "fitted"  # or 'derived'
    parameters: int = 0
    measured_variants: tuple = ()
    points: list = field(default_factory=list)
    band: float = 1.0
    evidence: str = ""
    how_banded: str = ""

    def reference_cycles(self, counts: dict, variant: str = "") -> float:
        return reference_cycles(self.terms, self.fixed, counts, variant)

    def variant_measured(self, variant: str) -> bool:
        return self.kind == "fitted" and ("_default" not in self.terms or variant in self.measured_variants)

    def band_of(self, variant: str) -> float:
        return self.band if self.variant_measured(variant) or self.kind == "derived" else max(self.band,
                                                                                                FLOORS["derived"])


@dataclass
class Point:
    """One distinct measurement: the median of repeats, at the reference clock."""

    source: str
    kernel_class: str
    variant: str
    counts: dict
    cycles: float


def points_of(rows: list[Measurement]) -> list[Point]:
    groups: dict[tuple, list[Measurement]] = {}
    for m in rows:
        if m.in_fit:
            counts = features(m.work)
            key = (m.source, m.work.kernel_class, m.work.variant, tuple(sorted(counts.items())))
            groups.setdefault(key, []).append(m)
    return [Point(s, c, v, dict(counts), statistics.median(at_reference_clock(m) for m in ms))
            for (s, c, v, counts), ms in groups.items()]


def _least_squares(points: list[Point], terms: list[str], fixed) -> list[float]:
    """Non-negative coefficients of ``terms`` minimising the squared log ratio; ``fixed(p)``
    is the known part of a point's cycles. Starts from NNLS on relative errors."""
    x = np.array([[p.counts.get(t, 0.0) for t in terms] for p in points])
    y = np.array([p.cycles for p in points])
    known = np.array([fixed(p) for p in points])
    start = np.maximum(nnls(x / y[:, None], 1.0 - known / y)[0], 1e-9)
    result = least_squares(lambda c: np.log((x @ c + known) / y), start, bounds=(0, np.inf), method="trf",
                           x_scale="jac")
    return [float(c) for c in result.x]


def _fit_classes(rows: list[Measurement]) -> tuple[dict[str, Fitted], float]:
    points = points_of(rows)

    def of(name, variant=None):
        return [p for p in points if p.kernel_class == name and (variant is None or p.variant == variant)]

    # The literal numbers below are fallbacks for a class with no measurement left, which
    # happens only in a fit with a source left out (leave_one_source_out); each is derived
    # from a neighbouring kernel and marked 'derived', with its wide band.
    fits: dict[str, Fitted] = {}
    # Quantize and dequantize: two sizes pin a fixed cost; its mean is the dispatch D.
    for name in ("quantize", "dequantize"):
        if len({p.counts["elements"] for p in of(name)}) >= 2:
            per_element, fixed = _fit_with_constant(of(name))
            fits[name] = Fitted(name, {"elements": per_element}, fixed, parameters=2)
    dispatch = statistics.mean(f.fixed for f in fits.values()) if fits else 750.0
    for name in ("quantize", "dequantize"):
        if name not in fits and of(name):
            (per_element,) = _least_squares(of(name), ["elements"], lambda p: dispatch)
            fits[name] = Fitted(name, {"elements": per_element}, dispatch, parameters=1)
    for name, other in (("quantize", "dequantize"), ("dequantize", "quantize")):
        if name not in fits:
            per_element = fits[other].terms["elements"] if other in fits else 5.0
            fits[name] = Fitted(name, {"elements": per_element}, dispatch, kind="derived")

    def constant(p):
        return dispatch

    # The matrix-multiply core: convolution and pointwise together.
    gemm = of("convolution") + of("pointwise")
    terms = ["blocks", "outputs"] + (["im2col_taps"] if of("convolution") else [])
    coef = _least_squares(gemm, terms, constant) if gemm else [2.75, 17.0]
    per_block, per_output = coef[0], coef[1]
    if of("depthwise"):
        per_mac, per_call = _least_squares(of("depthwise"), ["macs", "im2col_calls"], constant)
        fits["depthwise"] = Fitted("depthwise", {"macs": per_mac, "im2col_calls": per_call}, dispatch, parameters=2)
    per_tap = coef[2] if len(coef) > 2 else fits["depthwise"].terms["im2col_calls"] if "depthwise" in fits else 20.0
    fits["convolution"] = Fitted("convolution", {"blocks": per_block, "outputs": per_output, "im2col_taps": per_tap},
                                 dispatch, "fitted" if of("convolution") else "derived", parameters=3)
    fits["pointwise"] = Fitted("pointwise", {"blocks": per_block, "outputs": per_output}, dispatch,
                               "fitted" if of("pointwise") else "derived", parameters=2)
    if "depthwise" not in fits:  # 4 int32 lanes per vector instead of 16 int8
        fits["depthwise"] = Fitted("depthwise", {"macs": per_block / 4 + per_output / 9, "im2col_calls": per_tap},
                                   dispatch, "derived")

    def with_outputs(p):
        return per_output * p.counts["outputs"] + dispatch

    for name, term, derived in (("matmul", "blocks", per_block), ("fully_connected", "macs", per_block / 4)):
        if of(name):
            (c,) = _least_squares(of(name), [term], with_outputs)
            fits[name] = Fitted(name, {term: c, "outputs": per_output}, dispatch, parameters=1)
        else:
            fits[name] = Fitted(name, {term: derived, "outputs": per_output}, dispatch, "derived")

    fits["pooling"] = _pooling(of, per_output, fits["depthwise"], dispatch)
    fits["elementwise"] = _elementwise(of, dispatch)
    for name, fallback in (("pad", 0.5), ("transpose", 2.0)):
        if of(name):
            (c,) = _least_squares(of(name), ["elements"], constant)
            fits[name] = Fitted(name, {"elements": c}, dispatch, parameters=1)
        else:
            fits[name] = Fitted(name, {"elements": fallback}, dispatch, "derived")
    fits["portable_float"] = _portable(of, dispatch)
    fits["softmax"] = Fitted("softmax", {"elements": 30.0, "rows": 250.0}, dispatch, "derived")
    copy_per_element = fits["portable_float"].terms["_default"]["elements"] / 3
    fits["layout_copy"] = Fitted("layout_copy", {"elements": copy_per_element}, dispatch, "derived")
    for name, f in fits.items():
        f.points = of(name)
        if f.points and f.kind == "fitted" and "_default" in f.terms:
            f.measured_variants = tuple(sorted({p.variant for p in f.points}))
        _band_in_sample(f)
    return fits, dispatch


def _fit_with_constant(points: list[Point]) -> tuple[float, float]:
    """Per element and a fixed cost (quantize/dequantize at two sizes)."""
    with_one = [Point(p.source, p.kernel_class, p.variant, {**p.counts, "one": 1.0}, p.cycles) for p in points]
    per_element, fixed = _least_squares(with_one, ["elements", "one"], lambda p: 0.0)
    return per_element, fixed


def _pooling(of, per_output: float, depthwise: Fitted, dispatch: float) -> Fitted:
    def constant(p):
        return dispatch

    terms = {}
    average = of("pooling", "avg")
    if len(average) >= 2:
        taps, outputs = _least_squares(average, ["taps", "outputs"], constant)
        terms["avg"] = {"taps": taps, "outputs": outputs}
    elif average:
        (taps,) = _least_squares(average, ["taps"], lambda p: per_output * p.counts["outputs"] + constant(p))
        terms["avg"] = {"taps": taps, "outputs": per_output}
    else:
        terms["avg"] = {"taps": depthwise.terms["macs"] / 2, "outputs": per_output}
    if of("pooling", "max"):
        (taps,) = _least_squares(of("pooling", "max"), ["taps"], constant)
        terms["max"] = {"taps": taps}
    else:
        terms["max"] = {"taps": terms["avg"]["taps"]}
    terms["_default"] = terms["avg"]
    return Fitted("pooling", terms, dispatch, "fitted" if of("pooling") else "derived",
                  parameters=3 if of("pooling") else 0)


def _elementwise(of, dispatch: float) -> Fitted:
    terms = {}
    for variant in ("add", "mul", "minmax"):
        if of("elementwise", variant):
            (c,) = _least_squares(of("elementwise", variant), ["elements"], lambda p: dispatch)
            terms[variant] = {"elements": c}
    fallback = statistics.median(t["elements"] for t in terms.values()) if terms else 10.0
    measured = len(terms)
    for variant in ("add", "mul", "minmax"):
        terms.setdefault(variant, {"elements": fallback})
    terms["activation_lut"] = {"elements": 3.0}  # one table load per element
    terms["div"] = {"elements": 2 * terms["mul"]["elements"]}
    terms["_default"] = terms["add"]
    return Fitted("elementwise", terms, dispatch, "fitted" if measured else "derived", parameters=measured)


def _portable(of, dispatch: float) -> Fitted:
    by_variant: dict[str, list[float]] = {}
    for p in of("portable_float"):
        by_variant.setdefault(p.variant, []).append((p.cycles - dispatch) / p.counts["elements"])
    terms = {v: {"elements": statistics.median(xs), "macs": 8.0} for v, xs in by_variant.items()}
    elementwise = [terms[v]["elements"] for v in ("sub", "clamp") if v in terms]
    terms["_default"] = {"elements": statistics.median(elementwise) if elementwise else 30.0, "macs": 8.0}
    return Fitted("portable_float", terms, dispatch, "fitted" if by_variant else "derived",
                  parameters=len(of("portable_float")))


def _evidence(f: Fitted) -> str:
    if f.kind == "derived" or not f.points:
        return "derived"
    sources = {p.source for p in f.points}
    if sources == {"apollo510-litert-single-op"}:
        return "assumed shapes only"
    if len(sources) == 1:
        return "single-source"
    return "multi-source" if len(f.points) - f.parameters >= 2 else "few points"


def _band_in_sample(f: Fitted) -> None:
    """The largest |log residual|, inflated by sqrt(n / (n - p)) for the parameters spent,
    combined with the clock factor's uncertainty; never below the evidence floor."""
    f.evidence = _evidence(f)
    floor = math.log(FLOORS[f.evidence])
    residuals = [math.log(p.cycles / f.reference_cycles(p.counts, p.variant)) for p in f.points]
    n = len(residuals)
    h = max(map(abs, residuals)) * math.sqrt(n / (n - f.parameters)) if n > f.parameters else floor
    h = math.hypot(h, math.log(1 + CLOCK_STEP_UNCERTAINTY))
    f.band = math.exp(max(h, floor))


def predict(fits: dict[str, Fitted], m: Measurement) -> float:
    """Cycles the fit predicts for a measurement, at its clock."""
    f = fits[m.work.kernel_class]
    return clock_factor(m.clock_hz) * f.reference_cycles(features(m.work), m.work.variant)


def fit(rows: list[Measurement] | None = None) -> tuple[dict[str, Fitted], float]:
    """Every class fitted on ``rows`` (all measurements by default), each band widened to
    cover how the class predicts a source it was not fitted on."""
    rows = measurements() if rows is None else rows
    fits, dispatch = _fit_classes(rows)
    misses: dict[str, list[float]] = {}
    for source in sorted({m.source for m in rows if m.in_fit}):
        without, _ = _fit_classes([m for m in rows if m.source != source])
        for m in rows:
            if m.source == source and m.in_fit and without[m.work.kernel_class].variant_measured(m.work.variant):
                misses.setdefault(m.work.kernel_class, []).append(math.log(m.cycles / predict(without, m)))
    pooled = [abs(x) for xs in misses.values() for x in xs]
    q90 = float(np.quantile(pooled, 0.9)) if pooled else math.log(FLOORS["single-source"])
    for name, f in fits.items():
        if f.kind == "derived":
            continue
        own = [abs(x) for x in misses.get(name, [])]
        if own:
            f.band = math.exp(max(math.log(f.band), max(own)))
            f.how_banded = f"{len(own)} predictions of a source left out, the worst off by ×{math.exp(max(own)):.2f}"
        else:
            f.band = math.exp(max(math.log(f.band), q90))
            f.how_banded = (f"one source only: at least ×{math.exp(q90):.2f}, the 90th percentile of every "
                            "class's misses on a source left out")
    return fits, dispatch


def leave_one_source_out(rows: list[Measurement] | None = None):
    """Each source left out of the fit in turn (its bands from the other sources alone) and
    predicted: one row per measurement of it (a DataFrame)."""
    rows = measurements() if rows is None else rows
    out = []
    for source in SOURCES:
        fits, _ = fit([m for m in rows if m.source != source])
        for m in rows:
            if m.source != source or not m.in_fit:
                continue
            f = fits[m.work.kernel_class]
            predicted, band = predict(fits, m), f.band_of(m.work.variant)
            out.append({"held_out": source, "measurement": m.label, "kernel_class": m.work.kernel_class,
                        "variant": m.work.variant, "measured": m.cycles, "predicted": round(predicted),
                        "ratio": predicted / m.cycles, "band": band,
                        "in_range": 1 / band <= predicted / m.cycles <= band,
                        "class_without_it": "fitted" if f.variant_measured(m.work.variant) else "derived"})
    table = pd.DataFrame(out)
    table.attrs["source"] = "cortex-m-estimate, each source predicted by a fit without it"
    return table


def to_json(fits: dict[str, Fitted], dispatch: float) -> dict:
    classes = {}
    for name, f in fits.items():
        sources = sorted({p.source for p in f.points})
        residuals = [round(math.log(p.cycles / f.reference_cycles(p.counts, p.variant)), 4) for p in f.points]
        if f.kind == "derived":
            fitted = "no measurement: derived"
        else:
            fitted = (f"fitted on {len(f.points)} measurement(s) from {', '.join(sources)}; largest residual "
                      f"×{math.exp(max(map(abs, residuals), default=0)):.2f}; band ×/÷{f.band:.2f} "
                      f"({f.how_banded or f.evidence})")
        kinds = {t: "scalar" if name in SCALAR_CLASSES else "memory" if name == "fully_connected" and t == "macs"
                 else M85_KIND[t] for t in _term_names(f.terms)}
        classes[name] = {
            "terms": f.terms, "fixed": f.fixed, "band": round(f.band, 4),
            "variant_band": round(max(f.band, FLOORS["derived"]), 4), "measured_variants": list(f.measured_variants),
            "term_kinds": kinds, "kind": f.kind, "evidence": f.evidence, "basis": f"{NOTES[name]}; {fitted}",
            "points": len(f.points), "sources": sources, "residuals": residuals}
    return {
        "written_by": "python -m labkit.cpu.fit (from data/cortex-m/*.csv)",
        "calibrated_on": "Cortex-M55 silicon: Alif E8 (ExecuTorch Cortex-M backend, MobileNetV2 layers) and "
                         "Ambiq Apollo510 (ExecuTorch per operator, CMSIS-NN kernels, LiteRT-Micro single "
                         "operators), 48 measurements",
        "reference": "cycles at 96 MHz on the Apollo510 (arena in SRAM, weights in MRAM)",
        "dispatch_cycles": dispatch, "classes": classes}


def _term_names(terms: dict) -> list[str]:
    """The terms a class prices, in the order its coefficients list them (so the file written
    is the same on every run)."""
    if "_default" not in terms:
        return list(terms)
    return list(dict.fromkeys(t for v in terms.values() for t in v))


def main() -> None:
    fits, dispatch = fit()
    COEFFICIENTS.write_text(json.dumps(to_json(fits, dispatch), indent=1) + "\n")
    print(f"wrote {COEFFICIENTS}")
    for name, f in fits.items():
        print(f"  {name:<16} band ×/÷{f.band:.2f}  {f.evidence:<20} {len(f.points)} point(s)")


if __name__ == "__main__":
    main()
