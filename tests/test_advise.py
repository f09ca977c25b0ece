"""labkit.advise(report): each expected suggestion appears, measured by a real compile, and its
measured effect equals compiling the change by hand."""

import threading

import pytest
import torch

import labkit
from labkit.errors import CompileCancelled, InputValueError
from labkit.report import Report
from tests.models_for_tests import PoolHead, image


def _row(table, text):
    rows = table[table["change"].str.contains(text, regex=False)]
    assert len(rows) == 1, (text, table["change"].tolist(), table.attrs["message"])
    return rows.iloc[0]


def _assert_ranked(table):
    """Best first: the changes that make the model fit, then by time saved."""
    saved = [(bool(f), -ms) for f, ms in zip(table["fits"], table["delta_ms"])]
    faster = [-ms for ms in table["delta_ms"] if -ms > 0]
    assert faster == sorted(faster, reverse=True), saved


def test_memory_bound_model_gets_weights_in_sram(compiled):
    report = compiled("deep_autoencoder", "ethos-u55-128")  # Shared_Sram: the weights stream from flash
    advice = labkit.advise(report, levers=["target"], progress=False)
    top = advice.iloc[0]
    assert "memory mode Sram_Only" in top["change"] and "from flash to SRAM" in top["change"]
    assert "memory-bound" in top["why"] and "flash" in top["why"]
    by_hand = labkit.compile("deep_autoencoder", "ethos-u55-128", memory_mode="Sram_Only", progress=False)
    assert top["delta_cycles"] == by_hand.summary["total_cycles"] - report.summary["total_cycles"] < 0
    assert top["delta_sram_kib"] == pytest.approx(by_hand.sram_need_kib - report.sram_need_kib)
    assert top["delta_sram_kib"] > 0  # the price: the weights now take SRAM
    assert labkit.compile(**top["kwargs"], progress=False).summary["cache_key"] == by_hand.summary["cache_key"]
    _assert_ranked(advice)
    assert set(advice.attrs["sources"].values()) >= {"vela-estimate", "cortex-m-estimate", "tosa-reference"}


def test_mean_over_h_w_becomes_adaptive_pooling():
    torch.manual_seed(0)
    report = labkit.compile(PoolHead("mean"), "ethos-u85-256", example_inputs=image(), progress=False)
    advice = labkit.advise(report, levers=["rewrites"], progress=False)
    row = _row(advice, "adaptive_avg_pool2d")
    assert "models_for_tests.py:66" in row["change"] and "x.mean((2, 3))" in row["change"]
    assert "REDUCE_SUM" in row["why"]
    torch.manual_seed(0)  # the same weights, the edit made by hand
    by_hand = labkit.compile(PoolHead("adaptive"), "ethos-u85-256", example_inputs=image(), progress=False)
    assert row["delta_cycles"] == by_hand.summary["total_cycles"] - report.summary["total_cycles"] < 0
    assert row["lever"] == "rewrites" and isinstance(row["kwargs"]["model"], torch.nn.Module)
    _assert_ranked(advice)


@pytest.mark.slow
def test_mobilenet_v2_input_transpose(compiled):
    report = compiled("mobilenet_v2", "corstone-320")
    first = report.layers.iloc[0]
    assert "TRANSPOSE" in first["tosa_op"]  # what the advice answers
    advice = labkit.advise(report, levers=["rewrites"], progress=False)
    row = _row(advice, "channels-last")
    assert "transposes the NCHW input" in row["why"] and f"{int(first['Op Cycles']):,} cycles" in row["why"]
    spec = labkit.models.get("mobilenet_v2")
    channels_last = [tuple(t.to(memory_format=torch.channels_last) for t in s) for s in spec.calibration()]
    by_hand = labkit.compile(spec.factory(), "corstone-320", name="mobilenet_v2", progress=False,
                             example_inputs=tuple(t.to(memory_format=torch.channels_last)
                                                  for t in spec.example_inputs()),
                             calibration_inputs=channels_last)
    assert "TRANSPOSE" not in by_hand.layers.iloc[0]["tosa_op"]
    assert row["delta_cycles"] == by_hand.summary["total_cycles"] - report.summary["total_cycles"] < 0


def test_ds_cnn_avg_pool_fallback_gets_cmsis_nn(compiled):
    portable = labkit.compile("ds_cnn", "ethos-u55-128", cpu_kernels="portable", progress=False)
    advice = labkit.advise(portable, levers=["cpu_kernels"], progress=False)
    row = _row(advice, "cpu_kernels='cmsis-nn'")
    assert "aten.avg_pool2d" in row["why"] and "Avgpool2d" in row["why"]  # the partitioner's reason
    cmsis = compiled("ds_cnn", "ethos-u55-128")
    assert row["delta_cpu_cycles"] == cmsis.summary["cpu_cycles_est"] - portable.summary["cpu_cycles_est"] < 0
    assert row["delta_cycles"] == 0  # the NPU's program is the same

    # The other way round measures slower: nothing to improve, and the table says so.
    back = labkit.advise(cmsis, levers=["cpu_kernels"], progress=False)
    assert back.empty and back.attrs["message"].startswith("Nothing to improve")
    (rejected,) = back.attrs["rejected"]
    assert "portable" in rejected["change"] and rejected["delta_cpu_cycles"] > 0


def test_no_lever_applies_and_bad_arguments(compiled):
    report = compiled("deep_autoencoder", "ethos-u55-128")
    none = labkit.advise(report, levers=["rewrites"], progress=False)  # 2-D input, no mean: no rewrite to try
    assert none.empty and none.attrs["message"].startswith("No lever applies")
    with pytest.raises(InputValueError, match="choose from target, board, rewrites"):
        labkit.advise(report, levers=["faster"])
    with pytest.raises(InputValueError, match="budget"):
        labkit.advise(report, budget=-1)
    loaded = Report.load(report.directory)
    with pytest.raises(InputValueError, match=r"labkit.compile\(model, target"):
        labkit.advise(loaded)


def test_budget_and_cancel(fresh_cache):
    torch.manual_seed(0)
    report = labkit.compile(PoolHead("mean"), "ethos-u85-256", example_inputs=image(), progress=False)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(CompileCancelled, match="cached"):
        labkit.advise(report, levers=["target"], progress=False, cancel=cancel)
    assert not list((fresh_cache / ".staging").iterdir())  # nothing half-written
    seen = []
    advice = labkit.advise(report, levers=["target", "rewrites"], budget=2, progress=lambda *a: seen.append(a))
    assert advice.attrs["tried"] == 2 and len(advice.attrs["not_tried"]) >= 4
    assert "not tried (budget" in advice.attrs["message"]
    assert seen and seen[-1][:2] == (2, 2)
    again = labkit.advise(report, levers=["target", "rewrites"], budget=2, progress=False)  # cache hits are free
    assert again.attrs["tried"] == 4
