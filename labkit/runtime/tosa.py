"""Running one NPU partition's TOSA graph (the flatbuffer Vela compiled) on the TOSA
reference model (tosa-tools' ``tosa_reference_model``): bit-exact int8."""

from __future__ import annotations

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
        with quiet_stdout():
            outputs, status = tosa_reference_model.run(self.graph.data, arrays, verbosity="NONE",
                                                        initialize_variable_tensor_from_numpy=True)
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
