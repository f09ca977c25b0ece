"""Shared fixtures. The whole session uses one fresh cache folder, so a model
compiled by one test is a cache hit for the next, and nothing from the
developer's own cache leaks in."""

import os
import sys
import tempfile
from pathlib import Path

import pytest

# LABKIT_TEST_CACHE_DIR lets a developer keep compiles between runs; CI uses a fresh folder.
_SESSION_CACHE = Path(os.environ.get("LABKIT_TEST_CACHE_DIR") or tempfile.mkdtemp(prefix="labkit-test-cache-"))
os.environ["LABKIT_CACHE_DIR"] = str(_SESSION_CACHE)

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts"
DATA = REPO / "data"  # FVP sample logs, Cortex-M calibration, trained weights (data/README.md)


def pytest_addoption(parser):
    parser.addoption("--zoo-full", action="store_true",
                     help="also run the model zoo's zoo_full tests: every model on every family of NPU")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--zoo-full"):
        return
    deselected = [item for item in items if "zoo_full" in item.keywords]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if "zoo_full" not in item.keywords]


@pytest.fixture(scope="session")
def cache_dir() -> Path:
    return _SESSION_CACHE


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch) -> Path:
    """An empty cache of this test's own: no earlier compile whose lowering a
    compile could reuse, so it goes through every stage."""
    root = tmp_path / "cache"
    root.mkdir(mode=0o700)
    (root / ".staging").mkdir(mode=0o700)
    monkeypatch.setenv("LABKIT_CACHE_DIR", str(root))
    return root


FVP_ENV_VARS = ("LABKIT_FVP_DIR", "LABKIT_ARM_RUNNER", "EXECUTORCH_ROOT")


@pytest.fixture
def no_fvp(monkeypatch, tmp_path):
    """An environment with nothing installed: LABKIT_FVP_DIR is an empty folder, PATH has no FVPs."""
    empty = tmp_path / "fvps"
    empty.mkdir()
    from labkit import fvp

    for var in FVP_ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LABKIT_FVP_DIR", str(empty))
    monkeypatch.setenv("PATH", os.pathsep.join([os.path.dirname(sys.executable), "/usr/bin", "/bin"]))
    assert not any(fvp.find_fvps().values()), "an FVP is on /usr/bin or /bin: this test needs an environment without"
    return empty


@pytest.fixture(scope="session")
def compiled():
    """compiled(model, target) -> Report, memoised for the session."""
    import labkit

    seen = {}

    def get(model, target, **kw):
        key = (model, target, tuple(sorted(kw.items())))
        if key not in seen:
            seen[key] = labkit.compile(model, target, progress=False, **kw)
        return seen[key]

    return get


def layout_value(fig, path: str):
    """A layout property as plotly renders it: the figure's own value, else its template's
    (labkit's look lives in one template, views/theme.py)."""
    def get(obj):
        for part in path.split("."):
            obj = getattr(obj, part, None)
            if obj is None:
                return None
        return obj

    own = get(fig.layout)
    return own if own is not None else get(fig.layout.template.layout)
