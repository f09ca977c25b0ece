"""``resolve``: the one place that turns every accepted model form (a built-in name, a
ModelSpec, an nn.Module, a ``(module, example_inputs)`` pair, a ``.pt2`` path) into a
ResolvedModel."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ExampleInputError, QuantizationError
from ..inputs import as_args
from .builtins import get, registry
from .pt2 import load_pt2, pt2_example_inputs
from .spec import ModelSpec


@dataclass
class ResolvedModel:
    """A model in any accepted form, resolved once. Exactly one of ``builtin``
    (a registry name: built and exported in the worker, identified by its source),
    ``exported`` (a .pt2's ExportedProgram) and ``module`` (an nn.Module, built
    from a ModelSpec if need be) says what to compile."""

    name: str
    weights: str  # 'random' | 'trained' | 'user-supplied'
    spec: ModelSpec | None = None
    builtin: str | None = None
    module: Any = None
    exported: Any = None
    path: str | None = None
    example_inputs: tuple | None = None
    calibration_inputs: list | None = None  # None: calibrate on the example inputs

    def float_module(self):
        """The float nn.Module (built now for a built-in)."""
        if self.module is None:
            self.module = self.spec.factory() if self.spec is not None else self.exported.module()
        return self.module

    def example(self) -> tuple | None:
        if self.example_inputs is None and self.spec is not None:
            self.example_inputs = tuple(self.spec.example_inputs())
        return self.example_inputs

    def own_calibration(self, samples: int | None = None) -> list | None:
        """The calibration samples given, else the model's own (a ModelSpec's); the
        first ``samples`` of them. None: calibrate on the example inputs."""
        if self.calibration_inputs is None and self.spec is not None:
            return self.spec.calibration(samples)
        given = self.calibration_inputs
        if samples is not None and len(given or [()]) < samples:
            raise QuantizationError(
                f"{self.name} has {len(given or [()])} calibration sample(s) ("
                + ("those given" if given else "its example inputs") + f"), so calibration={samples} is too "
                "many: pass more with calibration_inputs=[(tensor, ...), ...].")
        return given[:samples] if given else None

    def evaluation(self):
        """(inputs, labels) of a model with evaluation data, else None."""
        return self.spec.evaluation() if self.spec is not None and self.spec.evaluation else None


def resolve(model, *, example_inputs=None, calibration_inputs=None, name: str | None = None) -> ResolvedModel:
    """Resolve a built-in name, a ModelSpec, an nn.Module (with ``example_inputs``),
    a ``(module, example_inputs)`` pair or the path of a torch.export ``.pt2`` file."""
    if isinstance(model, ResolvedModel):
        return model
    example = as_args(example_inputs, "example_inputs") if example_inputs is not None else None
    if calibration_inputs is not None and not isinstance(calibration_inputs, (list, tuple)):
        raise ExampleInputError("calibration_inputs must be a list of samples, each like example_inputs: "
                                f"[(x1,), (x2,), ...], got {type(calibration_inputs).__name__}.")
    calibration = [as_args(c, f"calibration_inputs[{i}]") for i, c in enumerate(calibration_inputs)] \
        if calibration_inputs else None
    if isinstance(model, str) and model in registry():
        if example is not None:
            raise ExampleInputError(f"{model!r} is a built-in model with its own example inputs; "
                                    "drop example_inputs=, or pass your own nn.Module instead.")
        spec = get(model)
        return ResolvedModel(name or model, spec.weights, spec=spec, builtin=model if calibration is None else None,
                             calibration_inputs=calibration)
    if isinstance(model, (str, os.PathLike)):
        text = str(model)
        if not (text.endswith(".pt2") or os.sep in text or os.path.exists(text)):
            get(text)  # raises UnknownModelError listing the built-ins
        ep = load_pt2(text)
        return ResolvedModel(name or Path(text).stem, "user-supplied", exported=ep, path=text,
                             example_inputs=example if example is not None else pt2_example_inputs(ep),
                             calibration_inputs=calibration)
    if isinstance(model, ModelSpec):
        return ResolvedModel(name or model.name, model.weights, spec=model, module=model.factory(),
                             example_inputs=example, calibration_inputs=calibration)
    if isinstance(model, tuple) and len(model) == 2 and example is None:  # (module, example_inputs)
        return resolve(model[0], example_inputs=model[1], calibration_inputs=calibration_inputs, name=name)
    return ResolvedModel(name or type(model).__name__, "user-supplied", module=model, example_inputs=example,
                         calibration_inputs=calibration)
