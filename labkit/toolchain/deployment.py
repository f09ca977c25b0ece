"""The buffers a deployment of a compiled program needs, by the rules of ExecuTorch's
bare-metal Ethos-U runtime (``examples/arm/executor_runner`` with
``backends/arm/runtime``), read from the .pte and Vela's output of this compile:

- the .pte itself, used in place (weights and command streams are read from it): each NPU
  partition's command stream, weights and the rest of its delegate payload, and the CPU
  program (constants, instructions, tensor metadata);
- each partition's Ethos-U scratch, the ``scratch_size`` block of its ``vela_bin_stream``
  (equal to Vela's ``scratch_shape``), which the backend takes from the temp allocator at
  every execute; the temp allocator is reset after each instruction, so its pool needs the
  largest single need, not the sum (``EthosUBackend.cpp``, ``method.cpp``);
- each partition's fast scratch (Dedicated_Sram memory modes): Vela's ``scratch_fast_shape``,
  one ``ethosu_fast_scratch`` array the runner passes to every partition; it is not in the .pte;
- ExecuTorch's memory-planned buffers, ``execution_plan[0].non_const_buffer_sizes`` (entry 0
  reserved), which hold the CPU operators' tensors and the program's inputs and outputs;
- the method allocator's own structures: what ``Method::init`` allocates (one EValue per
  value, a TensorImpl and strides per tensor, lists, delegate handles, chains, instruction
  arguments), replayed here with the 32-bit Cortex-M sizes of those structs: an estimate;
- temp memory a CPU kernel asks for at run time (portable ``aten::topk``: 16 bytes an element).

Each row: item, kind, bytes, partition (or None), source. Rules and their sources, in
full: docs/boards.md. Read from ExecuTorch 1.5.1's Python (``deserialize_pte_binary``),
the ``vela_bin_stream`` layout of ``backends/arm/runtime/VelaBinStream.cpp`` and Vela's npz.
"""

from __future__ import annotations

import struct
from pathlib import Path

_HEADER = struct.Struct("<16sIB11s")  # a vela_bin_stream block: name, unpadded size, external flag, reserved
RUNTIME = "ExecuTorch runtime"  # the source of the rules (ExecuTorch's C++ runtime, read for labkit)
# (size, alignment) of the runtime's structs on 32-bit Cortex-M: EValue is a union of 8 bytes and a tag.
_STRUCTS = {"EValue": (16, 8), "pointer": (4, 4), "bool": (1, 1), "int64": (8, 8), "int32": (4, 4),
            "uint8": (1, 1), "TensorImpl": (32, 4), "BoxedEvalueList": (12, 4), "ArrayRef": (8, 4),
            "OptionalTensor": (8, 4), "BackendDelegate": (40, 8), "CompileSpec": (12, 4), "ExecutionHandle": (36, 4),
            "Chain": (16, 4), "InstructionArgs": (8, 4)}
_ELEMENT_BYTES = {"BYTE": 1, "CHAR": 1, "SHORT": 2, "INT": 4, "LONG": 8, "HALF": 2, "FLOAT": 4, "DOUBLE": 8,
                  "BOOL": 1, "QINT8": 1, "QUINT8": 1, "QINT32": 4, "BFLOAT16": 2, "UINT16": 2, "UINT32": 4,
                  "UINT64": 8}


def buffers(pte: Path, partitions: list) -> list[dict]:
    """The rows for a compiled program (``partitions``: the Report's Partitions, for Vela's npz)."""
    from executorch.exir._serialize._program import deserialize_pte_binary

    data = Path(pte).read_bytes()
    program = deserialize_pte_binary(data).program  # segments moved back inline
    plan = program.execution_plan[0]
    rows: list[dict] = []

    def row(item, kind, nbytes, source, partition=None):
        rows.append({"item": item, "kind": kind, "bytes": int(nbytes), "partition": partition, "source": source})

    npu = [(d, bytes(program.backend_delegate_data[d.processed.index].data)) for d in plan.delegates
           if d.id == "EthosUBackend"]
    fast = [_fast_scratch(p.vela_dir) for p in partitions]
    in_payloads = 0
    for k, (_, payload) in enumerate(npu):
        blocks = _blocks(payload)
        for name, what in (("cmd_data", "command stream"), ("weight_data", "weights")):
            if name in blocks:
                row(f".pte: NPU partition {k} {what}", "program", len(blocks[name]),
                    "vela_bin_stream block in the .pte (Vela's output, used in place)", k)
        rest = len(payload) - sum(len(blocks.get(n, b"")) for n in ("cmd_data", "weight_data"))
        row(f".pte: NPU partition {k} block headers and I/O descriptors", "program", rest,
            "the delegate payload in the .pte", k)
        in_payloads += len(payload)
    row(".pte: the CPU program (constants, instructions, tensor metadata)", "program", len(data) - in_payloads,
        "the .pte's size less its NPU payloads")
    for k, (_, payload) in enumerate(npu):
        row(f"Ethos-U scratch of NPU partition {k} (Vela's tensor arena)", "scratch",
            struct.unpack_from("<I", _blocks(payload)["scratch_size"])[0],
            "the partition's scratch_size block in the .pte (Vela's scratch_shape)", k)
        if k < len(fast) and fast[k]:
            row(f"Ethos-U fast scratch of NPU partition {k}", "fast_scratch", fast[k],
                "Vela's scratch_fast_shape (out_vela.npz)", k)
    for mem_id, size in enumerate(plan.non_const_buffer_sizes[1:], start=1):
        if size:
            row(f"planned buffer {mem_id}: the CPU operators' tensors and the program's inputs and outputs",
                "planned", size, "execution_plan[0].non_const_buffer_sizes (ExecuTorch's memory plan in the .pte)")
    for label, indices in (("inputs", plan.inputs), ("outputs", plan.outputs)):
        tensors = [plan.values[i].val for i in indices if hasattr(plan.values[i].val, "sizes")]
        if tensors:
            row(f"the program's {label} (inside the planned buffers)", "io", sum(map(_tensor_bytes, tensors)),
                "execution_plan[0].values: the inputs' and outputs' tensors")
    row("method allocator: the runtime's own structures (values, tensors, delegates, instructions)", "runtime",
        _runtime_structures(plan), f"{RUNTIME}: Method::init's allocations replayed with 32-bit struct sizes "
        "(an estimate)")
    for op, nbytes in _kernel_temp(plan):
        row(f"temp memory of {op}", "kernel_temp", nbytes, f"{RUNTIME}: the portable kernel's allocate_temp")
    return rows


