"""Tables as HTML for the app: CPU operators and why, a report's files, a sweep."""

from __future__ import annotations

import html


def cpu_operators(report) -> str:
    """The operators on the CPU with the Ethos-U partitioner's reasons."""
    ops = report.operators
    cpu = ops[ops["placement"] == "CPU"][["op", "module", "reason"]]
    if cpu.empty:
        return "<p>Every operator runs on the NPU.</p>"
    return ("<p><b>On the CPU</b> (the Ethos-U partitioner's reasons):</p>"
            + cpu.to_html(index=True, index_names=False, border=0, classes="labkit-table"))


def artifacts(report) -> str:
    """The report's files (program, log, each partition's TOSA and Vela output) and tool versions."""
    a, s = report.artifacts, report.summary
    rows = [("model (.pte)", a.pte), ("compile log", a.log)]
    for p in a.partitions:
        rows += [(f"partition {p.index} TOSA", p.tosa), (f"partition {p.index} Vela output", p.vela_dir)]
    items = "".join(f"<tr><td>{html.escape(k)}</td><td><code>{html.escape(str(v))}</code></td></tr>"
                    for k, v in rows if v)
    versions = ", ".join(f"{k} {s[f'{k}_version']}" for k in ("torch", "executorch", "vela", "tosa_tools")
                         if f"{k}_version" in s)
    return (f"<table>{items}</table><p>Tools: {html.escape(versions)} · cache key "
            f"<code>{html.escape(str(s.get('cache_key', '')))}</code></p>")


def sweep(df) -> str:
    """The sweep table (sweep_plots.table) as scrolling HTML."""
    from .sweep_plots import table

    body = table(df).to_html(index=False, border=0, classes="labkit-table", na_rep="—")
    return f"<div style='overflow-x:auto'>{body}</div>"
