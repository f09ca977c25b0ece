"""report.operators in the order the program runs: each NPU partition one block of rows
where its delegate is called, CPU rows where their kernels are, checked against the
.pte's instructions. ``execution_order_problems(report)`` (and ``execution_order_ok``)
checks any compiled Report, e.g. a model zoo's."""

import json
from pathlib import Path

import pandas as pd
import pytest
import torch
from torch import nn

import labkit
from labkit.toolchain import pte, vela
from labkit.views import plots
from tests.models_for_tests import ConvSortConv, TinyConv, example


def _base(op: str) -> str:
    """'aten.mean' for 'aten.mean.dim' or the .pte's 'aten::mean'."""
    return ".".join(op.replace("::", ".").split(".")[:2])


def pte_calls(report) -> list[tuple]:
    """The .pte's instructions: ("NPU", partition) per delegate call, ("CPU", operator) per kernel call."""
    program = pte.read(report.artifacts.pte).program
    plan = program.execution_plan[0]
    partitions = list(report.artifacts.partitions)
    streams = [getattr(vela.read_command_stream(p.vela_dir), "cmd_data", None) for p in partitions]
    delegate_partition = pte.delegate_partitions(program, plan, streams)
    calls = []
    for instruction in plan.chains[0].instructions:
        args = instruction.instr_args
        if type(args).__name__ == "DelegateCall":
            calls.append(("NPU", partitions[delegate_partition[args.delegate_index]].index))
        elif type(args).__name__ == "KernelCall":
            calls.append(("CPU", _base(plan.operators[args.op_index].name)))
    return calls


def row_calls(report) -> list[tuple]:
    """The rows as the calls they stand for: ("NPU", partition) per run of one partition's
    rows, ("CPU", operator) per kernel of a CPU row (none for a row with no kernel of its own)."""
    calls = []
    for r in report.operators.itertuples():
        if r.placement == "NPU":
            call = ("NPU", None if pd.isna(r.partition) else int(r.partition))
            if not calls or calls[-1] != call:
                calls.append(call)
            continue
        for kernel in str(r.kernel).split(" + "):
            if kernel and not kernel.startswith("no kernel"):
                calls.append(("CPU", _base(kernel.split(" · ")[0])))
    return calls


def execution_order_problems(report) -> list[str]:
    """What is wrong with the order of ``report.operators`` (empty when nothing is): each
    partition's rows one block; the rows' delegate and kernel calls, in order, a
    subsequence of the .pte's instructions, which call each partition once, as the rows
    do; every operator after the operators it reads (the rows' graph edges)."""
    ops = report.operators.reset_index(drop=True)
    problems = []
    for p, rows in ops[ops["partition"].notna()].groupby("partition"):
        if rows.index.max() - rows.index.min() + 1 != len(rows):
            problems.append(f"partition {p}'s rows are not one block: rows {list(rows.index)}")
    mine, program = row_calls(report), pte_calls(report)
    if [c for c in mine if c[0] == "NPU"] != [c for c in program if c[0] == "NPU"]:
        problems.append(f"the rows call partitions {[c[1] for c in mine if c[0] == 'NPU']}, the .pte "
                        f"{[c[1] for c in program if c[0] == 'NPU']}")
    calls = iter(program)
    missing = [c for c in mine if c not in calls]  # `in` consumes the iterator: a subsequence test
    if missing:
        problems.append(f"the rows' calls are not in the .pte's order from {missing[0]} on: rows {mine}, "
                        f".pte {program}")
    position = {node: i for i, node in enumerate(ops["node"])}
    for row in json.loads(Path(report.artifacts.operator_rows).read_text()):
        late = [n for n in row["inputs"] if position.get(n, -1) > position.get(row["node"], len(ops))]
        if late:
            problems.append(f"{row['node']} comes before its input(s) {late}")
    return problems


def execution_order_ok(report) -> bool:
    return not execution_order_problems(report)


def kws_net():
    """A Conv1d keyword-spotting net: on an Ethos-U55 its average pool runs on the CPU,
    between two NPU partitions."""
    return nn.Sequential(nn.Conv1d(40, 64, 3, padding=1), nn.BatchNorm1d(64), nn.ReLU(),
                         nn.Conv1d(64, 64, 3, stride=2, padding=1), nn.BatchNorm1d(64), nn.ReLU(),
                         nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(64, 12)).eval()


def _compile(model, example_inputs, target="ethos-u55-128", **kw):
    return labkit.compile(model, target, example_inputs=example_inputs, progress=False, **kw)


@pytest.fixture(scope="module")
def kws():
    return _compile(kws_net(), (torch.randn(1, 40, 49, generator=torch.Generator().manual_seed(0)),))


def blocks(report) -> list[tuple]:
    """The rows as runs: ("CPU", None) or ("NPU", partition) per run of consecutive rows."""
    out = []
    for placement, p in zip(report.operators["placement"], report.operators["partition"]):
        run = (placement, None if placement == "CPU" else int(p))
        if not out or out[-1] != run:
            out.append(run)
    return out


