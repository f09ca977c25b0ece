"""labkit.fvp without compiling: the FVP command line per NPU family, discovery, the
launcher, and the estimate-vs-measured figure from a real published log beside a
real Report (a committed fixture). Running a compiled .pte, and the Lab's FVP
tab, are in the full tier (tests/test_fvp.py)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from labkit import fvp, fvp_plots, plots
from labkit.errors import LabkitError
from tests.conftest import DATA

LOGS = DATA / "fvp-logs"
MV2_LOG = LOGS / "corstone320_mv2_executorch_tutorial.log"


def _params(cmd: list[str]) -> list[str]:
    return [cmd[i + 1] for i, a in enumerate(cmd) if a == "-C"]


# ---------------------------------------------------------------- the command line, per family

@pytest.mark.parametrize("accelerator, binary, macs_param, prefix", [
    ("ethos-u55-128", "FVP_Corstone_SSE-300_Ethos-U55", "ethosu.num_macs=128", "cpu0"),
    ("ethos-u55-32", "FVP_Corstone_SSE-300_Ethos-U55", "ethosu.num_macs=32", "cpu0"),
    ("ethos-u65-512", "FVP_Corstone_SSE-300_Ethos-U65", "ethosu.num_macs=512", "cpu0"),
    ("ethos-u85-256", "FVP_Corstone_SSE-320", "mps4_board.subsystem.ethosu.num_macs=256",
     "mps4_board.subsystem.cpu0"),
    ("ethos-u85-2048", "FVP_Corstone_SSE-320", "mps4_board.subsystem.ethosu.num_macs=2048",
     "mps4_board.subsystem.cpu0"),
])
def test_fvp_command_per_family(accelerator, binary, macs_param, prefix, tmp_path):
    fvp_bin, runner = Path("/opt/fvp") / binary, Path("/opt/et/arm_executor_runner")
    cmd = fvp.fvp_command(accelerator, fvp_bin, runner, workdir=tmp_path, inputs=["i0.bin", "i1.bin"], timeout=321)
    assert cmd[0] == str(fvp_bin)
    params = _params(cmd)
    board = "mps4_board" if "u85" in accelerator else "mps3_board"
    assert macs_param in params
    for p in (f"{board}.visualisation.disable-visualisation=1", f"{board}.telnetterminal0.start_telnet=0",
              f"{board}.uart0.out_file='-'", f"{board}.uart0.shutdown_on_eot=1",
              f"{prefix}.semihosting-enable=1", f"{prefix}.semihosting-stack_base=0",
              f"{prefix}.semihosting-heap_limit=0", f"{prefix}.semihosting-cwd={tmp_path}",
              f"{prefix}.semihosting-cmd_line='executor_runner -m model.pte -o out -i i0.bin -i i1.bin'"):
        assert p in params, p
    assert ("vis_hdlcd.disable_visualisation=1" in params) == ("u85" in accelerator)
    assert not [p for p in params if "--fast" in p]  # performance runs leave the Ethos-U model's fast mode off
    assert cmd[cmd.index("-a") + 1] == str(runner)
    assert cmd[-2:] == ["--timelimit", "321"]
    assert "--data" not in cmd


def test_fvp_command_from_a_report_uses_its_accelerator(mv2, tmp_path):
    cmd = fvp.fvp_command(mv2, Path("FVP_Corstone_SSE-320"), Path("runner"), workdir=tmp_path)
    assert "mps4_board.subsystem.ethosu.num_macs=256" in _params(cmd)
    assert cmd[-2:] == ["--timelimit", str(fvp.DEFAULT_TIMEOUT)]


def test_fvp_command_for_runners_without_semihosting(tmp_path):
    pte = tmp_path / "model.pte"
    cmd = fvp.fvp_command("ethos-u55-128", "FVP_Corstone_SSE-300_Ethos-U55", "runner", mode="address",
                          pte_address=0x70000000, pte_path=pte, timeout=60.5)
    assert cmd[cmd.index("--data") + 1] == f"{pte}@0x70000000"
    assert not [p for p in _params(cmd) if "semihosting" in p]
    assert cmd[-2:] == ["--timelimit", "61"]
    baked = fvp.fvp_command("ethos-u85-128", "FVP_Corstone_SSE-320", "runner", mode="baked-in")
    assert "--data" not in baked and not [p for p in _params(baked) if "semihosting" in p]
    fast = fvp.fvp_command("ethos-u85-128", "FVP_Corstone_SSE-320", "runner", mode="baked-in", fast=True)
    assert "mps4_board.subsystem.ethosu.extra_args='--fast'" in _params(fast)


def test_fvp_command_refuses_the_wrong_fvp_and_long_command_lines(tmp_path):
    with pytest.raises(LabkitError, match="FVP_Corstone_SSE-320"):
        fvp.fvp_command("ethos-u85-256", "FVP_Corstone_SSE-300_Ethos-U55", "runner", workdir=tmp_path)
    with pytest.raises(LabkitError, match="truncates"):
        fvp.fvp_command("ethos-u55-128", "FVP_Corstone_SSE-300_Ethos-U55", "runner", workdir=tmp_path,
                        inputs=[f"input_with_a_long_name_{i}.bin" for i in range(12)])
    with pytest.raises(LabkitError, match="Ethos-U55/U65/U85"):
        fvp.family("cortex-m55")


def test_boards_follow_executorch():
    assert [fvp.board(a) for a in ("ethos-u55-64", "ethos-u65-256", "ethos-u85-1024")] == \
        ["corstone-300", "corstone-300-u65", "corstone-320"]


# ---------------------------------------------------------------- discovery

def test_runner_found_where_executorch_builds_it(no_fvp, tmp_path, monkeypatch):
    root = tmp_path / "executorch"
    runner = root / "arm_test" / "arm_semihosting_executor_runner_corstone-320" / "arm_executor_runner"
    runner.parent.mkdir(parents=True)
    runner.write_bytes(b"\x7fELF not a real runner")
    monkeypatch.setenv("EXECUTORCH_ROOT", str(root))
    assert fvp.find_runner("ethos-u85-256") == runner
    assert fvp.find_runner("ethos-u55-128") is None  # built per board
    monkeypatch.setenv("LABKIT_ARM_RUNNER", str(runner))
    assert fvp.find_runner("ethos-u55-128") == runner  # an explicit runner wins
    lines = fvp.doctor_lines()
    assert any("runner corstone-320" in ln and str(runner) in ln for ln in lines)
    assert any("no Corstone FVP" in ln for ln in lines)


def test_launch_kills_an_overrunning_process_and_reports_it():
    """The launcher's own backstop, on a plain sleeping Python process (it prints nothing)."""
    started = time.perf_counter()
    rc, text, killed, seconds = fvp.launch([sys.executable, "-c", "import time; time.sleep(60)"], 0.5, grace=0.5)
    assert killed and rc != 0 and text == "" and time.perf_counter() - started < 30
    rc, text, killed, _ = fvp.launch([sys.executable, "-c", "print('hello')"], 30)
    assert (rc, text.strip(), killed) == (0, "hello", False)


