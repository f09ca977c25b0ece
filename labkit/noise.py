"""Known third-party noise, stopped where it is logged: messages the libraries under
labkit print when first imported that say nothing to a labkit user and land in red
under whatever notebook cell imported them. Each filter drops one known message of one
logger; anything else those loggers say (a real warning) still shows.

- torchao, on import: "Failed to load …/torchao/_C_mxfp8….so" and "…_C_cutlass_90a.abi3.so"
  (CUDA kernels of a build for another Python; labkit uses none of them), and "Detected no
  triton" (GPU kernels).
- torch's pytree: "<enum 'KernelPreference'> is an Enum subclass … deprecated" (and
  ScaleCalculationMode), a deprecation inside torchao's own registration.
"""

from __future__ import annotations

import logging
import re

KNOWN = {
    "torchao": re.compile(r"^Failed to load .*torchao/_C\w*\.(abi3\.)?\S*so\b"),
    "torchao.kernel.intmm": re.compile(r"Detected no triton"),
    "torch.utils._pytree": re.compile(r"is an Enum subclass and is now natively supported"),
}


class _DropKnown(logging.Filter):
    def __init__(self, pattern: re.Pattern):
        super().__init__()
        self.pattern = pattern

    def filter(self, record: logging.LogRecord) -> bool:
        return not self.pattern.search(record.getMessage())


def filter_known() -> None:
    """Install the filters (once; importing labkit does)."""
    for name, pattern in KNOWN.items():
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropKnown) for f in logger.filters):
            logger.addFilter(_DropKnown(pattern))
