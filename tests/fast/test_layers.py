"""The house: labkit's floors hold (the import-linter contract in pyproject.toml, which
sees imports inside functions as well as at the top), the contract names every module
and ignores none, and the wheel's package list names every package on disk."""

import subprocess
import sys
import tomllib
from pathlib import Path

from tests.conftest import REPO

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def test_the_floors_hold():
    out = subprocess.run([Path(sys.executable).parent / "lint-imports", "--no-cache"], cwd=REPO,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "1 kept, 0 broken" in out.stdout


def test_the_contract_names_every_module_and_ignores_none():
    (contract,) = PYPROJECT["tool"]["importlinter"]["contracts"]
    assert contract["type"] == "layers" and contract["exhaustive"] is True
    assert not contract.get("ignore_imports") and not contract.get("unmatched_ignore_imports_alerting")
    named = {name.strip() for floor in contract["layers"] for name in floor.split("|")}
    on_disk = {p.stem if p.is_file() else p.name for p in (REPO / "labkit").iterdir()
               if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()}
    assert named == on_disk


def test_the_wheel_lists_every_package():
    setuptools = PYPROJECT["tool"]["setuptools"]
    packages = {".".join(p.relative_to(REPO).parts[:-1]) for p in (REPO / "labkit").rglob("__init__.py")}
    mapped = {name for name, folder in setuptools["package-dir"].items() if folder != name.replace(".", "/")}
    assert set(setuptools["packages"]) == packages | mapped
