"""What one CPU kernel call of a lowered program does: its kernel class and the counts the
cost model prices (``cost_model.Work``), read from its FX node's tensors and arguments.

The Cortex-M backend's kernels (``cortex_m.*``) run CMSIS-NN; every shape they see is
NCHW (an ``_nhwc`` variant's is NHWC), convolution weights are OHWI and depthwise weights
1HWC. What CMSIS-NN does with a call decides its class: with Helium (MVE), a depthwise
convolution of one input channel into more than eight is run as a convolution
(``arm_depthwise_conv_wrapper_s8``), and a convolution with a 1x1 kernel as the
matrix multiply alone (pointwise).
"""

from __future__ import annotations

import math

from .cost_model import Work

# Layout operators, priced as copies. The sets name operators without their overload
# (aten.squeeze_copy for aten.squeeze_copy.dims).
COPIES = {"aten.permute_copy", "aten.clone", "aten.slice_copy", "aten.cat", "aten.select_copy",
          "aten.expand_copy", "aten._to_copy", "dim_order_ops._clone_dim_order", "dim_order_ops._to_dim_order_copy",
          "aten.constant_pad_nd", "aten.split_copy", "aten.split_with_sizes_copy", "aten.squeeze_copy",
          "aten.unsqueeze_copy", "aten.alias_copy", "aten._unsafe_view", "aten.view_copy"}
# The Cortex-M backend's kernels (an _nhwc variant is the same kernel): (class, variant).
CORTEX_M = {
    "quantize_per_tensor": ("quantize", ""), "dequantize_per_tensor": ("dequantize", ""),
    "quantized_conv2d": ("convolution", ""), "quantized_transpose_conv2d": ("convolution", ""),
    "quantized_depthwise_conv2d": ("depthwise", ""), "quantized_linear": ("fully_connected", ""),
    "quantized_batch_matmul": ("matmul", ""), "softmax": ("softmax", ""),
    "quantized_avg_pool2d": ("pooling", "avg"), "quantized_max_pool2d": ("pooling", "max"),
    "transpose": ("transpose", ""), "pad": ("pad", ""),
    "quantized_add": ("elementwise", "add"), "quantized_mul": ("elementwise", "mul"),
    "minimum": ("elementwise", "minmax"), "maximum": ("elementwise", "minmax"),
    "quantized_activation": ("elementwise", "activation_lut"), "quantized_div": ("elementwise", "div"),
}
POOLS = {"aten.avg_pool2d", "aten.max_pool2d", "aten.max_pool2d_with_indices"}
MATMULS = {"aten.convolution", "aten.linear", "aten.addmm", "aten.mm", "aten.bmm"}
# arm_depthwise_conv_wrapper_s8 with MVE: one input channel into more output channels than
# this runs as a convolution (CMSIS-NN's CONVERT_DW_CONV_WITH_ONE_INPUT_CH_AND_OUTPUT_CH_ABOVE_THRESHOLD).
DEPTHWISE_AS_CONV_ABOVE = 8


def base(op: str) -> str:
    """An operator without its overload: 'aten.squeeze_copy' for 'aten.squeeze_copy.dims'."""
    return ".".join(op.split(".")[:2])


def tensor(value):
    if isinstance(value, (tuple, list)):
        value = value[0] if value else None
    return value if hasattr(value, "numel") and hasattr(value, "element_size") else None


