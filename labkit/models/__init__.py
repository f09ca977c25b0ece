"""The models labkit compiles: ModelSpec, the registry of built-in models, and
``resolve``, the one place that turns every accepted model form (a built-in
name, a ModelSpec, an nn.Module, a ``(module, example_inputs)`` pair, a ``.pt2``
path) into a ResolvedModel.

A built-in model is identified in the cache by its name and the source of the
code that builds it (see ``fingerprint``), so a cache hit needs no torch at all.
"""

from __future__ import annotations

import hashlib
import inspect
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..errors import ExampleInputError, QuantizationError, UnknownModelError

SEED = 0
CALIBRATION_SAMPLES = 8


@dataclass
class ModelSpec:
    """What labkit needs to compile a model.

    ``factory`` builds the nn.Module in eval mode; ``example_inputs`` returns the
    tuple forward() is called with; ``calibration_inputs`` returns a list of such
    tuples for PT2E calibration (given a count, it may return that many);
    ``evaluation`` (optional) returns (inputs, labels).
    """

    name: str
    factory: Callable[[], Any]
    example_inputs: Callable[[], tuple]
    calibration_inputs: Callable[[], list] | None = None
    evaluation: Callable[[], tuple] | None = None
    description: str = ""
    weights: str = "random"  # 'random' | 'trained' | 'user-supplied'
    input_shapes: tuple = ()
    extra_files: tuple = field(default=())  # files whose bytes define the model (e.g. weights)

    def fingerprint(self) -> str:
        """Hash over the code and data that define this model's graph and weights: the
        modules its functions come from, every module of this package (the built-in
        networks), and its extra files."""
        h = hashlib.sha256(self.name.encode())
        modules = {inspect.getmodule(fn) for fn in (self.factory, self.example_inputs, self.calibration_inputs)
                   if fn is not None}
        sources = sorted({inspect.getsourcefile(m) for m in modules} | {str(p) for p in _PACKAGE_SOURCES})
        for path in sources:
            h.update(Path(path).read_bytes())
        for path in self.extra_files:
            h.update(Path(path).read_bytes())
        h.update(repr((self.input_shapes, SEED, CALIBRATION_SAMPLES)).encode())
        return h.hexdigest()

    def calibration(self, samples: int | None = None) -> list[tuple]:
        """The model's own calibration samples: all of them, or the first ``samples``
        (a ``calibration_inputs`` that takes a count is asked for that many)."""
        fn = self.calibration_inputs
        if fn is None:
            own = [self.example_inputs()]
        elif samples is not None and inspect.signature(fn).parameters:
            own = fn(samples)
        else:
            own = fn()
        if samples is not None and len(own) < samples:
            raise QuantizationError(f"{self.name} has {len(own)} calibration sample(s), so calibration={samples} "
                                    f"is too many: ask for at most {len(own)}, or pass calibration_inputs=.")
        return [tuple(s) for s in own[:samples]]


_PACKAGE_SOURCES = sorted(Path(__file__).resolve().parent.glob("*.py"))


def _uniform_inputs(*shapes):
    """Seeded inputs in [-1, 1): the MLPerf Tiny examples' own input range."""

    def make(sample: int = 0):
        import torch

        g = torch.Generator().manual_seed(SEED + sample)
        return tuple(torch.rand(*s, generator=g) * 2 - 1 for s in shapes)

    return make


def _calibration(example):
    def samples(count: int = CALIBRATION_SAMPLES):
        return [example(i) for i in range(1, count + 1)]

    samples.__module__ = example.__module__
    return samples


def _seeded(build):
    def factory():
        import torch

        torch.manual_seed(SEED)
        return build().eval()

    factory.__module__ = build.__module__
    return factory


def _mlperf(cls_name):
    def build():
        from executorch.examples.models import mlperf_tiny

        return getattr(mlperf_tiny, cls_name)()

    return build


def _mobilenet_v2():
    from .mobilenet_v2 import MobileNetV2

    return MobileNetV2()


def _spec(name, build, shapes, description, **kw):
    example = _uniform_inputs(*shapes)
    return ModelSpec(name, _seeded(build), example, _calibration(example), description=description,
                     input_shapes=shapes, **kw)


def _builtins() -> dict[str, ModelSpec]:
    specs = [
        _spec("ds_cnn", _mlperf("DSCNNKWS"), [(1, 1, 49, 10)],
              "MLPerf Tiny keyword spotting (DS-CNN, 49x10 MFCC, 12 classes)"),
        _spec("mobilenet_v1_025", _mlperf("MobileNetV1025"), [(1, 3, 96, 96)],
              "MLPerf Tiny visual wake words (MobileNetV1 0.25, 96x96 RGB, 2 classes)"),
        _spec("resnet8", _mlperf("ResNet8"), [(1, 3, 32, 32)],
              "MLPerf Tiny image classification (ResNet-8, 32x32 RGB, 10 classes)"),
        _spec("deep_autoencoder", _mlperf("DeepAutoEncoder"), [(1, 640)],
              "MLPerf Tiny anomaly detection (fully connected autoencoder, 640 features)"),
        _spec("mobilenet_v2", _mobilenet_v2, [(1, 3, 224, 224)],
              "MobileNetV2 224x224 (torchvision architecture), as in Arm's Corstone-320 Learning Path"),
    ]
    from . import digits, digits32  # trained weights in data/weights/, held-out split as evaluation data

    specs.append(digits.spec())
    specs += digits32.specs()
    return {s.name: s for s in specs}


_REGISTRY: dict[str, ModelSpec] | None = None


def registry() -> dict[str, ModelSpec]:
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = _builtins()
    return _REGISTRY


def register(spec: ModelSpec) -> None:
    """Add a model to the registry (e.g. a lesson's own model)."""
    registry()[spec.name] = spec


def get(name: str) -> ModelSpec:
    try:
        return registry()[name]
    except KeyError:
        raise UnknownModelError(
            f"Unknown model {name!r}. Built-in models: {', '.join(registry())}. "
            "Or pass an nn.Module with example_inputs=, or the path of a torch.export .pt2 file."
        ) from None


def models_table():
    import pandas as pd

    return pd.DataFrame([
        {"model": s.name, "inputs": " ".join("x".join(map(str, sh)) for sh in s.input_shapes),
         "weights": s.weights, "description": s.description}
        for s in registry().values()
    ])


# ---------------------------------------------------------------- resolving any model form

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
    from ..inputs import as_args

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
        from ..toolchain.export import load_pt2, pt2_example_inputs

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
