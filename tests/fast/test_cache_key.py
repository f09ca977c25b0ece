"""The cache key covers labkit's own code that shapes a Report by walking its
folders, not a hand-kept list: a file added under toolchain/ changes the key."""

import uuid

import pytest

from labkit import cache


@pytest.fixture
def fresh_hash(monkeypatch):
    monkeypatch.setattr(cache, "_code_hash", None)
    yield
    cache._code_hash = None


def test_code_hash_covers_every_toolchain_and_model_file():
    names = {str(p.relative_to(p.parents[1])) for p in cache.code_files() if p.parent.name in ("toolchain", "models")}
    assert {"toolchain/lower.py", "toolchain/tosa.py", "toolchain/assemble.py", "models/mobilenet_v2.py"} <= names
    assert {"report.py", "fx.py"} <= {p.name for p in cache.code_files()}


def test_a_new_file_in_the_toolchain_changes_the_key(fresh_hash):
    before = cache.code_hash()
    probe = cache.code_files()[0].parent.parent / "toolchain" / f"_probe_{uuid.uuid4().hex}.py"
    try:
        probe.write_text("# a file split out of another one\n")
        cache._code_hash = None
        with_probe = cache.code_hash()
    finally:
        probe.unlink()
        cache._code_hash = None
    assert with_probe != before
    assert cache.code_hash() == before
    key = {"accelerator": "ethos-u55-128"}
    assert cache.make_key({"builtin": "ds_cnn"}, key) == cache.make_key({"builtin": "ds_cnn"}, key)
