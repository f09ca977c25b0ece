"""Cortex-M cycles of one CPU operator, as a range: ``cortex-m-estimate``.

Nothing here measures Cortex-M cycles (no silicon; the Corstone FVPs are not
cycle-accurate for the CPU), so every figure is an estimate with its basis:

- ``cpu_cycles_est``: a sum of terms per kernel class, each a coefficient times a count
  of what the kernel's loops do (CMSIS-NN's MVE source: 16-byte vector blocks of a
  matrix multiply, per-output requantization, one im2col copy per kernel tap, elements
  converted or copied), plus a fixed cost per call, times a clock factor::

      cycles = clock_factor(clock) x (sum of coefficient x count + fixed)

  The coefficients are fitted on every Cortex-M55 silicon measurement in
  ``data/cortex-m/`` (``labkit.cpu.fit``, which writes ``coefficients.json``).
- ``cpu_cycles_low`` / ``cpu_cycles_high``: ``est`` divided / multiplied by the class's
  band, which comes from its own fit residuals and how it predicts a source left out of
  the fit, never narrower than its evidence allows (wider for classes with few or no
  measurements; ``basis`` says which).
- ``cpu_cycles_min``: a lower bound from the core's peak throughput (Helium executes a
  128-bit vector in two beats: at most 8 int8, 4 int16 or 2 fp32 multiply-accumulates
  and 8 bytes of memory traffic per cycle). The range never goes below it.

Cortex-M85 has no public per-kernel measurement. Its estimate keeps the M55's
coefficients and scales each term by what bounds it on the M85 (``M85``): the same
Helium timing, a faster scalar pipeline; its range combines the M55 band with the
factor's own range.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache

from .. import shipped

SOURCE = "cortex-m-estimate"
COEFFICIENTS = shipped.data("cortex-m", "coefficients.json")
PEAK_MACS_PER_CYCLE = {"int8": 8, "int16": 4, "float32": 2}  # Helium, two 64-bit beats per vector
PEAK_BYTES_PER_CYCLE = 8
VECTOR_BYTES = 16  # one Helium vector of int8
DEPTHWISE_CHANNEL_BLOCK = 124  # arm_depthwise_conv_s8_opt copies its im2col buffer per 124 channels

KERNEL_CLASSES = ("convolution", "pointwise", "depthwise", "matmul", "fully_connected", "pooling", "elementwise",
                  "quantize", "dequantize", "pad", "transpose", "layout_copy", "softmax", "portable_float")

# The clock: the same layers cost 4-11% more cycles at 250 MHz than at 96 MHz on the
# Apollo510 (flash and SRAM wait states grow with the clock; data/cortex-m/README.md).
# The coefficients are at 96 MHz; the factor takes the midpoint, 7.5%, linearly between
# the two clocks and flat outside them; its +-3.5% is inside every band.
CLOCK_REFERENCE_HZ, CLOCK_MEASURED_HZ, CLOCK_STEP = 96e6, 250e6, 0.075
CLOCK_STEP_UNCERTAINTY = 0.035

# Cortex-M85 against Cortex-M55, per kind of term: (factor, low, high).
M85 = {
    # Helium issues in two beats per 128-bit vector on both cores: the same 8 int8 MACs/cycle.
    "vector": (1.00, 0.90, 1.10),
    # Vector work interleaved with scalar loop control, addressing and stores.
    "mixed": (0.85, 0.70, 1.00),
    # The M85's scalar pipeline: 6.28 against 4.2 CoreMark/MHz (Arm's figures), and a branch
    # predictor the M55 lacks.
    "scalar": (round(4.2 / 6.28, 3), 0.55, 0.85),
    # Streaming weights is bound by the memory system, not the core.
    "memory": (1.00, 0.80, 1.25),
}
M85_BASIS = ("Cortex-M85 from the Cortex-M55 fit, per term: vector work x1.0 (the same two-beat Helium), "
             "mixed x0.85, scalar work and the fixed cost x0.67 (CoreMark/MHz 4.2 vs 6.28), weight streaming "
             "x1.0; no Cortex-M85 kernel was measured, so the range adds the factor's own")


@dataclass(frozen=True)
class Work:
    """What one CPU operator does: the quantities the cost model counts."""

    kernel_class: str
    variant: str = ""  # the operator within a class of several: elementwise 'add', pooling 'max', portable 'sub'
    macs: int = 0
    outputs: int = 0  # output elements
    inputs: int = 0  # input elements
    bytes: int = 0  # bytes read and written
    dtype: str = "int8"  # the arithmetic: int8, int16 or float32
    channels_in: int = 0  # a convolution's input channels; a matrix multiply's inner dimension
    taps: int = 1  # a convolution's or pool's kernel height x width
    out_pixels: int = 0  # output height x width
    rows: int = 1  # softmax: the rows it normalises


def features(work: Work) -> dict[str, float]:
    """The counts a kernel class's terms multiply (what CMSIS-NN's MVE loops iterate over)."""
    c = work.kernel_class
    if c in ("convolution", "pointwise", "matmul"):
        depth = work.taps * work.channels_in
        counts = {"blocks": work.outputs * max(1, math.ceil(depth / VECTOR_BYTES)), "outputs": work.outputs}
        if c == "convolution":  # arm_convolve_s8's im2col: one copy of channels_in bytes per tap and pixel
            counts["im2col_taps"] = work.out_pixels * work.taps
        return counts
    if c == "fully_connected":
        return {"macs": work.macs, "outputs": work.outputs}
    if c == "depthwise":
        blocks = math.ceil(max(work.channels_in, 1) / DEPTHWISE_CHANNEL_BLOCK)
        return {"macs": work.macs, "im2col_calls": work.out_pixels * work.taps * blocks}
    if c == "pooling":
        return {"taps": work.outputs * work.taps, "outputs": work.outputs}
    if c == "pad":
        return {"elements": work.outputs}
    if c == "softmax":
        return {"elements": work.inputs, "rows": work.rows}
    if c == "portable_float":
        return {"elements": work.inputs, "macs": work.macs}
    return {"elements": max(work.outputs, work.inputs)}


def clock_factor(clock_hz: float | None) -> float:
    """Cycles at ``clock_hz`` over cycles at the 96 MHz reference; halfway when unknown."""
    if clock_hz is None or not math.isfinite(clock_hz):
        return 1.0 + CLOCK_STEP / 2
    x = (clock_hz - CLOCK_REFERENCE_HZ) / (CLOCK_MEASURED_HZ - CLOCK_REFERENCE_HZ)
    return 1.0 + CLOCK_STEP * min(max(x, 0.0), 1.0)


def coefficients_for(terms: dict, variant: str = "") -> dict:
    """A class's coefficients for ``variant``: its own, else the class's default (``_default``,
    for an operator of the class with no measurement); a class of one kernel has no variants."""
    return terms.get(variant, terms["_default"]) if "_default" in terms else terms


def reference_cycles(terms: dict, fixed: float, counts: dict, variant: str = "") -> float:
    """Cortex-M55 cycles at the reference clock: each term's coefficient times its count, plus
    the fixed cost per call."""
    return sum(c * counts.get(t, 0.0) for t, c in coefficients_for(terms, variant).items()) + fixed


@dataclass(frozen=True)
class KernelClass:
    """One kernel class's coefficients (cycles per count at the 96 MHz reference)."""

    name: str
    terms: dict  # {term: cycles per count}, or with variants {variant: {term: ...}, "_default": {...}}
    fixed: float  # cycles per call
    band: float  # the range is [est / band, est x band]
    variant_band: float  # the band of a variant with no measurement of its own
    measured_variants: tuple
    term_kinds: dict  # {term: 'vector' | 'mixed' | 'scalar' | 'memory'}: how it carries to a Cortex-M85
    kind: str  # 'fitted' or 'derived'
    evidence: str
    basis: str
    points: int
    sources: tuple
    residuals: tuple  # log(measured / fitted) of each point it was fitted on

    @property
    def has_variants(self) -> bool:
        return "_default" in self.terms

    def coefficients(self, variant: str = "") -> dict:
        return coefficients_for(self.terms, variant)

    def band_of(self, variant: str = "") -> float:
        measured = not self.has_variants or variant in self.measured_variants
        return self.band if measured else self.variant_band

    def reference_cycles(self, counts: dict, variant: str = "") -> float:
        return reference_cycles(self.terms, self.fixed, counts, variant)

    def m85_factors(self, counts: dict, variant: str = "") -> tuple[float, float, float]:
        """Cortex-M85 over Cortex-M55 for these counts, as (factor, low, high): each term
        and the fixed cost scaled by its kind's factor."""
        parts = [(c * counts.get(t, 0.0), self.term_kinds.get(t, "mixed"))
                 for t, c in self.coefficients(variant).items()] + [(self.fixed, "scalar")]
        total = sum(v for v, _ in parts) or 1.0
        return tuple(sum(v * M85[kind][i] for v, kind in parts) / total for i in range(3))


