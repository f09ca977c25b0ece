"""Shared fixtures. The whole session uses one fresh cache folder, so a model
compiled by one test is a cache hit for the next, and nothing from the
developer's own cache leaks in."""

import os
import tempfile
from pathlib import Path

import pytest

# LABKIT_TEST_CACHE_DIR lets a developer keep compiles between runs; CI uses a fresh folder.
_SESSION_CACHE = Path(os.environ.get("LABKIT_TEST_CACHE_DIR") or tempfile.mkdtemp(prefix="labkit-test-cache-"))
os.environ["LABKIT_CACHE_DIR"] = str(_SESSION_CACHE)

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts"


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
