"""Run a compiled model on the host, and measure what int8 costs.

``labkit.simulate(report, inputs)`` executes the compiled ``.pte`` itself: its
instructions are read from the file and run one by one; every Ethos-U delegate
call runs the TOSA graph that Vela compiled for that NPU partition (the
report's ``output_tagN_*.tosa``) on the TOSA reference model, bit-exact int8;
every CPU kernel call (the input quantize, output dequantize, CPU fallbacks)
runs the same operator in PyTorch. The outputs are labelled ``tosa-reference``.

``labkit.evaluate(model, target)`` compares three executions of one model on
the same inputs: ``pytorch-float`` (the nn.Module), ``fake-quant-int8`` (the
PT2E-quantized graph with quantize/dequantize in float, in PyTorch — what the
quantizer believes the int8 model computes) and ``tosa-reference`` (the
compiled program above). It reports accuracy on labelled data and, against the
float outputs, max/mean absolute error, mean cosine similarity and top-1
agreement.

This module is callable: ``labkit.simulate(report, x)`` is ``simulate(report, x)``
whichever way the name was reached; ``labkit.simulate.outputs`` is the table
``evaluate`` summarises.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import threading
import types
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any

from .errors import InputValueError, LabkitError

SOURCES = ("pytorch-float", "fake-quant-int8", "tosa-reference")
RANDOM_SAMPLES = 32  # inputs evaluate() draws when a model has no evaluation data


class SimulationError(LabkitError):
    """The compiled program cannot be run on the host (missing artifacts, unsupported instruction)."""


class Outputs(tuple):
    """The outputs of one run, a tuple of tensors labelled with their ``source``."""

    source: str = "tosa-reference"

    def __new__(cls, tensors, source: str = "tosa-reference"):
        self = super().__new__(cls, tensors)
        self.source = source
        return self

    def __repr__(self) -> str:
        return f"Outputs[{self.source}]{tuple.__repr__(self)}"


# ====================================================================== simulate

def simulate(report, inputs) -> Outputs:
    """Run ``report``'s compiled program on the host and return its outputs ('tosa-reference').

    NPU partitions run on the TOSA reference model (the exact int8 TOSA graph
    Vela compiled), CPU operators in PyTorch. ``inputs``: a tensor or a tuple of
    tensors shaped like the model's example inputs; a leading dimension of N on
    a model compiled for batch 1 runs N samples and stacks the outputs.
    """
    program = _program_for(report)
    return program.run_batch(_as_inputs(inputs))


def _program_for(report) -> _Program:
    from .report import Report

    if isinstance(report, (str, Path)):
        try:
            report = Report.load(Path(report))
        except Exception as e:
            raise SimulationError(f"{str(report)!r} is not a saved labkit report ({e}). Pass the Report "
                                  "that labkit.compile() returned.") from None
    if not isinstance(report, Report):
        raise SimulationError(f"simulate() needs the Report labkit.compile() returned, not "
                              f"{type(report).__name__}: report = labkit.compile(model, target); "
                              "labkit.simulate(report, inputs).")
    pte = Path(report.artifacts.get("pte", ""))
    if not pte.is_file():
        raise SimulationError(f"The report's .pte ({pte}) is missing: its cache entry was removed. "
                              "Compile again (labkit.compile) and simulate the new report.")
    partitions = [(Path(p["tosa"]) if p.get("tosa") else None, Path(p["vela_dir"]))
                  for p in report.artifacts.get("partitions", [])]
    return _load_program(str(pte), pte.stat().st_mtime_ns, tuple(partitions))


@lru_cache(maxsize=8)
def _load_program(pte: str, _mtime: int, partitions: tuple) -> _Program:
    return _Program(Path(pte), list(partitions))


def _as_inputs(inputs) -> tuple:
    import torch

    if isinstance(inputs, torch.Tensor):
        inputs = (inputs,)
    if isinstance(inputs, list) and len(inputs) == 1 and isinstance(inputs[0], (tuple, list)):
        inputs = tuple(inputs[0])
    if not isinstance(inputs, (tuple, list)) or not inputs or \
            not all(isinstance(t, torch.Tensor) for t in inputs):
        got = type(inputs).__name__ if not isinstance(inputs, (tuple, list)) else \
            f"({', '.join(type(t).__name__ for t in inputs)})"
        raise InputValueError(f"inputs must be a tensor or a tuple of tensors, got {got}. Pass e.g. "
                              "(torch.randn(1, 3, 32, 32),) with the shapes the model was compiled for.")
    _check_finite(inputs)
    return tuple(inputs)


def _check_finite(inputs) -> None:
    import torch

    for i, t in enumerate(inputs):
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            nan, inf = int(torch.isnan(t).sum()), int(torch.isinf(t).sum())
            raise InputValueError(
                f"input {i} contains {nan} NaN and {inf} infinite value(s) (of {t.numel()}). int8 has no NaN "
                "or infinity: quantizing them gives meaningless values on the NPU. Clean the data first, e.g. "
                "torch.nan_to_num(x, nan=0.0, posinf=1.0, neginf=-1.0), or drop those samples.")


# ---------------------------------------------------------------------- the .pte interpreter

_DTYPES = {0: "uint8", 1: "int8", 2: "int16", 3: "int32", 4: "int64", 5: "float16", 6: "float32",
           7: "float64", 11: "bool", 15: "bfloat16"}
_NHWC, _NNHWC = [0, 2, 3, 1], [0, 1, 3, 4, 2]


def _dtype(code: int):
    import torch

    if code not in _DTYPES:
        raise SimulationError(f"the .pte uses scalar type {code}, which labkit's host runner does not support.")
    return getattr(torch, _DTYPES[code])


class _Program:
    """An ExecuTorch program read from its .pte and run on the host the way the runtime
    runs it: memory-planned tensors are views into per-run arenas at their planned
    offsets (so the view ops ExecuTorch removed, which alias memory, keep working),
    kernels run the same operators in PyTorch, delegates run on the TOSA reference model."""

    def __init__(self, pte: Path, partitions: list):
        from .pte import read

        program = read(pte).program
        if len(program.execution_plan) != 1:
            raise SimulationError(f"{pte.name} has {len(program.execution_plan)} methods; the host runner "
                                  "runs single-method programs (forward) only.")
        plan = program.execution_plan[0]
        if len(plan.chains) != 1:
            raise SimulationError("the program has several instruction chains; the host runner runs one.")
        self.plan = plan
        self.instructions = plan.chains[0].instructions
        self.constants = program.constant_buffer
        self.ops = [_resolve_op(op.name, op.overload) for op in plan.operators]
        self.template = [self._value(v.val) for v in plan.values]
        self.planned = {i: v.val for i, v in enumerate(plan.values)
                        if type(v.val).__name__ == "Tensor" and v.val.allocation_info is not None}
        self.arena_sizes = list(plan.non_const_buffer_sizes)
        self.delegates = _match_delegates(program, plan, partitions)
        _check_delegate_io(plan, self.delegates)
        self.input_specs = [(tuple(plan.values[i].val.sizes), _dtype(plan.values[i].val.scalar_type))
                            for i in plan.inputs]

    # -- values
    def _value(self, val):
        import torch

        kind = type(val).__name__
        if kind == "Tensor":
            if val.data_buffer_idx > 0 and val.allocation_info is None:  # a constant
                info = val.extra_tensor_info
                if info is not None and getattr(info, "fully_qualified_name", None):
                    raise SimulationError("the program keeps constants in an external data file; the host "
                                          "runner reads constants inside the .pte only.")
                storage = self.constants[val.data_buffer_idx].storage
                flat = torch.frombuffer(bytearray(storage), dtype=_dtype(val.scalar_type))[:_numel(val.sizes)]
                return _from_dim_order(flat, list(val.sizes), list(val.dim_order)).clone()
            if val.data_buffer_idx > 0:
                raise SimulationError("the program has mutable buffers with initial values (state); the host "
                                      "runner runs stateless programs only.")
            return None  # memory-planned or an unplanned input: filled at run time
        if kind in ("Int", "Double", "Bool"):
            return next(iter(dataclasses.asdict(val).values()))
        if kind == "Null":
            return None
        if kind == "String":
            return val.string_val
        if kind in ("IntList", "TensorList", "OptionalTensorList"):
            return _Ref(val.items)
        if kind in ("DoubleList", "BoolList"):
            return list(val.items)
        raise SimulationError(f"the .pte holds a value of kind {kind}, which the host runner does not support.")

    @staticmethod
    def _get(values, i):
        v = values[i]
        if isinstance(v, _Ref):
            return [values[j] if j >= 0 else None for j in v]
        return v

    def _arena_view(self, arenas, val, sizes=None):
        import torch

        sizes = list(val.sizes if sizes is None else sizes)
        a = val.allocation_info
        offset = a.memory_offset_low + (a.memory_offset_high << 32)
        dtype = _dtype(val.scalar_type)
        nbytes = _numel(sizes) * torch.empty((), dtype=dtype).element_size()
        flat = arenas[a.memory_id][offset:offset + nbytes].view(dtype)
        return _from_dim_order_view(flat, sizes, list(val.dim_order))

    # -- running
    def run_batch(self, inputs: tuple) -> Outputs:
        import torch

        if len(inputs) != len(self.input_specs):
            raise InputValueError(f"the compiled program takes {len(self.input_specs)} input(s) "
                                  f"({self._describe()}), got {len(inputs)}.")
        shapes = [tuple(t.shape) for t in inputs]
        wanted = [s for s, _ in self.input_specs]
        if shapes == wanted:
            return Outputs(self.run(inputs))
        batched = all(len(s) == len(w) and w and w[0] == 1 and s[1:] == w[1:] for s, w in zip(shapes, wanted))
        if not batched or len({s[0] for s in shapes}) != 1:
            raise InputValueError(f"inputs of shape {', '.join(map(str, shapes))} do not match the compiled "
                                  f"program ({self._describe()}). Pass tensors of those shapes (or N samples "
                                  "stacked along the first dimension).")
        with quiet_native_stdout():
            runs = [self.run(tuple(t[i:i + 1] for t in inputs)) for i in range(shapes[0][0])]
        return Outputs(tuple(torch.cat(parts) for parts in zip(*runs)))

    def _describe(self) -> str:
        return ", ".join(f"{'x'.join(map(str, s))} {str(d).replace('torch.', '')}" for s, d in self.input_specs)

    def run(self, inputs: tuple) -> tuple:
        import torch

        values = list(self.template)
        arenas = [torch.zeros(max(int(n), 1), dtype=torch.uint8) for n in self.arena_sizes]
        for i, val in self.planned.items():
            values[i] = self._arena_view(arenas, val)
        for index, t, (shape, dtype) in zip(self.plan.inputs, inputs, self.input_specs):
            if t.dtype != dtype:
                raise InputValueError(f"input of dtype {t.dtype} where the compiled program takes {dtype}; "
                                      f"convert it, e.g. x.to({dtype}).")
            self._store(values, index, t.detach(), arenas)
        with torch.no_grad():
            pc = 0
            while pc < len(self.instructions):
                args = self.instructions[pc].instr_args
                kind = type(args).__name__
                pc += 1
                if kind == "KernelCall":
                    self._kernel(values, args.op_index, args.args, arenas)
                elif kind == "DelegateCall":
                    self._delegate(values, args.delegate_index, args.args, arenas)
                elif kind == "MoveCall":
                    self._store(values, args.move_to, values[args.move_from], arenas)
                elif kind == "FreeCall":
                    pass
                elif kind == "JumpFalseCall":
                    if not bool(self._get(values, args.cond_value_index)):
                        pc = args.destination_instruction
                else:
                    raise SimulationError(f"instruction {kind} is not supported by the host runner.")
        return tuple(values[i].clone() if hasattr(values[i], "clone") else values[i] for i in self.plan.outputs)

    def _store(self, values, index, result, arenas) -> None:
        """Write a result where the program expects it: into its planned memory if it has
        some (so the tensors that alias that memory see it), else into the value slot."""
        import torch

        target = values[index]
        if isinstance(target, _Ref) and isinstance(result, (list, tuple)):  # a TensorList out: each tensor
            for j, r in zip(target, result):
                self._store(values, j, r, arenas)
            return
        if index in self.planned and isinstance(result, torch.Tensor):
            if result is target:
                return
            if tuple(result.shape) != tuple(target.shape):  # a dynamic shape: resize within its planned memory
                target = values[index] = self._arena_view(arenas, self.planned[index], list(result.shape))
            if result.untyped_storage().data_ptr() == target.untyped_storage().data_ptr():
                result = result.clone()  # a view of planned memory: copy out before writing over it
            target.copy_(result.to(target.dtype))
        else:
            values[index] = result

    def _kernel(self, values, op_index, arg_ids, arenas):
        op, schema, out_schema, name = self.ops[op_index]
        # The instruction's arguments follow the out variant's schema, then its returns. Without
        # that schema in Python (e.g. quantized_decomposed), the functional arguments come first.
        if out_schema is not None:
            listed = out_schema.arguments
        else:
            listed = list(schema.arguments)
        named, outs = {}, []
        for a, i in zip(listed, arg_ids):
            if a.is_out:
                outs.append(i)
            else:
                named[a.name] = i
        outs += arg_ids[len(listed):]
        kwargs = {a.name: _convert_arg(self._get(values, named[a.name]), a)
                  for a in schema.arguments if a.name in named}
        try:
            result = op(**kwargs)
        except Exception as e:
            raise SimulationError(f"the CPU operator {name} failed in PyTorch: {type(e).__name__}: {e}") from None
        results = result if isinstance(result, (tuple, list)) and len(schema.returns) > 1 else (result,)
        # The out arguments and then the returns both name the results, in order.
        done = set()
        for k, i in enumerate(outs):
            if i not in done:
                self._store(values, i, results[k % len(results)], arenas)
                done.add(i)

    def _delegate(self, values, delegate_index, arg_ids, arenas):
        tosa = self.delegates[delegate_index]
        n_in = len(tosa.inputs)
        ins = [values[i] for i in arg_ids[:n_in]]
        outs = tosa.run(ins, [self.plan.values[i].val for i in arg_ids[n_in:]])
        for i, t in zip(arg_ids[n_in:], outs):
            self._store(values, i, t, arenas)


class _Ref(list):
    """A list value of the program (tensor or int list): indices of other values."""


def _resolve_op(name: str, overload: str):
    """(functional op, its schema, the out variant's schema or None, display name) for an
    ExecuTorch kernel name such as ``aten::avg_pool2d.out``."""
    import executorch.exir  # noqa: F401  (registers ExecuTorch's own ops, e.g. dim_order_ops)
    import torch

    ns, _, op_name = name.partition("::")
    try:
        packet = getattr(getattr(torch.ops, ns), op_name)
    except (AttributeError, RuntimeError):
        raise SimulationError(f"the CPU operator {name} is not available in PyTorch, so the host runner "
                              "cannot run it.") from None
    out_schema = None
    try:
        listed = getattr(packet, overload)._schema
        if any(a.is_out for a in listed.arguments):
            out_schema = listed
    except AttributeError:
        pass
    candidates = ["default"] if overload == "out" else [overload[:-4]] if overload.endswith("_out") else []
    for cand in [*candidates, overload, "default"]:
        try:
            op = getattr(packet, cand)
        except AttributeError:
            continue
        if not any(a.is_out for a in op._schema.arguments):
            return op, op._schema, out_schema, f"{name}.{overload}"
    raise SimulationError(f"no functional PyTorch overload found for the CPU operator {name}.{overload}.")


def _convert_arg(value, argument):
    import torch

    kind = str(argument.type)
    if value is not None and isinstance(value, int) and not isinstance(value, bool):
        if "ScalarType" in kind:
            return _dtype(value)
        if "MemoryFormat" in kind:
            return [torch.contiguous_format, torch.preserve_format, torch.channels_last,
                    torch.channels_last_3d][value]
        if "Layout" in kind:
            return torch.strided
    return value


def _from_dim_order_view(flat, sizes, dim_order):
    """Like _from_dim_order, but a view of ``flat`` (writes go to its memory)."""
    if dim_order == sorted(dim_order):
        return flat.view(sizes)
    physical = flat.view([sizes[d] for d in dim_order])
    return physical.permute([dim_order.index(i) for i in range(len(dim_order))])


def _from_dim_order(flat, sizes, dim_order):
    """A logical (e.g. NCHW) tensor from data laid out in ``dim_order``."""
    if dim_order == sorted(dim_order):
        return flat.reshape(sizes)
    physical = flat.reshape([sizes[d] for d in dim_order])
    inverse = [dim_order.index(i) for i in range(len(dim_order))]
    return physical.permute(inverse).contiguous()


# ---------------------------------------------------------------------- TOSA partitions

class _TosaPartition:
    """One NPU partition: the TOSA flatbuffer Vela compiled, run on the TOSA reference model."""

    def __init__(self, path: Path, vela_io: dict | None = None):
        from tosa.TosaGraph import TosaGraph  # tosa-tools' flatbuffer bindings

        self.path = path
        self.vela_io = vela_io or {}  # Vela's I/O element sizes, as the Ethos-U runtime checks them
        self.data = path.read_bytes()
        graph = TosaGraph.GetRootAsTosaGraph(self.data, 0)
        block = graph.Regions(0).Blocks(0)
        tensors = {block.Tensors(i).Name().decode(): block.Tensors(i) for i in range(block.TensorsLength())}
        self.inputs = [tuple(int(d) for d in tensors[block.Inputs(i).decode()].ShapeAsNumpy())
                       for i in range(block.InputsLength())]
        self.outputs = [tuple(int(d) for d in tensors[block.Outputs(i).decode()].ShapeAsNumpy())
                        for i in range(block.OutputsLength())]

    def run(self, inputs: list, out_specs: list) -> list:
        import numpy as np
        import torch
        import tosa_reference_model

        arrays = []
        for k, (t, shape) in enumerate(zip(inputs, self.inputs)):
            a = t.detach().cpu()
            if tuple(a.shape) != shape:
                if a.dim() == 4 and tuple(a.permute(_NHWC).shape) == shape:
                    a = a.permute(_NHWC)
                elif a.dim() == 5 and tuple(a.permute(_NNHWC).shape) == shape:
                    a = a.permute(_NNHWC)
                else:
                    raise SimulationError(f"NPU partition {self.path.parent.name}: input {k} has shape "
                                          f"{tuple(a.shape)} but its TOSA graph takes {shape}.")
            arrays.append(np.ascontiguousarray(a.numpy()))
        with quiet_native_stdout():
            outputs, status = tosa_reference_model.run(self.data, arrays, verbosity="NONE",
                                                        initialize_variable_tensor_from_numpy=True)
        if status != tosa_reference_model.GraphStatus.TOSA_VALID:
            raise SimulationError(f"the TOSA reference model rejected {self.path.name} ({status}); "
                                  "see that file and compile.log.")
        result = []
        for array, spec in zip(outputs, out_specs):
            dtype = _dtype(spec.scalar_type)
            t = torch.from_numpy(np.ascontiguousarray(array)).to(dtype)
            sizes, order = list(spec.sizes), list(spec.dim_order)
            if t.numel() != _numel(sizes):
                raise SimulationError(f"NPU partition {self.path.parent.name}: the TOSA output has "
                                      f"{t.numel()} elements, the program expects {sizes}.")
            result.append(_from_dim_order(t.reshape(-1), sizes, order))
        return result


_quiet_lock = threading.RLock()
_quiet_depth = 0


@contextlib.contextmanager
def quiet_native_stdout():
    """Silence file descriptor 1 while the TOSA reference model runs: its serializer prints a
    version notice on every graph it reads (TOSA 1.0 file, 1.1 library), from native code."""
    global _quiet_depth
    with _quiet_lock:
        if _quiet_depth:
            _quiet_depth += 1
            try:
                yield
            finally:
                _quiet_depth -= 1
            return
        sys.stdout.flush()
        try:
            saved = os.dup(1)
            devnull = os.open(os.devnull, os.O_WRONLY)
        except OSError:  # no usable fd 1 (e.g. embedded): nothing to silence
            yield
            return
        os.dup2(devnull, 1)
        os.close(devnull)
        _quiet_depth = 1
        try:
            yield
        finally:
            _quiet_depth = 0
            os.dup2(saved, 1)
            os.close(saved)


def _numel(sizes) -> int:
    n = 1
    for s in sizes:
        n *= int(s)
    return n


def _match_delegates(program, plan, partitions: list) -> list:
    """The TOSA partition of each delegate, matched by Vela's command stream, which
    the delegate's payload embeds unchanged (so the match is exact, not by order)."""
    import numpy as np

    from .pte import delegate_partitions

    tosa, streams = [], []
    for tosa_path, vela_dir in partitions:
        if tosa_path is None or not tosa_path.is_file():
            raise SimulationError(f"the TOSA file of an NPU partition is missing ({tosa_path}). Compile again.")
        npz = vela_dir / "out_vela.npz"
        cmd, io = None, {}
        if npz.is_file():
            with np.load(npz, allow_pickle=False) as data:
                cmd = data["cmd_data"].tobytes()
                io = {k: [int(v) for v in data[f"{k}_elem_size"]] for k in ("input", "output")
                      if f"{k}_elem_size" in data.files}
        tosa.append(_TosaPartition(tosa_path, io))
        streams.append(cmd)
    for delegate in plan.delegates:
        if "EthosU" not in delegate.id:
            raise SimulationError(f"delegate {delegate.id} is not an Ethos-U delegate; the host runner "
                                  "simulates Ethos-U partitions only.")
    matched = delegate_partitions(program, plan, streams)
    if None in matched:
        raise SimulationError(f"the program has {len(plan.delegates)} NPU delegates but the report "
                              f"lists {len(tosa)} partitions. Compile again.")
    return [tosa[i] for i in matched]


# The I/O the Ethos-U runtime accepts (EthosUBackend.cpp, execute()): inputs of these dtypes with
# Vela's element size; outputs whose element size and byte count equal Vela's.
_RUNTIME_INPUTS = {"int32": 4, "int8": 1, "uint8": 1, "int16": 2, "bool": 1}


def _check_delegate_io(plan, delegates: list) -> None:
    """Refuse a program the Ethos-U runtime would refuse, with the reason, instead of
    simulating something no device can run."""
    for ins in plan.chains[0].instructions:
        args = ins.instr_args
        if type(args).__name__ != "DelegateCall":
            continue
        part = delegates[args.delegate_index]
        n_in = len(part.inputs)
        where = f"NPU partition {part.path.parent.name.replace('partition_', '')} ({part.path.name})"
        for kind, ids in (("input", args.args[:n_in]), ("output", args.args[n_in:])):
            sizes = part.vela_io.get(kind)
            if sizes is None:
                continue
            for k, (i, elem) in enumerate(zip(ids, sizes)):
                val = plan.values[i].val
                dtype = _DTYPES.get(val.scalar_type, str(val.scalar_type))
                own = _dtype(val.scalar_type).itemsize if val.scalar_type in _DTYPES else None
                ok = (_RUNTIME_INPUTS.get(dtype) == elem) if kind == "input" else own == elem
                if not ok:
                    raise SimulationError(
                        f"this compiled program cannot run on the device: {where} {kind} {k} is a {elem}-byte "
                        f"integer in the NPU command stream, but the program gives it a {dtype} tensor; the "
                        "Ethos-U runtime rejects the delegate call (\"does not match its Vela descriptor\"). "
                        "The likely cause is a known ExecuTorch lowering bug (pytorch/executorch#19364, fixed by "
                        "#22966, not in 1.5.1): a dequantize at the partition's edge is folded into a pass-through "
                        "op (split, view, permute) that ends the NPU partition. Change the model around that "
                        "boundary (e.g. move the CPU-only operator so no split/view ends the partition).")


# ====================================================================== evaluate

@dataclasses.dataclass
class _Model:
    name: str
    module: Any  # the float nn.Module
    example: tuple | None
    calibration: list | None  # the model's own calibration samples
    evaluation: Any  # (inputs, labels) or None
    spec: Any = None  # a built-in's ModelSpec
    exported: Any = None  # the ExportedProgram of a .pt2
    path: str | None = None  # the .pt2 path


def _resolve(model, example_inputs=None) -> _Model:
    import torch

    from . import models
    from .models import ModelSpec

    if isinstance(model, str) and model in models.registry():
        model = models.get(model)
    if isinstance(model, ModelSpec):
        spec = model
        return _Model(spec.name, spec.factory(), tuple(spec.example_inputs()),
                      spec.calibration_inputs() if spec.calibration_inputs else None,
                      spec.evaluation() if spec.evaluation else None, spec=spec)
    if isinstance(model, (str, Path)):
        text = str(model)
        if not (text.endswith(".pt2") or Path(text).exists()):
            models.get(text)  # UnknownModelError listing the built-ins
        from .pipeline import load_pt2, pt2_example_inputs

        ep = load_pt2(text)
        example = _as_inputs(example_inputs) if example_inputs is not None else pt2_example_inputs(ep)
        return _Model(Path(text).stem, ep.module(), example, None, None, exported=ep, path=text)
    if isinstance(model, torch.nn.Module):
        example = _as_inputs(example_inputs) if example_inputs is not None else None
        return _Model(type(model).__name__, model.eval(), example, None, None)
    raise InputValueError(f"evaluate() takes a built-in model name, a ModelSpec, an nn.Module or a .pt2 path, "
                          f"not {type(model).__name__}.")


def _samples(data, example) -> tuple[list, Any, str]:
    """(list of input tuples, labels or None, description) from evaluate's ``data``."""
    import torch

    if data is None:
        g = torch.Generator().manual_seed(1234)
        samples = [tuple(torch.rand(*t.shape, generator=g) * 2 - 1 for t in example) for _ in range(RANDOM_SAMPLES)]
        return samples, None, f"{RANDOM_SAMPLES} seeded random inputs in [-1, 1) (the model has no evaluation data)"
    labels = None
    if isinstance(data, (tuple, list)) and len(data) == 2 and _looks_like_labels(data[1], data[0]):
        data, labels = data
        labels = torch.as_tensor(labels).reshape(-1).long()
    if isinstance(data, torch.Tensor):
        data = (data,)
    if isinstance(data, tuple) and data and all(isinstance(t, torch.Tensor) for t in data):
        n = data[0].shape[0]
        stacked = example is None or (all(t.shape[0] == 1 for t in example) and
                                      [tuple(t.shape[1:]) for t in data] == [tuple(e.shape[1:]) for e in example])
        if stacked:
            samples = [tuple(t[i:i + 1] for t in data) for i in range(n)]
        else:
            samples = [data]
    elif isinstance(data, list) and data:
        samples = [(s,) if isinstance(s, torch.Tensor) else tuple(s) for s in data]
    else:
        raise InputValueError("data must be (inputs, labels), inputs stacked along the first dimension, or a "
                              "list of input tuples.")
    for s in samples:
        _check_finite(s)
    if labels is not None and len(labels) != len(samples):
        raise InputValueError(f"data has {len(samples)} samples but {len(labels)} labels.")
    return samples, labels, f"{len(samples)} samples" + (" with labels" if labels is not None else "")


def _same_samples(a: list, b: list) -> bool:
    import torch

    return len(a) == len(b) and all(
        len(x) == len(y) and all(torch.equal(s, t) for s, t in zip(x, y)) for x, y in zip(a, b))


def _looks_like_labels(y, x) -> bool:
    import torch

    try:
        y = torch.as_tensor(y)
    except Exception:
        return False
    n = x.shape[0] if isinstance(x, torch.Tensor) else len(x)
    return y.dim() == 1 and not y.is_floating_point() and len(y) == n


def _calibration(calibration, spec, default):
    """(calibration list or None for the model's own, number of samples)."""
    if calibration is None:
        return None, len(default) if default else 1
    if isinstance(calibration, int) and not isinstance(calibration, bool):
        if spec is None or spec.calibration_inputs is None:
            raise InputValueError("calibration=<int> picks the first N of a built-in model's calibration "
                                  "samples; for your own model pass calibration=[(x1,), (x2,), ...].")
        try:
            pool = spec.calibration_inputs(calibration)
        except TypeError:
            pool = spec.calibration_inputs()[:calibration]
        if len(pool) < calibration or calibration < 1:
            raise InputValueError(f"{spec.name} has {len(pool)} calibration samples; ask for 1 to {len(pool)}.")
        return [tuple(s) for s in pool], calibration
    samples = [(s,) if hasattr(s, "shape") else tuple(s) for s in calibration]
    if not samples:
        raise InputValueError("calibration is empty; pass at least one input tuple.")
    for s in samples:
        _check_finite(s)
    return samples, len(samples)


def quantize(module, example_inputs: tuple, calibration: list, target):
    """The PT2E int8 model exactly as labkit's pipeline builds it (same quantizer,
    config and calibration). Running it in PyTorch gives the 'fake-quant-int8' outputs."""
    import torch
    from executorch.backends.arm.ethosu import EthosUCompileSpec

    from . import pipeline

    ep = module if isinstance(module, torch.export.ExportedProgram) else pipeline.export_module(module, example_inputs)
    spec = EthosUCompileSpec(target.accelerator, system_config=target.system_config,
                             memory_mode=target.memory_mode, config_ini=target.vela_ini_argument())
    return pipeline.quantize(ep, calibration, spec)


def outputs(model, target="corstone-320", *, data=None, calibration=None, example_inputs=None,
            progress: bool = False):
    """Every output value of the model on ``data`` from the three sources, one row per (source, sample).

    Columns: ``y0``, ``y1``, ... (all outputs, flattened) and ``label`` when ``data`` has labels.
    ``attrs``: model, target, data, calibration_samples, output_scale (the int8 step of the
    program's output), report (the compile's cache key). ``evaluate`` summarises this table.
    """
    import numpy as np
    import pandas as pd
    import torch

    from .api import compile as compile_model
    from .targets import Target, resolve_target

    resolved = target if isinstance(target, Target) else resolve_target(target)
    m = _resolve(model, example_inputs)
    if data is None and m.evaluation is None and m.example is None:
        raise InputValueError(f"{m.name} needs example_inputs=(tensor, ...) or data= to evaluate on.")
    samples, labels, described = _samples(m.evaluation if data is None else data, m.example)
    example = m.example if m.example is not None else samples[0]
    calib, n_calib = _calibration(calibration, m.spec, m.calibration)
    if calib is not None and m.calibration is not None and _same_samples(calib, m.calibration):
        calib = None  # the model's own calibration: the same compile as labkit.compile(name)
    used_calibration = calib if calib is not None else (m.calibration or [example])

    # The compiled program (in the worker, cached), then the same quantization here for fake-quant.
    if m.spec is not None and calib is None and isinstance(model, str):
        report = compile_model(model, resolved, progress=progress)
    elif m.spec is not None:
        variant = dataclasses.replace(m.spec, calibration_inputs=lambda: used_calibration)
        report = compile_model(variant, resolved, progress=progress, name=m.name)
    else:
        report = compile_model(m.path or m.module, resolved, example_inputs=example,
                               calibration_inputs=calib, progress=progress, name=m.name)
    program = _program_for(report)
    fake_quant = quantize(m.exported or m.module, example, used_calibration, resolved)
    module = m.module
    _check_same_quantization(fake_quant, program)

    def run_all(fn):
        with torch.no_grad():
            rows = []
            for s in samples:
                out = fn(s)
                out = (out,) if isinstance(out, torch.Tensor) else tuple(out)
                rows.append(torch.cat([o.detach().float().reshape(-1) for o in out]).numpy())
            return np.stack(rows)

    module.eval()
    with quiet_native_stdout():
        results = {
            "pytorch-float": run_all(lambda s: module(*s)),
            "fake-quant-int8": run_all(lambda s: fake_quant(*s)),
            "tosa-reference": run_all(lambda s: program.run(tuple(s))),
        }
    frames = []
    for source, values in results.items():
        df = pd.DataFrame(values, columns=[f"y{i}" for i in range(values.shape[1])])
        if labels is not None:
            df.insert(0, "label", labels.numpy())
        df.index = pd.MultiIndex.from_product([[source], range(len(df))], names=["source", "sample"])
        frames.append(df)
    table = pd.concat(frames)
    first = program.plan.values[program.plan.outputs[0]].val.sizes
    classes = int(first[1]) if len(first) == 2 and first[0] == 1 and first[1] > 1 else 0
    table.attrs.update({"model": m.name, "target": resolved.accelerator, "data": described, "classes": classes,
                        "calibration_samples": n_calib, "output_scale": _output_scale(program),
                        "report": str(report.summary.get("cache_key", ""))})
    return table


def _output_scale(program: _Program) -> float:
    """The quantization step of the program's (first) output: the scale of the
    dequantize that produces it, or NaN when the output is not dequantized on the CPU."""
    target = program.plan.outputs[0]
    for ins in program.instructions:
        args = ins.instr_args
        if type(args).__name__ == "KernelCall" and target in args.args[-2:]:
            name = program.ops[args.op_index][3]
            if "dequantize_per_tensor" in name:
                return float(program.template[args.args[1]])
    return float("nan")


def _check_same_quantization(fake_quant, program: _Program) -> None:
    """The input quantization of the fake-quant graph must be the one compiled into the
    .pte: otherwise the two did not calibrate identically and comparing them is moot."""
    first = None
    for node in fake_quant.graph.nodes:
        if node.op == "call_function" and "quantize_per_tensor" in str(node.target) \
                and "dequantize" not in str(node.target) and node.args[0].op == "placeholder":
            first = float(node.args[1])
            break
    pte_scale = None
    for ins in program.instructions:
        args = ins.instr_args
        if type(args).__name__ == "KernelCall":
            name = program.ops[args.op_index][3]
            if "quantize_per_tensor" in name and "dequantize" not in name:
                pte_scale = float(program.template[args.args[1]])
                break
    if first is not None and pte_scale is not None and abs(first - pte_scale) > 1e-6 * abs(pte_scale):
        warnings.warn(f"the fake-quant model quantizes its input with scale {first:g} but the compiled program "
                      f"with {pte_scale:g}: calibration differed, so fake-quant and tosa-reference are not "
                      "the same int8 model", stacklevel=3)


def summarize(table):
    """evaluate()'s summary of an ``outputs`` table: one row per source."""
    import numpy as np
    import pandas as pd

    ycols = [c for c in table.columns if str(c).startswith("y")]
    ref = table.loc["pytorch-float", ycols].to_numpy()
    labels = table.loc["pytorch-float", "label"].to_numpy() if "label" in table.columns else None
    classes = int(table.attrs.get("classes", 0))  # top-1 and accuracy: a (1, classes) first output only
    rows = []
    for source in SOURCES:
        y = table.loc[source, ycols].to_numpy()
        diff = np.abs(y - ref)
        denom = np.linalg.norm(y, axis=1) * np.linalg.norm(ref, axis=1)
        cos = np.where(denom > 0, (y * ref).sum(axis=1) / np.where(denom > 0, denom, 1), 1.0)
        top1 = y[:, :classes].argmax(1) if classes else None
        row = {"source": source,
               "accuracy": float((top1 == labels).mean()) if classes and labels is not None else float("nan"),
               "top1_agreement": float((top1 == ref[:, :classes].argmax(1)).mean()) if classes
               else float("nan"),
               "max_abs_error": float(diff.max()), "mean_abs_error": float(diff.mean()),
               "mean_cosine": float(cos.mean()), "samples": len(y)}
        rows.append(row)
    out = pd.DataFrame(rows).set_index("source")
    out.attrs.update(table.attrs)
    return out


def evaluate(model, target="corstone-320", *, data=None, calibration=None, example_inputs=None,
             progress: bool = False):
    """Float vs int8: one row per source ('pytorch-float', 'fake-quant-int8', 'tosa-reference').

    Columns: ``accuracy`` (when ``data`` — or the model's own evaluation data — has labels),
    ``top1_agreement``, ``max_abs_error``, ``mean_abs_error`` and ``mean_cosine`` against the
    float outputs, and ``samples``. ``attrs`` records the model, target, data, number of
    calibration samples and the output's int8 step (``output_scale``).

    model: a built-in name, a ModelSpec, an nn.Module (with ``example_inputs`` or ``data``)
        or a .pt2 path. data: (inputs, labels), inputs stacked along dim 0, or a list of input
        tuples; default: the model's evaluation data, else 32 seeded random inputs.
    calibration: None (the model's own), an int N (the first N of a built-in model's
        calibration samples) or a list of input tuples.
    """
    return summarize(outputs(model, target, data=data, calibration=calibration,
                             example_inputs=example_inputs, progress=progress))
