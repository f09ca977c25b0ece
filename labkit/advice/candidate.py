"""A candidate change: the compile job that measures it, the ``labkit.compile`` keyword
arguments that make it, and those arguments as a user would read or type them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .. import hardware


@dataclass
class Candidate:
    lever: str
    change: str
    why: str
    job: object  # toolchain.job.CompileJob
    kwargs: dict
    as_fed: Callable | None = None  # a data sample as the changed program takes it


def base_kwargs(report, origin) -> dict:
    """compile()'s keyword arguments that made ``report``, its target spelled out (the
    starting point each lever changes)."""
    t = report.target
    kwargs = {k: v for k, v in origin.kwargs.items() if v is not None}
    if t.board is not None:  # a board names its NPU configuration itself
        kwargs.update(board=t.board.id if t.board.id in hardware.presets() else t.board.to_dict())
        return kwargs
    kwargs.update(target=t.preset or t.accelerator)
    if t.has_npu:
        kwargs.update(system_config=t.system_config, memory_mode=t.memory_mode)
    return kwargs


def describe_kwargs(kwargs: dict) -> dict:
    """``kwargs`` with every value JSON can hold as it is, and the rest (a rewritten copy
    of the model, tensors) described in words."""
    def plain(v):
        if v is None or isinstance(v, (str, int, float, bool)):
            return v
        if isinstance(v, dict):
            return {str(k): plain(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            if len(v) > 4 and all(isinstance(x, (list, tuple)) for x in v):
                return f"<{len(v)} samples>"
            return [plain(x) for x in v]
        if hasattr(v, "shape") and hasattr(v, "dtype"):
            import torch

            channels_last = v.dim() == 4 and v.is_contiguous(memory_format=torch.channels_last) \
                and not v.is_contiguous()
            return f"<tensor {'x'.join(map(str, v.shape))} {str(v.dtype).replace('torch.', '')}" \
                   f"{' channels-last' if channels_last else ''}>"
        return f"<{type(v).__name__}: the rewritten copy of the model>" if hasattr(v, "forward") else repr(v)

    return {k: plain(v) for k, v in kwargs.items()}


def call_text(kwargs: dict) -> str:
    """``labkit.compile(...)`` as a user would write it for ``kwargs`` (values described)."""
    shown = describe_kwargs(kwargs)
    return "labkit.compile(" + ", ".join(f"{k}={v!r}" if not (isinstance(v, str) and v.startswith("<"))
                                         else f"{k}={v}" for k, v in shown.items()) + ")"
