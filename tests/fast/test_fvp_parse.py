"""Tests for labkit.fvp.console (the parser) against the real FVP logs in data/fvp-logs."""
from __future__ import annotations

import math

import pytest

from labkit.fvp.console import FvpRun, parse
from tests.conftest import DATA

LOGS = DATA / "fvp-logs"

# Target each published log was produced for (see data/README.md).
TARGETS = {
    "corstone300_add_issue9356.log": "ethos-u55-128",
    "corstone320_mv2_executorch_tutorial.log": "ethos-u85-256",
    "mlek_kws_format.log": "ethos-u55-128",
}


def run(name: str, target: str | None = None) -> FvpRun:
    return parse((LOGS / name).read_text(), target or TARGETS[name])


def counter(r: FvpRun, name: str) -> tuple[str | None, int, float]:
    row = r.counters.set_index("counter").loc[name]
    return row["event"], int(row["value"]), float(row["per_inference"])


def test_every_log_is_covered_and_parses():
    logs = sorted(p.name for p in LOGS.glob("*.log"))
    assert logs, "no .log files in the fvp-logs folder"
    assert set(logs) == set(TARGETS), "add expectations for new logs to this test file"
    for name in logs:
        r = run(name)
        assert r.source == "fvp-measured" and r.raw
        assert list(r.counters.columns) == ["counter", "event", "value", "per_inference"]
        assert r.etdump is None  # none of the published logs carries an ETDump block
        assert r.completed is False  # all three are excerpts without the closing line


def test_corstone320_u85_mobilenetv2_tutorial():
    r = run("corstone320_mv2_executorch_tutorial.log")
    assert r.format == "executorch-old"
    assert r.target == "ethos-u85-256"
    assert r.npu_cycles == 5_920_305
    assert r.cpu_cycles == 1_498_202
    assert len(r.counters) == 4
    # Event names come from the printed 'Ethos-U PMU Events:[...]' line (pre-Oct-2024 U85 set).
    assert counter(r, "ethosu_pmu_cntr0")[:2] == ("ETHOSU_PMU_EXT0_RD_DATA_BEAT_RECEIVED", 359_921)
    assert counter(r, "ethosu_pmu_cntr1")[:2] == ("ETHOSU_PMU_EXT1_RD_DATA_BEAT_RECEIVED", 0)
    assert counter(r, "ethosu_pmu_cntr2")[:2] == ("ETHOSU_PMU_EXT0_WR_DATA_BEAT_WRITTEN", 0)
    assert counter(r, "ethosu_pmu_cntr3")[:2] == ("ETHOSU_PMU_NPU_IDLE", 503)
    assert math.isnan(counter(r, "ethosu_pmu_cntr0")[2])  # old format has no per-inference suffix
    assert r.allocator == {
        "model_pte_loaded_size": 4_425_968,
        "method_allocator_used": 1_355_722,
        "method_allocator_size": 62_914_560,
        "method_allocator_free": 61_558_838,
        "method_allocator_planned": 752_640,
    }
    assert r.stats["inference_runtime_cpu_cycles"] == 6_925_114
    assert r.stats["cpu_wait_for_npu_cycles"] == 729
    assert r.stats["npu_inferences"] == 1
    assert r.stats["npu_ratio_pct"] == pytest.approx(0.01)
    assert r.outputs == []
    assert any("not cycle-accurate" in n for n in r.notes)
    assert not any("not printed" in n for n in r.notes)


def test_corstone300_u55_add_issue_cycle_cnt_zero_is_flagged():
    r = run("corstone300_add_issue9356.log")
    assert r.format == "executorch-old"
    assert r.npu_cycles == 411
    assert r.cpu_cycles == 0  # kept as printed ...
    assert any("cycle_cnt printed as 0" in n for n in r.notes)  # ... but flagged
    assert any("not cycle-accurate" in n for n in r.notes)
    # Partial report: one counter, no events line -> U55 default order names it.
    assert len(r.counters) == 1
    assert counter(r, "ethosu_pmu_cntr0")[:2] == ("ETHOSU_PMU_AXI0_RD_DATA_BEAT_RECEIVED", 6)
    assert any("event names not printed" in n for n in r.notes)
    assert r.stats["inference_runtime_cpu_cycles"] == 2585
    assert r.stats["cpu_wait_for_npu_cycles"] == 256
    assert r.stats["operators_total_cpu_cycles"] == 0
    assert r.stats["cpu_ratio_pct"] == pytest.approx(90.10)
    assert r.allocator == {} and r.outputs == []
    assert any("no completion line" in n for n in r.notes)


