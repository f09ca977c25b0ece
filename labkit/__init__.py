"""labkit: compile PyTorch models for Arm Ethos-U NPUs and see where the cycles go.

Heavy libraries (torch, executorch, vela, plotly) are imported inside the
functions that need them, so ``import labkit`` stays fast. The functions are
bound here eagerly: a lazily bound ``labkit.sweep`` would be replaced by the
``labkit.sweep`` module the first time anything imports that module.
"""

from .api import compile
from .errors import LabkitError
from .models import ModelSpec
from .report import Report
from .simulate import evaluate, simulate
from .sweep import sweep
from .targets import Target, resolve_target

__all__ = ["compile", "sweep", "simulate", "evaluate", "Lab", "LabkitError", "ModelSpec", "Report", "Target",
           "resolve_target", "models"]
__version__ = "0.1.0"


def __getattr__(name):
    if name == "Lab":  # ipywidgets is only needed for the app
        from .widgets import Lab

        return Lab
    if name == "models":
        from . import models

        return models
    raise AttributeError(f"module 'labkit' has no attribute {name!r}")
