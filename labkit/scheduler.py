"""The one orchestrator of compiles: ``compile()`` is a run of one target, ``sweep()``
a run of many. For every target the cache comes first; the targets it lacks are
grouped by TOSA profile (lowered once per group, or not at all when the cache
holds a lowering to reuse) and run in labkit worker processes (the first group in
the kernel's shared worker), in this process, or on any concurrent.futures
Executor. Each finished target is committed to the cache as soon as its group
stops, so a failure or a cancel keeps what finished and leaves nothing half-written.
"""

from __future__ import annotations

import concurrent.futures as cf
import io
import os
import tarfile
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from . import cache
from .errors import CompileCancelled
from .report import Report
from .toolchain.job import STAGES
from .toolchain.lower import run_group


@dataclass
class Outcome:
    reports: dict = field(default_factory=dict)  # cache key -> Report
    errors: dict = field(default_factory=dict)   # cache key -> the exception that stopped it


class Progress:
    """What a run shows of its progress, from one stream of events (stages, finished
    targets). Per stage for one compile: ``progress(stage, detail)`` or a bar over the
    stages. Per target for a sweep: ``progress(done, total, label)`` or a bar over the
    targets. ``progress=False`` shows nothing. Thread-safe."""

    def __init__(self, progress, *, label: str, total: int = 1, per_target: bool = False):
        self.show, self.label, self.total, self.per_target = progress, label, total, per_target
        self.done = 0
        self._bar = None
        self._lock = threading.Lock()

    def start(self, done: int) -> None:
        """``done`` targets came from the cache."""
        self.done = done
        if not self.per_target:
            return
        if callable(self.show):
            self.show(done, self.total, "")
        elif self.show:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=self.total, initial=done, desc=self.label, unit="target")

    def event(self, stage: str, detail: str = "") -> None:
        """A stage of a target's compile started, or ('saved', label): a target finished."""
        if stage == "saved":
            self.target_done(detail)
        elif not self.per_target and stage in STAGES:
            if callable(self.show):
                self.show(stage, detail)
            elif self.show:
                bar = self._stage_bar()
                bar.n = max(bar.n, STAGES.index(stage))
                bar.set_postfix_str(f"{stage} {detail}".strip())
                bar.refresh()

    def target_done(self, label: str) -> None:
        if not self.per_target:
            return
        with self._lock:
            self.done += 1
            if self._bar is not None:
                self._bar.update(1)
                self._bar.set_postfix_str(label)
            if callable(self.show):
                self.show(self.done, self.total, label)

    def close(self) -> None:
        if self._bar is not None:
            if not self.per_target:
                self._bar.n = len(STAGES)
            self._bar.close()

    def _stage_bar(self):
        if self._bar is None:  # only once something compiles: a cache hit shows no bar
            from tqdm.auto import tqdm

            self._bar = tqdm(total=len(STAGES), desc=self.label, unit="stage", leave=False,
                             bar_format="{desc}: {bar} {n_fmt}/{total_fmt} [{elapsed}]")
        return self._bar


def run(jobs: list, *, use_cache: bool = True, in_process: bool = False, executor: cf.Executor | None = None,
        progress: Progress | None = None, cancel: threading.Event | None = None) -> Outcome:
    """Compile ``jobs`` (one model, any targets and quantizations) and return their Reports and errors by cache key."""
    progress = progress or Progress(False, label="")
    outcome = Outcome()
    if use_cache:
        for job in jobs:
            hit = cache.lookup(job.key)
            if hit is not None:
                outcome.reports[job.key] = hit
    groups: dict[str, list] = {}  # one per lowering: a quantization of the model for a TOSA profile
    for job in jobs:
        if job.key not in outcome.reports:
            groups.setdefault(cache.lowering_key(job), []).append(job)
    units = list(groups.values())
    progress.start(len(outcome.reports))
    try:
        if executor is not None:
            _run_on(executor, units, progress, cancel, outcome)
        elif len(units) == 1 or in_process:  # in this thread: an interrupt reaches the worker's wait
            for n, unit in enumerate(units):
                _run_unit(unit, use_cache, in_process, n == 0, progress, cancel, outcome)
        elif units:
            _run_in_threads(units, use_cache, progress, cancel, outcome)
    finally:
        progress.close()
    return outcome


