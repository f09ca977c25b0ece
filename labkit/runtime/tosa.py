"""Running one NPU partition's TOSA graph (the flatbuffer Vela compiled) on the TOSA
reference model (tosa-tools' ``tosa_reference_model``): bit-exact int8."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from ..errors import SimulationError
from ..toolchain import tosa
from ..toolchain.native import quiet_stdout
from ..toolchain.pte import torch_dtype
from .tensors import NHWC, NNHWC, from_dim_order, numel


class TosaPartition:
    """One NPU partition on the TOSA reference model. ``vela_io``: Vela's element sizes
    of the partition's inputs and outputs, as the Ethos-U runtime checks them."""

    def __init__(self, path: Path, vela_io: dict | None = None):
        self.path = Path(path)
        self.vela_io = vela_io or {}
        self.intermediates: list | None = None  # a list: each run appends {tensor name: array} of every operator
        self.graph = tosa.read(self.path)
        self.inputs = list(self.graph.input_shapes)
        self.outputs = list(self.graph.output_shapes)

    def run(self, inputs: list, out_specs: list) -> list:
        import numpy as np
        import torch
        import tosa_reference_model

        arrays = []
        for k, (t, shape) in enumerate(zip(inputs, self.inputs)):
            a = t.detach().cpu()
            if tuple(a.shape) != shape:
                if a.dim() == 4 and tuple(a.permute(NHWC).shape) == shape:
                    a = a.permute(NHWC)
                elif a.dim() == 5 and tuple(a.permute(NNHWC).shape) == shape:
                    a = a.permute(NNHWC)
                else:
                    raise SimulationError(f"NPU partition {self.path.parent.name}: input {k} has shape "
                                          f"{tuple(a.shape)} but its TOSA graph takes {shape}.")
            arrays.append(np.ascontiguousarray(a.numpy()))
        with quiet_stdout(), tempfile.TemporaryDirectory(prefix="labkit-tosa-") as tmp:
            dump = {"dump_intermediates": 1, "debug_filename": f"{tmp}/dump.txt"} \
                if self.intermediates is not None else {}
            outputs, status = tosa_reference_model.run(self.graph.data, arrays, verbosity="NONE",
                                                        initialize_variable_tensor_from_numpy=True, **dump)
            if dump:
                self.intermediates.append(read_dump(Path(dump["debug_filename"])))
        if status != tosa_reference_model.GraphStatus.TOSA_VALID:
            raise SimulationError(f"the TOSA reference model rejected {self.path.name} ({status}); "
                                  "see that file and compile.log.")
        result = []
        for array, spec in zip(outputs, out_specs):
            dtype = torch_dtype(spec.scalar_type)
            t = torch.from_numpy(np.ascontiguousarray(array)).to(dtype)
            sizes, order = list(spec.sizes), list(spec.dim_order)
            if t.numel() != numel(sizes):
                raise SimulationError(f"NPU partition {self.path.parent.name}: the TOSA output has "
                                      f"{t.numel()} elements, the program expects {sizes}.")
            result.append(from_dim_order(t.reshape(-1), sizes, order))
        return result


_INT_TYPES = {"INT8": "int8", "INT16": "int16", "INT32": "int32", "BOOL": "bool"}
_BRACKETS = str.maketrans("[]", "  ")


def read_dump(path: Path) -> dict:
    """{tensor name: numpy array} of every non-constant operator output in the reference
    model's ``dump_intermediates`` text (a ``Name: ... DType=... Shape=[...]`` header, then
    the values in brackets up to a blank line). Integer tensors only: the int graph."""
    import numpy as np

    out, kind, header, body = {}, "", None, []

    def finish():
        if header is not None and kind not in ("CONST", "CONST_SHAPE") and header[1] in _INT_TYPES:
            try:
                values = np.array(" ".join(body).translate(_BRACKETS).split(), dtype=np.int64)
            except ValueError:  # not integers (e.g. a boolean printed as a word): not compared
                return
            if values.size == int(np.prod(header[2])):
                out[header[0]] = values.reshape(header[2]).astype(_INT_TYPES[header[1]])

    for line in Path(path).read_text(errors="replace").splitlines():
        if line.startswith("Node type: "):
            kind = line.split()[2]
        elif line.startswith("Name: "):
            finish()
            m = re.match(r"Name: (\S+) DType=(\w+) .*Shape=\[([\d, ]*)\]", line)
            header = (m.group(1), m.group(2), [int(d) for d in m.group(3).replace(" ", "").split(",") if d]) \
                if m else None
            body = []
        elif header is not None:
            if line.strip():
                body.append(line)
            else:
                finish()
                header = None
    finish()
    return out
