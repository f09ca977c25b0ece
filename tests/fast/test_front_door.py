"""The package's shape: a small front door that imports no toolchain, every documented
submodule reachable after a bare ``import labkit``, no module hidden by a function of
the same name, and every error in errors.py (a LabkitError that crosses the worker
boundary as its own class)."""

import importlib
import inspect
import pkgutil
import subprocess
import sys

import pytest

import labkit
from labkit import errors

MODULES = sorted(m.name for m in pkgutil.walk_packages(labkit.__path__, "labkit.")
                 if not m.name.startswith(("labkit.lessons.", "labkit.data.")))


def _fresh(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_documented_submodules_are_reachable_after_a_bare_import():
    code = ("import labkit; "
            "print(labkit.fvp.run.__module__, labkit.plots.placement.__module__, labkit.sweep_plots.pareto.__module__, "
            "labkit.fvp_plots.estimate_vs_measured.__module__, labkit.sweeps.reports.__module__, "
            "labkit.models.resolve.__module__, labkit.targets.Target.__name__, labkit.Lab.__name__)")
    assert _fresh(code).split() == ["labkit.fvp.measure", "labkit.views.plots", "labkit.views.sweep_plots",
                                    "labkit.views.fvp_plots", "labkit.sweeps", "labkit.models.resolved", "Target", "Lab"]


def test_import_labkit_stays_light():
    code = ("import sys, labkit; print(sorted(m for m in ('torch', 'executorch', 'plotly', 'ipywidgets', "
            "'ethosu', 'tosa_reference_model') if m in sys.modules))")
    assert _fresh(code) == "[]"


@pytest.mark.parametrize("name", MODULES)
def test_no_module_is_hidden_by_a_function_of_the_same_name(name):
    module = importlib.import_module(name)
    parent, _, leaf = name.rpartition(".")
    assert getattr(importlib.import_module(parent), leaf) is module


def test_front_door_functions_are_the_real_ones():
    assert labkit.sweep.__module__ == "labkit.sweeps" and labkit.simulate.__module__ == "labkit.runtime.simulate"
    assert labkit.evaluate.__module__ == "labkit.runtime.evaluate" and labkit.compile.__module__ == "labkit.api"
    assert set(labkit.__all__) <= set(dir(labkit))


def test_every_error_lives_in_errors_and_is_a_labkit_error():
    for name in MODULES:
        for _, cls in inspect.getmembers(importlib.import_module(name), inspect.isclass):
            if issubclass(cls, BaseException) and cls.__module__.startswith("labkit"):
                assert cls.__module__ == "labkit.errors", f"{cls.__name__} is defined in {cls.__module__}"
    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, Exception)]
    assert len(classes) >= 18 and all(issubclass(c, errors.LabkitError) for c in classes)


def test_errors_cross_the_worker_boundary_as_their_own_class():
    for _, cls in inspect.getmembers(errors, inspect.isclass):
        if issubclass(cls, errors.LabkitError):
            again = errors.from_message(cls.__name__, "the message")
            assert type(again) is cls and str(again) == "the message"
    assert type(errors.from_message("KeyError", "x")) is errors.LabkitError  # never a non-labkit class
