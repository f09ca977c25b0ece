"""The fake-quant graph as a report artifact: the compile's PT2E-quantized program,
converted with its float weights kept (``fold_quantize=False``) and exported, so
``numerics`` and ``evaluate`` run the very graph the compile quantized instead of
quantizing the model again in the kernel (2.6 s for MobileNetV2).

A small file of its own: each node by name, operator and arguments, the constants as
tensors, and the graph's input/output structure. ``torch.export.save`` would keep the
same graph, but its loader spends 1.3 s on MobileNetV2 deserializing metadata that
running the graph does not need; this one loads in about 0.1 s."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

FORMAT = 1


class _Ref(NamedTuple):
    """A node argument that is another node, by name."""

    name: str


class _Op(NamedTuple):
    """A call_function target that is an operator overload, by its qualified name."""

    namespace: str
    name: str
    overload: str


def save(graph_module, path: Path) -> None:
    """Write an exported, unlifted GraphModule (``ExportedProgram.module()``); written
    to a temporary name first, so a crash leaves no half-written file."""
    import torch

    nodes, constants = [], {}
    for n in graph_module.graph.nodes:
        if n.op == "call_module":
            raise ValueError(f"graph_file stores flat graphs; {n.name} calls a submodule")
        if n.op == "get_attr":
            value = _attr(graph_module, n.target)
            if not isinstance(value, torch.Tensor):
                raise ValueError(f"graph_file stores tensor constants; {n.target} is a {type(value).__name__}")
            constants[n.target] = value.detach()
        target = n.target
        if isinstance(target, torch._ops.OpOverload):
            namespace, name = target._schema.name.split("::")
            target = _Op(namespace, name, target._overloadname)
        nodes.append((n.op, n.name, target, _map(n.args, lambda a: _Ref(a.name)),
                      _map(n.kwargs, lambda a: _Ref(a.name))))
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    torch.save({"format": FORMAT, "nodes": nodes, "constants": constants,
                "pytree": _pytree_info(graph_module.graph._codegen)}, partial)
    os.replace(partial, path)


def load(path: Path):
    """The GraphModule ``save`` wrote: same node names, same outputs."""
    import torch
    import torch.ao.quantization.fx._decomposed  # noqa: F401 - registers quantized_decomposed ops

    data = torch.load(path, weights_only=False)  # a labkit-written cache file, like the .pte next to it
    if data.get("format") != FORMAT:
        raise ValueError(f"{path} is graph_file format {data.get('format')}, not {FORMAT}")
    graph, env = torch.fx.Graph(), {}
    for op, name, target, args, kwargs in data["nodes"]:
        if isinstance(target, _Op):
            target = getattr(getattr(getattr(torch.ops, target.namespace), target.name), target.overload)
        node = graph.create_node(op, target, _map(args, lambda r: env[r.name], _Ref),
                                 _map(kwargs, lambda r: env[r.name], _Ref), name=name)
        env[name] = node
    if data["pytree"] is not None:
        graph._codegen = _pytree_codegen(*data["pytree"])
    return torch.fx.GraphModule(data["constants"], graph)


def _pytree_info(codegen):
    """How the graph's flat inputs and outputs map to the model's (pytree specs as text)."""
    from torch.utils import _pytree as pytree

    info = getattr(codegen, "pytree_info", None)
    if info is None:
        return None
    return (list(info.orig_args), pytree.treespec_dumps(info.in_spec) if info.in_spec else None,
            pytree.treespec_dumps(info.out_spec) if info.out_spec else None)


def _pytree_codegen(orig_args, in_spec, out_spec):
    from torch.fx.graph import _PyTreeCodeGen, _PyTreeInfo
    from torch.utils import _pytree as pytree

    return _PyTreeCodeGen(_PyTreeInfo(orig_args, pytree.treespec_loads(in_spec) if in_spec else None,
                                      pytree.treespec_loads(out_spec) if out_spec else None))


def _map(value, fn, kind=None):
    """``value`` with every leaf of type ``kind`` (default: fx Node) replaced by fn(leaf)."""
    import torch

    kind = kind or torch.fx.Node
    if isinstance(value, kind):
        return fn(value)
    if isinstance(value, (tuple, list)) and not isinstance(value, (_Ref, _Op)):
        mapped = [_map(v, fn, kind) for v in value]
        return tuple(mapped) if isinstance(value, tuple) else mapped
    if isinstance(value, dict):
        return {k: _map(v, fn, kind) for k, v in value.items()}
    return value


def _attr(module, dotted: str):
    for part in dotted.split("."):
        module = getattr(module, part)
    return module

