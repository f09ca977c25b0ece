"""A Report as one standalone HTML file: interactive figures (plotly.js inlined
once, so it opens offline), the tables, the target, the tool versions and the
source of every number."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from .. import formats as fmt
from . import plots, styled, tables
from .theme import CPU_COLOR, NPU_COLOR, PLOTLY_CONFIG, SOURCE_NOTES

_CSS = """
:root { color-scheme: light dark; --fg: #222; --bg: #fff; --muted: #777; --rule: rgba(128,128,128,.3); }
@media (prefers-color-scheme: dark) { :root { --fg: #ddd; --bg: #111; --muted: #999; } }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg);
       background: var(--bg); max-width: 1200px; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: .2em; } h2 { margin-top: 2em; border-bottom: 1px solid var(--rule); }
.muted, caption { color: var(--muted); } caption { text-align: left; padding: .3em 0; }
.source { display: inline-block; padding: 0 .5em; border-radius: 3px; border: 1px solid var(--rule); }
table { border-collapse: collapse; margin: .5em 0; font-size: 13px; }
th, td { padding: 3px 8px; border-bottom: 1px solid var(--rule); text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.cpu { border-left: 4px solid %(cpu)s; } .npu { border-left: 4px solid %(npu)s; }
details { margin: .5em 0 1em; } summary { cursor: pointer; } .scroll { overflow-x: auto; }
""" % {"cpu": CPU_COLOR, "npu": NPU_COLOR}

_SUMMARY_ROWS = [  # (field, label, format: labkit.formats' one per quantity)
    ("inference_ms", "NPU time (ms, vela-estimate)", fmt.ms), ("inferences_per_s", "NPU inferences per second", fmt.rate),
    ("cpu_ms_low", "CPU time, low (ms, cortex-m-estimate)", fmt.ms),
    ("cpu_ms_high", "CPU time, high (ms, cortex-m-estimate)", fmt.ms),
    ("total_ms_low", "whole inference NPU + CPU, low (ms)", fmt.ms),
    ("total_ms_high", "whole inference NPU + CPU, high (ms)", fmt.ms),
    ("cpu_core", "CPU", str), ("cpu_kernels", "CPU kernels", str),
    ("total_cycles", "NPU cycles (vela-estimate)", fmt.cycles), ("npu_cycles", "of which MAC compute", fmt.cycles),
    ("sram_access_cycles", "SRAM access cycles", fmt.cycles), ("dram_access_cycles", "DRAM access cycles", fmt.cycles),
    ("flash_access_cycles", "flash access cycles", fmt.cycles), ("macs", "MACs", fmt.cycles),
    ("sram_kib", "SRAM used (KiB)", fmt.kib), ("sram_limit_kib", "SRAM limit of the memory mode (KiB)", fmt.kib),
    ("flash_kib", "flash used (KiB)", fmt.kib), ("dram_kib", "DRAM used (KiB)", fmt.kib),
    ("npu_ops", "operators on the NPU", str), ("cpu_ops", "operators on the CPU", str),
    ("partitions", "NPU partitions", str), ("pte_bytes", ".pte size (bytes)", fmt.cycles),
    ("clock_hz", "clock (MHz)", fmt.mhz),
]
_TOOLS = ["torch_version", "executorch_version", "vela_version", "tosa_tools_version", "compile_seconds",
          "weights", "cache_key"]


def report_html(report) -> str:
    """The whole report as one HTML document (plotly.js inlined once)."""
    s, t = report.results, report.target
    source = plots.source_label(report)
    figures = [plots.summary_card(report), plots.timeline(report), plots.placement(report), plots.cycles(report),
               plots.cycles(report, by="module"), plots.module_treemap(report), plots.memory_regions(report),
               plots.memory(report)]
    parts = [
        f"<h1>{_e(report.model)} on {_e(t.accelerator)}</h1>",
        f"<p>{_e(plots.target_label(report))}{' · preset ' + _e(t.preset) if t.preset else ''}</p>",
        f"<p>Every number on this page: <span class='source'>{_e(source)}</span> "
        f"({_e(SOURCE_NOTES.get(s.get('source'), ''))})</p>",
    ]
    if report.warnings:
        parts.append("<ul>" + "".join(f"<li>{_e(w)}</li>" for w in report.warnings) + "</ul>")
    parts.append("<h2>Figures</h2><p class='muted'>Interactive: hover for details, drag to zoom, "
                 "double-click to reset.</p>")
    for k, fig in enumerate(figures):  # plotly.js is inlined with the first figure only
        parts.append(fig.to_html(full_html=False, include_plotlyjs=k == 0, config=PLOTLY_CONFIG))
    parts += [
        "<h2>Numbers</h2>", _summary_table(report),
        "<h2>Hotspots</h2>", f"<div class='scroll'>{styled.hotspots(report.hotspots()).to_html()}</div>",
        "<h2>The deployment's memory</h2>",
        _table(report.deployment.assign(kib=report.deployment["bytes"] / 1024)[
            ["item", "region", "kib", "counted", "source"]],
            "every buffer in the region it occupies (counted: false where another row already holds it)"),
        tables.runner_pools(report),
        "<h2>Operators</h2>", _operators_table(report),
        # Vela's 'Name' is a TOSA tensor name, not an operator's identity: left out.
        "<h2>Vela layers</h2>", _table(report.layers.drop(columns=["Name"], errors="ignore"),
                                       f"Vela's per-layer table, all partitions · {source}"),
        "<h2>Tools</h2>", _kv_table([(k, s.get(k)) for k in _TOOLS if k in s], "versions and provenance"),
    ]
    title = f"labkit · {report.model} on {plots.target_label(report)}"
    return (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{_e(title)}</title>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'><style>{_CSS}</style>"
            f"</head><body>\n" + "\n".join(parts) + "\n<p class='muted'>Written by labkit.</p></body></html>\n")


def write_html(report, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report_html(report), encoding="utf-8")
    return path


def _e(value) -> str:
    return html.escape(str(value))


def _summary_table(report) -> str:
    s = report.summary  # the target's facts (clock, CPU) with the results
    rows = []
    for field, label, format_one in _SUMMARY_ROWS:
        if field not in s:
            continue
        value = s[field]
        text = ("none" if field == "sram_limit_kib" else fmt.MISSING) if pd.isna(value) else format_one(value)
        rows.append((label, text))
    cpu = "; CPU rows: " + str(s["cpu_source"]) if "cpu_source" in s else ""
    return _kv_table(rows, f"source: {plots.source_label(report)}{cpu}")


def _kv_table(rows, caption: str) -> str:
    body = "".join(f"<tr><th>{_e(k)}</th><td class='num'>{_e(v)}</td></tr>" for k, v in rows)
    return f"<table><caption>{_e(caption)}</caption>{body}</table>"


def _operators_table(report) -> str:
    ops = report.operators
    cpu = ops[ops["placement"] == "CPU"]
    parts = []
    if not cpu.empty:
        parts.append(f"<div class='scroll cpu'>{styled.cpu_work(report.cpu_work).to_html()}</div>")
    note = "cost columns: Vela estimate (NaN on the CPU: Vela does not estimate Cortex-M work)" \
        if "cycles" in ops else "placement from the Ethos-U partitioner"
    ops = ops.assign(source=ops["source"].map(plots.short_source))
    parts.append(f"<details><summary>All {len(ops)} operators</summary>"
                 f"{_table(ops, note, cls='npu')}</details>")
    return "".join(parts)


def _table(df: pd.DataFrame, caption: str, cls: str = "") -> str:
    if df is None or df.empty:
        return f"<p class='muted'>{_e(caption)}: empty.</p>"
    body = df.to_html(index=False, border=0, na_rep="—", float_format=lambda v: f"{v:,.0f}"
                      if float(v).is_integer() else f"{v:,.2f}", classes=cls or None)
    opening, _, rest = body.partition(">")  # put the caption right after <table ...>
    return f"<div class='scroll'>{opening}><caption>{_e(caption)}</caption>{rest}</div>"