def work_of(node, op: str, isa: str) -> Work:
    """The Work of ``node`` (operator ``op``) on a core whose CMSIS-NN variant is ``isa``."""
    out = tensor(node.meta.get("val"))
    tensors = [t for t in (tensor(a.meta.get("val")) for a in node.all_input_nodes) if t is not None]
    first = tensors[0] if tensors else None
    moved = sum(t.numel() * t.element_size() for t in tensors + ([out] if out is not None else []))
    kind, variant = _kernel_class(op)
    counts = {"outputs": out.numel() if out is not None else 0, "inputs": first.numel() if first is not None else 0,
              "bytes": moved, "dtype": _arithmetic(op, first if first is not None else out)}
    if out is None:
        return Work(kind, variant, **counts)
    if kind in ("convolution", "depthwise"):
        kind, geometry = _convolution(node, op, out, kind, isa)
    elif kind == "fully_connected":
        w = _weight(node)
        cin = int(w.shape[-1]) if w is not None else 0
        geometry = {"macs": out.numel() * cin, "channels_in": cin, "out_pixels": out.numel() // max(int(out.shape[-1]), 1)}
    elif kind == "matmul":
        k = int(first.shape[-1]) if first is not None else 0
        geometry = {"macs": out.numel() * k, "channels_in": k, "out_pixels": out.numel() // max(int(out.shape[-1]), 1)}
    elif kind == "pooling" or base(op) in POOLS:
        taps = _pool_taps(node)
        geometry = {"macs": out.numel() * taps, "taps": taps}
    elif kind == "softmax":
        geometry = {"rows": out.numel() // max(int(out.shape[_softmax_dim(node)]), 1)}
    else:
        geometry = {"macs": _portable_macs(node, op, out)}
    return Work(kind, variant, **counts, **geometry)


def _kernel_class(op: str) -> tuple[str, str]:
    name = base(op)
    if name.startswith("cortex_m."):
        return CORTEX_M.get(name.removeprefix("cortex_m.").removesuffix("_nhwc"),
                            ("elementwise", name.removeprefix("cortex_m.")))
    if name.startswith("quantized_decomposed."):
        return ("dequantize" if "dequantize" in name else "quantize"), ""
    if name in COPIES:
        return "layout_copy", name.split(".")[-1]
    return "portable_float", name.split(".")[-1]


def _convolution(node, op: str, out, kind: str, isa: str) -> tuple[str, dict]:
    channel = -1 if base(op).endswith("_nhwc") else 1
    x, w = tensor(node.all_input_nodes[0].meta.get("val")), _weight(node)
    cin, cout = (int(x.shape[channel]) if x is not None else 1), int(out.shape[channel])
    pixels = out.numel() // max(cout, 1)
    if kind == "depthwise":
        taps = int(w.numel() // cout) if w is not None else 1
        if cin == 1 and cout > DEPTHWISE_AS_CONV_ABOVE and isa == "MVE":
            kind = "convolution"  # a convolution of one input channel (and a transpose of its weights)
        geometry = {"macs": out.numel() * taps, "channels_in": cin, "taps": taps, "out_pixels": pixels}
        return kind, geometry
    taps = max(int(w.numel() // (cout * cin)), 1) if w is not None else 1
    if taps == 1 and base(op).removesuffix("_nhwc") == "cortex_m.quantized_conv2d":
        kind = "pointwise"
    return kind, {"macs": out.numel() * taps * cin, "channels_in": cin, "taps": taps, "out_pixels": pixels}


def _weight(node):
    """The 2-D or 4-D constant argument of a convolution/linear: its weight (a fake tensor)."""
    for a in node.all_input_nodes[1:]:
        t = tensor(a.meta.get("val"))
        if t is not None and t.dim() in (2, 4):
            return t
    return None


def _pool_taps(node) -> int:
    kernel = node.args[1] if len(node.args) > 1 and isinstance(node.args[1], (list, tuple)) else [1]
    return math.prod(int(k) for k in kernel)


def _softmax_dim(node) -> int:
    return node.args[1] if len(node.args) > 1 and isinstance(node.args[1], int) else -1


def _portable_macs(node, op: str, out) -> int:
    """A portable matrix multiply's or convolution's MACs (0 for other operators)."""
    name = base(op)
    if name in ("aten.mm", "aten.bmm", "aten.addmm"):
        mat1 = tensor(node.all_input_nodes[-2].meta.get("val"))
        return int(out.numel() * mat1.shape[-1]) if mat1 is not None else 0
    if name in MATMULS:
        w = _weight(node)
        channels = out.shape[1] if out.dim() == 4 else out.shape[-1]
        return int(out.numel() * w.numel() // max(int(channels), 1)) if w is not None else 0
    return 0


def _arithmetic(op: str, t) -> str:
    if t is None:
        return "int8"
    if t.dtype.is_floating_point and not op.startswith(("cortex_m.quantize", "quantized_decomposed.")):
        return "float32"
    return "int16" if t.element_size() == 2 else "int8"
