"""Many NPU configurations at once. The TOSA graph of a model is the same for
every accelerator of one TOSA profile (U55 and U65 share one, U85 has its own),
so each profile is lowered once and Vela runs per target; profiles run in
parallel, each in its own worker process (or on any concurrent.futures
Executor, e.g. a dask cluster)."""

from __future__ import annotations

import concurrent.futures as cf
import io
import os
import tarfile
import tempfile
from pathlib import Path

import pandas as pd

from . import cache, targets as targets_mod
from .errors import LabkitError, TargetError

COLUMNS = ["accelerator", "family", "macs_per_cycle", "system_config", "memory_mode", "total_cycles",
           "npu_cycles", "inference_ms", "inferences_per_s", "sram_kib", "flash_kib", "dram_kib", "npu_ops",
           "cpu_ops", "partitions", "macs", "fits", "source", "from_cache", "cache_key", "error"]


def expand_targets(targets="all", system_configs=None, memory_modes=None, config_ini=None) -> list:
    """Targets from 'all' / 'u55' / 'u65' / 'u85' / a list, times the system configs
    and memory modes asked for (only the combinations Vela accepts)."""
    if isinstance(targets, str) and targets.lower() in ("all", "u55", "u65", "u85"):
        family = targets.lower()
        accs = [a for a in targets_mod.accelerators() if family == "all" or a.startswith(f"ethos-{family}")]
        base = [targets_mod.resolve_target(a, config_ini=config_ini) for a in accs]
    else:
        items = [targets] if isinstance(targets, (str, targets_mod.Target)) else list(targets)
        base = [targets_mod.resolve_target(t, config_ini=config_ini) for t in items]
    out = []
    for t in base:
        scs = [s for s in (system_configs or [t.system_config])
               if s in targets_mod.valid_system_configs(t.accelerator, config_ini)]
        for sc in scs:
            modes = targets_mod.valid_memory_modes(t.accelerator, sc, config_ini)
            for mm in (memory_modes or [t.memory_mode if sc == t.system_config else None]):
                mm = mm or targets_mod.FAMILY_DEFAULTS[t.family][1]
                if mm in modes:
                    out.append(targets_mod.Target(t.accelerator, sc, mm, t.config_ini))
    if not out:
        raise TargetError("No valid target in this sweep: the system configs / memory modes given fit none of "
                          "the accelerators. See `labkit targets` for what fits which NPU.")
    return out


def run_unit(jobs: list) -> dict[str, bytes]:
    """Compile one model for targets of one TOSA profile wherever this runs (any
    Executor's worker) and return each Report folder as tar bytes."""
    from . import pipeline

    with tempfile.TemporaryDirectory(prefix="labkit-sweep-") as tmp:
        dirs = [Path(tmp) / job.key for job in jobs]
        pipeline.run_group(jobs, dirs)
        packed = {}
        for job, d in zip(jobs, dirs):
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w") as tar:
                tar.add(d, arcname=".")
            packed[job.key] = buf.getvalue()
        return packed


def _run_unit_in_worker(jobs: list, staging: list[Path]) -> None:
    """The default: a fresh labkit worker process per profile (crash-isolated)."""
    from .worker import Worker

    worker = Worker()
    try:
        worker.run_group(jobs, staging, lambda stage, detail="": None)
    finally:
        worker.stop()


def sweep(model, targets="all", *, system_configs=None, memory_modes=None, executor: cf.Executor | None = None,
          example_inputs=None, config_ini: str | None = None, progress: bool = True) -> pd.DataFrame:
    """One row per target with the summary columns; every target's full Report is
    cached like a single compile (``reports(df)`` loads them)."""
    from .api import make_job, retarget

    wanted = expand_targets(targets, system_configs, memory_modes, config_ini)
    first = make_job(model, wanted[0], example_inputs=example_inputs)
    jobs = [first] + [retarget(first, t) for t in wanted[1:]]
    results, errors = {}, {}
    for job in jobs:
        hit = cache.lookup(job.key)
        if hit is not None:
            results[job.key] = hit
    todo = [j for j in jobs if j.key not in results]
    units: dict[str, list] = {}
    for job in todo:
        units.setdefault(job.target.tosa_profile, []).append(job)

    bar = _bar(len(jobs), len(jobs) - len(todo), progress, first.model)
    own_pool = executor is None
    pool = executor or cf.ThreadPoolExecutor(max_workers=max(1, min(len(units), os.cpu_count() or 1)))
    try:
        futures = {}
        for unit in units.values():
            if own_pool:
                staging = [cache.staging_dir(j.key) or Path(tempfile.mkdtemp(prefix="labkit-")) / "r" for j in unit]
                futures[pool.submit(_run_unit_in_worker, unit, staging)] = (unit, staging)
            else:
                futures[pool.submit(run_unit, unit)] = (unit, None)
        for future in cf.as_completed(futures):
            unit, staging = futures[future]
            try:
                packed = future.result()
            except Exception as e:  # one profile failing must not lose the others
                for j, d in zip(unit, staging or [None] * len(unit)):
                    cache.discard(d)
                    errors[j.key] = str(e) if isinstance(e, LabkitError) else f"{type(e).__name__}: {e}"
            else:
                for j, d in zip(unit, staging or [None] * len(unit)):
                    results[j.key] = _commit(j.key, d, packed)
            bar.update(len(unit))
    finally:
        if own_pool:
            pool.shutdown(wait=True)
        bar.close()
    return _table(jobs, results, errors)


def _commit(key: str, staging: Path | None, packed: dict | None):
    from .report import Report

    if staging is None:  # from an external executor: unpack into a staging folder first
        staging = cache.staging_dir(key) or Path(tempfile.mkdtemp(prefix="labkit-")) / "r"
        staging.mkdir(parents=True)
        with tarfile.open(fileobj=io.BytesIO(packed[key])) as tar:
            tar.extractall(staging, filter="data")
    final = cache.commit(staging, key) if staging.parent.name == ".staging" else staging
    return Report.load(final)


def _table(jobs, results, errors) -> pd.DataFrame:
    rows = []
    for job in jobs:
        t = job.target
        row = {"accelerator": t.accelerator, "family": t.family, "macs_per_cycle": t.macs,
               "system_config": t.system_config, "memory_mode": t.memory_mode, "cache_key": job.key,
               "error": errors.get(job.key, "")}
        report = results.get(job.key)
        if report is not None:
            row.update({c: report.summary[c] for c in COLUMNS if c in report.summary.index and c not in row})
            row["from_cache"] = report.from_cache
            row["fits"] = report.fits  # False: needs more SRAM than the memory mode gives
        rows.append(row)
    return pd.DataFrame(rows).reindex(columns=COLUMNS)


def reports(df: pd.DataFrame) -> list:
    """The full Report of every row of a sweep (from the cache)."""
    return [cache.lookup(k) if isinstance(k, str) else None for k in df["cache_key"]]


def _bar(total: int, done: int, progress: bool, model: str):
    if not progress:
        class _Null:
            def update(self, n):
                pass

            def close(self):
                pass

        return _Null()
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=done, desc=f"sweep {model}", unit="target")
