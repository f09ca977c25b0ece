"""Tables as HTML for the app: CPU operators and why, a report's files, a sweep."""

from __future__ import annotations

import html

from .. import formats as fmt
from .. import hardware
from .styled import advice as styled_advice
from .styled import cpu_work, numerics
from .styled import numerics_modules as styled_modules
from .styled import sweep as styled_sweep


def cpu_operators(report) -> str:
    """The work on the CPU with the Ethos-U partitioner's reasons, the kernels and the cycle
    ranges (cortex-m-estimate), styled (views.styled.cpu_work)."""
    work = report.cpu_work
    if work.empty:
        return "<p>Every operator runs on the NPU.</p>"
    s, t = report.results, report.target
    kernels = f" on {s['cpu_kernels']} kernels ({t.cpu_core})" if "cpu_kernels" in s else ""
    return f"<p><b>On the CPU</b>{html.escape(kernels)}:</p><div style='overflow-x:auto'>" \
           f"{cpu_work(work).to_html()}</div>"


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


def runner_pools(report) -> str:
    """The pool sizes of ExecuTorch's runner for this program, with how each was sized."""
    rows = "".join(f"<tr><td><code>{html.escape(option)}</code></td><td style='text-align:right'>"
                   f"{fmt.cycles(size)} B</td><td>{html.escape(how)}</td></tr>"
                   for option, (size, how) in hardware.runner_pools(report.buffers).items())
    return ("<p><b>The runner's pools</b>, sized from this program (labkit.fvp.how_to_build_runner(report) gives "
            f"the build):</p><div style='overflow-x:auto'><table class='labkit-table'>{rows}</table></div>")


def sweep(df) -> str:
    """The sweep table (views.styled.sweep) as scrolling HTML."""
    return f"<div style='overflow-x:auto'>{styled_sweep(df).to_html()}</div>"


def numerics_modules(modules) -> str:
    """``numerics.by_module``: the worst SQNR and the largest drop per module, worst first."""
    if modules.empty:
        return "<p>No operator belongs to a module.</p>"
    return f"<p><b>By module</b> (a drop is SQNR lost against the inputs):</p>{styled_modules(modules).to_html()}"


def numerics_worst(table, rows: int = 8) -> str:
    """The operators where SQNR drops most, with their source lines."""
    if not table["sqnr_drop_db"].notna().any():
        return ""
    return f"<p><b>Where error enters</b> (largest drops first):</p>{numerics(table, rows).to_html()}"


def advice(df) -> str:
    """``labkit.advise(report)``: each measured change, best first, with its deltas and sources."""
    if df.empty:
        return f"<p>{html.escape(df.attrs.get('message', 'No advice.'))}</p>"
    return f"<div style='overflow-x:auto'>{styled_advice(df, caption=False).to_html()}</div>"
