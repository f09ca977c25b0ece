"""Every Vela cycle lands on a PyTorch operator (or a visible backend row):
real compiles of every built-in model on one U55 and one U85 config."""

import pandas as pd
import pytest

import labkit
from labkit.toolchain import vela
from tests.models_for_tests import ConvSortConv, PoolHead, example, image

BUILTINS = ["ds_cnn", "mobilenet_v1_025", "resnet8", "deep_autoencoder", "mobilenet_v2"]
TARGETS = ["ethos-u55-128", "ethos-u85-256"]
COSTS = ["cycles", "npu_cycles", "macs", "sram_ac", "dram_ac", "flash_ac", "util_pct", "origin"]


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("model", BUILTINS)
def test_attributed_cycles_sum_to_vela_per_partition(compiled, model, target):
    r = compiled(model, target)
    ops = r.operators
    assert set(COSTS) <= set(ops.columns)
    for p in r.artifacts.partitions:
        vela_total = float(vela.read_summary(p.vela_dir)["cycles_total"])
        ours = ops.loc[ops["partition"] == p.index, "cycles"].sum()
        assert ours == pytest.approx(vela_total, rel=0.005), (model, target, p.index)
    # >= 95% of cycles on a row with a module path or an explicit backend row
    named = ops[(ops["module"] != "") | (ops["origin"] == "backend")]["cycles"].sum()
    assert named >= 0.95 * ops["cycles"].sum()
    assert ops.loc[ops["placement"] == "CPU", "cycles"].isna().all()  # CPU work: not a Vela estimate


@pytest.mark.parametrize("depth", [1, 2])
def test_by_module_sums_to_total(compiled, depth):
    r = compiled("mobilenet_v2", "ethos-u85-256")
    mods = r.by_module(depth)
    assert list(mods.columns[:4]) == ["module", "cycles", "npu_cycles", "macs"]
    assert mods["cycles"].sum() == pytest.approx(r.summary["total_cycles"], rel=0.005)
    if depth == 1:
        assert {"features", "classifier"} <= set(mods["module"])
    else:
        assert "features.3" in set(mods["module"]) and not mods["module"].str.count(r"\.").gt(1).any()


def test_layers_join_back_to_operators(compiled):
    r = compiled("resnet8", "ethos-u55-128")
    assert {"tosa_op", "node", "module", "partition"} <= set(r.layers.columns)
    assert (r.layers["node"] != "").mean() > 0.9
    assert r.layers["tosa_op"].str.startswith("tosa.").all()


def test_memory_per_layer_and_limits(compiled):
    r = compiled("resnet8", "ethos-u85-256")
    mem = r.memory
    assert len(mem) == len(r.layers) and mem["staging_kib"].ge(0).all() and mem["staging_kib"].max() > 0
    assert mem.attrs["sram_kib"] == r.summary["sram_kib"]
    assert pd.isna(mem.attrs["sram_limit_kib"])  # Sram_Only: Vela's arena is the whole address space
    dedicated = compiled("resnet8", "ethos-u65-256")  # Dedicated_Sram_384KB
    assert dedicated.memory.attrs["sram_limit_kib"] == 384 and dedicated.fits


def test_multi_partition_cpu_boundary_work(compiled):
    r = labkit.compile(ConvSortConv(), "ethos-u55-128", example_inputs=example(), progress=False)
    work = r.cpu_work
    assert {"quantize", "dequantize", "operator"} <= set(work["kind"])
    estimated = work[work["cpu_cycles_est"].notna()]
    assert len(estimated) >= 3 and (estimated["source"] == "cortex-m-estimate").all()
    assert (estimated["cpu_cycles_low"] <= estimated["cpu_cycles_high"]).all()
    boundary = work[work["reason"].str.contains("boundary")]
    assert len(boundary) >= 2 and (boundary["elements"] == 8 * 16 * 16).all()
    sort = work[work["op"] == "aten.sort"].iloc[0]  # two outputs: float values and int64 indices
    assert (sort["shape"], sort["dtype"]) == ("1x8x16x16, 1x8x16x16", "float32, int64")
    assert sort["elements"] == 2 * 8 * 16 * 16 and sort["bytes"] == 8 * 16 * 16 * (4 + 8)


def test_hotspot_flags_mean_and_pooling_is_cheaper(compiled):
    import torch

    torch.manual_seed(0)
    with_mean = labkit.compile(PoolHead("mean"), "ethos-u85-256", example_inputs=image(), progress=False)
    torch.manual_seed(0)
    with_pool = labkit.compile(PoolHead("adaptive"), "ethos-u85-256", example_inputs=image(), progress=False)
    hot = with_mean.hotspots()
    flagged = hot[hot["hint"].str.contains("adaptive_avg_pool2d")]
    assert len(flagged) == 1 and flagged.iloc[0]["source"].endswith("models_for_tests.py:66")
    assert with_pool.summary["total_cycles"] < with_mean.summary["total_cycles"]


def test_hotspot_memory_bound_hint_is_right(compiled):
    flash = compiled("deep_autoencoder", "ethos-u55-128")  # Shared_Sram: weights in flash
    hint = flash.hotspots(1).iloc[0]["hint"]
    assert hint.startswith("memory-bound: flash") and "Sram_Only" in hint
    sram_only = labkit.compile("deep_autoencoder", "ethos-u55-128", memory_mode="Sram_Only", progress=False)
    assert sram_only.summary["total_cycles"] < flash.summary["total_cycles"]
