"""Source locations as a user reads them: relative to the working folder (their
project), else to the labkit package, else the last folder and file name (a
site-packages path) — never a whole machine path; and the code at one."""

from __future__ import annotations

import linecache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent


def short_source(source: str) -> str:
    """'models/net.py:12', 'labkit/models/mobilenet_v2.py:84' or 'mlperf_tiny/ds_cnn.py:73' for a
    'path:line'; '—' for none."""
    if not source:
        return "—"
    text = str(source).replace("\\", "/")
    path, _, line = text.rpartition(":")
    if not path or not line.isdigit():
        path, line = text, ""
    suffix = f":{line}" if line else ""
    p = Path(path)
    for base, prefix in ((Path.cwd(), ""), (_PACKAGE, "labkit/")):
        try:
            return f"{prefix}{p.resolve().relative_to(base.resolve())}{suffix}"
        except (ValueError, OSError):
            continue
    return "/".join(text.split("/")[-2:])


def code_at(source: str) -> str:
    """The text of ``path:line`` (a notebook cell's too: IPython keeps cells in linecache)."""
    path, _, line = source.rpartition(":")
    text = linecache.getline(path, int(line)).strip() if line.isdigit() else ""
    return f"`{text}`" if text else ""