def _blocks(payload: bytes) -> dict[str, bytes]:
    """The inline blocks of a vela_bin_stream: a 32-byte header (name, size, external flag),
    the data padded to 16 bytes; 'vela_bin_stream' first, 'vela_end_stream' last."""
    blocks, offset = {}, 0
    while offset + _HEADER.size <= len(payload):
        raw, size, external, _ = _HEADER.unpack_from(payload, offset)
        name = raw.split(b"\0", 1)[0].decode("ascii", "replace")
        if not external:
            blocks[name] = payload[offset + _HEADER.size:offset + _HEADER.size + size]
        offset += _HEADER.size + (size + 15) // 16 * 16
        if name == "vela_end_stream":
            break
    return blocks


def _fast_scratch(vela_dir: Path) -> int:
    import numpy as np

    npz = Path(vela_dir) / "out_vela.npz"
    if not npz.is_file():
        return 0
    with np.load(npz, allow_pickle=False) as z:
        return int(z["scratch_fast_shape"][0]) if "scratch_fast_shape" in z.files else 0


def _tensor_bytes(t) -> int:
    n = _ELEMENT_BYTES.get(t.scalar_type.name, 4)
    for d in t.sizes:
        n *= d
    return n


class _Bump:
    """The runner's bump allocator: align, then advance (no header per allocation)."""

    def __init__(self):
        self.used = 0

    def take(self, struct_name: str, count: int = 1) -> None:
        size, align = _STRUCTS[struct_name]
        self.used = (self.used + align - 1) // align * align + size * count


def _runtime_structures(plan) -> int:
    """Bytes Method::init takes from the method allocator besides the planned buffers, and the
    runner's input list: values, per-tensor impls and strides, lists, delegates (with their
    compile specs and the Ethos-U handle), chains and each instruction's argument list."""
    from executorch.exir import schema as s

    b = _Bump()
    b.take("EValue", len(plan.values))
    if plan.inputs:
        b.take("bool", len(plan.inputs))
    for v in plan.values:
        x = v.val
        if isinstance(x, s.Tensor):
            b.take("int32", len(x.sizes))
            b.take("TensorImpl")
        elif isinstance(x, s.IntList):
            b.take("pointer", len(x.items))
            b.take("int64", len(x.items))
            b.take("BoxedEvalueList")
        elif isinstance(x, (s.BoolList, s.DoubleList, s.String)):
            b.take("ArrayRef")
        elif isinstance(x, (s.TensorList, s.OptionalTensorList)):
            b.take("pointer", 2 * len(x.items))
            b.take("BoxedEvalueList")
    b.take("BackendDelegate", len(plan.delegates))
    for d in plan.delegates:
        if d.compile_specs:
            b.take("CompileSpec", len(d.compile_specs))
        if d.id == "EthosUBackend":
            b.take("ExecutionHandle")
    b.take("Chain", len(plan.chains))
    for chain in plan.chains:
        b.take("pointer", len(chain.instructions))  # the resolved kernels
        b.take("InstructionArgs", len(chain.instructions))
        for ins in chain.instructions:
            if hasattr(ins.instr_args, "args"):
                b.take("pointer", len(ins.instr_args.args))
    b.take("EValue", len(plan.inputs))  # the runner's list of inputs
    return b.used


def _kernel_temp(plan) -> list[tuple[str, int]]:
    """What CPU kernels take from the temp allocator as they run: ExecuTorch 1.5.1's portable
    aten::topk, 16 bytes an element (a value and its index); the cortex_m kernels plan theirs."""
    from executorch.exir import schema as s

    out = []
    for chain in plan.chains:
        for ins in chain.instructions:
            args = ins.instr_args
            if isinstance(args, s.KernelCall) and plan.operators[args.op_index].name == "aten::topk":
                tensor = plan.values[args.args[0]].val
                dim = plan.values[args.args[2]].val.int_val if len(args.args) > 2 else -1
                out.append(("aten::topk", 16 * max(tensor.sizes[dim] if tensor.sizes else 1, 1)))
    return out