def test_kws_rows_run_quantize_npu_pool_npu_dequantize(kws):
    ops = kws.operators
    assert execution_order_problems(kws) == []
    runs = blocks(kws)
    assert [kind for kind, _ in runs] == ["CPU", "NPU", "CPU", "NPU", "CPU"]
    assert runs[1][1] != runs[3][1]
    assert ops["op"].iloc[0] == "quantized_decomposed.quantize_per_tensor"
    assert ops["op"].iloc[-1] == "quantized_decomposed.dequantize_per_tensor"
    first, pool, second = (ops[ops["partition"].eq(runs[1][1])], ops[(ops["placement"] == "CPU")],
                           ops[ops["partition"].eq(runs[3][1])])
    assert (first["op"] == "aten.convolution").sum() == 2 and (second["op"] == "aten.linear").sum() == 1
    assert "aten.mean.dim" in set(pool["op"])
    # Each weight's dequantize is in its consumer's partition, just before it.
    for i in ops.index[ops["op"] == "quantized_decomposed.dequantize_per_channel"]:
        after = ops.loc[i:]
        user = after[after["op"].isin(["aten.convolution", "aten.linear"])].iloc[0]
        assert ops.at[i, "partition"] == user["partition"]
        assert set(ops.loc[i:user.name - 1, "op"]) == {"quantized_decomposed.dequantize_per_channel"}


def test_kws_placement_bands_do_not_overlap(kws):
    fig = plots.placement(kws)
    assert "execution order" in fig.layout.xaxis.title.text
    bands = sorted((s.x0, s.x1) for s in fig.layout.shapes if s.type == "rect")
    assert len(bands) == kws.summary["partitions"] == 2
    assert all(a1 <= b0 for (_, a1), (b0, _) in zip(bands, bands[1:]))
    labels = sorted(a.text for a in fig.layout.annotations if a.text.startswith("NPU partition"))
    assert labels == sorted(f"NPU partition {p}" for p in kws.operators["partition"].dropna().unique())


def test_kws_timeline_alternates_as_the_program_runs(kws):
    segments = plots._segments(kws.operators, kws.summary)
    runs = blocks(kws)
    assert [s["kind"] for s in segments] == ["CPU", "NPU", "CPU", "NPU", "CPU"]
    # The timeline names partitions as report.operators (and placement) number them.
    assert [s["label"] for s in segments if s["kind"] == "NPU"] == [f"NPU partition {p}" for k, p in runs
                                                                     if k == "NPU"]
    assert [c[0] for c in pte_calls(kws)].count("NPU") == 2
    hovers = [t for trace in plots.timeline(kws).data for t in trace.hovertext]
    assert [h.split("</b>")[0][3:] for h in hovers if "NPU partition" in h] == [s["label"] for s in segments
                                                                                if s["kind"] == "NPU"]


def test_kws_portable_kernels_order():
    """The portable kernels keep every CPU operator (nothing folded, nothing renamed)."""
    report = _compile(kws_net(), (torch.randn(1, 40, 49),), cpu_kernels="portable")
    assert execution_order_problems(report) == []
    assert [kind for kind, _ in blocks(report)] == ["CPU", "NPU", "CPU", "NPU", "CPU"]


def test_one_partition_in_execution_order():
    report = _compile(TinyConv().eval(), example())
    assert execution_order_problems(report) == []
    assert [kind for kind, _ in blocks(report)] == ["CPU", "NPU", "CPU"]


def test_cpu_operator_between_two_partitions():
    report = _compile(ConvSortConv().eval(), example())
    assert execution_order_problems(report) == []
    runs = blocks(report)
    assert [kind for kind, _ in runs] == ["CPU", "NPU", "CPU", "NPU", "CPU"]
    middle = report.operators[report.operators["placement"].eq("CPU")]["op"]
    assert "aten.sort" in set(middle)
    head, tail = (report.operators[report.operators["partition"].eq(runs[i][1])] for i in (1, 3))
    assert set(head["module"]) >= {"head"} and set(tail["module"]) >= {"tail"}


def test_rows_follow_the_program_the_cpu_passes_left():
    """The merge of the two programs (no compile): a renamed kernel joins its row by
    provenance, a row the passes folded goes where the program before them ran it, a row
    they added where it runs, a row neither program has after the row it followed."""
    from labkit.toolchain.rows import in_execution_order

    def row(node, tag="", **kw):
        return {"node": node, "tag": tag, "placement": "NPU" if tag else "CPU", "origins": [(node, 1)], **kw}

    rows = [row("w_a", "a"), row("w_b", "b"), row("q0"), row("conv", "a"), row("dq1"), row("pool"),
            row("ghost"), row("q2"), row("linear", "b"), row("dq3"), row("transpose", added=True)]
    before = [{"node": "q0", "origins": []}, {"delegate": ["w_a", "conv"]}, {"node": "dq1", "origins": []},
              {"node": "pool", "origins": []}, {"node": "q2", "origins": []}, {"delegate": ["w_b", "linear"]},
              {"node": "dq3", "origins": []}]
    after = [{"node": "cortex_m_q0", "origins": [("q0", 1)]}, {"delegate": ["w_a", "conv"]},
             {"node": "transpose", "origins": []}, {"node": "cortex_m_pool", "origins": [("pool", 1)]},
             {"node": "getitem_like", "origins": [("linear", 1)]},  # provenance of an NPU row: not a CPU row
             {"delegate": ["w_b", "linear"]}, {"node": "cortex_m_dq3", "origins": [("dq3", 1)]}]
    order = [r["node"] for r in in_execution_order(rows, after, before)]
    assert order == ["q0", "w_a", "conv", "transpose", "dq1", "pool", "ghost", "q2", "w_b", "linear", "dq3"]
