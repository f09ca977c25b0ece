"""Running one NPU partition's TOSA graph (the flatbuffer Vela compiled) on the TOSA
reference model (tosa-tools' ``tosa_reference_model``): bit-exact int8."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import tempfile
from pathlib import Path

from .. import cache
from ..errors import SimulationError
from ..fx import rows_by_origin, source_line
from ..report import Partition
from ..toolchain import attribution, tosa
from ..toolchain.native import quiet_stdout, redirect_fds
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
        try:
            with _reference_model_output(os.devnull):
                outputs, status = tosa_reference_model.run(data, arrays, verbosity="NONE",
                                                            initialize_variable_tensor_from_numpy=True)
        except ValueError as e:  # "Invalid TOSA graph": it refused the graph before running it
            raise SimulationError(self._rejected(arrays, str(e))) from None
        if status != tosa_reference_model.GraphStatus.TOSA_VALID:
            raise SimulationError(self._rejected(arrays, status.name))
        if self.intermediates is not None:
            self.intermediates.append(dict(zip(names, outputs)))
            outputs = outputs[:len(self.outputs)]
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

    def _rejected(self, arrays: list, status: str) -> str:
        """Why the reference model refused this graph: the TOSA operator it failed on (from a
        second run that logs each operator), the report operator and source line it came
        from, and what still works."""
        where = f"NPU partition {self.path.parent.name.replace('partition_', '')} ({self.path})"
        index, reason = _failed_operator(self.graph.data, arrays)
        if index is None or index >= len(self.graph.op_types):
            at = ""
        else:
            tensor = self.graph.output_names[index]
            op, source = self._origin(tensor)
            at = (f" at its operator {index}, {self.graph.op_types[index]} (output {tensor})"
                  + (f", which came from {op}{f' at {source}' if source else ''}" if op else ""))
        return (f"the TOSA reference model (tosa-tools {_version('tosa-tools')}) rejected {where}{at}: "
                f"{reason.rstrip('.') or 'no reason given'} ({status}). Only running this partition on the host "
                "stops here (simulate, numerics, evaluate): the compile, its report and every other part still "
                "work, and the FVP runs the real program (labkit.fvp.run(report)). The way around: measure this "
                "model on the FVP, or change that operator at its source line.")

    def _origin(self, tensor: str) -> tuple[str, str]:
        """(report operator, source line) a TOSA tensor came from: its row in the operator
        rows the compile kept (the join the cycle attribution uses), else ExecuTorch's debug
        JSON's own record of the node."""
        import json


        partition = Partition(0, None, self.path.parent, self.path)
        rows_file = self.path.parent.parent / "operator_rows.json"
        if rows_file.is_file() and partition.debug_json.is_file():
            rows = json.loads(rows_file.read_text())
            by_origin = rows_by_origin([r.get("origins") for r in rows])
            row = attribution.tensor_rows(partition, by_origin, self.graph).get(tensor)
            if row is not None:
                return rows[row]["op"], rows[row]["source"]
        if partition.debug_json.is_file():
            for event in json.loads(partition.debug_json.read_text()):
                if event["aten_info"]["node_name"] == tensor:
                    trace = event["torch_info"].get("stack_trace") or []
                    return event["aten_info"]["operator_name"], source_line("\n".join(trace))
        return "", ""


@contextlib.contextmanager
def _reference_model_output(path):
    """What the reference model prints from native code (fds 1 and 2) into ``path``, and no
    debugger: a failed check of its would otherwise attach gdb to print a backtrace."""
    os.environ.setdefault("TOSA_MODEL_NO_BACKTRACE", "1")
    with quiet_stdout(), contextlib.ExitStack() as stack:
        with contextlib.suppress(OSError):  # no usable fds (e.g. embedded): nothing to capture
            stack.enter_context(redirect_fds(path, (1, 2)))
        yield


def _failed_operator(data: bytes, arrays: list) -> tuple[int | None, str]:
    """(index of the operator the reference model failed on, its reason), from a run that
    logs each operator: a graph it refuses names the node ("Node type: CONV2D ID: 5") after
    its reason; one that fails while running fails right after "Evaluating node_005"."""
    import tosa_reference_model

    with tempfile.TemporaryDirectory(prefix="labkit-tosa-") as tmp:
        log = Path(tmp) / "reference_model.log"
        with contextlib.suppress(ValueError), _reference_model_output(log):  # a refused graph raises
            tosa_reference_model.run(data, arrays, verbosity="LOW", debug_mode="GT",
                                     initialize_variable_tensor_from_numpy=True)
        text = log.read_text(errors="replace") if log.is_file() else ""
    reason = re.search(r"^(Operator validation error: .*|Op\w+ failure: .*)$", text, re.MULTILINE)
    refused = re.search(r"Operator validation error: .*\n\s*Node type: \w+ ID: (\d+)", text)
    if refused:
        index = int(refused.group(1))
    else:
        failed = re.search(r"(?:REQUIRE|ERROR_IF)\(\) fails", text)
        evaluated = re.findall(r"Evaluating node_(\d+)", text[:failed.start()] if failed else "")
        index = int(evaluated[-1]) if evaluated else None
    return index, (reason.group(1).removeprefix("Operator validation error: ") if reason else "")


def _version(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)



def with_every_output(path: Path) -> tuple[bytes, list[str]]:
    """The TOSA graph at ``path`` with the output of every operator also a graph output,
    and the graph's output names in order (its own first). Made once per graph with
    tosa-tools' own ``flatc`` and schema (binary -> JSON -> binary), and kept in the
    cache: the reference model then returns every intermediate tensor as an array."""
    import hashlib
    import json
    import subprocess


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
