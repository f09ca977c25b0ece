"""The operator rows of a graph the partitioner tagged (one per operator: its module,
source line, placement and reason), and their order in the program as it runs."""

from __future__ import annotations

from ..fx import module_path, node_origins, op_name, quantized_bits, rows_by_origin, shape_and_dtype, source_line


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
        shape, dtype = shape_and_dtype(node.meta.get("val"))
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
