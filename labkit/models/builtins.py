"""The registry of built-in models: the MLPerf Tiny networks ExecuTorch ships, MobileNetV2
and the trained digits models, by name; ``register`` adds one (e.g. a lesson's)."""

from __future__ import annotations

from ..errors import UnknownModelError
from .spec import CALIBRATION_SAMPLES, SEED, ModelSpec


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
