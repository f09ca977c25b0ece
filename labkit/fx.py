"""The FX vocabulary: what labkit reads off a torch.fx node (its operator's name, its
nn.Module path, the user's source line, its provenance, its quantization) wherever it
walks a graph: the toolchain, the CPU kernels, the quantizer overrides, numerics."""

from __future__ import annotations

import re

_SKIP_FRAMES = ("/torch/", "/torchao/", "/executorch/backends/", "/executorch/exir/", "<")


def source_line(stack_trace: str | None) -> str:
    """file:line of the innermost frame of user code in a node's stack trace."""
    frames = re.findall(r'File "([^"]+)", line (\d+)', stack_trace or "")
    user = [f for f in frames if not any(s in f[0] for s in _SKIP_FRAMES)]
    if not user:
        return ""
    path, line = user[-1]
    return f"{path}:{line}"


def module_path(nn_module_stack: dict | None) -> tuple[str, str]:
    """('features.3.conv.1', 'Conv2dNormActivation') from a node's nn_module_stack."""
    if not nn_module_stack:
        return "", ""
    path, cls = list(nn_module_stack.values())[-1]
    path = clean_module_path(path)
    cls_name = cls if isinstance(cls, str) else getattr(cls, "__name__", str(cls))
    return path, cls_name.rsplit(".", 1)[-1]


def clean_module_path(path: str) -> str:
    """'features.3.conv' from torch.export's "L['self'].features[3].conv" (either spelling)."""
    path = re.sub(r"^L\['self'\]\.?", "", path)
    path = re.sub(r"\._modules\['([^']+)'\]", r".\1", path)
    return re.sub(r"\[(\d+)\]", r".\1", path).lstrip(".")


def op_name(target) -> str:
    """'aten.convolution', 'quantized_decomposed.quantize_per_tensor', 'getitem'."""
    # An edge op's __name__ is qualified; a torch OpOverload's (the quantized graph's) is not, its str is.
    name = str(target) if type(target).__name__ == "OpOverload" else getattr(target, "__name__", None) or str(target)
    return re.sub(r"\.default$", "", name)


def node_origins(from_node) -> list[tuple[str, int]]:
    """(name, graph_id) of every ancestor in a node's provenance, nearest first.
    The same pairs appear in ExecuTorch's debug.json node_trace, which is how a
    TOSA operator is joined back to the graph the partitioner saw."""
    out, stack = [], list(reversed(from_node or []))
    while stack:
        src = stack.pop()
        out.append((src.name, src.graph_id))
        stack.extend(reversed(getattr(src, "from_node", []) or []))
    return out


def is_qdq(node, kind: str = "quantize") -> bool:
    name = op_name(node.target) if node.op == "call_function" else ""
    return name.startswith(f"quantized_decomposed.{kind}_per_")


def _range_bits(qdq) -> int:
    """Bits of a quantize/dequantize node's integer range: [-127, 127] -> 8, [-7, 7] -> 4."""
    qmin, qmax = qdq.args[-3], qdq.args[-2]  # (..., quant_min, quant_max, dtype) per tensor and per channel
    return int(qmax - qmin).bit_length()


def quantized_bits(node) -> tuple[int | None, int | None]:
    """(activation bits, weight bits) of an operator as PT2E quantized it: the range of
    the quantize node on its output (a Q/DQ node: its own), and of the dequantized
    integer constants among its inputs other than an int32 bias. None where there is none."""
    if is_qdq(node, "dequantize") and _is_int_constant(node.args[0]):
        return None, _range_bits(node)
    if is_qdq(node) or is_qdq(node, "dequantize"):
        return _range_bits(node), None
    outs = output_quantize(node)
    weights = [a for a in node.all_input_nodes if is_qdq(a, "dequantize") and _is_int_constant(a.args[0])
               and str(a.args[-1]) != "torch.int32"]
    return (_range_bits(outs[0]) if outs else None, max(map(_range_bits, weights)) if weights else None)


def output_quantize(node) -> list:
    """The quantize nodes an operator's result reaches, looking through the operators
    quantized together with it (a convolution's ReLU)."""
    found, stack, seen = [], list(node.users), set()
    while stack:
        n = stack.pop()
        if n in seen or n.op != "call_function":
            continue
        seen.add(n)
        if is_qdq(n):
            found.append(n)
        elif not is_qdq(n, "dequantize"):
            stack.extend(n.users)
    return found


def _is_int_constant(node) -> bool:
    """A quantized weight: a constant (user inputs are float and quantized first)."""
    val = node.meta.get("val")
    return node.op == "get_attr" or (node.op == "placeholder" and val is not None and not val.is_floating_point())


def shape_and_dtype(val) -> tuple[str, str]:
    """'8x16x16', 'int8'; an operator with several outputs (sort: values, indices)
    lists each: '8x16x16, 8x16x16', 'int8, int64'."""
    tensors = [v for v in (val if isinstance(val, (tuple, list)) else [val]) if hasattr(v, "shape")]
    return (", ".join("x".join(map(str, t.shape)) for t in tensors),
            ", ".join(str(t.dtype).replace("torch.", "") for t in tensors))


def rows_by_origin(origins: list) -> dict:
    """The operators-table row each provenance pair (name, graph_id) names: the first pair
    of a row's chain, its own node."""
    found = {}
    for i, chain in enumerate(origins):
        if chain:
            found.setdefault(tuple(chain[0]), i)
    return found
