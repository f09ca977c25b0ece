"""A real JupyterLab, started as `labkit lab` starts it, and the Chromium that drives
it: shared by the browser test and benchmarks/soak_lessons.py."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_lab(root: Path, cache: Path):
    """JupyterLab on the lessons installed into ``root`` (as `labkit lab` runs it, plus
    expose_app_in_browser so a test can read cells and kernel replies from the page).
    Yields (base URL, token, server process)."""
    from labkit import lessons
    from labkit.cli import lab_command

    lessons.install(root)
    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ, LABKIT_CACHE_DIR=str(cache), JUPYTER_CONFIG_DIR=str(root / ".jupyter"))
    log = open(root / "server.log", "w")
    proc = subprocess.Popen(lab_command(root, port=str(port)) + [
        "--no-browser", f"--IdentityProvider.token={token}", "--LabApp.expose_app_in_browser=True"],
        env=env, stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            if proc.poll() is not None:
                break
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        else:
            raise RuntimeError("JupyterLab did not start: " + (root / "server.log").read_text()[-2000:])
        yield base, token, proc
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()
