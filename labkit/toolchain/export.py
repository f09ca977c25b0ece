"""torch.export: check the example inputs, export a module, serialize the program for a
job, and a job's model inputs (reading a .pt2 is models/pt2.py)."""

from __future__ import annotations

import contextlib
import io
import logging
import re

from .. import models
from ..errors import ExampleInputError, ExportError, InvalidModelError, first_line
from ..inputs import EXAMPLE_HINT, as_args, describe, map_leaves
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
        hint = ("It runs with a batch dimension added: pass x.unsqueeze(0) (e.g. shape 1x3x32x32, not 3x32x32)."
                if _runs_batched(module, example_inputs) else
                "Pass example inputs of the shape and dtype forward() expects, and check that the model runs in "
                "plain PyTorch.")
        raise ExampleInputError(
            f"{type(module).__name__}.forward() failed on the example inputs [{described}]: "
            f"{type(e).__name__}: {first_line(e)}. {hint}"
        ) from None
    return example_inputs


def _runs_batched(module, example_inputs) -> bool:
    """Whether forward() runs once every input has a leading batch dimension of 1 (a missing
    batch dimension is the commonest wrong shape)."""
    import torch

    try:
        with torch.no_grad(), in_eval_mode(module):
            module(*map_leaves(lambda t: t.unsqueeze(0), example_inputs))
    except Exception:  # noqa: BLE001 - any failure: the batch dimension is not what is missing
        return False
    return True


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


def model_inputs(job: CompileJob):
    """(exported program, example inputs, calibration samples) of a job."""
    import torch

    if job.registry_name is not None:
        spec = models.get(job.registry_name)
        example = spec.example_inputs()
        calibration = spec.calibration(job.calibration_samples)
        return export_module(spec.factory(), example), example, calibration
    example = tuple(job.example_inputs)
    return torch.export.load(io.BytesIO(job.exported)), example, job.calibration_inputs or [example]


def _user_frame(text: str) -> str | None:
    """The last 'File "x.py", line N' in an error text that is not torch's own code."""
    frames = re.findall(r'File "([^"]+)", line (\d+)', text)
    frames = [f for f in frames if "/torch/" not in f[0] and "/torchao/" not in f[0]]
    return f"{frames[-1][0]}:{frames[-1][1]}" if frames else None


