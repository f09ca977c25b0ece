"""Capturing what native code (Vela, the TOSA reference model) prints: Python's
redirect_stdout does not reach it, so file descriptors are pointed elsewhere."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from pathlib import Path


@contextlib.contextmanager
def redirect_fds(path, fds=(1, 2)):
    """Point file descriptors ``fds`` at ``path`` for the block, then restore them."""
    sys.stdout.flush()
    sys.stderr.flush()
    with open(path, "a") as sink:
        saved = [os.dup(fd) for fd in fds]
        for fd in fds:
            os.dup2(sink.fileno(), fd)
        try:
            yield sink
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for fd, copy in zip(fds, saved):
                os.dup2(copy, fd)
                os.close(copy)


@contextlib.contextmanager
def tool_output_to(log_path: Path, capture_fds: bool):
    """Send the tools' chatter (Vela's tables, ExecuTorch warnings) to a log file; with
    ``capture_fds`` at the file-descriptor level, so native code is captured too (the
    worker does; in-process compiles leave the caller's descriptors alone)."""
    Path(log_path).write_text("")
    with contextlib.ExitStack() as stack:
        log = stack.enter_context(redirect_fds(log_path) if capture_fds else open(log_path, "a"))
        stack.enter_context(contextlib.redirect_stdout(log))
        stack.enter_context(contextlib.redirect_stderr(log))
        yield


_quiet_lock = threading.RLock()
_quiet_depth = 0


@contextlib.contextmanager
def quiet_stdout():
    """Silence file descriptor 1 (re-entrant, thread-safe): the TOSA reference model's
    serializer prints a version notice on every graph it reads, from native code."""
    global _quiet_depth
    with _quiet_lock:
        if _quiet_depth:
            _quiet_depth += 1
            try:
                yield
            finally:
                _quiet_depth -= 1
            return
        try:
            silenced = redirect_fds(os.devnull, (1,))
            silenced.__enter__()
        except OSError:  # no usable fd 1 (e.g. embedded): nothing to silence
            yield
            return
        _quiet_depth = 1
        try:
            yield
        finally:
            _quiet_depth = 0
            silenced.__exit__(None, None, None)