def _run_unit(unit: list, use_cache: bool, in_process: bool, shared: bool, progress: Progress, cancel,
              outcome: Outcome) -> None:
    """One TOSA profile's targets, in a labkit worker (the kernel's shared one, or a
    fresh one) or in this process; commit each target that finished."""
    staging = [cache.build_dir(job.key, use_cache) for job in unit]
    donor = cache.find_lowering(unit[0]) if use_cache else None
    error = None
    try:
        if in_process:

            run_group(unit, staging, progress.event, donor=donor)
        else:
            from . import worker

            w = worker.shared() if shared else worker.Worker()
            try:
                w.run_group(unit, staging, progress.event, cancel, donor=donor)
            finally:
                if not shared:
                    w.stop()
    except Exception as e:  # recorded per target; the others of the run go on
        error = e
    except BaseException:  # an interrupt: nothing of this unit is kept
        for d in staging:
            cache.discard(d)
        raise
    for job, d in zip(unit, staging):
        if (d / "manifest.json").is_file():  # finished, possibly before the failure
            outcome.reports[job.key] = Report.load(cache.finish(d, job))
        else:
            cache.discard(d)
            outcome.errors[job.key] = error
            if not isinstance(error, CompileCancelled):
                progress.target_done(job.target.label)


def _run_in_threads(units: list, use_cache: bool, progress: Progress, cancel, outcome: Outcome) -> None:
    """Units in parallel, each in its own worker process (the first in the shared one)."""
    stop = threading.Event()  # the user's cancel, or an interrupt while we wait
    with cf.ThreadPoolExecutor(max_workers=max(1, min(len(units), os.cpu_count() or 1))) as pool:
        futures = [pool.submit(_run_unit, unit, use_cache, False, n == 0, progress, stop, outcome)
                   for n, unit in enumerate(units)]
        try:
            while cf.wait(futures, timeout=0.2).not_done:
                if cancel is not None and cancel.is_set():
                    stop.set()
        except BaseException:
            stop.set()
            raise
        for future in futures:
            future.result()  # a unit's interrupt


# ---------------------------------------------------------------- any Executor (e.g. a dask cluster)

def run_unit(jobs: list, donor: bytes | None = None) -> dict[str, bytes]:
    """Compile one model for targets of one TOSA profile wherever this runs (any
    Executor's worker) and return each Report folder as tar bytes. ``donor``: a
    Report folder of the same lowering as tar bytes, so nothing is lowered."""
    with tempfile.TemporaryDirectory(prefix="labkit-sweep-") as tmp:
        donor_dir = _unpack(donor, Path(tmp) / "donor") if donor else None
        dirs = [Path(tmp) / job.key for job in jobs]
        run_group(jobs, dirs, donor=donor_dir)
        return {job.key: _pack(d) for job, d in zip(jobs, dirs)}


def _run_on(executor: cf.Executor, units: list, progress: Progress, cancel, outcome: Outcome) -> None:
    futures = {}
    for unit in units:
        donor = cache.find_lowering(unit[0])
        futures[executor.submit(run_unit, unit, _pack(donor) if donor else None)] = unit
    for future in _as_completed(futures, cancel):
        unit = futures[future]
        try:
            packed = future.result()
        except Exception as e:  # one profile failing must not lose the others
            for job in unit:
                outcome.errors[job.key] = e
                progress.target_done(job.target.label)
            continue
        for job in unit:
            staging = _unpack(packed[job.key], cache.build_dir(job.key))
            outcome.reports[job.key] = Report.load(cache.finish(staging, job))
            progress.target_done(job.target.label)


def _as_completed(futures: dict, cancel: threading.Event | None):
    """concurrent.futures.as_completed that stops waiting once ``cancel`` is set (the
    executor's jobs are cancelled if they have not started yet)."""
    pending = set(futures)
    while pending:
        done, pending = cf.wait(pending, timeout=0.2, return_when=cf.FIRST_COMPLETED)
        yield from done
        if cancel is not None and cancel.is_set():
            for f in pending:
                f.cancel()
            yield from (f for f in pending if f.done() and not f.cancelled())
            return


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
