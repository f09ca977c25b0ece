"""labkit.sweep_plots on real sweeps of ds_cnn (every accelerator with its family
defaults, and a grid of system configs and memory modes on one NPU per family,
the sweeps lesson 7 runs), and the Lab's Compare tab."""

import time

import pandas as pd
import pytest
import torch

import labkit
from labkit import sweep_plots as sp
from labkit.sweep import reports
from labkit.widgets import PLOTLY_MIME, TABS, Lab
from tests.models_for_tests import TinyConv

FAMILIES = {"ethos-u55", "ethos-u65", "ethos-u85"}
GRID = dict(targets=["ethos-u55-128", "ethos-u65-512", "ethos-u85-256"],
            system_configs=sorted({c for a in ("ethos-u55-128", "ethos-u65-512", "ethos-u85-256")
                                   for c in labkit.targets.valid_system_configs(a)}),
            memory_modes=["Sram_Only", "Shared_Sram", "Dedicated_Sram_384KB"])
FIGURES = [sp.scaling, sp.configurations, sp.pareto, sp.fallbacks]


@pytest.fixture(scope="module")
def every():
    return labkit.sweep("ds_cnn", "all", progress=False)


@pytest.fixture(scope="module")
def grid():
    return labkit.sweep("ds_cnn", GRID["targets"], system_configs=GRID["system_configs"],
                        memory_modes=GRID["memory_modes"], progress=False)


@pytest.fixture(scope="module", params=["every", "grid"])
def sweep(request):
    return request.getfixturevalue(request.param)


def _dominated(df: pd.DataFrame, i) -> bool:
    """Brute force, straight from the DataFrame: does any row beat row i?"""
    need = sp.sram_need_kib(df)
    mine = (df.at[i, "inference_ms"], df.at[i, "macs_per_cycle"], need[i])
    for j in df.index:
        other = (df.at[j, "inference_ms"], df.at[j, "macs_per_cycle"], need[j])
        if all(o <= m for o, m in zip(other, mine)) and any(o < m for o, m in zip(other, mine)):
            return True
    return False


def test_sweeps_compiled(every, grid):
    assert len(every) == 11 and set(every["family"]) == FAMILIES
    assert (every["error"] == "").all() and (grid["error"] == "").all()
    assert grid.groupby("accelerator").size().min() >= 4  # several configs per accelerator


@pytest.mark.parametrize("make", FIGURES, ids=[f.__name__ for f in FIGURES])
def test_every_figure_names_model_and_source_and_is_theme_neutral(sweep, make):
    fig = make(sweep)
    title = fig.layout.title.text
    assert "ds_cnn" in title and "Vela estimate" in title
    assert fig.layout.paper_bgcolor == fig.layout.plot_bgcolor == "rgba(0,0,0,0)"
    assert fig.layout.font.color == labkit.plots.FONT_COLOR
    assert len(fig.data) >= 1


def test_model_name_without_the_cache(every):
    df = every.copy()
    df.attrs = {}
    assert sp.model_name(df) == "ds_cnn"  # from the first row's cached Report
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
    assert (sp.table(sweep)["Pareto"] == "✓").sum() == len(marked)


def test_sram_needed_counts_weights_kept_in_sram(grid):
    need = sp.sram_need_kib(grid)
    sram_only = grid["memory_mode"].eq("Sram_Only")
    assert (need[sram_only] == grid.loc[sram_only, "sram_kib"] + grid.loc[sram_only, "flash_kib"]).all()
    assert (need[~sram_only] == grid.loc[~sram_only, "sram_kib"]).all()
    assert sp.weights_in_sram("Ethos_U85_SYS_DRAM_Mid", "Sram_Only")
    assert not sp.weights_in_sram("Ethos_U55_High_End_Embedded", "Shared_Sram")


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
        key = (row["accelerator"].replace("ethos-", ""), sp._short_config(row["system_config"]), row["memory_mode"])
        assert seen[key] == pytest.approx(row["inference_ms"])
    assert sum(t.showlegend is not False for t in bars) == grid["memory_mode"].nunique()  # one legend entry each


def test_configurations_says_when_there_is_nothing_to_compare(every):
    fig = sp.configurations(every)
    assert any("one system config and memory mode per accelerator" in a.text for a in fig.layout.annotations)


