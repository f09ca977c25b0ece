"""torch.export: check the example inputs, export a module, read and write .pt2."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
from pathlib import Path

from ..errors import ExampleInputError, ExportError, InvalidModelError
from ..inputs import EXAMPLE_HINT, as_args, describe
from .job import CompileJob


def check_inputs(module, example_inputs) -> tuple:
    """Validate example inputs by running the float model once in plain PyTorch."""
    import torch

    if not isinstance(module, torch.nn.Module):
        raise InvalidModelError(
            f"Expected a torch.nn.Module, got {type(module).__name__}. Pass an nn.Module instance "
            "(not its class), a built-in model name, or the path of a .pt2 file."
        )
    if example_inputs is None:
        raise ExampleInputError(
            f"{type(module).__name__} needs example inputs (example_inputs=, the arguments forward() takes). "
            + EXAMPLE_HINT
        )
    example_inputs = as_args(example_inputs, "example_inputs")
    described = describe(example_inputs)
    try:
        with torch.no_grad(), in_eval_mode(module):
            module(*example_inputs)
    except Exception as e:
        raise ExampleInputError(
            f"{type(module).__name__}.forward() failed on the example inputs [{described}]: "
            f"{type(e).__name__}: {first_line(e)}. Pass example inputs of the shape and dtype "
            "forward() expects, and check that the model runs in plain PyTorch."
        ) from None
    return example_inputs


def export_module(module, example_inputs):
    """torch.export with a labkit error that names the construct export rejected."""
    import torch

    example_inputs = check_inputs(module, example_inputs)
    try:
        with in_eval_mode(module), _quiet_export():
            return torch.export.export(module, example_inputs)
    except Exception as e:
        text = str(e)
        hint = "Make forward() traceable by torch.export (see the torch.export programming model)."
        if re.search(r"data.dependent|GuardOnDataDependent|Could not guard on data-dependent", text):
            hint = ("forward() has data-dependent control flow (an `if`/loop on a tensor's value). Rewrite it "
                    "with torch.where or torch.cond, or move the decision out of the model.")
        where = _user_frame(text)
        raise ExportError(
            f"torch.export cannot export {type(module).__name__}: {first_line(e)}"
            f"{f' (at {where})' if where else ''}. {hint}"
        ) from None


@contextlib.contextmanager
def _quiet_export():
    """torch.export prints graphs and a warning of its own when it fails on a model;
    labkit's one-line ExportError says what matters, so keep that noise off stderr."""
    logger = logging.getLogger("torch.fx.experimental.symbolic_shapes")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        logger.setLevel(level)


@contextlib.contextmanager
def in_eval_mode(module):
    """Inference mode (dropout off, batch-norm statistics frozen) for the export,
    then the user's module back in the mode it was in."""
    modes = {m: m.training for m in module.modules()}
    try:
        module.eval()
    except NotImplementedError:  # ExportedProgram.module() (a .pt2): traced in the mode it was exported in
        modes = {}
    try:
        yield
    finally:
        for m, training in modes.items():
            m.train(training)


def exported_bytes(ep) -> bytes:
    import torch

    buf = io.BytesIO()
    torch.export.save(ep, buf)
    return buf.getvalue()


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


def model_inputs(job: CompileJob):
    """(exported program, example inputs, calibration samples) of a job."""
    import torch

    from .. import models

    if job.registry_name is not None:
        spec = models.get(job.registry_name)
        example = spec.example_inputs()
        calibration = spec.calibration(job.calibration_samples)
        return export_module(spec.factory(), example), example, calibration
    example = tuple(job.example_inputs)
    return torch.export.load(io.BytesIO(job.exported)), example, job.calibration_inputs or [example]


def first_line(e: BaseException) -> str:
    """The first non-empty line of an exception's message (toolchain errors run to pages)."""
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    return lines[0] if lines else type(e).__name__


def _user_frame(text: str) -> str | None:
    """The last 'File "x.py", line N' in an error text that is not torch's own code."""
    frames = re.findall(r'File "([^"]+)", line (\d+)', text)
    frames = [f for f in frames if "/torch/" not in f[0] and "/torchao/" not in f[0]]
    return f"{frames[-1][0]}:{frames[-1][1]}" if frames else None


