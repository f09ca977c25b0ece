"""labkit.sweep_plots on sweeps compiled now (ds_cnn, every accelerator and a grid:
the sweeps lesson 7 runs): the CPU fallbacks read from every Report of the sweep,
and the Lab's Compare tab. The figures of a sweep table are tested in the fast
tier (tests/fast/test_sweep_plots.py) on the committed copy of these sweeps."""

import time

import pytest
import torch

import labkit
from labkit import sweep_plots as sp
from labkit import sweep_tables
from labkit.app import TABS, Lab
from labkit.app.common import PLOTLY_MIME
from labkit.sweeps import reports
from tests.fast.fixtures.make import GRID, grid_system_configs
from tests.models_for_tests import TinyConv

FAMILIES = {"ethos-u55", "ethos-u65", "ethos-u85"}


@pytest.fixture(scope="module")
def every():
    return labkit.sweep("ds_cnn", "all", progress=False)


@pytest.fixture(scope="module")
def grid():
    return labkit.sweep("ds_cnn", GRID["targets"], system_configs=grid_system_configs(),
                        memory_modes=GRID["memory_modes"], progress=False)


def test_sweeps_compiled(every, grid):
    assert len(every) == 11 and set(every["family"]) == FAMILIES
    assert (every["error"] == "").all() and (grid["error"] == "").all()
    assert grid.groupby("accelerator").size().min() >= 4  # several configs per accelerator


def test_fallbacks_list_avg_pool_on_u55_but_not_u85(every):
    table = sweep_tables.fallback_table(reports(every))
    pool = table[table["op"] == "aten.avg_pool2d"]
    assert len(pool) == 1 and pool["module"].iloc[0] == "pool" and "Avgpool2d" in pool["reason"].iloc[0]
    rs = {r.summary["accelerator"]: r for r in reports(every)}
    for node in table["node"]:  # checked against every Report of the sweep
        for acc, r in rs.items():
            where = r.operators.set_index("node").at[node, "placement"]
            assert where == ("CPU" if acc.startswith("ethos-u55") else "NPU" if acc.startswith("ethos-u85")
                             else where)
    assert not table["op"].str.contains("quantize").any()  # boundary Q/DQ only on request
    assert len(sweep_tables.fallback_table(reports(every), boundary=True)) > len(table)
    fig = sp.fallbacks(reports(every))
    (cells,) = fig.data
    ops, modules, _, reasons, cycles = cells.cells.values
    assert "avg_pool2d" in ops and "pool" in modules
    assert any("Avgpool2d" in r for r in reasons)
    assert "U55" in fig.layout.title.text and "U85" in fig.layout.title.text
    # the same from a list of Reports
    assert sweep_tables.fallback_table(list(rs.values()))["node"].tolist() == table["node"].tolist()


def test_fallbacks_without_a_family_to_compare(every):
    fig = sp.fallbacks(reports(every[every["family"] == "ethos-u55"]))
    assert any("no Ethos-U85" in a.text for a in fig.layout.annotations)


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
    assert len(figs) == 5 and "whole inference" in figs[0]["layout"]["title"]["text"]  # NPU + CPU first
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
