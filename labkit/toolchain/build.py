"""Build a Report from what one compile wrote: the partitioner's operator rows,
each NPU partition's Vela output joined back to them (attribution.py), Vela's
summaries and ExecuTorch's delegation table."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from ..report import Artifacts, Partition, Report, tool_versions
from ..cpu import estimate as cpu_estimate, kernels as cpu_kernels
from . import attribution, vela

SOURCE = "vela-estimate"
FAKE_QUANT_FILE = "fake_quant.graph"  # in artifacts/: toolchain.graph_file of the fake-quant graph

_SKIP_FRAMES = ("/torch/", "/torchao/", "/executorch/backends/", "/executorch/exir/", "<")


def source_line(stack_trace: str | None) -> str:
    """file:line of the innermost frame of user code in a node's stack trace."""
    frames = re.findall(r'File "([^"]+)", line (\d+)', stack_trace or "")
    user = [f for f in frames if not any(s in f[0] for s in _SKIP_FRAMES)]
    if not user:
        return ""
    path, line = user[-1]
    return f"{path}:{line}"


def module_path(nn_module_stack: dict | None) -> tuple[str, str]:
    """('features.3.conv.1', 'Conv2dNormActivation') from a node's nn_module_stack."""
    if not nn_module_stack:
        return "", ""
    path, cls = list(nn_module_stack.values())[-1]
    path = clean_module_path(path)
    cls_name = cls if isinstance(cls, str) else getattr(cls, "__name__", str(cls))
    return path, cls_name.rsplit(".", 1)[-1]


def clean_module_path(path: str) -> str:
    """'features.3.conv' from torch.export's "L['self'].features[3].conv" (either spelling)."""
    path = re.sub(r"^L\['self'\]\.?", "", path)
    path = re.sub(r"\._modules\['([^']+)'\]", r".\1", path)
    return re.sub(r"\[(\d+)\]", r".\1", path).lstrip(".")


def op_name(target) -> str:
    """'aten.convolution', 'quantized_decomposed.quantize_per_tensor', 'getitem'."""
    # An edge op's __name__ is qualified; a torch OpOverload's (the quantized graph's) is not, its str is.
    name = str(target) if type(target).__name__ == "OpOverload" else getattr(target, "__name__", None) or str(target)
    return re.sub(r"\.default$", "", name)


def _cpu_reason(node, reasons: dict) -> str:
    if node.name in reasons:
        return reasons[node.name]
    target = op_name(node.target)
    args = [a for a in node.args if hasattr(a, "op")]
    if "quantize_per_tensor" in target and args and args[0].op == "placeholder":
        return "graph input quantization: the float input is quantized to int8 on the CPU"
    if "dequantize" in target and all(u.op == "output" for u in node.users):
        return "graph output dequantization: the int8 result is converted back to float on the CPU"
    if "quantize" in target:
        ends = _past_qdq(node)
        if any(n.meta.get("delegation_tag") for n in ends):
            return "quantize/dequantize at an NPU partition boundary (runs on the CPU)"
        ops = sorted({op_name(n.target) for n in ends if n.op == "call_function"})
        return (f"quantize/dequantize between CPU operators ({', '.join(ops)}): runs on the CPU with them" if ops
                else "quantize/dequantize on the CPU (no NPU operator next to it)")
    return "not claimed by the Ethos-U partitioner (no reason reported)"


def _past_qdq(node) -> list:
    """The nearest nodes on either side of a chain of quantize/dequantize nodes."""
    seen, ends = {node}, []
    stack = [a for a in node.args if hasattr(a, "op")] + list(node.users)
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        if n.op == "call_function" and "quantize" in str(n.target):
            stack += [a for a in n.args if hasattr(a, "op")] + list(n.users)
        else:
            ends.append(n)
    return ends


def operator_rows(graph_module, reasons: dict) -> list[dict]:
    """One row per operator node of the graph the partitioner tagged."""
    nodes = [n for n in graph_module.graph.nodes if n.op == "call_function"]
    modules = {n: module_path(n.meta.get("nn_module_stack")) for n in nodes}
    rows = []
    for node in nodes:
        module, module_type = modules[node]
        if not module and "quantize" in str(node.target):
            # Q/DQ nodes carry only the root's module stack: show the module they
            # quantize for (a quantize's producer, a dequantize's consumer).
            neighbours = [a for a in node.args[:1] if a in modules] if "dequantize" not in str(node.target) \
                else [u for u in node.users if u in modules]
            module = next((modules[n][0] for n in neighbours if modules[n][0]), "")
        tag = node.meta.get("delegation_tag")
        shape, dtype = _shape_and_dtype(node.meta.get("val"))
        act_bits, weight_bits = quantized_bits(node)
        rows.append({
            "node": node.name, "op": op_name(node.target), "module": module, "module_type": module_type,
            "source": source_line(node.meta.get("stack_trace")),
            "shape": shape, "dtype": dtype, "act_bits": act_bits, "weight_bits": weight_bits,
            "placement": "NPU" if tag else "CPU", "tag": tag or "",
            "reason": "" if tag else _cpu_reason(node, reasons),
            "origins": node_origins(node.meta.get("from_node")),
            "inputs": [a.name for a in node.all_input_nodes],  # the graph's edges (numerics aligns by them)
        })
    return rows


