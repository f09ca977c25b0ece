"""Checks on the tensors a user passes: example, calibration and run-time inputs."""

from __future__ import annotations

from .errors import ExampleInputError, InputValueError


def as_tuple(inputs, what: str = "inputs", error=ExampleInputError) -> tuple:
    """A tensor or a tuple/list of tensors as a tuple, else one clear ``error``."""
    import torch

    if isinstance(inputs, torch.Tensor):
        return (inputs,)
    if isinstance(inputs, (tuple, list)) and inputs and all(isinstance(t, torch.Tensor) for t in inputs):
        return tuple(inputs)
    got = f"({', '.join(type(t).__name__ for t in inputs)})" if isinstance(inputs, (tuple, list)) \
        else type(inputs).__name__
    raise error(f"{what} must be a tensor or a tuple of tensors, got {got}. Pass e.g. "
                "(torch.randn(1, 3, 32, 32),) with the shapes the model takes.")


def check_finite(inputs) -> None:
    """One InputValueError for NaN or infinity: int8 has neither."""
    import torch

    for i, t in enumerate(inputs):
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            nan, inf = int(torch.isnan(t).sum()), int(torch.isinf(t).sum())
            raise InputValueError(
                f"input {i} contains {nan} NaN and {inf} infinite value(s) (of {t.numel()}). int8 has no NaN "
                "or infinity: quantizing them gives meaningless values on the NPU. Clean the data first, e.g. "
                "torch.nan_to_num(x, nan=0.0, posinf=1.0, neginf=-1.0), or drop those samples.")


def run_inputs(inputs) -> tuple:
    """Inputs to run a compiled program on: tensors, finite."""
    if isinstance(inputs, list) and len(inputs) == 1 and isinstance(inputs[0], (tuple, list)):
        inputs = tuple(inputs[0])
    tensors = as_tuple(inputs, "inputs", InputValueError)
    check_finite(tensors)
    return tensors
