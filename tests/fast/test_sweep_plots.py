"""labkit.sweep_plots on real sweeps of ds_cnn (committed fixtures: every accelerator
with its family defaults, and a grid of system configs and memory modes on one NPU
per family, the sweeps lesson 7 runs)."""

import pandas as pd
import pytest

import labkit
from labkit import sweep_plots as sp
from labkit import sweep_tables
from labkit.targets import resolve_target
from tests.conftest import layout_value

FIGURES = [sp.scaling, sp.configurations, sp.pareto]


@pytest.fixture(scope="module", params=["every", "grid"])
def sweep(request):
    return request.getfixturevalue(request.param)


def _dominated(df: pd.DataFrame, i) -> bool:
    """Brute force, straight from the DataFrame: does any row beat row i?"""
    need = df["sram_need_kib"]
    mine = (df.at[i, "inference_ms"], df.at[i, "macs_per_cycle"], need[i])
    for j in df.index:
        other = (df.at[j, "inference_ms"], df.at[j, "macs_per_cycle"], need[j])
        if all(o <= m for o, m in zip(other, mine)) and any(o < m for o, m in zip(other, mine)):
            return True
    return False


@pytest.mark.parametrize("make", FIGURES, ids=[f.__name__ for f in FIGURES])
def test_every_figure_names_model_and_source_and_is_theme_neutral(sweep, make):
    fig = make(sweep)
    title = fig.layout.title.text
    assert "ds_cnn" in title and "Vela estimate" in title
    assert layout_value(fig, "paper_bgcolor") == layout_value(fig, "plot_bgcolor") == "rgba(0,0,0,0)"
    assert layout_value(fig, "font.color") == labkit.plots.FONT_COLOR
    assert len(fig.data) >= 1


def test_model_name_without_the_cache(every):
    df = every.copy()
    df.attrs = {}
    assert sweep_tables.model_name(df) == "ds_cnn"  # from the sweep's model column
    df.attrs["model"] = "my name"
    assert "my name" in sp.scaling(df).layout.title.text


def test_scaling_has_one_trace_per_family_at_the_family_defaults(sweep, every):
    fig = sp.scaling(sweep)
    lines = [t for t in fig.data if "family" in (t.meta or {})]
    assert sorted(t.meta["family"] for t in lines) == sorted({*sweep["family"]})
    assert len(lines) == sweep["family"].nunique()  # exactly one per family
    defaults = every.set_index("accelerator")
    for t in lines:
        family = t.meta["family"]
        assert t.line.color == sp.FAMILY_COLORS[family]
        accs = sorted(set(sweep.loc[sweep["family"] == family, "accelerator"]), key=lambda a: int(a.rsplit("-")[-1]))
        assert list(t.x) == [int(a.rsplit("-")[-1]) for a in accs]
        # grid or not, the line runs through each family's default system config and memory mode
        assert list(t.y) == pytest.approx(defaults.loc[accs, "inference_ms"].tolist())
        for k in range(1, len(t.y)):
            assert t.text[k] == f"×{t.y[k - 1] / t.y[k]:.2f}"
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log"


def test_pareto_marks_exactly_the_non_dominated(sweep):
    fig = sp.pareto(sweep)
    (ring,) = [t for t in fig.data if (t.meta or {}).get("pareto")]
    marked = set(ring.customdata)
    assert 0 < len(marked) < len(sweep)  # a real choice: some configurations lose
    for i in sweep.index:
        assert (i in marked) == (not _dominated(sweep, i)), sweep.loc[i, ["accelerator", "system_config",
                                                                          "memory_mode"]].tolist()
    assert list(ring.y) == pytest.approx(sweep.loc[list(ring.customdata), "inference_ms"].tolist())
    assert sum(len(t.x) for t in fig.data if "family" in (t.meta or {})) == len(sweep)  # every config plotted
    assert (sweep_tables.table(sweep)["Pareto"] == "✓").sum() == len(marked)


