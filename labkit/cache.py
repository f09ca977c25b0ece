"""Content-addressed on-disk cache of Reports.

An entry is a folder named by its key. It is built in a staging folder under
the same root and renamed into place in one step, so a reader sees either a
complete entry or none; an entry that fails its manifest check is deleted and
recompiled, never trusted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
import uuid
import warnings
from pathlib import Path

from . import shipped
from .errors import CorruptReportError
from .report import Report, tool_versions

log = logging.getLogger(__name__)
_STAGING = ".staging"
_RUNS = ".runs"  # outputs of host runs of a compiled program, by (report, inputs)
_LOWERED = ".lowered"  # lowering key -> an entry holding that lowering (see find_lowering)
_STALE_STAGING_SECONDS = 6 * 3600
# labkit's code that shapes a Report: everything the worker runs (toolchain/ and the FX
# vocabulary it reads graphs with, fx.py), the CPU kernels and their cost model (cpu/),
# the built-in networks (models/), the quantizer configs (quantization.py), the targets,
# boards and their memory (targets.py, hardware.py) and the saved format (report.py), and
# the data among them: the cost model's coefficients and the boards. Folders are walked, so
# a file added, renamed or split out there changes the key too.
_CODE = ("toolchain", "cpu", "models", "fx.py", "quantization.py", "report.py", "targets.py", "hardware.py")
_DATA = (("cortex-m", "coefficients.json"), ("boards", "boards.toml"))
_code_hash: str | None = None


def default_root() -> Path:
    env = os.environ.get("LABKIT_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "labkit"


def root(create: bool = True) -> Path | None:
    """The cache folder, created user-only; None (with a warning) if it is unusable."""
    path = default_root()
    if not create:
        return path
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        (path / _STAGING).mkdir(mode=0o700, exist_ok=True)
        probe = path / _STAGING / f"probe-{uuid.uuid4().hex}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        warnings.warn(f"labkit cache directory {path} is not writable ({e.strerror}); compiling without the "
                      "cache. Set LABKIT_CACHE_DIR to a writable folder to keep results.", stacklevel=3)
        return None
    return path


def code_files() -> list[Path]:
    """The source files ``code_hash`` covers."""
    here = Path(__file__).resolve().parent
    files = []
    for name in _CODE:
        path = here / name
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return files


def code_hash() -> str:
    global _code_hash
    if _code_hash is None:
        here = Path(__file__).resolve().parent
        h = hashlib.sha256()
        for path in code_files():
            h.update(str(path.relative_to(here)).encode() + b"\0" + path.read_bytes())
        for parts in _DATA:
            h.update("/".join(parts).encode() + b"\0" + shipped.data(*parts).read_bytes())
        _code_hash = h.hexdigest()
    return _code_hash


def make_key(model_identity: dict, target_key: dict) -> str:
    blob = json.dumps({"model": model_identity, "target": target_key, "tools": tool_versions(),
                       "labkit": code_hash()}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def lookup(key: str) -> Report | None:
    base = root()
    if base is None or not (base / key).is_dir():
        return None
    try:
        report = Report.load(base / key)
    except CorruptReportError as e:  # never trusted: dropped and recompiled, quietly
        log.info("labkit cache entry %s was corrupt (%s); recompiling", key, e)
        shutil.rmtree(base / key, ignore_errors=True)
        return None
    report.from_cache = True
    return report


def holds(key: str) -> bool:
    """Whether the cache has a finished entry for ``key`` (without loading or checking it)."""
    base = root(create=False)
    return base is not None and (base / key / "manifest.json").is_file()


def staging_dir(key: str) -> Path | None:
    """A fresh, not yet existing folder to build an entry in (None without a cache)."""
    base = root()
    if base is None:
        return None
    _clean_stale_staging(base)
    return base / _STAGING / f"{key}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def build_dir(key: str, use_cache: bool = True) -> Path:
    """Where to build a Report: a staging folder in the cache, or a private temporary
    folder when the cache is not wanted or not usable (``finish`` then leaves it there)."""
    staging = staging_dir(key) if use_cache else None
    return staging or Path(tempfile.mkdtemp(prefix="labkit-")) / "report"


def commit(staging: Path, key: str) -> Path:
    """Move a complete staging folder into place; if another process won the race,
    keep its entry (they are equal by construction) and drop ours."""
    final = staging.parent.parent / key
    try:
        os.rename(staging, final)
    except OSError:
        if not (final / "manifest.json").exists():
            raise
        shutil.rmtree(staging, ignore_errors=True)
    return final


def finish(staging: Path, job) -> Path:
    """The folder of a finished Report: moved into the cache (and noted as a reusable
    lowering) when it was built in a staging folder, else left where it is."""
    if staging.parent.name != _STAGING:
        return staging
    final = commit(staging, job.key)
    remember_lowering(job)
    return final


def lowering_key(job) -> str:
    """Equal for jobs that lower to the same TOSA: the same model (graph, weights,
    calibration) and TOSA profile (U55 and U65 share one), tools and labkit code."""
    return make_key(job.identity, {"tosa_profile": job.target.tosa_profile})


def remember_lowering(job) -> None:
    """Note that ``job``'s cache entry holds a lowering other targets can reuse."""
    base = root()
    if base is None:
        return
    index = base / _LOWERED
    index.mkdir(mode=0o700, exist_ok=True)
    tmp = index / f".{uuid.uuid4().hex}"
    tmp.write_text(job.key)
    os.replace(tmp, index / lowering_key(job))


def find_lowering(job) -> Path | None:
    """An intact cache entry of the same model and TOSA profile as ``job`` (any
    target), whose TOSA and .pte a compile for ``job``'s target can reuse."""
    base = root()
    if base is None or not (base / _LOWERED / lowering_key(job)).is_file():
        return None
    report = lookup((base / _LOWERED / lowering_key(job)).read_text().strip())
    return report.directory if report is not None else None


def discard(staging: Path | None) -> None:
    if staging is not None:
        shutil.rmtree(staging, ignore_errors=True)


def _clean_stale_staging(base: Path) -> None:
    now = time.time()
    for d in (base / _STAGING).iterdir():
        try:
            if now - d.stat().st_mtime > _STALE_STAGING_SECONDS:
                shutil.rmtree(d, ignore_errors=True)
        except OSError:
            pass


def entries() -> list[Path]:
    base = root(create=False)
    if not base.is_dir():
        return []
    return [d for d in base.iterdir() if d.is_dir() and d.name not in (_STAGING, _LOWERED, _RUNS)]


def size_bytes() -> int:
    base = root(create=False)
    if not base.is_dir():
        return 0
    return sum(p.stat().st_size for p in base.rglob("*") if p.is_file())


def clear() -> None:
    for d in entries():
        shutil.rmtree(d, ignore_errors=True)
    shutil.rmtree(default_root() / _LOWERED, ignore_errors=True)
    shutil.rmtree(default_root() / _RUNS, ignore_errors=True)


def run_path(report_key: str, inputs_key: str) -> Path | None:
    """Where a host run's results are kept, by what they depend on: a compiled program's
    outputs on given inputs (a run on the TOSA reference model is deterministic, and a
    transformer's takes minutes over a data set), or a TOSA graph prepared for such runs
    (the same stem with another suffix). None without a usable cache."""
    base = root()
    if base is None or not report_key:
        return None
    folder = base / _RUNS
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder / f"{hashlib.sha256((report_key + inputs_key).encode()).hexdigest()[:32]}.npy"
