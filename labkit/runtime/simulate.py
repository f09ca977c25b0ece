"""``labkit.simulate(report, inputs)``: run a compiled model on the host.

The report's own ``.pte`` is executed instruction by instruction (program.py):
every Ethos-U delegate call runs the TOSA graph Vela compiled for that NPU
partition on the TOSA reference model, bit-exact int8; every CPU kernel call
(the input quantize, output dequantize, CPU fallbacks) runs the same operator in
PyTorch. The outputs are labelled ``tosa-reference``."""

from __future__ import annotations

from ..errors import InputValueError
from ..inputs import describe, run_inputs
from . import program


class Outputs(tuple):
    """The outputs of one run, a tuple of forward()'s results (nested as the model returns
    them) labelled with their ``source``."""

    source: str = "tosa-reference"

    def __new__(cls, values, source: str = "tosa-reference"):
        self = super().__new__(cls, values)
        self.source = source
        return self

    def __repr__(self) -> str:
        return f"Outputs[{self.source}]{tuple.__repr__(self)}"


def simulate(report, inputs) -> Outputs:
    """Run ``report``'s compiled program on the host and return its outputs ('tosa-reference').

    NPU partitions run on the TOSA reference model (the exact int8 TOSA graph
    Vela compiled), CPU operators in PyTorch. ``inputs``: forward()'s arguments as
    the model's example inputs were given (a tensor, or a tuple whose entries may be
    tuples, lists or dicts of tensors); a leading dimension of N on a model compiled
    for batch 1 runs N samples and stacks the outputs.
    """
    prog = program.load(report)
    flat = prog.run_batch(flatten(prog, run_inputs(inputs)))
    out = unflatten(prog, flat)
    return Outputs(out if isinstance(out, tuple) else (out,))


def io_specs(prog) -> tuple:
    """(inputs, outputs) pytree specs of a program: how torch.export flattened forward()'s
    arguments and results, as ExecuTorch records them in the .pte (None where it did not)."""
    from torch.utils import _pytree as pytree

    meta = prog.plan.container_meta_type
    specs = []
    for text in (meta.encoded_inp_str, meta.encoded_out_str):
        try:
            specs.append(pytree.treespec_loads(text) if text else None)
        except Exception:  # noqa: BLE001 - an older or foreign encoding: fall back to flat I/O
            specs.append(None)
    return tuple(specs)


def flatten(prog, args: tuple) -> tuple:
    """forward()'s arguments as the program's flat inputs, checked against how it was compiled."""
    from torch.utils import _pytree as pytree

    flat, spec = pytree.tree_flatten((tuple(args), {}))
    wanted = io_specs(prog)[0]
    leaves = [f"{'x'.join(map(str, s)) or 'scalar'} {str(d).replace('torch.', '')}" for s, d in prog.input_specs]
    expected = describe(pytree.tree_unflatten(leaves, wanted)[0] if wanted is not None
                        and wanted.num_leaves == len(leaves) else leaves)
    if len(flat) != len(leaves):
        raise InputValueError(f"the compiled program takes {len(leaves)} input(s) [{expected}], got {len(flat)} "
                              f"[{describe(args)}]: pass forward()'s arguments as the example inputs were.")
    if wanted is not None and spec != wanted:
        raise InputValueError(f"inputs nested as [{describe(args)}] where the compiled program takes "
                              f"[{expected}]: pass forward()'s arguments as the example inputs were.")
    return tuple(flat)


def unflatten(prog, flat: tuple):
    """The program's flat outputs nested as forward() returns them."""
    from torch.utils import _pytree as pytree

    spec = io_specs(prog)[1]
    if spec is None or spec.num_leaves != len(flat):
        return tuple(flat)
    return pytree.tree_unflatten(list(flat), spec)
