"""Where the files labkit ships live: the repository's ``data/`` (trained weights, FVP
sample logs, Cortex-M calibration) and ``notebooks/`` (the lessons). A wheel carries
both inside the package (pyproject.toml maps them to ``labkit/data`` and
``labkit/notebooks``); a checkout reads them where they are."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _folder(name: str) -> Path:
    inside = _PACKAGE / name  # installed from a wheel
    return inside if inside.is_dir() else _PACKAGE.parent / name


def data(*parts: str) -> Path:
    """A path under data/: ``data("weights", "digits_cnn.pt")``."""
    return _folder("data").joinpath(*parts)


def notebooks() -> Path:
    """The folder of the lesson notebooks."""
    return _folder("notebooks")