def test_sram_needed_counts_weights_kept_in_sram(grid):
    need = grid["sram_need_kib"]
    sram_only = grid["memory_mode"].eq("Sram_Only")
    assert (need[sram_only] == grid.loc[sram_only, "sram_kib"] + grid.loc[sram_only, "flash_kib"]).all()
    assert (need[~sram_only] == grid.loc[~sram_only, "sram_kib"]).all()
    assert resolve_target("ethos-u85-256", "Ethos_U85_SYS_DRAM_Mid", "Sram_Only").weights_in_sram
    assert not resolve_target("ethos-u55-128", "Ethos_U55_High_End_Embedded", "Shared_Sram").weights_in_sram


def test_configurations_plots_every_configuration_once(grid):
    fig = sp.configurations(grid)
    bars = [t for t in fig.data if t.type == "bar"]
    seen = {}
    for t in bars:
        accs, configs = t.x
        for acc, sc, y in zip(accs, configs, t.y):
            seen[(acc, sc, t.name)] = y
        assert t.marker.color == sp.MEMORY_MODE_COLORS[t.name]
    assert len(seen) == len(grid) == sum(len(t.y) for t in bars)
    for _, row in grid.iterrows():
        key = (row["accelerator"].replace("ethos-", ""), sweep_tables.short_config(row["system_config"]), row["memory_mode"])
        assert seen[key] == pytest.approx(row["inference_ms"])
    assert sum(t.showlegend is not False for t in bars) == grid["memory_mode"].nunique()  # one legend entry each


def test_configurations_says_when_there_is_nothing_to_compare(every):
    fig = sp.configurations(every)
    assert any("one system config and memory mode per accelerator" in a.text for a in fig.layout.annotations)


def test_failed_rows_are_left_out_and_said(every):
    bad = every.copy()
    bad.loc[0, "error"] = "LoweringError: something"
    bad.loc[0, ["total_cycles", "inference_ms", "sram_kib"]] = float("nan")
    fig = sp.scaling(bad)
    (u55,) = [t for t in fig.data if (t.meta or {}).get("family") == "ethos-u55"]
    assert list(u55.x) == [64, 128, 256]  # ethos-u55-32 failed
    assert any("1 configuration(s) failed" in a.text for a in fig.layout.annotations)
    assert not sweep_tables.pareto_front(bad)[0]
    assert "error" in sweep_tables.table(bad).columns


def test_fallbacks_figure_names_model_and_source_and_is_theme_neutral(ds_cnn_u55, ds_cnn_u85):
    fig = sp.fallbacks([ds_cnn_u55, ds_cnn_u85])
    title = fig.layout.title.text
    assert "ds_cnn" in title and "Vela estimate" in title
    assert layout_value(fig, "paper_bgcolor") == layout_value(fig, "plot_bgcolor") == "rgba(0,0,0,0)"
    assert layout_value(fig, "font.color") == labkit.plots.FONT_COLOR
    (cells,) = fig.data
    assert "avg_pool2d" in cells.cells.values[0]


@pytest.mark.parametrize("figure", [sp.scaling, sp.configurations, sp.pareto, sp.whole_inference])
def test_log_axes_label_every_tick_with_an_increasing_number(figure, sweep):
    fig = figure(sweep)
    axes = [a for name in dir(fig.layout) if name.startswith(("xaxis", "yaxis"))
            for a in [getattr(fig.layout, name)] if a is not None and a.type == "log"]
    for axis in axes:
        values = [float(t.replace(",", "")) for t in axis.ticktext]
        assert len(values) >= 2 and values == sorted(values) and len(set(values)) == len(values), axis.ticktext


def test_pareto_labels_sit_clear_of_their_rings(sweep):
    fig = sp.pareto(sweep)
    labels = [a for a in fig.layout.annotations if a.name == "Pareto label"]
    assert labels and all(a.xanchor == "left" and a.xshift >= 12 for a in labels)
