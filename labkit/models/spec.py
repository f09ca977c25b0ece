"""ModelSpec: what labkit needs to compile a model of its own (the built-ins, a lesson's
model): how to build it, its inputs, calibration samples and evaluation data. A
built-in is identified in the cache by its name and the source of the code that
builds it (``fingerprint``), so a cache hit needs no torch at all."""

from __future__ import annotations

import hashlib
import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..errors import QuantizationError

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
