"""labkit: compile PyTorch models for Arm Ethos-U NPUs and see where the cycles go.

Heavy libraries (torch, executorch, vela, plotly) are imported inside the
functions that need them, so ``import labkit`` stays fast.
"""

from .errors import LabkitError
from .models import ModelSpec
from .report import Report
from .targets import Target, resolve_target

__all__ = ["compile", "simulate", "evaluate", "Lab", "LabkitError", "ModelSpec", "Report", "Target",
           "resolve_target", "models"]
__version__ = "0.1.0"


def __getattr__(name):
    if name == "compile":
        from .api import compile

        return compile
    if name == "Lab":
        from .widgets import Lab

        return Lab
    if name in ("simulate", "evaluate"):
        import importlib

        module = importlib.import_module(".simulate", __name__)  # callable: labkit.simulate(report, inputs)
        return module if name == "simulate" else module.evaluate
    if name == "models":
        from . import models

        return models
    raise AttributeError(f"module 'labkit' has no attribute {name!r}")
