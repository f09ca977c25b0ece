"""labkit.fvp: the FVP command line per NPU family, discovery and its errors, the
estimate-vs-measured figure from a real published log beside a real Report, and
the Lab's FVP tab. Where a Corstone FVP and ExecuTorch's runner are installed,
the .pte runs on it for real; here (no FVP) those tests skip and say why. No test
runs anything that pretends to be an FVP."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from labkit import fvp, fvp_plots
from labkit.errors import FvpNotFoundError, LabkitError

LOGS = Path(__file__).resolve().parents[2] / "shared" / "fvp-logs"
MV2_LOG = LOGS / "corstone320_mv2_executorch_tutorial.log"
ENV_VARS = ("LABKIT_FVP_DIR", "LABKIT_ARM_RUNNER", "EXECUTORCH_ROOT")


@pytest.fixture
def no_fvp(monkeypatch, tmp_path):
    """An environment with nothing installed: LABKIT_FVP_DIR is an empty folder, PATH has no FVPs."""
    empty = tmp_path / "fvps"
    empty.mkdir()
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LABKIT_FVP_DIR", str(empty))
    monkeypatch.setenv("PATH", os.pathsep.join([os.path.dirname(sys.executable), "/usr/bin", "/bin"]))
    assert not any(fvp.find_fvps().values()), "an FVP is on /usr/bin or /bin: this test needs an environment without"
    return empty


@pytest.fixture(scope="module")
def mv2(compiled):
    """MobileNetV2 on Corstone-320: the model and system of the published tutorial log."""
    return compiled("mobilenet_v2", "corstone-320")


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


# ---------------------------------------------------------------- discovery and errors

def test_run_without_an_fvp_raises_with_how_to_install(no_fvp, mv2):
    with pytest.raises(FvpNotFoundError) as e:
        fvp.run(mv2)
    message = str(e.value)
    assert "FVP_Corstone_SSE-320" in message and "ethos-u85-256" in message
    assert fvp.HOW_TO_INSTALL in message and "LABKIT_FVP_DIR" in message
    assert fvp.missing(mv2)[0].startswith("FVP_Corstone_SSE-320")


def test_run_without_a_runner_explains_how_to_build_it(no_fvp, mv2, monkeypatch):
    """Discovery only: a file named like the FVP is found on LABKIT_FVP_DIR; run() stops before launching
    anything because there is no runner (the file is never executed)."""
    binary = no_fvp / "FVP_Corstone_SSE-320"
    binary.write_text("#!/bin/sh\nexit 1\n")
    binary.chmod(0o755)
    assert fvp.find_fvp("ethos-u85-256") == binary
    with pytest.raises(fvp.RunnerNotFoundError) as e:
        fvp.run(mv2)
    message = str(e.value)
    assert isinstance(e.value, LabkitError)
    assert "build_executor_runner.sh --pte=semihosting --target=ethos-u85-256" in message
    assert "--system_config=Ethos_U85_SYS_DRAM_Mid --memory_mode=Sram_Only" in message
    assert "build_executorch.sh" in message and "arm-none-eabi" in message and "LABKIT_ARM_RUNNER" in message


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


def test_runner_mode_tells_how_the_runner_gets_the_pte(mv2, tmp_path):
    pte = Path(mv2.artifacts["pte"])
    semihosting = tmp_path / "semi"
    semihosting.write_bytes(b"\x7fELF...app -m model.pte -i input.bin [-i input2.bin] -o output_basename...")
    baked = tmp_path / "baked"
    baked.write_bytes(b"\x7fELF" + b"\0" * 64 + pte.read_bytes() + b"\0" * 64)
    other = tmp_path / "other"
    other.write_bytes(b"\x7fELF" + b"\0" * 1024)
    assert fvp.runner_mode(semihosting, pte) == "semihosting"
    assert fvp.runner_mode(baked, pte) == "baked-in"
    assert fvp.runner_mode(other, pte) is None
    assert fvp.runner_mode(other, pte, pte_address=0x70000000) == "address"


def test_inputs_are_written_as_the_runner_reads_them(mv2, tmp_path):
    import numpy as np
    import torch

    inputs, outputs = fvp.io_specs(mv2.artifacts["pte"])
    assert inputs == [((1, 3, 224, 224), torch.float32, [0, 1, 2, 3])]
    assert outputs == [((1, 1000), torch.float32, [0, 1])]
    assert fvp.write_inputs(tmp_path, None, inputs) == ["i0.bin"]
    ones = np.fromfile(tmp_path / "i0.bin", dtype=np.float32)
    assert ones.size == 3 * 224 * 224 and (ones == 1).all()
    x = torch.arange(3 * 224 * 224, dtype=torch.float32).reshape(1, 3, 224, 224)
    fvp.write_inputs(tmp_path, x, inputs)
    assert (np.fromfile(tmp_path / "i0.bin", dtype=np.float32) == x.flatten().numpy()).all()
    with pytest.raises(LabkitError, match="224"):
        fvp.write_inputs(tmp_path, torch.zeros(1, 3, 32, 32), inputs)


def test_launch_kills_an_overrunning_process_and_reports_it():
    """The launcher's own backstop, on a plain sleeping Python process (it prints nothing)."""
    started = time.perf_counter()
    rc, text, killed, seconds = fvp.launch([sys.executable, "-c", "import time; time.sleep(60)"], 0.5, grace=0.5)
    assert killed and rc != 0 and text == "" and time.perf_counter() - started < 30
    rc, text, killed, _ = fvp.launch([sys.executable, "-c", "print('hello')"], 30)
    assert (rc, text.strip(), killed) == (0, "hello", False)


