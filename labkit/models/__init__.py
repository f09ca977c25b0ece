"""The models labkit compiles.

- ``spec.py``      ModelSpec: how to build a model, its inputs, calibration and evaluation data
- ``builtins.py``  the built-in models by name (``registry``, ``get``, ``register``, ``models_table``)
- ``resolved.py``  ``resolve``: every accepted model form into one ResolvedModel
- ``pt2.py``       a torch.export ``.pt2`` file: loading it, its example inputs
- ``mobilenet_v2.py``, ``digits.py``, ``digits32.py``  the networks labkit defines itself
"""

from .builtins import get, models_table, register, registry
from .resolved import ResolvedModel, resolve
from .spec import CALIBRATION_SAMPLES, SEED, ModelSpec

__all__ = ["ModelSpec", "ResolvedModel", "resolve", "registry", "register", "get", "models_table", "SEED",
           "CALIBRATION_SAMPLES"]