def test_u65_family_uses_the_same_defaults_as_u55():
    r = run("corstone300_add_issue9356.log", target="ethos-u65")
    assert r.target == "ethos-u65"
    assert r.counters["event"].tolist() == ["ETHOSU_PMU_AXI0_RD_DATA_BEAT_RECEIVED"]


def test_printed_event_names_win_over_target_defaults():
    r = run("corstone320_mv2_executorch_tutorial.log", target="ethos-u55")
    assert counter(r, "ethosu_pmu_cntr3")[0] == "ETHOSU_PMU_NPU_IDLE"
    assert any("do not match" in n for n in r.notes)


def test_mlek_kws_pmu_block():
    r = run("mlek_kws_format.log")
    assert r.format == "mlek"
    assert r.npu_cycles == 413_814  # 'NPU ACTIVE cycles'
    assert r.stats["npu_total_cycles"] == 414_172 == 413_814 + 358
    assert r.cpu_cycles is None
    assert counter(r, "NPU AXI0_RD_DATA_BEAT_RECEIVED")[:2] == ("ETHOSU_PMU_AXI0_RD_DATA_BEAT_RECEIVED", 132_130)
    assert counter(r, "NPU AXI0_WR_DATA_BEAT_WRITTEN")[:2] == ("ETHOSU_PMU_AXI0_WR_DATA_BEAT_WRITTEN", 48_252)
    assert counter(r, "NPU AXI1_RD_DATA_BEAT_RECEIVED")[:2] == ("ETHOSU_PMU_AXI1_RD_DATA_BEAT_RECEIVED", 17_544)
    assert counter(r, "NPU IDLE")[:2] == ("ETHOSU_PMU_NPU_IDLE", 358)
    assert r.allocator == {} and r.outputs == []
    assert not any("not cycle-accurate" in n for n in r.notes)  # no CPU figures printed


def test_old_and_new_prefix_formats_both_parse():
    old_line = next(l for l in (LOGS / "corstone300_add_issue9356.log").read_text().splitlines()
                    if "ethosu_pmu_cntr0" in l)
    new_line = ("I [executorch:arm_perf_monitor.cpp:180 StopMeasurements()] "
                "ethosu_pmu_cntr0 : 24 (12.00 per inference)")  # the one synthetic line
    old, new = parse(old_line, "ethos-u55-128"), parse(new_line, "ethos-u55-128")
    assert old.format == "executorch-old" and new.format == "executorch-new"
    assert counter(old, "ethosu_pmu_cntr0")[:2] == ("ETHOSU_PMU_AXI0_RD_DATA_BEAT_RECEIVED", 6)
    assert counter(new, "ethosu_pmu_cntr0") == ("ETHOSU_PMU_AXI0_RD_DATA_BEAT_RECEIVED", 24, 12.0)
    # Mixed into a real log, the newer line marks the whole log as the newer format.
    mixed = parse((LOGS / "corstone300_add_issue9356.log").read_text() + new_line + "\n", "ethos-u55-128")
    assert mixed.format == "executorch-new"
    assert counter(mixed, "ethosu_pmu_cntr0")[1:] == (24, 12.0)


def test_windows_line_endings_and_ansi_colours_are_tolerated():
    text = (LOGS / "corstone320_mv2_executorch_tutorial.log").read_text()
    noisy = "\r\n".join(f"\x1b[32m{l}\x1b[0m" for l in text.splitlines())
    a, b = parse(text, "ethos-u85-256"), parse(noisy, "ethos-u85-256")
    assert (a.npu_cycles, a.cpu_cycles, a.allocator) == (b.npu_cycles, b.cpu_cycles, b.allocator)
    assert a.counters.equals(b.counters)


@pytest.mark.parametrize("garbage", ["", "hello world\nfoo: 12\n", "Traceback (most recent call last):\n  x = 1"])
def test_garbage_raises_value_error(garbage):
    with pytest.raises(ValueError, match="no recognisable"):
        parse(garbage, "ethos-u55-128")
