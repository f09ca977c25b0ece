"""Running one NPU partition's TOSA graph (the flatbuffer Vela compiled) on the TOSA
reference model (tosa-tools' ``tosa_reference_model``): bit-exact int8."""

from __future__ import annotations

import importlib.util
import os
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
        self._every_output: tuple[bytes, list[str]] | None = None  # with_every_output(path), made when first needed
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
        if self.intermediates is not None and self._every_output is None:  # once, not per run
            self._every_output = with_every_output(self.path)
        data, names = (self.graph.data, []) if self.intermediates is None else self._every_output
        with quiet_stdout():
            outputs, status = tosa_reference_model.run(data, arrays, verbosity="NONE",
                                                        initialize_variable_tensor_from_numpy=True)
        if self.intermediates is not None:
            self.intermediates.append(dict(zip(names, outputs)))
            outputs = outputs[:len(self.outputs)]
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



def with_every_output(path: Path) -> tuple[bytes, list[str]]:
    """The TOSA graph at ``path`` with the output of every operator also a graph output,
    and the graph's output names in order (its own first). Made once per graph with
    tosa-tools' own ``flatc`` and schema (binary -> JSON -> binary), and kept in the
    cache: the reference model then returns every intermediate tensor as an array."""
    import hashlib
    import json
    import subprocess

    from .. import cache

    data = Path(path).read_bytes()
    digest = hashlib.sha256(data).hexdigest()[:32]
    kept = cache.run_path(digest, "every-output")
    if kept is not None and kept.with_suffix(".tosa").is_file():
        return kept.with_suffix(".tosa").read_bytes(), json.loads(kept.with_suffix(".json").read_text())
    tools = Path(importlib.util.find_spec("tosa").origin).parent.parent / "bin"
    with tempfile.TemporaryDirectory(prefix="labkit-tosa-") as tmp:
        graph = Path(tmp) / "graph.tosa"
        graph.write_bytes(data)
        flatc = [str(tools / "flatc"), "--strict-json", "-o", tmp, str(tools / "tosa.fbs")]
        subprocess.run(flatc[:1] + ["--json", "--raw-binary"] + flatc[1:] + ["--", str(graph)], check=True,
                       capture_output=True)
        doc = json.loads(graph.with_suffix(".json").read_text())
        block = doc["regions"][0]["blocks"][0]
        extra = [name for op in block["operators"] if op["op"] not in ("CONST", "CONST_SHAPE")
                 for name in op.get("outputs", []) if name not in block["outputs"]]
        block["outputs"] = block["outputs"] + extra
        graph.with_suffix(".json").write_text(json.dumps(doc))
        subprocess.run(flatc[:1] + ["-b"] + flatc[1:] + [str(graph.with_suffix(".json"))], check=True,
                       capture_output=True)
        exposed = graph.read_bytes()
    names = block["outputs"]
    if kept is not None:
        for suffix, content in ((".json", json.dumps(names).encode()), (".tosa", exposed)):
            tmp_file = kept.with_suffix(f".{os.getpid()}.tmp")
            tmp_file.write_bytes(content)
            os.replace(tmp_file, kept.with_suffix(suffix))  # the .tosa last: it marks the pair complete
    return exposed, names
