"""The house: labkit's floors hold (the import-linter contract in pyproject.toml, which
sees imports inside functions as well as at the top), the contract names every module
and ignores none, the wheel's package list names every package on disk, and its data every data file."""

import re
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


def test_the_wheel_ships_every_data_file():
    """data/ is labkit.data in a wheel: every file the package reads from it must match
    the package-data globs (the boards and the cost model's coefficients included)."""
    globs = PYPROJECT["tool"]["setuptools"]["package-data"]["labkit.data"]
    data = REPO / "data"
    shipped = {p for g in globs for p in data.glob(g) if p.is_file()}
    wanted = {p for p in data.rglob("*") if p.is_file() and p.suffix not in (".py",)}
    assert wanted <= shipped, sorted(str(p.relative_to(data)) for p in wanted - shipped)


def test_the_readme_lists_the_floors_of_the_contract():
    readme = (REPO / "README.md").read_text()
    section = readme.split("## How it is built", 1)[1].split("\n## ", 1)[0]
    listed = [{m.strip(" `") for m in line.split(". ", 1)[1].split(",")}
              for line in section.splitlines() if line[:1].isdigit()]
    (contract,) = PYPROJECT["tool"]["importlinter"]["contracts"]
    floors = [{m.strip() for m in floor.split("|")} for floor in reversed(contract["layers"])]
    assert listed == floors


def test_the_front_page_and_the_docs_link_only_inside_the_repository():
    pages = [REPO / "README.md", REPO / "data" / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    for page in pages:
        for target in re.findall(r"\]\(([^)#\s]+)", page.read_text()):
            if target.startswith(("http://", "https://")):
                continue
            path = (page.parent / target).resolve()
            assert path.exists() and REPO in path.parents, f"{page.name} links {target}"
