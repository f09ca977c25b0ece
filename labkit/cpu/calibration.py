"""The Cortex-M55 silicon measurements the cost model is fitted on (``data/cortex-m/``),
each as the Work labkit's compile would count for that kernel, and the fit against them.

Four sources (``SOURCES``), each row naming where it was published:

- ``alif-e8-mv2``: MobileNetV2's first layers under ExecuTorch's Cortex-M backend on an
  Alif Ensemble E8 (pytorch/executorch#17651). The clock is not stated: the HP core's
  nominal 400 MHz is assumed.
- ``apollo510-executorch``: ExecuTorch's Cortex-M backend per operator on an Ambiq
  Apollo510 at 96 MHz (quantize, dequantize, a convolution, elementwise and portable
  float kernels).
- ``apollo510-cmsisnn-microbench``: CMSIS-NN kernels alone at 250 MHz; the MVE path of
  the int8 kernels upstream CMSIS-NN has is fitted (a Cortex-M55 build runs MVE).
- ``apollo510-litert-single-op``: one-operator LiteRT-Micro models; only the operators that
  run a CMSIS-NN kernel and whose shape another source confirms are fitted.

Rows that are not fitted stay in the table with the reason (``why_not``).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field, replace

import pandas as pd

from .. import shipped
from .cost_model import Work, classes, clock_factor, estimate

SOURCES = ("alif-e8-mv2", "apollo510-executorch", "apollo510-cmsisnn-microbench", "apollo510-litert-single-op")
ALIF = shipped.data("cortex-m", "alif_e8_m55_mobilenet_v2_layers.csv")
APOLLO = shipped.data("cortex-m", "apollo510_m55_kernels.csv")
WHOLE_MODELS = shipped.data("cortex-m", "whole_models.csv")
ALIF_CLOCK_HZ = 400e6  # not stated in the source: the Ensemble E8 HP core's nominal clock
LITERT_ELEMENTS = 32 * 32 * 16  # "[1,32,32,16] for spatial ops"

# LiteRT-Micro operators with a CMSIS-NN kernel (tensorflow/lite/micro/kernels/cmsis_nn/);
# the rest of its operators are reference C.
LITERT_CMSIS_NN = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV", "AVERAGE_POOL_2D",
                   "MAX_POOL_2D", "SOFTMAX", "ADD", "MUL", "PAD", "PADV2", "BATCH_MATMUL", "TRANSPOSE",
                   "MAXIMUM", "MINIMUM"}
# Microbenchmarked kernels upstream ARM-software/CMSIS-NN does not have (Ambiq's additions):
# ExecuTorch links upstream CMSIS-NN, so they are shown, not fitted.
NOT_UPSTREAM = {"arm_elementwise_sub_s8", "arm_add_scalar_s8", "arm_sub_scalar_s8", "arm_mul_scalar_s8",
                "arm_mul_scalar_s16", "arm_comparison_s8", "arm_comparison_s16"}


@dataclass
class Measurement:
    source: str
    label: str
    work: Work
    cycles: float
    clock_hz: float | None
    in_fit: bool = True
    why_not: str = ""  # why a row is not fitted
    shape: str = "stated"  # or what was assumed about it
    extra: dict = field(default_factory=dict)

    def not_fitted(self, why: str) -> Measurement:
        return replace(self, in_fit=False, why_not=why)


def conv_work(kernel_class: str, h: int, w: int, cin: int, cout: int, k: int, stride: int, pad: int,
              variant: str = "") -> Work:
    """A square-kernel convolution or pool's Work (depthwise and pools: one channel per output)."""
    oh, ow = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
    outputs = oh * ow * cout
    per_output = k * k * (1 if kernel_class in ("depthwise", "pooling") else cin)
    return Work(kernel_class, variant=variant, macs=outputs * per_output, outputs=outputs, inputs=h * w * cin,
                channels_in=cin, taps=k * k, out_pixels=oh * ow)


def elements_work(kernel_class: str, n: int, variant: str = "", outputs: int | None = None, dtype="int8") -> Work:
    return Work(kernel_class, variant=variant, inputs=n, outputs=n if outputs is None else outputs, dtype=dtype)


def measurements() -> list[Measurement]:
    """Every row of both CSVs, fitted or not."""
    with APOLLO.open() as f:
        apollo = list(csv.DictReader(f))
    return alif() + [_apollo_row(row) for row in apollo]


