"""labkit: compile PyTorch models for Arm Ethos-U NPUs and see where the cycles go.

The front door: ``compile``, ``cached``, ``warm_up``, ``sweep``, ``simulate``,
``evaluate``, ``numerics``, ``Lab``, ``Report``, ``Target``, ``resolve_target``, ``ModelSpec``,
``LabkitError``. Every submodule is reachable as an attribute and imported on
first use (``labkit.plots``, ``labkit.fvp``, ``labkit.sweeps``, ...), so
``import labkit`` stays fast: no torch, ExecuTorch, Vela or plotly until needed.
No module is named like a function the front door exports.
"""

import importlib

from .api import STAGES, cached, compile, warm_up
from .errors import LabkitError
from .models import ModelSpec
from .report import Report
from .runtime.evaluate import evaluate
from .runtime.numerics import numerics
from .runtime.simulate import simulate
from .sweeps import sweep
from .targets import Target, resolve_target

__all__ = ["compile", "cached", "warm_up", "sweep", "simulate", "evaluate", "numerics", "Lab", "LabkitError",
           "ModelSpec", "Report", "Target", "resolve_target", "STAGES"]
__version__ = "0.2.0"

# Names that live deeper than their documented home: labkit.plots is labkit.views.plots.
_ALIASES = {"plots": "views.plots", "sweep_plots": "views.sweep_plots", "fvp_plots": "views.fvp_plots"}
_SUBMODULES = ("api", "app", "cache", "cli", "errors", "fvp", "inputs", "insights", "lessons", "models", "report",
               "runtime", "scheduler", "sweeps", "targets", "toolchain", "views", "worker")


def __getattr__(name):
    if name == "Lab":  # ipywidgets is only needed for the app
        from .app import Lab

        return Lab
    if name in _ALIASES or name in _SUBMODULES:
        module = importlib.import_module(f"{__name__}.{_ALIASES.get(name, name)}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'labkit' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | {"Lab"} | set(_ALIASES) | set(_SUBMODULES))
