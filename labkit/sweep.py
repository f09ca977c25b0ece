"""Many NPU configurations at once. The TOSA graph of a model is the same for
every accelerator of one TOSA profile (U55 and U65 share one, U85 has its own),
so each profile is lowered once (or reused from the cache) and Vela runs per
target; profiles run in parallel, each in a worker process (or on any
concurrent.futures Executor, e.g. a dask cluster)."""

from __future__ import annotations

import concurrent.futures as cf
import io
import os
import tarfile
import tempfile
import threading
from pathlib import Path
from typing import Callable

import pandas as pd

from . import cache, targets as targets_mod
from .errors import CompileCancelled, LabkitError, TargetError

COLUMNS = ["model", "accelerator", "family", "macs_per_cycle", "system_config", "memory_mode", "total_cycles",
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


def run_unit(jobs: list, donor: bytes | None = None) -> dict[str, bytes]:
    """Compile one model for targets of one TOSA profile wherever this runs (any
    Executor's worker) and return each Report folder as tar bytes. ``donor``: a
    Report folder of the same lowering as tar bytes, so nothing is lowered."""
    from . import pipeline

    with tempfile.TemporaryDirectory(prefix="labkit-sweep-") as tmp:
        donor_dir = _unpack(donor, Path(tmp) / "donor") if donor else None
        dirs = [Path(tmp) / job.key for job in jobs]
        pipeline.run_group(jobs, dirs, donor=donor_dir)
        return {job.key: _pack(d) for job, d in zip(jobs, dirs)}


def _pack(folder: Path) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(folder, arcname=".")
    return buf.getvalue()


def _unpack(data: bytes, folder: Path) -> Path:
    folder.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def _run_unit_in_worker(jobs: list, staging: list[Path], donor: Path | None, shared: bool, report, cancel) -> None:
    """The default executor: a labkit worker process per profile (crash-isolated); the
    first profile uses the kernel's shared worker, which is usually warm already."""
    from . import worker as worker_mod

    def on_stage(stage: str, detail: str = "") -> None:
        if stage == "saved":
            report(detail)

    worker = worker_mod.shared() if shared else worker_mod.Worker()
    try:
        worker.run_group(jobs, staging, on_stage, cancel, donor=donor)
    finally:
        if not shared:
            worker.stop()


def sweep(model, targets="all", *, system_configs=None, memory_modes=None, executor: cf.Executor | None = None,
          example_inputs=None, config_ini: str | None = None, name: str | None = None,
          progress: "bool | Callable[[int, int, str], None]" = True,
          cancel: threading.Event | None = None) -> pd.DataFrame:
    """Compile ``model`` for many NPU configurations; one row per target with the
    summary columns. Each TOSA profile is lowered once (or not at all when the cache
    holds a compile of the model for that profile); profiles run in parallel, in
    labkit worker processes or on ``executor``. Every target's full Report is cached
    like a single compile (``reports(df)`` loads them).

    progress: True for a progress bar, False for none, or a callback(done, total, label).
    cancel: set this Event to stop; finished targets stay cached, CompileCancelled is raised.
    """
    from .api import make_job, retarget

    wanted = expand_targets(targets, system_configs, memory_modes, config_ini)
    first = make_job(model, wanted[0], example_inputs=example_inputs, name=name)
    jobs = [first] + [retarget(first, t) for t in wanted[1:]]
    results, errors = {}, {}
    for job in jobs:
        hit = cache.lookup(job.key)
        if hit is not None:
            results[job.key] = hit
    units: dict[str, list] = {}
    for job in jobs:
        if job.key not in results:
            units.setdefault(job.target.tosa_profile, []).append(job)

    report, close = _progress(progress, len(jobs), len(results), first.model)
    own_pool = executor is None
    pool = executor or cf.ThreadPoolExecutor(max_workers=max(1, min(len(units), os.cpu_count() or 1)))
    try:
        futures = {}
        for n, unit in enumerate(units.values()):
            donor = cache.find_lowering(unit[0])
            if own_pool:
                staging = [cache.build_dir(j.key) for j in unit]
                future = pool.submit(_run_unit_in_worker, unit, staging, donor, n == 0, report, cancel)
            else:
                staging = None
                future = pool.submit(run_unit, unit, _pack(donor) if donor else None)
            futures[future] = (unit, staging)
        for future in _as_completed(futures, None if own_pool else cancel):
            unit, staging = futures[future]
            try:
                packed = future.result()
            except Exception as e:  # one profile failing must not lose the others
                for j, d in zip(unit, staging or [None] * len(unit)):
                    if d is not None and (d / "manifest.json").is_file():  # finished before the failure
                        results[j.key] = _commit(j, d, None)
                        continue
                    cache.discard(d)
                    if not isinstance(e, CompileCancelled):
                        errors[j.key] = str(e) if isinstance(e, LabkitError) else f"{type(e).__name__}: {e}"
                        report(j.target.label)
            else:
                for j, d in zip(unit, staging or [None] * len(unit)):
                    results[j.key] = _commit(j, d, packed)
                    if not own_pool:
                        report(j.target.label)
    finally:
        if own_pool:
            pool.shutdown(wait=True)
        close()
    if cancel is not None and cancel.is_set():
        raise CompileCancelled(f"Sweep cancelled after {len(results)} of {len(jobs)} configurations; those are "
                               "cached, so running it again continues from there.")
    return _table(jobs, results, errors)


def _as_completed(futures: dict, cancel: threading.Event | None):
    """concurrent.futures.as_completed that stops waiting once ``cancel`` is set (for
    an external executor: its jobs are cancelled if they have not started yet)."""
    pending = set(futures)
    while pending:
        done, pending = cf.wait(pending, timeout=0.2, return_when=cf.FIRST_COMPLETED)
        yield from done
        if cancel is not None and cancel.is_set():
            for f in pending:
                f.cancel()
            yield from (f for f in pending if f.done() and not f.cancelled())
            return


def _commit(job, staging: Path | None, packed: dict | None):
    from .report import Report

    if staging is None:  # from an external executor: unpack into a staging folder first
        staging = _unpack(packed[job.key], cache.build_dir(job.key))
    return Report.load(cache.finish(staging, job))


def _table(jobs, results, errors) -> pd.DataFrame:
    rows = []
    for job in jobs:
        t = job.target
        row = {"model": job.model, "accelerator": t.accelerator, "family": t.family, "macs_per_cycle": t.macs,
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


def _progress(progress, total: int, done: int, model: str):
    """A thread-safe (report(label), close()) pair counting finished targets."""
    lock, count = threading.Lock(), [done]
    bar = None
    if progress is True:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, initial=done, desc=f"sweep {model}", unit="target")
    if callable(progress):
        progress(done, total, "")

    def report(label: str) -> None:
        with lock:
            count[0] += 1
            if bar is not None:
                bar.update(1)
                bar.set_postfix_str(label)
            if callable(progress):
                progress(count[0], total, label)

    return report, (bar.close if bar is not None else lambda: None)
