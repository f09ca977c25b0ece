"""labkit.plots on real Reports (committed fixtures): ds_cnn on ethos-u55-128 (2 NPU
partitions, the average pool on the CPU) and on ethos-u85-256 (every operator on the NPU)."""

import copy
import subprocess
import sys

import pandas as pd
import pytest

from labkit import plots
from labkit.views import theme
from tests.conftest import layout_value

FIGURES = [plots.placement, plots.cycles, lambda r: plots.cycles(r, by="module"), plots.module_treemap,
           plots.memory, plots.summary_card]


@pytest.fixture(scope="module", params=["ds_cnn_u55", "ds_cnn_u85"])
def report(request):
    return request.getfixturevalue(request.param)


@pytest.fixture(scope="module")
def u55(ds_cnn_u55):
    return ds_cnn_u55


def _total_cycles(report) -> float:
    ops = report.operators
    return float(ops["cycles"].sum()) if "cycles" in ops else float(report.layers["Op Cycles"].sum())


def test_importing_widgets_does_not_import_plotly_or_torch():
    code = ("import sys, labkit, labkit.app; "
            "print(sorted(m for m in ('torch', 'executorch', 'plotly') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "[]", out.stderr


@pytest.mark.parametrize("make", FIGURES, ids=["placement", "cycles", "cycles_module", "treemap", "memory",
                                               "summary"])
def test_every_figure_names_source_and_target_and_is_theme_neutral(report, make):
    fig = make(report)
    title = fig.layout.title.text
    s = report.summary
    assert "Vela estimate" in title
    assert f"{s['accelerator']} · {s['system_config']} · {s['memory_mode']}" in title
    assert s["model"] in title
    assert layout_value(fig, "paper_bgcolor") == layout_value(fig, "plot_bgcolor") == "rgba(0,0,0,0)"
    assert layout_value(fig, "font.color") == plots.FONT_COLOR
    assert len(fig.data) >= 1


def test_source_label_follows_the_report(u55):
    other = copy.copy(u55)
    other.results = u55.results.copy()
    other.results["source"] = "fvp-measured"
    assert "FVP measured" in plots.placement(other).layout.title.text
    assert "Vela estimate" not in plots.summary_card(other).layout.title.text


def test_placement_colours_every_operator_by_where_it_runs(report):
    fig = plots.placement(report)
    ops = report.operators.reset_index(drop=True)
    by_name = {t.name.split(" (")[0]: t for t in fig.data}
    cpu, npu = by_name["CPU"], by_name["NPU"]
    assert cpu.marker.color == plots.CPU_COLOR and npu.marker.color == plots.NPU_COLOR
    assert list(cpu.x) == list(ops.index[ops["placement"] == "CPU"])
    assert len(cpu.x) == report.summary["cpu_ops"]
    plotted = sum(len(t.x) for t in fig.data)
    assert plotted == len(ops)  # every operator once, in graph order
    partitions = [a.text for a in fig.layout.annotations if a.text.startswith("NPU partition")]
    assert len(partitions) == report.summary["partitions"]


def test_placement_hover_says_why_the_pool_runs_on_the_cpu(u55):
    fig = plots.placement(u55)
    cpu = next(t for t in fig.data if t.name.startswith("CPU"))
    pool = next(h for h in cpu.hovertext if "avg_pool2d" in h)
    assert "kernel" in pool and "module: pool" in pool and "ds_cnn.py:" in pool


@pytest.mark.parametrize("by", ["operator", "module"])
def test_cycles_top_n_plus_other_sums_to_the_total(report, by):
    total = _total_cycles(report)
    assert total == report.summary["total_cycles"]  # every Vela cycle is attributed somewhere
    fig = plots.cycles(report, by=by, top=3)
    compute, memory_, cpu = fig.data
    assert compute.marker.color == plots.NPU_COLOR and cpu.marker.color == plots.CPU_COLOR
    labels = list(compute.y)
    assert len(labels) == 4 and labels[-1].startswith("other (")
    shown = sum(compute.x) + sum(memory_.x)
    assert shown == pytest.approx(total)
    bars = [c + m + (x if x == x else 0) for c, m, x in zip(compute.x, memory_.x, cpu.x)]
    assert bars[:3] == sorted(bars[:3], reverse=True)  # NPU cycles and the CPU estimate, largest first


def test_cycles_without_other_when_everything_fits(u55):
    fig = plots.cycles(u55, top=100)
    assert not any(label.startswith("other") for label in fig.data[0].y)
    assert sum(fig.data[0].x) + sum(fig.data[1].x) == pytest.approx(_total_cycles(u55))
    assert any("cycles on cortex-m55 (cortex-m-estimate" in a.text for a in fig.layout.annotations)


def test_cycles_by_module_depth(u55):
    if "cycles" not in u55.operators:
        pytest.skip("this report has no per-operator attribution yet")
    top1 = plots.cost_table(u55, by="module", depth=1)
    assert set(top1["label"]) == {"feature_extractor", "classifier", "pool", "(model input/output conversion)"}
    assert top1.set_index("label").loc["pool", "cycles"] == 0 and top1.set_index("label").loc["pool",
                                                                                               "cpu_cycles_est"] > 0
    deep = plots.cost_table(u55, by="module", depth=3)
    assert "feature_extractor.4.depthwise" in set(deep["label"])
    assert deep["cycles"].sum() == top1["cycles"].sum()


def test_module_treemap_sizes(report):
    fig = plots.module_treemap(report)
    (tree,) = fig.data
    values = dict(zip(tree.ids, tree.values))
    root = report.summary["model"]
    assert values[root] == pytest.approx(_total_cycles(report))
    for node, parent in zip(tree.ids, tree.parents):
        if parent:
            assert values[node] <= values[parent] + 1e-6
    if "cycles" in report.operators:
        assert "feature_extractor.4.depthwise" in values


def test_memory_follows_vela_layers_against_the_limit(report):
    fig = plots.memory(report)
    bars = fig.data[0]
    layers = report.layers
    assert len(bars.y) == len(layers)
    assert list(bars.y) == pytest.approx(list(layers["Staging Usage"] / 1024))
    limit = report.summary["sram_limit_kib"]
    lines = [t for t in fig.data if t.name and t.name.startswith("limit")]
    if pd.isna(limit):
        assert not lines
    else:
        assert len(lines) == 1 and lines[0].y[0] == limit and lines[0].line.color == plots.LIMIT_COLOR
    starts = [a.text for a in fig.layout.annotations if a.text.startswith("partition")]
    assert len(starts) == report.summary["partitions"]


def test_summary_card_numbers(report):
    fig = plots.summary_card(report)
    tiles = {t.title.text: t for t in fig.data}
    s = report.summary
    assert tiles["NPU time (vela-estimate)"].value == pytest.approx(s["inference_ms"])
    cpu = next(t for title, t in tiles.items() if title.startswith("CPU time, est."))
    assert cpu.value == pytest.approx(s["cpu_ms_est"]) and cpu.number.font.color == plots.CPU_COLOR
    assert tiles["NPU cycles (vela-estimate)"].value == s["total_cycles"]
    assert tiles["NPU partitions"].value == s["partitions"]
    assert tiles["CPU operators"].value == s["cpu_ops"]
    assert tiles["CPU operators"].number.font.color == plots.CPU_COLOR
    assert tiles["NPU operators"].number.font.color == plots.NPU_COLOR
    assert tiles["SRAM"].value == pytest.approx(s["sram_kib"])
    grid = fig.layout.grid
    assert len(fig.data) % grid.columns == 0  # every row of tiles full: no lone tile below the rest


def test_presentation_scales_fonts_and_height(u55):
    height = plots.cycles(u55).layout.height
    with theme.presentation():
        fig = plots.cycles(u55)
    assert layout_value(fig, "font.size") == 18 and fig.layout.height == round(height * 1.5)


def test_a_wide_cpu_range_does_not_squeeze_the_npu_bars(u55):
    """The CPU whisker (cortex-m-estimate's high end) may reach far past every bar: the axis
    follows the bars, and a clipped whisker says where it ends."""
    wide = copy.deepcopy(u55)
    ops = wide.operators
    cpu = ops["cpu_cycles_est"].notna()
    ops.loc[cpu, "cpu_cycles_high"] = ops.loc[cpu, "cpu_cycles_est"] * 3 + ops["cycles"].max() * 4  # a ×/÷3 class
    table = plots.cost_table(wide)
    fig = plots.cycles(wide, top=len(table))
    bars = (table["cycles"].fillna(0) + table["cpu_cycles_est"].fillna(0)).max()
    reach = (table["cycles"].fillna(0) + table["cpu_cycles_high"].fillna(0)).max()
    assert reach > 1.12 * bars
    assert fig.layout.xaxis.range[1] == pytest.approx(1.12 * bars)
    assert any(a.text.startswith("range to ") for a in fig.layout.annotations)


def test_the_summary_card_carries_the_reports_warnings(u55):
    """The warnings (random weights here) are part of the card, so the Summary tab draws at once
    instead of showing a lone bullet while the figures render."""
    assert u55.warnings
    note = next(a.text for a in plots.summary_card(u55).layout.annotations if "inferences/s" in a.text)
    assert all(w.split(":")[0] in note for w in u55.warnings)
