"""Which kernel each CPU operator of a compiled program runs on.

ExecuTorch 1.5.1 gives the operators outside the NPU delegates one of two kernel
sets. ``cpu_kernels="cmsis-nn"`` (labkit's default) runs the Cortex-M backend's
``CortexMPassManager`` on the lowered program, as ExecuTorch's own Cortex-M flow does
(``backends/arm/scripts/aot_arm_compiler.py``): quantize/dequantize become
``cortex_m`` kernels and int8 operators it can map (pooling, convolution, linear,
add, ...) become CMSIS-NN kernels, so a rejected int8 pool no longer round-trips
through float. ``"portable"`` leaves them as they are: ExecuTorch's portable
(float) kernels and its quantize/dequantize kernels. ExecuTorch's Ethos-U example
compiler sits between the two (it only swaps quantize/dequantize); labkit offers
the two ends of the choice.

The CMSIS-NN variant (scalar, DSP or Helium/MVE) is chosen per core by the Cortex-M
backend's ``CortexMTargetConfig``; it changes scratch buffers and one argument of
``quantized_linear``, not the kernel names, and must match the firmware's CMSIS-NN
build.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..errors import InputValueError
from ..fx import node_origins, op_name, rows_by_origin
from . import cost_model
from .work import base, work_of

CPU_KERNELS = ("cmsis-nn", "portable")

_SKIP = {"getitem", "executorch_call_delegate", "alloc"}


def check(cpu_kernels: str) -> str:
    if cpu_kernels not in CPU_KERNELS:
        raise InputValueError(f"cpu_kernels={cpu_kernels!r} is not a CPU kernel set; use 'cmsis-nn' (the "
                              "Cortex-M backend's CMSIS-NN kernels, the default) or 'portable' (ExecuTorch's "
                              "portable kernels).")
    return cpu_kernels


def effective(cpu_kernels: str, quantization) -> str:
    """The kernel set a compile gets: 'cmsis-nn' only for int8 activations. The Cortex-M
    backend maps int8 operators (its quantizer is int8-only), and on a program with 16-bit
    activations its passes gave an NPU partition an int8 tensor where Vela's command
    stream expects int16 (digits_vit, a16w8, Ethos-U55): such a program keeps the portable
    kernels, and the report says so (``SIXTEEN_BIT_NOTE``)."""
    return "portable" if cpu_kernels == "cmsis-nn" and has_16bit_activations(quantization) else cpu_kernels


def has_16bit_activations(quantization) -> bool:
    schemes = [quantization.default, *(s for _, s in quantization.modules), *(s for _, s in quantization.types)]
    return any(s == "a16w8" for s in schemes)


SIXTEEN_BIT_NOTE = ("the CPU side runs on portable kernels, not CMSIS-NN: the Cortex-M backend maps int8 "
                    "operators only, and its passes break the 16-bit tensors at NPU partition boundaries")


def apply(edge, cpu_kernels: str, core: str):
    """The lowered EdgeProgramManager with the CPU kernel set applied."""
    if cpu_kernels == "portable":
        return edge
    from executorch.backends.cortex_m.passes.cortex_m_pass_manager import CortexMPassManager

    manager = CortexMPassManager(edge.exported_program(), target_config=_target_config(core))
    # As ExecuTorch's aot_arm_compiler does: the pass manager returns a new program.
    edge._edge_programs["forward"] = manager.transform()
    return edge


def isa(core: str) -> str:
    """'MVE' for Cortex-M55/M85: the CMSIS-NN variant the backend picks for the core."""
    return _target_config(core).backend.name


def _target_config(core: str):
    from executorch.backends.cortex_m.target_config import CortexMTargetConfig

    return CortexMTargetConfig.from_target_string(core)


@dataclass
class CpuKernel:
    """One kernel call of the program's CPU side."""

    node: str
    op: str  # e.g. cortex_m.quantized_avg_pool2d
    kernel: str  # e.g. "cortex_m.quantized_avg_pool2d · CMSIS-NN (MVE)"
    work: cost_model.Work
    origins: list  # the node's provenance (name, graph_id), nearest first


