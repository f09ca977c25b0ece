"""Cortex-M cycles of one CPU operator, as a range: ``cortex-m-estimate``.

Nothing here measures Cortex-M cycles (no silicon; the Corstone FVPs are not
cycle-accurate for the CPU), so every figure is an estimate with its basis:

- ``cpu_cycles_min``: a lower bound from the core's peak throughput. Cortex-M55 and
  Cortex-M85 execute Helium (MVE) instructions in two 64-bit beats per 128-bit vector,
  so at most 8 int8, 4 int16 or 2 fp32 multiply-accumulates and 8 bytes of memory
  traffic per cycle (Arm Cortex-M55 Technical Reference Manual, "Beat-wise execution";
  Cortex-M85 has the same vector timing). No kernel can beat this.
- ``cpu_cycles_est``: cycles = a·MACs + b·output elements per kernel class, fitted to
  cycles measured on silicon (``data/cortex-m/``: MobileNetV2's first layers on
  an Alif E8 Cortex-M55 with CMSIS-NN, pytorch/executorch#17651). Classes without
  measurements take coefficients derived from measured ones (``basis`` says which).
- ``cpu_cycles_low`` / ``cpu_cycles_high``: ``est`` divided / multiplied by the class's
  ``spread``: 2× for classes fitted on several measurements (memory placement, caches,
  compiler and CMSIS-NN version each move Cortex-M cycles by about 2×), 3× for a class
  with one measurement, 4× for derived classes; never below ``cpu_cycles_min``.

The fit is of one board, one memory layout and one CMSIS-NN version, on convolution
layers of 75k–1.2M output elements: small operators (whose call overhead the data
cannot show) and other cores are less certain than the range says.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import lru_cache

from .. import shipped

SOURCE = "cortex-m-estimate"
CALIBRATION = shipped.data("cortex-m", "alif_e8_m55_mobilenet_v2_layers.csv")
CALIBRATED_ON = "Alif E8 Cortex-M55, CMSIS-NN, MobileNetV2 layers (pytorch/executorch#17651)"
PEAK_MACS_PER_CYCLE = {"int8": 8, "int16": 4, "float32": 2}  # Helium, two 64-bit beats per vector
PEAK_BYTES_PER_CYCLE = 8
SPREAD = {"fitted": 2.0, "one point": 3.0, "derived": 4.0}

# What each class is and how its coefficients are found (see _fit).
KERNEL_CLASSES = ("convolution", "depthwise", "pointwise", "fully_connected", "elementwise", "pooling",
                  "softmax", "quantize", "transpose_copy", "portable_float")


@dataclass(frozen=True)
class Coefficients:
    """cycles = per_mac·MACs + per_output·output elements (+ per_input·input elements)."""

    kernel_class: str
    per_mac: float
    per_output: float
    per_input: float
    spread: float
    basis: str  # "fitted on n layers (largest residual r %)", "one measured layer" or "derived: ..."
    largest_residual: float | None  # relative, on the calibration rows; None when derived


@dataclass(frozen=True)
class Work:
    """What one CPU operator does: the quantities the cost model counts."""

    kernel_class: str
    macs: int = 0
    outputs: int = 0  # output elements
    inputs: int = 0  # input elements (quantize/dequantize, softmax, copies)
    bytes: int = 0  # bytes read and written
    dtype: str = "int8"  # the arithmetic: int8, int16 or float32


def calibration_rows() -> list[dict]:
    with CALIBRATION.open() as f:
        return [{**r, "cycles": int(r["cycles"]), "macs": int(r["macs"]),
                 "output_elements": int(r["output_elements"])} for r in csv.DictReader(f)]


@lru_cache(maxsize=1)
def coefficients() -> dict[str, Coefficients]:
    """Every kernel class's coefficients, fitted to the calibration data on first use."""
    return _fit(calibration_rows())


