"""Corstone FVP discovery. The FVPs are a separate download from Arm (licence
acceptance), so labkit looks for them and says plainly what is missing; it
never invents their numbers. Parsing their output lives in fvp_parse.py."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

FVP_BINARIES = {
    "Corstone-300 (Ethos-U55)": "FVP_Corstone_SSE-300_Ethos-U55",
    "Corstone-300 (Ethos-U65)": "FVP_Corstone_SSE-300_Ethos-U65",
    "Corstone-320 (Ethos-U85)": "FVP_Corstone_SSE-320",
}
HOW_TO_INSTALL = (
    "Download the Corstone-300/320 FVPs from Arm (developer.arm.com, 'Arm Ecosystem FVPs'; a licence must be "
    "accepted), or run ExecuTorch's examples/arm/setup.sh --i-agree-to-the-contained-eula, then put the FVP "
    "binaries on PATH or set LABKIT_FVP_DIR to their folder."
)


def _search_dirs() -> list[Path]:
    env = os.environ.get("LABKIT_FVP_DIR")
    if not env:
        return []
    root = Path(env).expanduser()
    return [root, root / "bin", *root.glob("*/models/*")]


def find_fvps() -> dict[str, Path | None]:
    """Each known FVP binary: its path, or None when it is not installed."""
    found = {}
    for label, binary in FVP_BINARIES.items():
        hit = next((d / binary for d in _search_dirs() if (d / binary).is_file()), None)
        which = shutil.which(binary)
        found[label] = hit or (Path(which) if which else None)
    return found


def find_runner() -> Path | None:
    """A prebuilt ExecuTorch arm_executor_runner (LABKIT_ARM_RUNNER), if given and present."""
    env = os.environ.get("LABKIT_ARM_RUNNER")
    return Path(env) if env and Path(env).is_file() else None


def doctor_lines() -> list[str]:
    lines = []
    fvps = find_fvps()
    for label, path in fvps.items():
        lines.append(f"{label:<26} {path if path else 'not found'}")
    runner = find_runner()
    lines.append(f"{'arm_executor_runner':<26} {runner if runner else 'not found (set LABKIT_ARM_RUNNER)'}")
    if not any(fvps.values()):
        lines.append("no Corstone FVP: labkit shows Vela estimates only. " + HOW_TO_INSTALL)
    return lines
