"""Tables as HTML for the app: CPU operators and why, a report's files, a sweep."""

from __future__ import annotations

import html


def cpu_operators(report) -> str:
    """The operators on the CPU with the Ethos-U partitioner's reasons, their kernels and
    cycle ranges (cortex-m-estimate)."""
    ops = report.operators
    cpu = ops[ops["placement"] == "CPU"]
    if cpu.empty:
        return "<p>Every operator runs on the NPU.</p>"
    shown = cpu[["op", "module", "reason"]].copy()
    if "kernel" in cpu:
        shown["kernel"] = cpu["kernel"]
        shown["cycles (cortex-m-estimate)"] = [f"{lo:,.0f}–{hi:,.0f}" if lo == lo else "" for lo, hi in
                                               zip(cpu["cpu_cycles_low"], cpu["cpu_cycles_high"])]
    s = report.summary
    kernels = f", the kernels ({s['cpu_kernels']} on {s['cpu_core']})" if "cpu_kernels" in s else ""
    return (f"<p><b>On the CPU</b> (the Ethos-U partitioner's reasons{kernels}):</p>"
            + shown.to_html(index=True, index_names=False, border=0, classes="labkit-table"))


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


def numerics_modules(modules) -> str:
    """``numerics.by_module``: the worst SQNR and the largest drop per module, worst first."""
    if modules.empty:
        return "<p>No operator belongs to a module.</p>"
    shown = modules.sort_values("largest_drop_db", ascending=False, na_position="last").rename(columns={
        "worst_sqnr_fake_quant_db": "worst SQNR, fake-quant (dB)", "worst_sqnr_tosa_db": "worst SQNR, TOSA (dB)",
        "largest_drop_db": "largest drop (dB)", "max_lsb": "TOSA vs fake-quant (steps)"})
    body = shown.to_html(index=False, border=0, classes="labkit-table", na_rep="—", float_format="{:.1f}".format)
    return f"<p><b>By module</b> (SQNR vs PyTorch float; a drop is SQNR lost against the inputs):</p>{body}"


def numerics_worst(table, rows: int = 8) -> str:
    """The operators where SQNR drops most, with their source lines."""
    from .plots import short_source

    t = table[table["sqnr_drop_db"].notna()].nlargest(rows, "sqnr_drop_db")
    if t.empty:
        return ""
    shown = t[["op", "module", "source", "placement", "sqnr_fake_quant_db", "sqnr_tosa_db", "sqnr_drop_db"]].assign(
        source=t["source"].map(short_source)).rename(columns={
            "sqnr_fake_quant_db": "SQNR fake-quant (dB)", "sqnr_tosa_db": "SQNR TOSA (dB)",
            "sqnr_drop_db": "drop (dB)"})
    body = shown.to_html(index=False, border=0, classes="labkit-table", na_rep="—", float_format="{:.1f}".format)
    return f"<p><b>Where error enters</b> (largest drops first):</p>{body}"


def advice(df) -> str:
    """``report.advise()``: each measured change, best first, with its deltas and sources."""
    if df.empty:
        return f"<p>{html.escape(df.attrs.get('message', 'No advice.'))}</p>"
    shown = df.reset_index(drop=True)
    shown.index = shown.index + 1
    columns = {"change": "change", "benefit": "benefit (measured)", "why": "why",
               "delta_ms": "Δ time (ms; vela-estimate + cortex-m-estimate)",
               "delta_cycles": "Δ NPU cycles (vela-estimate)",
               "delta_cpu_cycles": "Δ CPU cycles (cortex-m-estimate)", "delta_sram_kib": "Δ SRAM (KiB; vela-estimate)",
               "delta_accuracy": "Δ accuracy (points; tosa-reference)", "fits": "fits"}
    shown = shown[[c for c in columns if c in shown and (c != "delta_accuracy" or shown[c].notna().any())]]
    formats = {"delta_ms": "{:+.3f}", "delta_cycles": "{:+,.0f}", "delta_cpu_cycles": "{:+,.0f}",
               "delta_sram_kib": "{:+.1f}"}
    for column, fmt in formats.items():
        shown[column] = [fmt.format(v) if v == v else "—" for v in shown[column]]
    if "delta_accuracy" in shown:
        shown["delta_accuracy"] = [f"{100 * v:+.1f}" if v == v else "—" for v in shown["delta_accuracy"]]
    body = shown.rename(columns=columns).to_html(border=0, classes="labkit-table", na_rep="—")
    return (f"<p>{html.escape(df.attrs.get('message', ''))}</p>"
            f"<div style='overflow-x:auto'>{body}</div>")
