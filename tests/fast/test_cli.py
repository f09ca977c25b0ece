"""The `labkit` command, run as a user would (a real subprocess), where it compiles nothing."""

import subprocess
import sys


def labkit(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "labkit.cli", *args], capture_output=True, text=True,
                          timeout=timeout)


def test_help_lists_commands():
    out = labkit("--help")
    assert out.returncode == 0
    for cmd in ("models", "targets", "compile", "advise", "doctor", "lab"):
        assert cmd in out.stdout


def test_import_labkit_does_not_import_the_toolchain():
    code = "import sys, labkit; print(sorted(m for m in ('torch', 'executorch', 'plotly') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "[]"


def test_models_and_targets_tables():
    models = labkit("models").stdout
    for name in ("ds_cnn", "mobilenet_v1_025", "resnet8", "deep_autoencoder", "mobilenet_v2"):
        assert name in models
    targets = labkit("targets").stdout
    assert "corstone-320" in targets and "ethos-u85-2048" in targets and "Ethos_U65_Client_Server" in targets


def test_user_error_is_one_line_without_traceback():
    out = labkit("compile", "ds_cnn", "--target", "ethos-u55-128", "--memory-mode", "Dedicated_Sram")
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("labkit: error: Memory mode 'Dedicated_Sram'")
    assert "Traceback" not in out.stderr


def test_debug_flag_shows_traceback():
    out = labkit("--debug", "compile", "no_such_model")
    assert out.returncode != 0 and "Traceback" in out.stderr


def test_doctor():
    out = labkit("doctor")
    assert out.returncode == 0
    assert "executorch_version" in out.stdout and "cache" in out.stdout


def test_doctor_reports_missing_fvp_with_how_to_install(tmp_path):
    import os

    env = dict(os.environ, LABKIT_FVP_DIR=str(tmp_path), PATH=os.path.dirname(sys.executable) + ":/usr/bin:/bin")
    out = subprocess.run([sys.executable, "-m", "labkit.cli", "doctor"], capture_output=True, text=True, env=env)
    assert "Corstone-320 (Ethos-U85)" in out.stdout and "not found" in out.stdout
    assert "LABKIT_FVP_DIR" in out.stdout


def test_doctor_finds_an_fvp_binary_in_labkit_fvp_dir(tmp_path):
    """Discovery only: an executable file with the FVP's name is found (nothing is run)."""
    import os

    binary = tmp_path / "FVP_Corstone_SSE-320"
    binary.write_text("#!/bin/sh\nexit 1\n")
    binary.chmod(0o755)
    env = dict(os.environ, LABKIT_FVP_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-m", "labkit.cli", "doctor"], capture_output=True, text=True, env=env)
    assert str(binary) in out.stdout


def test_an_unknown_model_gets_the_command_lines_own_way_forward():
    out = labkit("compile", "no_such_model", "--target", "corstone-300")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "Unknown model 'no_such_model'" in out.stderr and ".pt2" in out.stderr and "ds_cnn" in out.stderr
    assert "example_inputs=" not in out.stderr.replace("export(model, example_inputs)", "")  # no Python-only fix


def test_lab_help_says_what_each_option_does():
    out = labkit("lab", "--help")
    for option, words in (("--ip", "address"), ("--port", "port"), ("--no-browser", "browser")):
        line = next(ln for ln in out.stdout.splitlines() if ln.strip().startswith(option))
        assert words in (line + out.stdout.split(line, 1)[1][:200]).lower()