# ---------------------------------------------------------------- the figure, from the real published log

def test_parse_is_reexported():
    from labkit.fvp import console

    assert fvp.parse is console.parse and fvp.FvpRun is console.FvpRun
    run = fvp.parse(MV2_LOG.read_text(), "ethos-u85")
    assert run.source == "fvp-measured" and run.npu_cycles == 5_920_305


def test_estimate_vs_measured_from_the_published_log(mv2):
    info = fvp.PUBLISHED_LOGS[MV2_LOG.name]
    assert info["model"] == mv2.summary["model"] == "mobilenet_v2"
    run = fvp.parse(MV2_LOG.read_text(), info["target"])
    fig = fvp_plots.estimate_vs_measured(mv2, run, caption=info["caption"], run_label="FVP measured (published log)")
    title = fig.layout.title.text
    assert "Vela estimate" in title and "FVP measured" in title and "ethos-u85-256" in title
    bars = {x.replace("<br>", " "): y for t in fig.data for x, y in zip(t.x, t.y)}
    assert bars["Vela estimate total cycles"] == mv2.summary["total_cycles"]
    assert bars["Vela estimate NPU cycles"] == mv2.summary["npu_cycles"]
    assert bars["FVP measured NPU active cycles"] == 5_920_305  # ethosu_pmu_cycle_cntr in the log
    assert bars["FVP measured CPU cycles (not cycle-accurate)"] == 1_498_202
    names = [t.name for t in fig.data]
    assert "FVP CPU cycles — not cycle-accurate" in names
    cpu = next(t for t in fig.data if "CPU" in t.name)
    assert cpu.marker.color == plots.CPU_COLOR
    assert all(t.marker.color == plots.NPU_COLOR for t in fig.data if "CPU" not in t.name)
    caption = fig.layout.annotations[-1].text.replace("<br>", " ")
    assert "not from this report's .pte" in caption
    assert "4,425,968 bytes" in caption and f"{int(mv2.summary['pte_bytes']):,} bytes" in caption
    assert "random weights" in caption and "ImageNet-trained weights" in caption
    assert "Published log, not a run here" in caption and "not cycle-accurate" in caption
    assert "not an error of Vela's" in caption  # the ratio of two builds is not called an accuracy


def test_measured_table_labels_its_source():
    run = fvp.parse(MV2_LOG.read_text(), "ethos-u85")
    table = fvp_plots.measured_table(run)
    assert table.attrs["source"] == "fvp-measured"
    rows = table.set_index("quantity")
    assert rows.loc["NPU active cycles", "value"] == 5_920_305
    assert rows.loc["EXT0_RD_DATA_BEAT_RECEIVED", "value"] == 359_921
    assert "not cycle-accurate" in rows.loc["CPU cycles in the Ethos-U delegate", "note"]
    assert "fvp-measured" in fvp_plots.measured_html(run)


def test_estimate_without_a_run_says_there_is_none(mv2):
    fig = fvp_plots.estimate_vs_measured(mv2, None)
    assert len(fig.data) == 1 and "no run" in fig.layout.title.text
    assert "No FVP measurement" in fig.layout.annotations[-1].text