def alif() -> list[Measurement]:
    """The Alif rows, their shapes parsed from the ``shape`` column and checked against its
    ``macs`` and ``output_elements``."""
    out = []
    with ALIF.open() as f:
        for row in csv.DictReader(f):
            work = _alif_work(row["shape"])
            if row["kernel_class"] != "quantize":
                assert (work.macs, work.outputs) == (int(row["macs"]), int(row["output_elements"])), row
            out.append(Measurement("alif-e8-mv2", row["shape"], work, float(row["cycles"]), ALIF_CLOCK_HZ))
    return out


def _alif_work(shape: str) -> Work:
    if shape.startswith("quantize"):
        n = 1
        for d in re.search(r"(\d+(?:x\d+)+)", shape).group(1).split("x"):
            n *= int(d)
        return elements_work("quantize", n)
    stride = int(m.group(1)) if (m := re.search(r"stride (\d+)", shape)) else 1
    size = int(re.search(r", (\d+)x\1", shape).group(1))  # the input's height and width
    if shape.startswith("pointwise"):
        cin, cout = map(int, re.search(r"(\d+)->(\d+)", shape).groups())
        return conv_work("pointwise", size, size, cin, cout, 1, stride, 0)
    k = int(re.match(r"\w+ (\d+)x\1", shape).group(1))
    if shape.startswith("depthwise"):
        channels = int(re.search(r"(\d+) channels", shape).group(1))
        return conv_work("depthwise", size, size, channels, channels, k, stride, k // 2)
    cin, cout = map(int, re.search(r"(\d+)->(\d+) channels", shape).groups())
    return conv_work("convolution", size, size, cin, cout, k, stride, k // 2)


def _apollo_row(row: dict) -> Measurement:
    runtime = row["runtime"]
    clock = float(row["clock_hz"]) if row["clock_hz"] else None
    if runtime.startswith("ExecuTorch"):
        return _executorch(row, runtime, clock)
    if runtime.startswith("ns-cmsis-nn"):
        return _microbench(row, runtime, clock)
    return _litert(row, runtime, clock)


def _executorch(row: dict, runtime: str, clock) -> Measurement:
    op = row["op_type"]
    n = 16 if "1x16x1x1" in row["input_shape"] else LITERT_ELEMENTS
    label = f"{row['model']} | {row['layer_or_kernel']}"
    if op in ("quantize_per_tensor", "dequantize_per_tensor"):
        kind = op.split("_")[0]
        work = elements_work(kind, n)  # ExecuTorch's own C kernels, the same in both provider builds
    elif op == "quantized_conv2d":
        work = conv_work("convolution", 32, 32, 16, 16, 3, 1, 1)
    elif op in ("minimum", "quantized_mul"):
        work = elements_work("elementwise", n, "minmax" if op == "minimum" else "mul")
    elif op.startswith("portable_"):
        work = elements_work("portable_float", n, op.removeprefix("portable_"),
                             outputs=16 if op == "portable_mean" else n, dtype="float32")
    else:  # cortex_m_ns::*
        work = elements_work("elementwise", n, op)
    m = Measurement("apollo510-executorch", label, work, float(row["cycles"]), clock)
    if op.startswith("ns_"):
        return m.not_fitted("an Ambiq cortex_m_ns kernel, not in upstream ExecuTorch's Cortex-M backend")
    if op == "quantized_conv2d" and "provider=ns" in runtime:
        return m.not_fitted("the same convolution through Ambiq's CMSIS-NN fork (within 0.5% of upstream's)")
    return m


def _microbench(row: dict, runtime: str, clock) -> Measurement:
    op = row["op_type"]
    path = runtime.split(",")[1].strip().split()[0]  # MVE, DSP or REF
    dtype = "int4" if "_s4" in op else "int16" if "_s16" in op else "int8"
    shape = "stated"
    if op.startswith("arm_convolve_1x1"):
        work = conv_work("pointwise", 32, 32, 64, 64, 1, 1, 0)
    elif op.startswith(("arm_convolve", "arm_depthwise", "arm_avgpool")):
        kind = "convolution" if op.startswith("arm_convolve") else "depthwise" if "depthwise" in op else "pooling"
        work = conv_work(kind, 32, 32, 64, 64, 3, 1, 1, "avg" if kind == "pooling" else "")
        shape = "assumed: stride 1, padding 1 (the output size is not stated)"
    elif op.startswith("arm_nn_mat_mult_nt_t"):  # 64x512 times 256x512 transposed
        work = Work("matmul", macs=64 * 256 * 512, outputs=64 * 256, inputs=64 * 512, channels_in=512, out_pixels=64)
    elif op.startswith("arm_nn_vec_mat_mult"):  # 512 x 256
        work = Work("fully_connected", macs=512 * 256, outputs=256, inputs=512, channels_in=512, out_pixels=1)
    elif op.startswith(("arm_elementwise_mul", "arm_mul_scalar")):
        work = elements_work("elementwise", 4096, "mul")
    elif op.startswith("arm_comparison"):
        work = elements_work("elementwise", 4096, "compare")
    else:  # add, sub and their scalar forms
        work = elements_work("elementwise", 4096, "add")
    m = Measurement("apollo510-cmsisnn-microbench", f"{op} [{path}]", replace(work, dtype=dtype),
                    float(row["cycles"]), clock, shape=shape)
    if path != "MVE":
        return m.not_fitted(f"the {path} code path: a Cortex-M55 build of CMSIS-NN runs MVE")
    if dtype != "int8" or "_acc_" in op or "batch_offset" in op:
        return m.not_fitted(f"a {dtype} kernel: labkit's CMSIS-NN path is int8 (16-bit programs stay portable)")
    if op in NOT_UPSTREAM:
        return m.not_fitted("not in upstream CMSIS-NN (Ambiq's addition), so not what ExecuTorch links")
    return m


def _litert(row: dict, runtime: str, clock) -> Measurement:
    op = row["op_type"]
    upstream = runtime.startswith("upstream")
    n, shape = LITERT_ELEMENTS, "assumed: [1,32,32,16] operands (shapes are not stated)"
    if op == "DEPTHWISE_CONV_2D":
        work, shape = conv_work("depthwise", 32, 32, 16, 16, 3, 1, 1), "assumed: 3x3, stride 1, same padding"
    elif op in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        work = conv_work("pooling", 32, 32, 16, 16, 2, 2, 0, "avg" if op.startswith("AVERAGE") else "max")
        shape = "assumed: 2x2, stride 2"
    elif op in ("ADD", "SUB", "MUL", "MAXIMUM", "MINIMUM"):
        work = elements_work("elementwise", n, {"ADD": "add", "SUB": "add", "MUL": "mul"}.get(op, "minmax"))
    elif op in ("PAD", "PADV2"):
        work, shape = elements_work("pad", n, outputs=34 * 34 * 16), "assumed: [1,32,32,16] padded by 1 on H and W"
    elif op == "TRANSPOSE":
        work = elements_work("transpose", n)
    else:
        work = elements_work("layout_copy" if op in ("RESHAPE", "CONCATENATION", "SPLIT", "SPLIT_V", "STRIDED_SLICE",
                                                     "PACK") else "other", n, op.lower())
    m = Measurement("apollo510-litert-single-op", f"{op} [{'LiteRT-Micro' if upstream else 'heliaRT'}]", work,
                    float(row["cycles"]), clock, shape=shape)
    if not upstream:
        return m.not_fitted("heliaRT: Ambiq's kernels, not upstream CMSIS-NN")
    if op not in LITERT_CMSIS_NN:
        return m.not_fitted("a reference C kernel in LiteRT-Micro, not CMSIS-NN")
    if op in ("CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV", "SOFTMAX", "BATCH_MATMUL"):
        return m.not_fitted("CMSIS-NN, but its shape is not stated and no other source pins it")
    return m


def at_reference_clock(m: Measurement) -> float:
    """The measurement's cycles at the model's 96 MHz reference clock."""
    return m.cycles / clock_factor(m.clock_hz)


def table():
    """Every calibration measurement against the shipped model's estimate at its clock
    (a DataFrame): the fitted rows with ``in_range``, the others with why they were left out."""
    rows = []
    for m in measurements():
        known = m.work.kernel_class in classes()
        e = estimate(m.work, "cortex-m55", m.clock_hz) if known else {}
        rows.append({"source": m.source, "measurement": m.label, "kernel_class": m.work.kernel_class,
                     "variant": m.work.variant, "measured": m.cycles, "cpu_cycles_est": e.get("cpu_cycles_est"),
                     "cpu_cycles_low": e.get("cpu_cycles_low"), "cpu_cycles_high": e.get("cpu_cycles_high"),
                     "ratio": e["cpu_cycles_est"] / m.cycles if e else None,
                     "in_range": e["cpu_cycles_low"] <= m.cycles <= e["cpu_cycles_high"] if e else None,
                     "fitted": m.in_fit, "why_not": m.why_not, "shape": m.shape})
    out = pd.DataFrame(rows)
    out.attrs["source"] = "cortex-m-estimate against Cortex-M55 silicon (data/cortex-m/)"
    return out


def whole_models():
    """Whole-model Cortex-M cycles measured on silicon, for checking the estimate only: never
    fitted (data/cortex-m/whole_models.csv)."""
    table = pd.read_csv(WHOLE_MODELS)
    table.attrs["source"] = "measured on silicon (MLPerf Tiny v1.2 results), never fitted"
    return table
