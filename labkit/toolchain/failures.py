"""What a toolchain failure says: the operator ExecuTorch failed on, its source line,
the control flow or 0-d tensor behind it, and the way around; and the report warning
for a program exported with dynamic shapes (the NPU runs fixed ones)."""

from __future__ import annotations

import re
from importlib.metadata import version

from ..errors import first_line
from ..fx import op_name, source_line

_LOG_HINT = "The full log is in the compile.log next to the report; re-run with in_process=True to debug."
# Higher-order control flow by its operator's name, as the user wrote it.
_CONTROL_FLOW = {"cond": "torch.cond", "while_loop": "torch._higher_order_ops.while_loop",
                 "map_impl": "torch._higher_order_ops.map", "scan": "torch._higher_order_ops.scan"}


def toolchain_failure(e: Exception, what: str, graph) -> str:
    """One line: where ExecuTorch failed (the operator of its "While executing %node" and
    that node's source line), its first line as the cause, and the way around it: a 0-d
    tensor's shape, or the control flow the graph holds."""
    text = str(e)
    flow = _control_flow(graph)
    failed = _failed_operator(text, graph)
    where = f" a model with control flow ({flow})" if flow else ""
    where += f", on {failed}" if failed else ""
    hints = []
    if re.search(r"CONST_SHAPE\.default\]\(args = \(\(\),\)", text):  # TOSA's shape of a 0-d tensor
        hints.append("That is the shape of a 0-d (scalar) tensor, which ExecuTorch's Arm backend "
                     f"({version('executorch')}) cannot lower: keep a dimension (e.g. x.sum(dim=(1, 2, 3)) > 0, "
                     "of shape (1,), rather than x.sum() > 0).")
    if flow:
        hints.append("The Arm backend lowers control flow in some forms only: compute both branches and select "
                     "the result with torch.where(condition, a, b), or take the decision outside the model.")
    cause = f"{type(e).__name__}: {first_line(e)}"
    return f"ExecuTorch failed while {what}{where}: {cause}. {' '.join([*hints, _LOG_HINT])}"


def _graphs(graph) -> list:
    """A GraphModule and those nested in it (control flow's branches and bodies)."""
    import torch

    return [m for m in graph.modules() if isinstance(m, torch.fx.GraphModule)] if graph is not None else []


def _control_flow(graph) -> str:
    """'torch.cond at model.py:12' for each higher-order control-flow node of a graph."""
    from torch._ops import HigherOrderOperator

    found = []
    for gm in _graphs(graph):
        for node in gm.graph.nodes:
            name = getattr(node.target, "__name__", "")
            if isinstance(node.target, HigherOrderOperator) and name in _CONTROL_FLOW:
                at = source_line(node.meta.get("stack_trace"))
                found.append(f"{_CONTROL_FLOW[name]}{f' at {at}' if at else ''}")
    return ", ".join(dict.fromkeys(found))


def _failed_operator(text: str, graph) -> str:
    """'tosa.CONST_SHAPE from model.py:12': the operator of the node an FX interpreter error
    names ("While executing %node"), from the graph when it has the node, else from the
    error's own node text and its "Original traceback"."""
    executing = re.search(r"While executing %(\w+)", text)
    if not executing:
        return ""
    node = next((n for gm in _graphs(graph) for n in gm.graph.nodes if n.name == executing.group(1)), None)
    if node is not None:
        op, at = op_name(node.target), source_line(node.meta.get("stack_trace"))
    else:
        target = re.search(r"call_\w+\[target=([^\]]+)\]", text)
        op = re.sub(r"^(.*\._ops\.|torch\.ops\.)|\.default$", "", target.group(1)) if target else executing.group(1)
        at = source_line(text.split("Original traceback:", 1)[1]) if "Original traceback:" in text else ""
    return f"{op}{f' from {at}' if at else ''}"


def cpu_kernels_refused(error: Exception, kernel_set: str) -> str:
    """The CPU operator a CPU-kernel pass failed on (the FX node it was converting: the
    innermost ``node`` of the traceback), its source line, and the way around it."""
    import torch

    node, tb = None, error.__cause__.__traceback__ if error.__cause__ else error.__traceback__
    while tb is not None:
        found = tb.tb_frame.f_locals.get("node")
        node = found if isinstance(found, torch.fx.Node) else node
        tb = tb.tb_next
    cause = first_line(error.__cause__ or error)
    if node is None:
        what = "an operator outside the NPU"
    else:
        where = source_line(node.meta.get("stack_trace"))
        what = f"the CPU operator {op_name(node.target)} ({node.name}{f', at {where}' if where else ''})"
    return (f"the Cortex-M backend's {kernel_set} passes (ExecuTorch {version('executorch')}) cannot convert {what}: "
            f"{cause}. Compile with cpu_kernels='portable' (ExecuTorch's portable kernels run it; the NPU "
            "figures are the same), or change that operator so the NPU takes it.")


DYNAMIC_SHAPES = "dynamic shapes: "


def dynamic_shapes(ep, example) -> list[str]:
    """A report warning for a program exported with dynamic dimensions: labkit compiles it
    for the example's shapes (the NPU runs static shapes), so say which dimensions were
    dynamic and the shape the program is fixed to."""
    import torch
    from torch.utils import _pytree as pytree

    values = {n.name: n.meta.get("val") for n in ep.graph.nodes if n.op == "placeholder"}
    names = [getattr(s.arg, "name", None) for s in ep.graph_signature.input_specs if s.kind.name == "USER_INPUT"]
    dynamic = []
    for name, given in zip(names, pytree.tree_leaves(example)):
        shape = getattr(values.get(name), "shape", ())
        dims = [f"{d} ({_range(ep, size)})" for d, size in enumerate(shape) if isinstance(size, torch.SymInt)]
        if dims and isinstance(given, torch.Tensor):
            dynamic.append(f"input {name} was exported with dimension{'s' if len(dims) > 1 else ''} "
                           f"{', '.join(dims)} dynamic, fixed to the example's {'x'.join(map(str, given.shape))}")
    if not dynamic:
        return []
    text = (f"{DYNAMIC_SHAPES}{'; '.join(dynamic)}. The NPU runs fixed shapes: the compiled program takes inputs "
            "of exactly that shape (compile with example inputs of another shape for another size)")
    return [text]


def _range(ep, size) -> str:
    """'1 to 8': the range torch.export recorded for a symbolic size."""
    bounds = ep.range_constraints.get(size.node.expr)
    if bounds is None:
        return "dynamic"
    upper = "any size" if not str(bounds.upper).lstrip("-").isdigit() else bounds.upper
    return f"{bounds.lower} to {upper}"
