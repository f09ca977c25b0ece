"""A torch.export ``.pt2`` file as a model: loaded with a clear error for anything else,
and its example inputs (the stored ones, or seeded ones of its inputs' shapes)."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import ExampleInputError, InvalidModelError, first_line


def load_pt2(path: str | os.PathLike):
    """Load a torch.export .pt2 file with a clear error for anything else."""
    import torch

    p = Path(path)
    if not p.is_file():
        raise InvalidModelError(f"Model file {str(p)!r} does not exist. Pass the path of a .pt2 file "
                                "written by torch.export.save(), or a built-in model name.")
    try:
        return torch.export.load(str(p))
    except Exception as e:
        raise InvalidModelError(
            f"{str(p)!r} is not a torch.export file ({type(e).__name__}: {first_line(e)}). "
            "Write it with torch.export.save(torch.export.export(model, example_inputs), path)."
        ) from None


def pt2_example_inputs(ep) -> tuple:
    """Example inputs stored in a .pt2, or seeded ones of its inputs' shapes and dtypes
    (floats in [-1, 1), integers 0, a valid index of any size, bools False), nested as
    forward() takes them."""
    import torch
    from torch.utils import _pytree as pytree

    stored = getattr(ep, "example_inputs", None)
    if stored:
        args, kwargs = stored
        if args and not kwargs and all(isinstance(t, torch.Tensor) for t in pytree.tree_leaves(args)):
            return tuple(args)
    g = torch.Generator().manual_seed(0)
    nodes = {n.name: n for n in ep.graph.nodes if n.op == "placeholder"}
    specs = [spec for spec in ep.graph_signature.input_specs if spec.kind.name == "USER_INPUT"]
    values = [nodes[spec.arg.name].meta["val"] for spec in specs]
    _refuse_dynamic_without_example([spec.arg.name for spec in specs], values)
    flat = [(torch.rand(v.shape, generator=g) * 2 - 1).to(v.dtype) if v.dtype.is_floating_point
            else torch.zeros(v.shape, dtype=v.dtype) for v in values]
    args, kwargs = pytree.tree_unflatten(flat, ep.call_spec.in_spec)
    if kwargs:
        raise InvalidModelError(f"the .pt2 was exported with keyword arguments ({', '.join(kwargs)}); labkit "
                                "passes forward()'s arguments by position. Export it with positional arguments.")
    return tuple(args)


def _refuse_dynamic_without_example(names: list[str], values: list) -> None:
    """Seeded inputs need concrete shapes: a .pt2 with dynamic dimensions and no stored
    example gives no shape to fix them to (the NPU runs fixed shapes)."""
    import torch

    dims = {name: [str(d) for d, size in enumerate(v.shape) if isinstance(size, torch.SymInt)]
            for name, v in zip(names, values)}
    dynamic = [f"input {name}'s dimension{'s' * (len(d) > 1)} {', '.join(d)}" for name, d in dims.items() if d]
    if dynamic:
        verb = "are" if sum(map(len, dims.values())) > 1 else "is"
        raise ExampleInputError(
            f"the .pt2 stores no example inputs, and {' and '.join(dynamic)} {verb} dynamic, so labkit cannot "
            "tell which shape to compile for (the NPU runs fixed shapes). Pass example_inputs= of the shape the "
            "program should take, or save the .pt2 with the example inputs it was exported with "
            "(torch.export.save keeps them unless they were removed).")
