"""labkit: compile PyTorch models for Arm Ethos-U NPUs and see where the cycles go.

The front door: ``compile``, ``cached``, ``warm_up``, ``sweep``, ``simulate``,
``evaluate``, ``numerics``, ``advise``, ``to_html``, ``to_model_explorer``, ``explore``,
``boards``, ``board``, ``Lab``, ``Report``, ``Target``, ``resolve_target``, ``ModelSpec``, ``LabkitError``.
Every submodule below is an attribute, imported on first use (``labkit.plots`` is
``labkit.views.plots``), so ``import labkit`` stays fast: no torch, ExecuTorch, Vela or
plotly until needed. No module is named like a function the front door exports.

The package, floor by floor (a module imports only from the floors below it; the
import-linter contract in pyproject.toml holds it):

- ``errors``, ``fx`` (what labkit reads off an FX node), ``sources`` (source locations),
  ``shipped`` (where data/ and notebooks/ are), ``formats`` (one number format per
  quantity), ``noise`` (known third-party log noise, filtered)
- ``targets``, ``quantization``, ``inputs``, ``cpu/`` (Cortex-M kernels and their
  cost), ``insights`` (analyses of one Report's tables)
- ``hardware`` (boards as targets, and where a deployment's buffers land on one)
- ``report`` (the Report value), ``sweep_tables`` (analyses of a sweep's table)
- ``views/`` (figures, tables, HTML, Model Explorer export), ``models/`` (the models)
- ``toolchain/`` (what the compile worker runs), ``cache``
- ``worker``, ``fvp/``, ``rewrites``
- ``scheduler`` (the one orchestrator of compiles)
- ``jobs`` (compile jobs and their keys), then ``api`` (compile, cached, warm_up)
- ``runtime/`` (running a compiled program on the host: simulate, evaluate, numerics)
- ``advice/`` (``advise``), ``sweeps`` (``sweep``)
- ``app/`` (the Lab)
- ``cli``, ``lessons``
"""

import importlib

from . import noise
from .api import STAGES, cached, compile, warm_up
from .errors import LabkitError
from .models import ModelSpec
from .report import Report
from .runtime.evaluate import evaluate
from .runtime.numerics import numerics
from .runtime.simulate import simulate
from .sweeps import sweep
from .targets import Target, resolve_target

__all__ = ["compile", "cached", "warm_up", "sweep", "simulate", "evaluate", "numerics", "advise", "to_html",
           "to_model_explorer", "explore", "boards", "board", "Lab", "LabkitError", "ModelSpec", "Report", "Target", "resolve_target",
           "STAGES"]
__version__ = "0.2.0"
noise.filter_known()  # before torch, torchao or ExecuTorch are imported by anything labkit runs

# Front-door functions whose modules import plotly, ipywidgets or the toolchain: found on first use.
_LAZY = {"Lab": ("app", "Lab"), "boards": ("hardware", "boards"), "board": ("hardware", "board"), "advise": ("advice", "advise"), "to_html": ("views.html", "write_html"),
         "to_model_explorer": ("views.model_explorer", "export"), "explore": ("app.graph", "explore")}
# Names that live deeper than their documented home: labkit.plots is labkit.views.plots.
_ALIASES = {"plots": "views.plots", "sweep_plots": "views.sweep_plots", "fvp_plots": "views.fvp_plots"}
_SUBMODULES = ("advice", "api", "app", "cache", "cli", "cpu", "errors", "formats", "fvp", "fx", "hardware", "inputs",
               "insights", "jobs", "lessons", "models", "noise", "quantization", "report", "rewrites", "runtime",
               "scheduler", "shipped", "sources", "sweep_tables", "sweeps", "targets", "toolchain", "views", "worker")


def __getattr__(name):
    if name in _LAZY:
        module, attribute = _LAZY[name]
        value = getattr(importlib.import_module(f"{__name__}.{module}"), attribute)
        globals()[name] = value
        return value
    if name in _ALIASES or name in _SUBMODULES:
        module = importlib.import_module(f"{__name__}.{_ALIASES.get(name, name)}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'labkit' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | set(_ALIASES) | set(_SUBMODULES))