def cpu_kernels_of(graph_module, core: str) -> list[CpuKernel]:
    """Every kernel the program runs outside its delegates, in execution order."""
    out, core_isa = [], isa(core)
    for node in graph_module.graph.nodes:
        if node.op != "call_function":
            continue
        op = op_name(node.target)
        if op.split(".")[-1] in _SKIP or op in _SKIP or _is_memory_view(node, op):
            continue
        work = work_of(node, op, core_isa)
        out.append(CpuKernel(node.name, op, _label(op, work, core), work,
                             node_origins(node.meta.get("from_node"))))
    return out


def _is_memory_view(node, op: str) -> bool:
    """A view_copy that to_executorch makes a memory view (ReplaceViewCopyWithViewPass): no
    kernel runs. One that is a graph output stays a kernel call, as do the other view
    operators (squeeze_copy, unsqueeze_copy, ...)."""
    return base(op) == "aten.view_copy" and all(u.op != "output" for u in node.users)


def _label(op: str, work: cost_model.Work, core: str) -> str:
    if op.startswith("cortex_m."):
        return f"{op} · CMSIS-NN ({isa(core)})"
    if op.startswith("quantized_decomposed."):
        return f"{op} · ExecuTorch quantized kernels"
    name = base(op).split(".")[-1]  # functions.yaml lists mean.out for aten.mean.dim
    missing = op.startswith("aten.") and name not in portable_ops()
    return f"{op} · portable {work.dtype}" + (" (not in ExecuTorch's portable kernel library: build the runner "
                                               "with a kernel for it)" if missing else "")


@lru_cache(maxsize=1)
def portable_ops() -> frozenset[str]:
    """Operator names ExecuTorch's portable kernel library implements (its functions.yaml)."""
    import executorch

    path = Path(next(iter(executorch.__path__))) / "kernels" / "portable" / "functions.yaml"
    names = set()
    for line in path.read_text().splitlines():
        if line.startswith("- op: "):
            names.add(line[len("- op: "):].split(".")[0])
    return frozenset(names)


def annotate_rows(rows: list[dict], kernels: list[CpuKernel], cpu_kernels: str) -> list[dict]:
    """The partitioner's operator rows with each CPU row's kernel (``kernel``, and the
    work the cost model counts in ``cpu_work``); a kernel no row accounts for (inserted by
    the Cortex-M passes) becomes a row of its own, after the row of the kernel before it."""
    by_name = {r["node"]: i for i, r in enumerate(rows)}
    by_origin = rows_by_origin([r.get("origins") for r in rows])
    by_row: dict[int, list[CpuKernel]] = {}
    extra: dict[int, list[CpuKernel]] = {}  # after row i (-1: first) -> the kernels no row accounts for
    previous = -1
    for k in kernels:  # in execution order
        # By name when the node is the partitioner's own; else by provenance, nearest first.
        i = by_name.get(k.node)
        if i is None:
            i = next((by_origin[tuple(p)] for p in k.origins if tuple(p) in by_origin), None)
        if i is None or rows[i]["placement"] != "CPU":
            extra.setdefault(previous, []).append(k)
        else:
            by_row.setdefault(i, []).append(k)
            previous = i
    for i, r in enumerate(rows):
        mine = by_row.get(i, [])
        if mine:
            r["kernel"] = " + ".join(k.kernel for k in mine)
            r["cpu_work"] = _as_json([k.work for k in mine])
        elif r["placement"] == "CPU":
            folded = cpu_kernels == "cmsis-nn" and base(r["op"]) != "aten.view_copy"
            r["kernel"] = ("no kernel of its own: folded into a CMSIS-NN kernel" if folded
                           else "no kernel of its own: a memory view")
    def added(k: CpuKernel) -> dict:
        return {"node": k.node, "op": k.op, "module": "", "module_type": "", "source": "", "shape": "",
                "dtype": k.work.dtype, "act_bits": None, "weight_bits": None, "placement": "CPU", "tag": "",
                "origins": k.origins, "inputs": [], "reason": f"added by the Cortex-M backend's passes ({cpu_kernels})",
                "added": True, "kernel": k.kernel, "cpu_work": _as_json([k.work])}

    out = [added(k) for k in extra.get(-1, [])]
    for i, r in enumerate(rows):
        out += [r] + [added(k) for k in extra.get(i, [])]
    return out


def _as_json(works: list[cost_model.Work]) -> dict:
    """A row's work as JSON: one entry per kernel (a row can map to several)."""
    return {"kernels": [w.__dict__ for w in works]}