def program_steps(graph_module) -> list[dict]:
    """The calls of a lowered edge program in the order it runs them (the .pte's
    instructions are this order): per delegate call {"delegate": its partition's node
    names}, per other operator {"node": name, "origins": its provenance}."""
    steps = []
    for node in graph_module.graph.nodes:
        if node.op != "call_function" or op_name(node.target) in ("getitem", "alloc"):
            continue
        if op_name(node.target) == "executorch_call_delegate":
            lowered = getattr(graph_module, node.args[0].target)
            steps.append({"delegate": _partition_order(lowered.original_module)})
        else:
            steps.append({"node": node.name, "origins": node_origins(node.meta.get("from_node"))})
    return steps


def _partition_order(program) -> list[str]:
    """A delegated program's operator names in its graph's order, except that a constant's
    dequantize (all its inputs are weights, which the graph lists first) comes right
    before the operator that first uses it."""
    user_inputs = set(program.graph_signature.user_inputs)
    out, waiting = [], {}
    for node in program.graph.nodes:
        if node.op != "call_function":
            continue
        if all(a.op == "placeholder" and a.name not in user_inputs for a in node.all_input_nodes) and node.users:
            waiting[node] = node.name
            continue
        out += [waiting.pop(a) for a in node.all_input_nodes if a in waiting]
        out.append(node.name)
    return out + list(waiting.values())


def in_execution_order(rows: list[dict], steps: list[dict], before: list[dict] | None = None) -> list[dict]:
    """``rows`` in the order the program runs them: each NPU partition's rows where its
    delegate is called, each CPU row where its kernel is. ``steps``: program_steps of the
    program as serialized; ``before``: of the program the CPU kernel passes started from,
    which still has the rows those passes folded into another kernel. A row neither
    program has stays after the row it followed."""
    order = _merge(_rows_run(rows, steps), _rows_run(rows, before or []))
    rank = {i: (k, 0) for k, i in enumerate(order)}
    for i in range(len(rows)):
        if i not in rank:
            k, j = rank.get(i - 1, (-1, 0))
            rank[i] = (k, j + 1)
    return [rows[i] for i in sorted(range(len(rows)), key=rank.__getitem__)]


def _rows_run(rows: list[dict], steps: list[dict]) -> list[int]:
    """Indices of the rows the steps run, in order, each once: a delegate's by node name
    (and any other row of its partition), an operator's by name or, when the CPU kernel
    passes renamed it, by its provenance as cpu.kernels.annotate_rows joins a kernel."""
    from .attribution import rows_by_origin

    by_name = {r["node"]: i for i, r in enumerate(rows)}
    by_origin = rows_by_origin([r.get("origins") for r in rows])
    out, seen = [], set()
    for step in steps:
        if "delegate" in step:
            found = [by_name[n] for n in step["delegate"] if n in by_name]
            tags = {rows[i]["tag"] for i in found} - {""}
            found += [i for i, r in enumerate(rows) if r["tag"] in tags]
        else:
            i = by_name.get(step["node"])
            if i is None:
                i = next((by_origin[tuple(p)] for p in step["origins"] if tuple(p) in by_origin), None)
                i = i if i is not None and rows[i]["placement"] == "CPU" else None
            found = [] if i is None else [i]
        for i in found:
            if i not in seen:
                seen.add(i)
                out.append(i)
    return out


def _merge(first: list[int], second: list[int]) -> list[int]:
    """``first`` with the items only ``second`` has, each just before the item that follows
    it in ``second`` (the two list their common items in the same order)."""
    mine, position = set(first), {x: k for k, x in enumerate(second)}
    out, done = [], 0
    for x in first:
        if x in position:
            out += [y for y in second[done:position[x]] if y not in mine]
            done = max(done, position[x] + 1)
        out.append(x)
    return out + [y for y in second[done:] if y not in mine]


def is_qdq(node, kind: str = "quantize") -> bool:
    name = op_name(node.target) if node.op == "call_function" else ""
    return name.startswith(f"quantized_decomposed.{kind}_per_")


