"""A wheel works: built from this checkout, installed (not editable) into a fresh
virtual environment whose only labkit is the wheel, it compiles a built-in model with
its shipped weights and starts the lab on the lessons it ships. The environment
borrows the machine's torch, ExecuTorch and JupyterLab (a plain path in a .pth file,
so the developer's editable labkit is not seen) instead of downloading them again."""

import json
import os
import secrets
import subprocess
import sys
import sysconfig
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

from labkit import lessons
from tests.conftest import REPO
from tests.jupyterlab import free_port

LESSONS = len(lessons.sources())  # every lesson notebook in the repository ships


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    root = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(root / "dist")], check=True, capture_output=True)
    (wheel,) = (root / "dist").glob("labkit-*.whl")
    subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True)
    python = root / "venv" / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([python, "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)], check=True,
                   capture_output=True)
    env = dict(os.environ, LABKIT_CACHE_DIR=str(root / "cache"), HOME=str(root / "home"),
               XDG_CONFIG_HOME=str(root / "home" / ".config"))
    return root, wheel, python, env


def test_the_wheel_ships_the_package_data(venv):
    _, wheel, _, _ = venv
    names = zipfile.ZipFile(wheel).namelist()
    assert {"labkit/data/weights/digits_cnn.pt", "labkit/data/weights/digits_mobilenet.pt",
            "labkit/data/weights/digits_vit.pt", "labkit/data/fvp-logs/corstone320_mv2_executorch_tutorial.log",
            "labkit/data/cortex-m/alif_e8_m55_mobilenet_v2_layers.csv", "labkit/data/README.md"} <= set(names)
    lesson_files = [n for n in names if n.startswith("labkit/notebooks/") and n.endswith(".ipynb")]
    assert len(lesson_files) == LESSONS
    assert not [n for n in names if n.startswith(("tests/", "notebooks/", "data/"))]


def test_installed_labkit_compiles_digits_cnn(venv):
    root, _, python, env = venv
    where = subprocess.run([python, "-c", "import labkit; print(labkit.__file__)"], cwd=root, env=env,
                           capture_output=True, text=True, check=True).stdout.strip()
    assert where.startswith(str(root / "venv")), where
    out = subprocess.run([root / "venv" / "bin" / "labkit", "compile", "digits_cnn", "--target", "corstone-300",
                          "--json"], cwd=root, env=env, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-2000:]
    summary = json.loads(out.stdout)["summary"]
    assert summary["weights"] == "trained" and summary["total_cycles"] > 0 and summary["source"] == "vela-estimate"


def test_installed_labkit_starts_the_lab_on_its_lessons(venv):
    root, _, _, env = venv
    port, token = free_port(), secrets.token_hex(16)
    lessons = root / "my-lessons"
    proc = subprocess.Popen([root / "venv" / "bin" / "labkit", "lab", "--no-browser", "--port", str(port),
                             "--dir", str(lessons)], cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=dict(env, JUPYTER_TOKEN=token))
    try:
        for _ in range(120):
            try:
                status = urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2)
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
                time.sleep(0.5)
        else:
            pytest.fail("the lab did not start")
        assert status.status == 200
        listing = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents?token={token}"))
        names = {item["name"] for item in listing["content"]}
        assert "01_first_model_on_an_npu.ipynb" in names
        assert len([n for n in names if n.endswith(".ipynb")]) == LESSONS
    finally:
        proc.terminate()
        proc.wait(30)
