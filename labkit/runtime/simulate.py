"""``labkit.simulate(report, inputs)``: run a compiled model on the host.

The report's own ``.pte`` is executed instruction by instruction (program.py):
every Ethos-U delegate call runs the TOSA graph Vela compiled for that NPU
partition on the TOSA reference model, bit-exact int8; every CPU kernel call
(the input quantize, output dequantize, CPU fallbacks) runs the same operator in
PyTorch. The outputs are labelled ``tosa-reference``."""

from __future__ import annotations

from ..inputs import run_inputs
from . import program


class Outputs(tuple):
    """The outputs of one run, a tuple of tensors labelled with their ``source``."""

    source: str = "tosa-reference"

    def __new__(cls, tensors, source: str = "tosa-reference"):
        self = super().__new__(cls, tensors)
        self.source = source
        return self

    def __repr__(self) -> str:
        return f"Outputs[{self.source}]{tuple.__repr__(self)}"


def simulate(report, inputs) -> Outputs:
    """Run ``report``'s compiled program on the host and return its outputs ('tosa-reference').

    NPU partitions run on the TOSA reference model (the exact int8 TOSA graph
    Vela compiled), CPU operators in PyTorch. ``inputs``: a tensor or a tuple of
    tensors shaped like the model's example inputs; a leading dimension of N on
    a model compiled for batch 1 runs N samples and stacks the outputs.
    """
    return Outputs(program.load(report).run_batch(run_inputs(inputs)))