def _range_bits(qdq) -> int:
    """Bits of a quantize/dequantize node's integer range: [-127, 127] -> 8, [-7, 7] -> 4."""
    qmin, qmax = qdq.args[-3], qdq.args[-2]  # (..., quant_min, quant_max, dtype) per tensor and per channel
    return int(qmax - qmin).bit_length()


def quantized_bits(node) -> tuple[int | None, int | None]:
    """(activation bits, weight bits) of an operator as PT2E quantized it: the range of
    the quantize node on its output (a Q/DQ node: its own), and of the dequantized
    integer constants among its inputs other than an int32 bias. None where there is none."""
    if is_qdq(node, "dequantize") and _is_int_constant(node.args[0]):
        return None, _range_bits(node)
    if is_qdq(node) or is_qdq(node, "dequantize"):
        return _range_bits(node), None
    outs = output_quantize(node)
    weights = [a for a in node.all_input_nodes if is_qdq(a, "dequantize") and _is_int_constant(a.args[0])
               and str(a.args[-1]) != "torch.int32"]
    return (_range_bits(outs[0]) if outs else None, max(map(_range_bits, weights)) if weights else None)


def output_quantize(node) -> list:
    """The quantize nodes an operator's result reaches, looking through the operators
    quantized together with it (a convolution's ReLU)."""
    found, stack, seen = [], list(node.users), set()
    while stack:
        n = stack.pop()
        if n in seen or n.op != "call_function":
            continue
        seen.add(n)
        if is_qdq(n):
            found.append(n)
        elif not is_qdq(n, "dequantize"):
            stack.extend(n.users)
    return found


def _is_int_constant(node) -> bool:
    """A quantized weight: a constant (user inputs are float and quantized first)."""
    val = node.meta.get("val")
    return node.op == "get_attr" or (node.op == "placeholder" and val is not None and not val.is_floating_point())


def _shape_and_dtype(val) -> tuple[str, str]:
    """'8x16x16', 'int8'; an operator with several outputs (sort: values, indices)
    lists each: '8x16x16, 8x16x16', 'int8, int64'."""
    tensors = [v for v in (val if isinstance(val, (tuple, list)) else [val]) if hasattr(v, "shape")]
    return (", ".join("x".join(map(str, t.shape)) for t in tensors),
            ", ".join(str(t.dtype).replace("torch.", "") for t in tensors))


def node_origins(from_node) -> list[tuple[str, int]]:
    """(name, graph_id) of every ancestor in a node's provenance, nearest first.
    The same pairs appear in ExecuTorch's debug.json node_trace, which is how a
    TOSA operator is joined back to the graph the partitioner saw."""
    out, stack = [], list(reversed(from_node or []))
    while stack:
        src = stack.pop()
        out.append((src.name, src.graph_id))
        stack.extend(reversed(getattr(src, "from_node", []) or []))
    return out


_ADDRESS_SPACE_KIB = 4 * 2**20

_SUM_FIELDS = {  # summary field: Vela summary CSV column(s), summed over partitions
    "npu_cycles": ["cycles_npu"],
    "total_cycles": ["cycles_total"],
    "sram_access_cycles": ["cycles_sram_access"],
    "dram_access_cycles": ["cycles_dram_access"],
    "flash_access_cycles": ["cycles_on_chip_flash_access", "cycles_off_chip_flash_access"],
    "macs": ["nn_macs"],
    "sram_kib": ["sram_memory_used"],
    "dram_kib": ["dram_memory_used"],
    "flash_kib": ["on_chip_flash_memory_used", "off_chip_flash_memory_used"],
}


def _by_call_order(partitions: list[Partition], operators: pd.DataFrame) -> list[Partition]:
    """The partitions in the order the program calls them (the rows' order), for the layer
    tables: Vela ran them in the partitioner's order, which iterates a set of tags."""
    first: dict[int, int] = {}
    for i, p in enumerate(operators["partition"]):
        if not pd.isna(p):
            first.setdefault(int(p), i)
    return sorted(partitions, key=lambda p: first.get(p.index, len(operators)))


