"""labkit.fvp with a compiled Report: its errors without an FVP or runner, how a
runner gets the .pte and its inputs, and the Lab's FVP tab. Where a Corstone FVP
and ExecuTorch's runner are installed, the .pte runs on it for real; here (no FVP)
those tests skip and say why. No test runs anything that pretends to be an FVP.
The command line, discovery and the figures are in the fast tier (tests/fast/test_fvp.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from labkit import fvp, fvp_plots
from labkit.errors import FvpNotFoundError, LabkitError
from labkit.toolchain import pte as pte_file


# ---------------------------------------------------------------- errors, and how a runner is fed


@pytest.fixture(scope="module")
def mv2(compiled):
    """MobileNetV2 on Corstone-320: the model and system of the published tutorial log."""
    return compiled("mobilenet_v2", "corstone-320")


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


def test_runner_mode_tells_how_the_runner_gets_the_pte(mv2, tmp_path):
    pte = Path(mv2.artifacts.pte)
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

    inputs, outputs = pte_file.io_specs(pte_file.read(mv2.artifacts.pte).program)
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


# ---------------------------------------------------------------- the Lab's FVP tab, without an FVP

def test_lab_fvp_tab_explains_what_is_missing(no_fvp, mv2):
    from labkit.app import TABS, Lab

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
    ((shape, dtype, _),) = pte_file.io_specs(pte_file.read(report.artifacts.pte).program)[0]
    run = fvp.run(report, torch.rand(shape, dtype=dtype), timeout=900)
    assert run.completed and run.npu_cycles > 0 and run.outputs and run.outputs[0]
