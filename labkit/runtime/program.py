"""The .pte interpreter: an ExecuTorch program read from its file and run on the
host the way the runtime runs it. Memory-planned tensors are views into per-run
arenas at their planned offsets (so the view ops ExecuTorch removed, which alias
memory, keep working), kernels run the same operators in PyTorch (out-variant
schemas), and each Ethos-U delegate runs its partition's TOSA graph on the TOSA
reference model."""

from __future__ import annotations

import dataclasses
from functools import lru_cache
from pathlib import Path

from ..errors import InputValueError, SimulationError
from ..report import Report
from ..toolchain import pte, vela
from ..toolchain.native import quiet_stdout
from ..toolchain.pte import SCALAR_TYPES, torch_dtype
from .tensors import from_dim_order, from_dim_order_view, numel
from .tosa_reference import TosaPartition


def load(report) -> "Program":
    """The Program of a Report (or of a saved report's folder), read once and kept."""
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
    path = Path(report.artifacts.pte)
    if not path.is_file():
        raise SimulationError(f"The report's .pte ({path}) is missing: its cache entry was removed. "
                              "Compile again (labkit.compile) and simulate the new report.")
    return _load(str(path), path.stat().st_mtime_ns, tuple(report.artifacts.partitions))


@lru_cache(maxsize=8)
def _load(path: str, _mtime: int, partitions: tuple) -> "Program":
    return Program(Path(path), list(partitions))