def build(job, rows: list[dict], partitions: list[Partition], pte: Path, delegation: pd.DataFrame) -> Report:
    # The operator rows as lowering left them (in execution order): what a later compile for
    # another target of this TOSA profile reuses instead of lowering again (lower.run_group).
    rows_file = pte.parent / "operator_rows.json"
    rows_file.write_text(json.dumps(rows))
    tag_to_partition = {p.tag: p.index for p in partitions}
    origins = [r.pop("origins") for r in rows]
    added = {r["node"] for r in rows if r.pop("added", False)}
    works = {r["node"]: r.pop("cpu_work") for r in rows if "cpu_work" in r}
    for r in rows:
        r.pop("inputs")
    operators = pd.DataFrame(rows, columns=["node", "op", "module", "module_type", "source", "shape", "dtype",
                                            "act_bits", "weight_bits", "placement", "tag", "reason", "kernel"])
    operators["kernel"] = operators["kernel"].fillna("")
    operators.insert(10, "partition", operators["tag"].map(tag_to_partition).astype("Int64"))
    operators = operators.drop(columns="tag")
    called = _by_call_order(partitions, operators)
    operators, joined = attribution.attribute(operators, origins, called, job.target.macs)
    operators = operators.astype({"act_bits": "Int64", "weight_bits": "Int64"})
    operators.loc[operators["node"].isin(added), "origin"] = "cpu-kernels"
    operators = cpu_estimate.add_columns(operators, works)
    operators["cpu"] = operators["placement"].map({"CPU": job.target.cpu_core}).fillna("")  # the core it runs on

    vela_summaries = [vela.read_summary(p.vela_dir) for p in partitions]
    layer_frames = [vela.read_per_layer(p.vela_dir).assign(partition=p.index) for p in called]
    layers = pd.concat(layer_frames, ignore_index=True) if layer_frames else pd.DataFrame()
    if len(joined) and len(layers) == len(joined):  # the per-layer CSV and the debug db list the same layers
        layers = pd.concat([layers, joined[["tosa_op", "node", "module"]]], axis=1)

    t = job.target
    summary = {"model": job.model, "accelerator": t.accelerator, "system_config": t.system_config,
               "memory_mode": t.memory_mode, "preset": t.preset or "", "clock_hz": t.clock_hz}
    for field, columns in _SUM_FIELDS.items():
        summary[field] = sum(float(s[c]) for s in vela_summaries for c in columns) if vela_summaries else 0.0
    for field in ("npu_cycles", "total_cycles", "sram_access_cycles", "dram_access_cycles",
                  "flash_access_cycles", "macs"):
        summary[field] = int(summary[field])
    seconds = sum(float(s["inference_time"]) for s in vela_summaries)
    summary["inference_ms"] = seconds * 1e3
    summary["inferences_per_s"] = 1.0 / seconds if seconds else float("nan")
    # Vela's arena_cache_size (KiB in its CSV) is the SRAM the memory mode gives it;
    # 4 GiB and up is the NPU's address space, i.e. no size configured.
    limits = [float(s["arena_cache_size"]) for s in vela_summaries]
    summary["sram_limit_kib"] = min(limits) if limits and min(limits) < _ADDRESS_SPACE_KIB else float("nan")
    model_ops = operators[operators["origin"] == "model"]
    summary["npu_ops"] = int((model_ops["placement"] == "NPU").sum())
    summary["cpu_ops"] = int((model_ops["placement"] == "CPU").sum())
    summary["partitions"] = len(partitions)
    summary["pte_bytes"] = pte.stat().st_size
    summary["weights"] = job.weights
    summary["quantization"] = job.quantization.describe()
    summary["source"] = SOURCE
    kernel_set = cpu_kernels.effective(job.cpu_kernels, job.quantization)
    summary.update(cpu_estimate.summary_fields(operators, t, kernel_set, summary["inference_ms"]))
    summary.update(tool_versions())
    summary["cache_key"] = job.key

    warnings = []
    if job.weights == "random":
        warnings.append("built with random weights: Vela's weight compression, and so its cycle estimate, "
                        "depends on the weight values; trained weights can give different figures")
    if kernel_set != job.cpu_kernels:
        warnings.append(cpu_kernels.SIXTEEN_BIT_NOTE)
    if not t.has_npu:
        warnings.append(f"{t.accelerator} is a CPU-only target: every figure is the Cortex-M estimate "
                        "(cortex-m-estimate); Vela's figures are zero")
    elif not partitions:
        warnings.append("no operator runs on the NPU: every figure from Vela is zero")
    if summary["sram_kib"] > summary["sram_limit_kib"]:
        warnings.append(f"the model needs {summary['sram_kib']:.0f} KiB of SRAM but memory mode {t.memory_mode} "
                        f"gives Vela {summary['sram_limit_kib']:.0f} KiB: it does not fit; pick a memory mode "
                        "with more SRAM or a smaller model")
    fake_quant = pte.parent / FAKE_QUANT_FILE
    artifacts = Artifacts(pte=pte, log=pte.parent.parent / "compile.log", operator_rows=rows_file,
                          partitions=tuple(partitions), fake_quant=fake_quant if fake_quant.exists() else None)
    return Report(pd.Series(summary), operators, layers, delegation, artifacts, warnings, target=t)
