"""The persistent compile worker: a separate process, started lazily and reused,
so a native crash in the toolchain cannot take the user's kernel down and the
kernel stays responsive while it waits."""

from __future__ import annotations

import os
import pickle
import socket
import subprocess
import sys
import tempfile
import threading
from multiprocessing.connection import Connection
from pathlib import Path

from .errors import CompileCancelled, LabkitError, WorkerCrashedError, first_line, from_message

# Recycle the worker after this many compiles or above this resident memory, so a
# long session (a classroom, a demo day) has bounded memory.
MAX_JOBS = int(os.environ.get("LABKIT_WORKER_MAX_JOBS", "25"))
MAX_RSS_MB = int(os.environ.get("LABKIT_WORKER_MAX_RSS_MB", "3072"))
# ... or when it has grown this much above its size after its first compile
# (measured: ~+10 MB per compile of the MLPerf Tiny models, +46% over 20).
MAX_GROWTH = float(os.environ.get("LABKIT_WORKER_MAX_GROWTH", "0.2"))


def _serve(conn) -> None:  # runs in the worker process
    from .toolchain import lower

    while True:
        try:
            message = pickle.loads(conn.recv_bytes())
        except (EOFError, KeyboardInterrupt):
            return
        kind = message[0]
        if kind == "stop":
            return
        if kind == "warm":
            lower.warm_up()
            conn.send(("warm",))
            continue
        _, jobs, out_dirs, donor = message
        try:
            lower.run_group(jobs, [Path(d) for d in out_dirs],
                            progress=lambda s, d="": conn.send(("progress", s, d)), capture_fds=True,
                            donor=donor and Path(donor))
            conn.send(("done", _rss_mb()))
        except LabkitError as e:
            conn.send(("error", type(e).__name__, str(e)))
        except BaseException as e:  # noqa: BLE001 - every failure must reach the kernel as a message
            conn.send(("error", "CompileError",
                       f"the compile failed unexpectedly: {type(e).__name__}: {first_line(e)}. "
                       "Re-run with in_process=True to see the traceback."))


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


class Worker:
    def __init__(self):
        self._proc = None
        self._conn = None
        self._jobs = 0
        self._lock = threading.Lock()
        self.last_rss_mb: float | None = None
        self._baseline_mb = float("inf")
        self.recycled = 0

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._alive() else None

    def _alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _ensure_started(self) -> None:
        """Start ``python -m labkit.worker`` on one end of a socket pair. A plain
        subprocess (not multiprocessing's spawn) never re-imports the user's
        __main__, so scripts without an ``if __name__ == '__main__'`` guard work."""
        if self._alive():
            return
        ours, theirs = socket.socketpair()
        self.log_path = Path(tempfile.gettempdir()) / f"labkit-worker-{os.getpid()}.log"
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "labkit.worker", str(theirs.fileno())],
                pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        theirs.close()
        self._conn = Connection(ours.detach())
        self._jobs = 0

    def warm(self) -> None:
        """Start the worker and import the toolchain now (hides ~10 s before a demo)."""
        with self._lock:
            self._ensure_started()
            self._send(("warm",))
            self._wait(lambda *a: None, None)

    def _warm_quietly(self) -> None:
        try:
            self.warm()
        except LabkitError:  # stopped meanwhile (the kernel is exiting): the next compile starts one
            pass

    def run_group(self, jobs: list, out_dirs: list[Path], progress, cancel: threading.Event | None = None,
                  donor: Path | None = None) -> None:
        """Compile one model for targets of one TOSA profile (lowered once, or not at
        all with a ``donor`` Report folder to reuse), one Report per out_dir."""
        with self._lock:
            self._ensure_started()
            try:
                self._send(("compile", jobs, [str(d) for d in out_dirs], donor and str(donor)))
                done = self._wait(progress, cancel)
            except BaseException:
                self.stop(kill=True)  # interrupted or crashed: never reuse a worker mid-job
                raise
            self._jobs += 1
            self.last_rss_mb = done[1]
            if self._jobs == 1:
                self._baseline_mb = done[1]
            if self._jobs >= MAX_JOBS or done[1] > MAX_RSS_MB or done[1] > self._baseline_mb * (1 + MAX_GROWTH):
                self.stop()
                self.recycled += 1
                # Start the next one now, so the next compile does not wait for the imports.
                threading.Thread(target=self._warm_quietly, daemon=True, name="labkit-worker-warm").start()

    def _send(self, message) -> None:
        # Plain pickle, not multiprocessing's: torch registers shared-memory reducers
        # for tensors there, which only work between multiprocessing's own children.
        self._conn.send_bytes(pickle.dumps(message))

    def _wait(self, progress, cancel):
        conn, proc = self._conn, self._proc  # stop() from another thread clears them
        while True:
            if cancel is not None and cancel.is_set():
                raise CompileCancelled("Compile cancelled; nothing was cached. Press Compile to start again.")
            try:
                ready = conn.poll(0.1)
                message = conn.recv() if ready else None
            except (EOFError, OSError):
                message = None
                ready = True
            if message is None:
                if ready or proc.poll() is not None:
                    code = proc.wait(5)
                    raise WorkerCrashedError(
                        f"The compile worker process died (exit code {code}): a crash in the native "
                        "toolchain, or the machine ran out of memory. Nothing was cached; compiling "
                        f"again starts a fresh worker. Its log: {self.log_path}")
                continue
            if message[0] == "progress":
                progress(message[1], message[2])
            elif message[0] == "error":
                raise from_message(message[1], message[2])
            else:
                return message

    def stop(self, kill: bool = False) -> None:
        proc, conn = self._proc, self._conn
        self._proc = self._conn = None
        if proc is None:
            return
        if not kill and proc.poll() is None:
            try:
                conn.send_bytes(pickle.dumps(("stop",)))
                proc.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                pass
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        conn.close()


_worker: Worker | None = None


def shared() -> Worker:
    """The kernel's one worker, stopped when the kernel exits."""
    global _worker
    if _worker is None:
        import atexit

        _worker = Worker()
        atexit.register(_worker.stop)
    return _worker


if __name__ == "__main__":
    _serve(Connection(int(sys.argv[1])))