class Program:
    """An ExecuTorch program read from its .pte and run on the host the way the runtime
    runs it: memory-planned tensors are views into per-run arenas at their planned
    offsets (so the view ops ExecuTorch removed, which alias memory, keep working),
    kernels run the same operators in PyTorch, delegates run on the TOSA reference model."""

    def __init__(self, path: Path, partitions: list):
        program = pte.read(path).program
        if len(program.execution_plan) != 1:
            raise SimulationError(f"{path.name} has {len(program.execution_plan)} methods; the host runner "
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
        self.input_specs = [(tuple(plan.values[i].val.sizes), torch_dtype(plan.values[i].val.scalar_type))
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
                flat = torch.frombuffer(bytearray(storage), dtype=torch_dtype(val.scalar_type))[:numel(val.sizes)]
                return from_dim_order(flat, list(val.sizes), list(val.dim_order)).clone()
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
        dtype = torch_dtype(val.scalar_type)
        nbytes = numel(sizes) * torch.empty((), dtype=dtype).element_size()
        flat = arenas[a.memory_id][offset:offset + nbytes].view(dtype)
        return from_dim_order_view(flat, sizes, list(val.dim_order))

    # -- running
    def run_batch(self, inputs: tuple) -> tuple:
        """Run ``inputs``; a leading dimension of N on a batch-1 program runs N samples and stacks the outputs."""
        import torch

        if len(inputs) != len(self.input_specs):
            raise InputValueError(f"the compiled program takes {len(self.input_specs)} input(s) "
                                  f"({self._describe()}), got {len(inputs)}.")
        shapes = [tuple(t.shape) for t in inputs]
        wanted = [s for s, _ in self.input_specs]
        if shapes == wanted:
            return self.run(inputs)
        batched = all(len(s) == len(w) and w and w[0] == 1 and s[1:] == w[1:] for s, w in zip(shapes, wanted))
        if not batched or len({s[0] for s in shapes}) != 1:
            raise InputValueError(f"inputs of shape {', '.join(map(str, shapes))} do not match the compiled "
                                  f"program ({self._describe()}). Pass tensors of those shapes (or N samples "
                                  "stacked along the first dimension).")
        with quiet_stdout():
            runs = [self.run(tuple(t[i:i + 1] for t in inputs)) for i in range(shapes[0][0])]
        return tuple(torch.cat(parts) for parts in zip(*runs))

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
        # that schema in Python, the functional arguments come first.
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
        out = values[outs[0]] if outs else None
        if "dtype" not in named and "dtype" in _argument_types(schema) and hasattr(out, "dtype"):
            kwargs["dtype"] = out.dtype  # an out variant without dtype (full.out, _to_dim_order_copy.out) uses out's
        portable = _INTEGER_KERNELS.get(name)
        try:
            result = portable(op, kwargs) if portable is not None else op(**kwargs)
        except Exception as e:
            raise _kernel_error(name, kwargs, e) from None
        results = result if isinstance(result, (tuple, list)) and len(schema.returns) > 1 else (result,)
        # The out arguments and then the returns both name the results, in order.
        done = set()
        for k, i in enumerate(outs):
            if i not in done:
                self._check_shape(name, i, results[k % len(results)])
                self._store(values, i, results[k % len(results)], arenas)
                done.add(i)

    def _check_shape(self, name, index, result) -> None:
        """Refuse a result the runtime could not hold: a tensor's rank is fixed and a static
        tensor's shape too (ExecuTorch's resize_tensor). A mismatch means the host runner ran
        the operator with the wrong arguments, which must not pass silently."""
        import torch

        if isinstance(result, (list, tuple)) and isinstance(self.template[index], _Ref):
            for j, r in zip(self.template[index], result):
                self._check_shape(name, j, r)
            return
        val = self.planned.get(index)
        if val is None or not isinstance(result, torch.Tensor):
            return
        planned, got = [int(d) for d in val.sizes], list(result.shape)
        static = int(val.shape_dynamism) == 0
        if len(got) != len(planned) or (got != planned if static else numel(got) > numel(planned)):
            raise SimulationError(f"the CPU operator {name} gave a result of shape {tuple(got)} where the "
                                  f"program plans {tuple(planned)}: labkit's host runner ran it with the wrong "
                                  "arguments (a labkit bug; please report it with the model).")

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
    import executorch.backends.cortex_m.passes  # noqa: F401  (registers the cortex_m ops' Python references)
    import executorch.exir  # noqa: F401  (registers ExecuTorch's own ops, e.g. dim_order_ops)
    import executorch.kernels.quantized  # noqa: F401  (registers the quantized_decomposed out variants)
    import torch
    import torch.ao.quantization.fx._decomposed  # noqa: F401  (the quantized_decomposed functional ops)

    ns, _, op_name = name.partition("::")
    display = f"{name}.{overload}"
    try:
        packet = getattr(getattr(torch.ops, ns), op_name)
    except (AttributeError, RuntimeError):
        raise SimulationError(f"the CPU operator {name} is not available in PyTorch, so the host runner "
                              "cannot run it.") from None
    try:
        listed = getattr(packet, overload)
    except AttributeError:
        listed = None
    if listed is not None and not _is_out(listed._schema):  # a functional kernel (e.g. aten::sym_size.int)
        return listed, listed._schema, None, display
    if listed is None:  # no out variant in Python: the functional named like it, arguments first
        stem = "default" if overload == "out" else overload.removesuffix("_out")
        op = next((getattr(packet, c) for c in (stem, "default") if c in packet.overloads()
                   and not _is_out(getattr(packet, c)._schema)), None)
        if op is None:
            raise SimulationError(f"no functional PyTorch overload found for the CPU operator {display}.")
        return op, op._schema, None, display
    op = _functional_of(packet, listed._schema)
    if op is None:
        raise SimulationError(f"no functional PyTorch overload found for the CPU operator {display}.")
    return op, op._schema, listed._schema, display


def _functional_of(packet, out_schema):
    """The overload ExecuTorch turned into the out variant ``out_schema``. exir's to_out_variant
    pairs the overloads of one signature (torchgen's, which drops the out arguments and the
    dtype/layout/device the out tensor carries), so the name alone misleads: ``mean.out`` is
    ``mean.dim``'s, not ``mean.default``'s (which ignores dim). A mutable op (writing e.g.
    running stats) when there is no functional one."""
    key = _signature(str(out_schema))[1]
    found = {}
    for overload in packet.overloads():
        op = getattr(packet, overload)
        kind, signature = _signature(str(op._schema))
        if key is not None and signature == key:
            found.setdefault(kind, op)
    return found.get("functional") or found.get("mutable") or _taking_all_arguments(packet, out_schema)


def _taking_all_arguments(packet, out_schema):
    """For a schema torchgen cannot parse: the functional overload that takes every argument
    of the out variant (same name and type) and needs no other."""
    wanted = {a.name: str(a.type) for a in out_schema.arguments if not a.is_out}
    for overload in packet.overloads():
        op = getattr(packet, overload)
        types = _argument_types(op._schema)
        if (not _is_out(op._schema) and all(types.get(n) == t for n, t in wanted.items())
                and all(a.name in wanted or a.has_default_value() for a in op._schema.arguments)):
            return op
    return None


def _is_out(schema) -> bool:
    return any(a.is_out for a in schema.arguments)


def _argument_types(schema) -> dict:
    return {a.name: str(a.type) for a in schema.arguments}


@lru_cache(maxsize=None)
def _signature(schema: str):
    """(kind, signature without returns) of a schema, as exir's to_out_variant groups
    overloads; (None, None) for a schema torchgen cannot parse."""
    import dataclasses

    from torchgen.model import FunctionSchema

    try:
        parsed = FunctionSchema.parse(schema)
    except Exception:  # noqa: BLE001 - torchgen rejects some prim schemas; exir skips them too
        return None, None
    return parsed.kind().name, dataclasses.replace(parsed.signature(), returns=())


def _convert_arg(value, argument):
    import torch

    kind = str(argument.type)
    if value is not None and isinstance(value, int) and not isinstance(value, bool):
        if "ScalarType" in kind:
            return torch_dtype(value)
        if "MemoryFormat" in kind:
            return [torch.contiguous_format, torch.preserve_format, torch.channels_last,
                    torch.channels_last_3d][value]
        if "Layout" in kind:
            return torch.strided
    return value


def _kernel_error(name: str, kwargs: dict, error: Exception) -> SimulationError:
    """The error of a CPU operator PyTorch failed on: for integer tensors PyTorch has no kernel
    for (ExecuTorch's portable kernels have some), one that says so and what still works."""
    import re

    import torch

    message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    tensors = [t for v in kwargs.values() for t in (v if isinstance(v, (list, tuple)) else [v])
               if isinstance(t, torch.Tensor)]
    integer = sorted({str(t.dtype).removeprefix("torch.") for t in tensors
                      if not (t.dtype.is_floating_point or t.dtype.is_complex)})
    refused = isinstance(error, NotImplementedError) or re.search(r"not implemented for|only supports? floating",
                                                                  message)
    if not (integer and refused):
        return SimulationError(f"the CPU operator {name} failed in PyTorch: {type(error).__name__}: {message}")
    return SimulationError(
        f"labkit's host runner cannot run the CPU operator {name} on {'/'.join(integer)} tensors: PyTorch has no "
        f"kernel for that dtype ({type(error).__name__}: {message}), and the host runner reproduces ExecuTorch's "
        f"integer kernels only for {', '.join(sorted(_INTEGER_KERNELS))}. ExecuTorch's portable kernel may "
        "reject the dtype too (its avg_pool2d, softmax and gelu reject int8). Only running "
        "this program on the host stops here (simulate, numerics, evaluate): the compile, its report and every "
        "other part of labkit still work for this model, and the FVP runs the real program with ExecuTorch's "
        "own kernels (labkit.fvp.run(report)).")


# -- ExecuTorch's portable kernels where they compute integers differently from PyTorch, or where
# PyTorch has no integer kernel: each takes the functional op and its arguments, and runs the op
# itself for the dtypes PyTorch computes as ExecuTorch does.

_INTEGER = ("uint8", "int8", "int16", "int32", "int64")  # ExecuTorch's REAL types less float, double


def _is_integer(t) -> bool:
    return str(t.dtype).removeprefix("torch.") in _INTEGER


def _upsample_scales(x, output_size, scale_factors, align_corners: bool) -> list:
    """[(input size, output size, kernel scale)] of the height and width, as ExecuTorch's
    resize_upsample_2d and area_pixel_compute_scale (upsample_util) compute them, in double: the
    output size truncated from the size times the factor, the scale 1 / factor (the output
    size over the input's when sizes are given), or (in - 1) / (out - 1) with aligned corners."""
    sizes = [int(n) for n in x.shape[-2:]]
    if scale_factors is not None:
        factors = [float(f) for f in scale_factors]
        outs = [int(n * f) for n, f in zip(sizes, factors)]
    else:
        outs = [int(o) for o in output_size]
        factors = [o / n for o, n in zip(outs, sizes)]
    if align_corners:
        scales = [(n - 1) / (o - 1) if o > 1 else 0.0 for n, o in zip(sizes, outs)]
    else:
        scales = [1.0 / f for f in factors]
    return list(zip(sizes, outs, scales))


def _source_index_and_lambda(in_size: int, out_size: int, scale: float, align_corners: bool):
    """ExecuTorch's compute_source_index_and_lambda (upsample_util.h) for every output index, in
    float32 as its bilinear kernel calls it (the scale cast to float): the two source indices
    and their weights."""
    import torch

    f32 = torch.float32
    dst = torch.arange(out_size)
    if out_size == in_size:
        return dst, dst, torch.ones(out_size, dtype=f32), torch.zeros(out_size, dtype=f32)
    ratio = torch.tensor(scale, dtype=f32)
    o = dst.to(f32)
    real = ratio * o if align_corners else (ratio * (o + 0.5) - 0.5).clamp_min(0)
    index0 = real.floor().to(torch.int64).clamp_max(in_size - 1)
    lambda1 = (real - index0.to(f32)).clamp(0, 1)
    index1 = index0 + (index0 < in_size - 1).to(torch.int64)
    return index0, index1, 1 - lambda1, lambda1


def _upsample_bilinear2d(op, kwargs):
    """ExecuTorch's upsample_bilinear2d.vec_out for integer tensors (PyTorch has none but uint8,
    which rounds): each output the float32 blend (top left * w0 + top right * w1) * h0 +
    (bottom left * w0 + bottom right * w1) * h1, converted to the dtype as C++ converts,
    truncating toward zero."""
    import torch

    x = kwargs["input"]
    if not _is_integer(x):
        return op(**kwargs)
    (h, w) = _upsample_scales(x, kwargs.get("output_size"), kwargs.get("scale_factors"), kwargs["align_corners"])
    h0, h1, wh0, wh1 = _source_index_and_lambda(*h, kwargs["align_corners"])
    w0, w1, ww0, ww1 = _source_index_and_lambda(*w, kwargs["align_corners"])
    f = x.to(torch.float32)
    top, bottom = f[..., h0, :], f[..., h1, :]
    top = top[..., w0] * ww0 + top[..., w1] * ww1
    bottom = bottom[..., w0] * ww0 + bottom[..., w1] * ww1
    return (top * wh0[:, None] + bottom * wh1[:, None]).to(x.dtype)


def _upsample_nearest2d(op, kwargs):
    """ExecuTorch's upsample_nearest2d.vec_out for integer tensors (PyTorch has none but uint8):
    the source index min(floor(index * scale), size - 1), in float32 (nearest_neighbor_compute_
    source_index)."""
    import torch

    x = kwargs["input"]
    if not _is_integer(x):
        return op(**kwargs)
    index = [torch.floor(torch.arange(o).to(torch.float32) * torch.tensor(s, dtype=torch.float32))
             .to(torch.int64).clamp_max(n - 1)
             for n, o, s in _upsample_scales(x, kwargs.get("output_size"), kwargs.get("scale_factors"), False)]
    return x[..., index[0], :][..., index[1]].contiguous()


def _adaptive_avg_pool2d(op, kwargs):
    """ExecuTorch's _adaptive_avg_pool2d.out for int64 tensors (PyTorch has no integer kernel;
    ExecuTorch's takes int64 and floating point only): each window [floor(i * in / out),
    ceil((i + 1) * in / out)) summed in float32 row by row, divided by its size in float32 and
    truncated toward zero."""
    import torch

    x = kwargs["self"]
    if x.dtype != torch.int64:
        return op(**kwargs)
    f32 = torch.float32
    windows = []
    for n, o in zip(x.shape[-2:], kwargs["output_size"]):
        i, size = torch.arange(int(o)), torch.full((int(o),), float(o))  # a tensor: no scalar fast path
        start = torch.floor((i * n).to(f32) / size).to(torch.int64)
        end = torch.ceil(((i + 1) * n).to(f32) / size).to(torch.int64)
        windows.append((start, end - start, int(n)))
    (h0, hn, in_h), (w0, wn, in_w) = windows
    f = x.to(f32)
    total = torch.zeros(*x.shape[:-2], len(h0), len(w0), dtype=f32)
    for dh in range(int(hn.max())):  # in ExecuTorch's order: the window's rows, each left to right
        rows = f[..., (h0 + dh).clamp_max(in_h - 1), :]
        for dw in range(int(wn.max())):
            inside = (dh < hn)[:, None] & (dw < wn)[None, :]
            total = torch.where(inside, total + rows[..., (w0 + dw).clamp_max(in_w - 1)], total)
    return (total / (hn[:, None] * wn[None, :]).to(f32)).to(x.dtype)


def _remainder(op, kwargs):
    """ExecuTorch's remainder.Tensor_out / Scalar_out: integers by C's %, the sign of the
    dividend (remainder_override, math_util.h), where PyTorch's takes the divisor's."""
    import torch

    result = op(**kwargs)
    if isinstance(result, torch.Tensor) and _is_integer(result):
        return torch.fmod(kwargs["self"], kwargs["other"]).to(result.dtype)
    return result


_INTEGER_KERNELS = {
    "aten::upsample_bilinear2d.vec_out": _upsample_bilinear2d,
    "aten::upsample_nearest2d.vec_out": _upsample_nearest2d,
    "aten::_adaptive_avg_pool2d.out": _adaptive_avg_pool2d,
    "aten::remainder.Tensor_out": _remainder,
    "aten::remainder.Scalar_out": _remainder,
}


def _match_delegates(program, plan, partitions: list) -> list:
    """The TOSA partition of each delegate, matched by Vela's command stream, which
    the delegate's payload embeds unchanged (so the match is exact, not by order)."""
    graphs, streams = [], []
    for p in partitions:
        if p.tosa is None or not p.tosa.is_file():
            raise SimulationError(f"the TOSA file of an NPU partition is missing ({p.tosa}). Compile again.")
        stream = vela.read_command_stream(p.vela_dir)
        io = {} if stream is None else {k: v for k, v in (("input", stream.input_elem_sizes),
                                                         ("output", stream.output_elem_sizes)) if v is not None}
        graphs.append(TosaPartition(p.tosa, io))
        streams.append(stream.cmd_data if stream else None)
    for delegate in plan.delegates:
        if "EthosU" not in delegate.id:
            raise SimulationError(f"delegate {delegate.id} is not an Ethos-U delegate; the host runner "
                                  "simulates Ethos-U partitions only.")
    matched = pte.delegate_partitions(program, plan, streams)
    if None in matched:
        raise SimulationError(f"the program has {len(plan.delegates)} NPU delegates but the report "
                              f"lists {len(graphs)} partitions. Compile again.")
    return [graphs[i] for i in matched]


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
                dtype = SCALAR_TYPES.get(val.scalar_type, str(val.scalar_type))
                own = torch_dtype(val.scalar_type).itemsize if val.scalar_type in SCALAR_TYPES else None
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