@lru_cache(maxsize=1)
def model() -> dict:
    """coefficients.json as written by labkit.cpu.fit."""
    return json.loads(COEFFICIENTS.read_text())


@lru_cache(maxsize=1)
def classes() -> dict[str, KernelClass]:
    return {name: KernelClass(name=name, **{k: tuple(v) if isinstance(v, list) else v for k, v in c.items()})
            for name, c in model()["classes"].items()}


def source_of(core: str) -> str:
    """What a core's estimate is and what it was calibrated on (the summary's cpu_source)."""
    on = f"{SOURCE} (calibrated on {model()['calibrated_on']}"
    return on + ("; Cortex-M85 derived from it per term)" if core == "cortex-m85" else ")")


def estimate(work: Work, core: str = "cortex-m55", clock_hz: float | None = None) -> dict:
    """cpu_cycles_min / _est / _low / _high and the basis of one operator's estimate on
    ``core`` ('cortex-m55' or 'cortex-m85') at ``clock_hz``."""
    kernel_class = classes()[work.kernel_class]
    counts = features(work)
    est = clock_factor(clock_hz) * kernel_class.reference_cycles(counts, work.variant)
    half_width = math.log(kernel_class.band_of(work.variant))
    basis = kernel_class.basis
    if core == "cortex-m85":
        factor, low, high = kernel_class.m85_factors(counts, work.variant)
        est *= factor
        half_width = math.hypot(half_width, max(math.log(factor / low), math.log(high / factor)))
        basis = f"{basis}; {M85_BASIS}"
    peak = PEAK_MACS_PER_CYCLE.get(work.dtype, PEAK_MACS_PER_CYCLE["int8"])
    floor = max(work.macs / peak, work.bytes / PEAK_BYTES_PER_CYCLE)
    est = max(est, floor)
    return {"cpu_cycles_min": math.ceil(floor), "cpu_cycles_est": round(est),
            "cpu_cycles_low": max(math.ceil(floor), round(est / math.exp(half_width))),
            "cpu_cycles_high": round(est * math.exp(half_width)), "cpu_basis": basis}
