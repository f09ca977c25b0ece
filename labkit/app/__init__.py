"""The app: ``labkit.Lab()`` and its tabs (Compare, FVP), built on labkit's public functions only."""

from .lab import TABS, Lab

__all__ = ["Lab", "TABS"]