# ---------------------------------------------------------------- the figure, from the real published log

needs_logs = pytest.mark.skipif(not MV2_LOG.is_file(), reason=f"published FVP log not found at {MV2_LOG} "
                                "(shared/ must sit beside the repo)")


@needs_logs
def test_parse_is_reexported():
    from labkit import fvp_parse

    assert fvp.parse is fvp_parse.parse and fvp.FvpRun is fvp_parse.FvpRun
    run = fvp.parse(MV2_LOG.read_text(), "ethos-u85")
    assert run.source == "fvp-measured" and run.npu_cycles == 5_920_305


@needs_logs
def test_estimate_vs_measured_from_the_published_log(mv2):
    info = fvp_plots.PUBLISHED_LOGS[MV2_LOG.name]
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
    assert cpu.marker.color == fvp_plots.plots.CPU_COLOR
    assert all(t.marker.color == fvp_plots.plots.NPU_COLOR for t in fig.data if "CPU" not in t.name)
    caption = fig.layout.annotations[-1].text.replace("<br>", " ")
    assert "not from this report's .pte" in caption
    assert "4,425,968 bytes" in caption and f"{int(mv2.summary['pte_bytes']):,} bytes" in caption
    assert "random weights" in caption and "ImageNet-trained weights" in caption
    assert "Published log, not a run here" in caption and "not cycle-accurate" in caption
    assert "not an error of Vela's" in caption  # the ratio of two builds is not called an accuracy


@needs_logs
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


# ---------------------------------------------------------------- the Lab's FVP tab, without an FVP

def test_lab_fvp_tab_explains_what_is_missing(no_fvp, mv2):
    from labkit.widgets import TABS, Lab

    assert "FVP" in TABS
    lab = Lab(model="mobilenet_v2", target="corstone-320", warm=False)  # found in the session cache
    assert lab.report is not None and lab.report.summary["cache_key"] == mv2.summary["cache_key"]
    page = lab.tabs.children[TABS.index("FVP")]
    assert page is lab.fvp and lab.fvp.button.disabled
    text = lab.fvp.status.value
    for phrase in ("measured NPU cycles", "PMU counters", "CPU cycles", "not cycle-accurate",
                   "Not available here for ethos-u85-256", "FVP_Corstone_SSE-320", "LABKIT_FVP_DIR",
                   "--i-agree-to-the-contained-eula", "build_executor_runner.sh --pte=semihosting"):
        assert phrase in text, phrase
    assert lab.fvp.output.outputs == ()
    assert lab.fvp.run() is None and not lab.fvp.runs  # run anyway: the error, not a traceback
    assert "Could not run on the FVP" in lab.fvp.status.value and "Traceback" not in lab.fvp.status.value
    assert "FVP_Corstone_SSE-320" in lab.fvp.status.value


# ---------------------------------------------------------------- for real, where an FVP is installed

def _ready(accelerator: str) -> str | None:
    """None when labkit.fvp.run can run ``accelerator`` here, else the skip reason."""
    what = ([fvp.FAMILIES[fvp.family(accelerator)][0]] if fvp.find_fvp(accelerator) is None else []) + \
        ([f"ExecuTorch's arm_executor_runner for {fvp.board(accelerator)}"] if fvp.find_runner(accelerator) is None
         else [])
    if not what:
        return None
    return (f"needs {' and '.join(what)}, not installed here (the Corstone FVPs are a licensed download from Arm; "
            "see labkit doctor)")


@pytest.mark.skipif(_ready("ethos-u85-256") is not None, reason=str(_ready("ethos-u85-256")))
def test_mobilenet_v2_runs_on_the_corstone320_fvp(mv2):
    run = fvp.run(mv2, timeout=1800)
    assert run.completed and run.source == "fvp-measured" and run.exit_status is not None
    assert run.npu_cycles and run.npu_cycles > 0
    assert run.report_key == mv2.summary["cache_key"]
    assert len(run.outputs) == 1 and len(run.outputs[0]) == 1000
    fig = fvp_plots.estimate_vs_measured(mv2, run)
    assert "this report's own .pte" in fig.layout.annotations[-1].text.replace("<br>", " ")


@pytest.mark.skipif(_ready("ethos-u55-128") is not None, reason=str(_ready("ethos-u55-128")))
def test_ds_cnn_runs_on_the_corstone300_fvp_with_inputs(compiled):
    import torch

    report = compiled("ds_cnn", "corstone-300")
    ((shape, dtype, _),) = fvp.io_specs(report.artifacts["pte"])[0]
    run = fvp.run(report, torch.rand(shape, dtype=dtype), timeout=900)
    assert run.completed and run.npu_cycles > 0 and run.outputs and run.outputs[0]