def _fit(rows: list[dict]) -> dict[str, Coefficients]:
    import numpy as np

    def of(kind):
        return [r for r in rows if r["kernel_class"] == kind]

    def residual(predict, kind):
        return max(abs(predict(r) / r["cycles"] - 1) for r in of(kind))

    # Pointwise: least squares in relative error on (MACs, output elements).
    pw = of("pointwise")
    a = np.array([[r["macs"], r["output_elements"]] for r in pw], float)
    y = np.array([r["cycles"] for r in pw], float)
    pw_mac, pw_out = np.linalg.lstsq(a / y[:, None], np.ones(len(y)), rcond=None)[0]
    # Depthwise 3x3: MACs are 9x the outputs in every row, so one coefficient: per MAC
    # (a 5x5 kernel then costs per tap, as its inner loop runs per tap).
    dw_mac = float(np.mean([r["cycles"] / r["macs"] for r in of("depthwise")]))
    # Convolution (one layer): pointwise's per-output cost, the rest per MAC.
    conv = of("convolution") or of("conv")
    conv_mac = float(np.mean([(r["cycles"] - pw_out * r["output_elements"]) / r["macs"] for r in conv]))
    quant_in = float(np.mean([r["cycles"] / r["output_elements"] for r in of("quantize")]))

    def measured(kind, per_mac, per_output, n_rows, rows_kind, per_input=0.0):
        res = residual(lambda r: per_mac * r["macs"] + per_output * r["output_elements"]
                       + per_input * r["output_elements"], rows_kind)
        if n_rows > 1:
            basis, spread = f"fitted on {n_rows} measured layers (largest residual {res:.1%})", SPREAD["fitted"]
        else:
            basis, spread = "one measured layer", SPREAD["one point"]
        return Coefficients(kind, float(per_mac), float(per_output), float(per_input), spread, basis, res)

    def derived(kind, per_mac, per_output, how, per_input=0.0):
        return Coefficients(kind, float(per_mac), float(per_output), float(per_input), SPREAD["derived"],
                            f"derived: {how}", None)

    out = {
        "pointwise": measured("pointwise", pw_mac, pw_out, len(pw), "pointwise"),
        "depthwise": measured("depthwise", dw_mac, 0.0, len(of("depthwise")), "depthwise"),
        "convolution": measured("convolution", conv_mac, pw_out, len(conv), conv[0]["kernel_class"]),
        "quantize": measured("quantize", 0.0, 0.0, len(of("quantize")), "quantize", per_input=quant_in),
        "fully_connected": derived("fully_connected", pw_mac, pw_out,
                                   "pointwise's coefficients (CMSIS-NN runs both on its s8 matrix multiply)"),
        "pooling": derived("pooling", dw_mac, 0.0, "depthwise's cost per kernel tap (the same loop, no weights)"),
        "elementwise": derived("elementwise", 0.0, pw_out,
                               "pointwise's cost per output element (requantize, activation, store)"),
        "softmax": derived("softmax", 0.0, 0.0, "three passes over the input (max, exp-sum, scale), each at "
                           "the measured quantize cost per element", per_input=3 * quant_in),
        "transpose_copy": derived("transpose_copy", 0.0, 0.0, "the measured quantize cost per element "
                                  "(a scalar loop with index arithmetic per element)", per_input=quant_in),
        "portable_float": derived("portable_float", quant_in / 3, quant_in,
                                  "portable (scalar C) float kernels: the measured quantize loop's cost per "
                                  "element, a third of it per multiply-accumulate"),
    }
    return out


def estimate(work: Work) -> dict:
    """cpu_cycles_min / _est / _low / _high and the basis of one operator's estimate."""
    c = coefficients()[work.kernel_class]
    peak = PEAK_MACS_PER_CYCLE.get(work.dtype, PEAK_MACS_PER_CYCLE["int8"])
    low_bound = max(work.macs / peak, work.bytes / PEAK_BYTES_PER_CYCLE)
    est = c.per_mac * work.macs + c.per_output * work.outputs + c.per_input * work.inputs
    est = max(est, low_bound)
    return {"cpu_cycles_min": math.ceil(low_bound), "cpu_cycles_est": round(est),
            "cpu_cycles_low": max(math.ceil(low_bound), round(est / c.spread)),
            "cpu_cycles_high": round(est * c.spread), "cpu_basis": c.basis}


def calibration():
    """The fit against its calibration rows: measured cycles, estimate, relative error
    and whether the measurement lies inside the stated range (a DataFrame)."""
    import pandas as pd

    rows = []
    for r in calibration_rows():
        kind = "convolution" if r["kernel_class"] == "conv" else r["kernel_class"]
        work = Work(kind, macs=r["macs"], outputs=r["output_elements"],
                    inputs=r["output_elements"] if kind == "quantize" else 0)
        e = estimate(work)
        rows.append({"layer": r["shape"], "kernel_class": kind, "measured": r["cycles"], **e,
                     "error": e["cpu_cycles_est"] / r["cycles"] - 1,
                     "in_range": e["cpu_cycles_low"] <= r["cycles"] <= e["cpu_cycles_high"]})
    table = pd.DataFrame(rows)
    table.attrs["source"] = f"{SOURCE} vs measured ({CALIBRATED_ON})"
    return table
