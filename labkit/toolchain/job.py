"""A compile job: everything the worker needs, picklable."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..quantization import Quantization
from ..targets import Target

STAGES = ("export", "quantize", "lower", "vela", "serialize")  # what a compile's progress reports


@dataclass
class CompileJob:
    """One model for one target. Exactly one of ``registry_name`` / ``exported``."""

    model: str  # display name
    target: Target
    key: str  # the cache key
    weights: str
    registry_name: str | None = None
    exported: bytes | None = None  # torch.export.save() bytes of a user model
    example_inputs: tuple | None = None
    calibration_inputs: list | None = None
    identity: dict = field(default_factory=dict)  # what identifies the model in cache keys
    quantization: Quantization = field(default_factory=Quantization)
    calibration_samples: int | None = None  # a built-in's own samples to calibrate on (None: its default)
    cpu_kernels: str = "cmsis-nn"  # the kernel set of the operators outside the NPU (labkit.cpu.kernels)