def test_fallbacks_list_avg_pool_on_u55_but_not_u85(every):
    table = sp.fallback_table(every)
    pool = table[table["op"] == "aten.avg_pool2d"]
    assert len(pool) == 1 and pool["module"].iloc[0] == "pool" and "Avgpool2d" in pool["reason"].iloc[0]
    rs = {r.summary["accelerator"]: r for r in reports(every)}
    for node in table["node"]:  # checked against every Report of the sweep
        for acc, r in rs.items():
            where = r.operators.set_index("node").at[node, "placement"]
            assert where == ("CPU" if acc.startswith("ethos-u55") else "NPU" if acc.startswith("ethos-u85")
                             else where)
    assert not table["op"].str.contains("quantize").any()  # boundary Q/DQ only on request
    assert len(sp.fallback_table(every, boundary=True)) > len(table)
    fig = sp.fallbacks(every)
    (cells,) = fig.data
    ops, modules, _, reasons, cycles = cells.cells.values
    assert "avg_pool2d" in ops and "pool" in modules
    assert any("Avgpool2d" in r for r in reasons)
    assert "U55" in fig.layout.title.text and "U85" in fig.layout.title.text
    # the same from a list of Reports
    assert sp.fallback_table(list(rs.values()))["node"].tolist() == table["node"].tolist()


def test_fallbacks_without_a_family_to_compare(every):
    fig = sp.fallbacks(every[every["family"] == "ethos-u55"])
    assert any("no Ethos-U85" in a.text for a in fig.layout.annotations)


def test_failed_rows_are_left_out_and_said(every):
    bad = every.copy()
    bad.loc[0, "error"] = "LoweringError: something"
    bad.loc[0, ["total_cycles", "inference_ms", "sram_kib"]] = float("nan")
    fig = sp.scaling(bad)
    (u55,) = [t for t in fig.data if (t.meta or {}).get("family") == "ethos-u55"]
    assert list(u55.x) == [64, 128, 256]  # ethos-u55-32 failed
    assert any("1 configuration(s) failed" in a.text for a in fig.layout.annotations)
    assert not sp.pareto_front(bad)[0]
    assert "error" in sp.table(bad).columns


# ------------------------------------------------------------------ the Compare tab

def _figures(output):
    return [o["data"][PLOTLY_MIME] for o in output.outputs if PLOTLY_MIME in o["data"]]


def test_compare_tab_sweeps_and_shows_figures_and_table(every):
    assert "Compare" in TABS
    lab = Lab(warm=False, model="ds_cnn")
    assert lab.tabs.children[TABS.index("Compare")] is lab.compare
    started = time.perf_counter()
    assert lab.compare.run(wait=False) is None
    assert time.perf_counter() - started < 1.0  # the sweep runs in a background thread
    lab.compare._thread.join(600)
    df = lab.compare.df
    assert df is not None and len(df) == 11
    figs = _figures(lab.outputs["Compare"])
    assert len(figs) == 4
    for f in figs:
        assert "ds_cnn" in f["layout"]["title"]["text"] and "Vela estimate" in f["layout"]["title"]["text"]
    html = lab.outputs["Compare"].outputs[-1]["data"]["text/html"]
    assert all(a in html for a in every["accelerator"])
    assert "avg_pool2d" in str(figs[-1]["data"])
    status = lab.compare.status.value
    assert "11 of 11" in status and "Vela estimate" in status
    assert lab.compare.progress.value == lab.compare.progress.max and not lab.compare.button.disabled
    # run again: from the cache, quickly
    started = time.perf_counter()
    again = lab.compare.run()
    assert again["from_cache"].all() and "from the cache" in lab.compare.status.value
    assert time.perf_counter() - started < 30


def test_compare_tab_error_is_a_readable_message():
    wrong = (torch.rand(1, 5, 16, 16),)  # TinyConv wants 3 channels
    lab = Lab(models={"tiny": (TinyConv(), wrong)}, warm=False)
    assert lab.compare.run() is None
    status = lab.compare.status.value
    assert "Could not compare" in status and "Traceback" not in status
    assert not lab.compare.button.disabled and lab.compare.progress.bar_style == "danger"
