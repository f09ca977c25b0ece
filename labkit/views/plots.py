"""Plotly figures of a Report: one function per figure, Report in, go.Figure out.

Every figure names its target (accelerator · system config · memory mode) and
the source of its numbers in the title, and uses the theme (theme.py): the same
NPU / CPU colours, transparent background, one template and its presentation
variant. Plotly is imported here only; ``import labkit`` does not import it.
"""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

from .. import formats as fmt
from ..insights import module_label
from ..sources import short_source
from .theme import (
    CPU_COLOR,
    FONT_COLOR,
    GRID_COLOR,
    LIMIT_COLOR,
    MEMORY_COLOR,
    NPU_COLOR,
    PLOTLY_CONFIG,
    SOURCE_LABELS,
    empty,
    note,
    px,
    style,
)

__all__ = ["placement", "cycles", "cost_table", "module_treemap", "memory", "memory_regions", "summary_card", "numerics", "timeline",
           "source_label", "target_label", "short_source", "NPU_COLOR", "CPU_COLOR", "MEMORY_COLOR", "LIMIT_COLOR",
           "FONT_COLOR", "GRID_COLOR", "PLOTLY_CONFIG", "SOURCE_LABELS"]


# ------------------------------------------------------------------ labels

def source_label(report) -> str:
    """'Vela estimate' for a report whose numbers are Vela's estimate."""
    source = str(report.summary.get("source", ""))
    return SOURCE_LABELS.get(source, source or "unknown source")


def target_label(report) -> str:
    """'ethos-u85-256 · Ethos_U85_SYS_DRAM_Mid · Sram_Only · int8 (64 calibration samples)': the
    hardware and the quantization."""
    s, t = report.results, report.target
    samples = s.get("calibration_samples")
    calibrated = (f" ({int(samples)} calibration sample{'s' if int(samples) != 1 else ''})"
                  if samples and not pd.isna(samples) else "")
    quantization = f"{s.get('quantization', 'int8')}{calibrated}"
    return f"{t.accelerator} · {t.system_config} · {t.memory_mode} · {quantization}"


def _style(fig: go.Figure, report, what: str, height: int) -> go.Figure:
    """Title: what · model, then target · source."""
    return style(fig, what, report.summary["model"], f"{target_label(report)} · {source_label(report)}", height)


def _short_op(op: str) -> str:
    """'convolution' for 'aten.convolution'; backend ops keep their 'tosa.' prefix."""
    return op[5:] if op.startswith("aten.") else op


# ------------------------------------------------------------------ placement

def placement(report) -> go.Figure:
    """Every operator in execution order: an NPU lane and a CPU lane, hover with op,
    module, source line and (for the CPU) the partitioner's reason."""
    ops = report.operators.reset_index(drop=True)
    backend = ops["origin"].eq("backend")
    fig = go.Figure()
    lanes = [("NPU", ops["placement"].eq("NPU") & ~backend, 1, NPU_COLOR, ""),
             ("NPU (inserted by the backend)", backend, 1, NPU_COLOR, "/"),
             ("CPU", ops["placement"].eq("CPU"), -1, CPU_COLOR, "")]
    for name, mask, y, color, pattern in lanes:
        rows = ops[mask]
        if rows.empty and pattern:  # the NPU and CPU lanes are always there
            continue
        # An explicit width: plotly would size a trace's bars by its own points' spacing.
        fig.add_bar(x=rows.index, y=[y] * len(rows), width=0.85, name=f"{name} ({len(rows)})",
                    marker=dict(color=color, line_width=0, pattern_shape=pattern),
                    hovertext=[_placement_hover(i, r) for i, r in rows.iterrows()],
                    hovertemplate="%{hovertext}<extra></extra>")
    for p, rows in _partition_runs(ops):
        x0, x1 = rows.index.min() - 0.5, rows.index.max() + 0.5
        fig.add_shape(type="rect", x0=x0, x1=x1, y0=0, y1=1.3, fillcolor=NPU_COLOR, opacity=0.12,
                      line_width=0, layer="below")
        fig.add_annotation(x=x0, y=1.3, text=f"NPU partition {p}", xanchor="left", yanchor="top",
                           showarrow=False)
    s = report.results
    _style(fig, report, "Operator placement", 300)
    fig.update_layout(bargap=0.1, barmode="overlay")
    fig.update_xaxes(title_text="operator, in execution order", range=[-1, len(ops)], showgrid=False,
                     zeroline=False)
    fig.update_yaxes(tickvals=[0.5, -0.5], ticktext=["NPU", "CPU"], range=[-1.1, 1.35], showgrid=False)
    note(fig, f"{s['npu_ops']} operators on the NPU · {s['cpu_ops']} on the CPU · "
               f"{s['partitions']} NPU partition(s). Hover an operator for its module, source line and, "
               "on the CPU, why.", below=45)
    return fig


def _partition_runs(ops: pd.DataFrame) -> list[tuple[int, pd.DataFrame]]:
    """(partition, its rows) for each run of consecutive rows of one NPU partition: one run
    per partition when the rows are in execution order."""
    part = pd.to_numeric(ops["partition"], errors="coerce").astype(float)
    npu = part.notna()
    run = part.ne(part.shift()).cumsum()
    return [(int(rows["partition"].iloc[0]), rows) for _, rows in ops[npu].groupby(run[npu])]


def _placement_hover(i: int, row) -> str:
    lines = [f"<b>#{i} {row['op']}</b>", f"module: {module_label(row['module'], row['op'])}",
             f"source: {short_source(row['source'])}"]
    if isinstance(row.get("shape"), str) and row["shape"]:
        lines.append(f"output: {row['shape']}")
    if row["placement"] == "NPU":
        if not pd.isna(row["partition"]):
            lines.append(f"NPU partition {int(row['partition'])}")
        if not pd.isna(row.get("cycles", float("nan"))) and row.get("cycles", 0) > 0:
            lines.append(f"{row['cycles']:,.0f} cycles (Vela estimate)")
    else:
        lines.append("CPU: " + _wrap(row["reason"]))
    return "<br>".join(lines)


def _wrap(text: str, width: int = 60) -> str:
    out, line = [], ""
    for word in str(text).split():
        if line and len(line) + len(word) + 1 > width:
            out.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "<br>  ".join(out + [line])


# ------------------------------------------------------------------ cycles

_COSTS = ["cycles", "npu_cycles", "sram_ac", "dram_ac", "flash_ac", "macs"]
_CPU = ["cpu_cycles_low", "cpu_cycles_est", "cpu_cycles_high"]


def cost_table(report, by: str = "operator", depth: int = 2) -> pd.DataFrame:
    """[label, cycles, npu_cycles, sram_ac, dram_ac, flash_ac, macs] with cycles > 0,
    per operator or per module (module paths cut to ``depth`` parts), from the
    attributed cost columns of ``report.operators``."""
    if by not in ("operator", "module"):
        raise ValueError(f"by must be 'operator' or 'module', not {by!r}")
    ops = report.operators.reset_index(drop=True)
    if by == "operator":
        where = pd.Series([module_label(m, o) for m, o in zip(ops["module"], ops["op"])], index=ops.index)
        where = where.where(ops["origin"] != "backend", "inserted by the backend")
        rows = ops.assign(label=[f"#{i} {_short_op(o)} · {w}" for i, o, w in zip(ops.index, ops["op"], where)])
    else:
        rows = report.by_module(depth).assign(label=lambda d: d["module"])
    for col in _CPU:
        if col not in rows:
            rows = rows.assign(**{col: float("nan")})
    rows = rows[(rows["cycles"].fillna(0) > 0) | (rows["cpu_cycles_est"].fillna(0) > 0)]
    return rows[["label", *_COSTS, *_CPU]].reset_index(drop=True)


def cycles(report, by: str = "operator", depth: int = 2, top: int = 15) -> go.Figure:
    """The ``top`` operators (or modules) by cycles, the rest summed as 'other';
    each bar split into NPU compute and the memory-access cycles beyond it."""
    table = cost_table(report, by, depth)
    unit = "operator" if by == "operator" else "module"
    fig = go.Figure()
    _style(fig, report, f"Cycles by {unit}", 160 + 26 * min(len(table), top + 1))
    if table.empty:
        return empty(fig, f"No cycles per {unit} in this report (no NPU work).")
    table = table.assign(size=table["cycles"].fillna(0) + table["cpu_cycles_est"].fillna(0))
    shown = table.sort_values("size", ascending=False, kind="stable")
    if len(shown) > top:
        rest = shown.iloc[top:]
        other = rest[_COSTS + _CPU].sum(min_count=1).to_frame().T.assign(label=f"other ({len(rest)} {unit}s)")
        shown = pd.concat([shown.iloc[:top], other], ignore_index=True)
    shown[_COSTS] = shown[_COSTS].fillna(0.0)
    total = float(table["cycles"].fillna(0).sum())
    compute = shown[["npu_cycles", "cycles"]].min(axis=1)
    waiting = shown["cycles"] - compute
    hover = [f"<b>{r.label}</b><br>{r.cycles:,.0f} NPU cycles ({100 * r.cycles / total if total else 0:.1f}%, "
             f"vela-estimate)<br>NPU compute {r.npu_cycles:,.0f}<br>access cycles: SRAM {r.sram_ac:,.0f} · "
             f"DRAM {r.dram_ac:,.0f} · flash {r.flash_ac:,.0f}<br>MACs {r.macs:,.0f}"
             + (f"<br>CPU {r.cpu_cycles_low:,.0f}–{r.cpu_cycles_high:,.0f} cycles, est. {r.cpu_cycles_est:,.0f} "
                "(cortex-m-estimate)" if r.cpu_cycles_est == r.cpu_cycles_est else "")
             for r in shown.itertuples()]
    faded = [0.45 if str(label).startswith("other (") else 1.0 for label in shown["label"]]
    for name, values, color in (("NPU compute", compute, NPU_COLOR),
                                ("memory access beyond compute", waiting, MEMORY_COLOR)):
        fig.add_bar(y=shown["label"], x=values, orientation="h", name=name, marker_color=color,
                    marker_opacity=faded, hovertext=hover, hovertemplate="%{hovertext}<extra>" + name + "</extra>")
    s, t = report.results, report.target
    if shown["cpu_cycles_est"].notna().any():
        est = shown["cpu_cycles_est"]
        fig.add_bar(y=shown["label"], x=est, orientation="h", name="CPU (cortex-m-estimate, low–high)",
                    marker_color=CPU_COLOR, marker_opacity=faded, hovertext=hover,
                    hovertemplate="%{hovertext}<extra>CPU</extra>",
                    error_x=dict(type="data", symmetric=False, array=shown["cpu_cycles_high"] - est,
                                 arrayminus=est - shown["cpu_cycles_low"], color=FONT_COLOR, thickness=1.2))
    fig.update_layout(barmode="stack", legend_traceorder="normal")
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_xaxes(title_text="cycles", **_bar_range(fig, shown))
    text = (f"total {fmt.cycles(total)} NPU cycles ≈ {fmt.ms(1e3 * total / t.clock_hz)} ms at "
            f"{fmt.mhz(t.clock_hz)} MHz (vela-estimate)")
    if "cpu_cycles_est" in s:
        text += (f"<br>CPU {fmt.cycles(s['cpu_cycles_low'])}–{fmt.cycles(s['cpu_cycles_high'])} cycles on "
                 f"{t.cpu_core} (cortex-m-estimate, bar at the estimate, whisker the range)")
    else:
        cpu = int((report.operators["placement"] == "CPU").sum())
        if cpu:
            text += f"<br>{cpu} CPU operator(s) not estimated by Vela (Cortex-M time not included)"
    note(fig, text, below=45)
    return fig


def _bar_range(fig: go.Figure, shown: pd.DataFrame) -> dict:
    """The x range the bars set, not the CPU whiskers: a wide CPU range would squeeze every
    NPU bar to the left edge. A whisker that runs past the edge says where it ends."""
    ends = shown["cycles"].fillna(0) + shown["cpu_cycles_est"].fillna(0)
    reach = shown["cycles"].fillna(0) + shown["cpu_cycles_high"].fillna(0)
    edge = float(ends.max()) * 1.12
    if not edge or float(reach.max()) <= edge:
        return {}
    for label, high in zip(shown["label"], shown["cpu_cycles_high"]):
        if high == high and float(high) > edge:
            fig.add_annotation(x=edge, y=label, xanchor="right", showarrow=False, font=dict(color=CPU_COLOR),
                               text=f"range to {fmt.cycles(high)} ▸", yshift=px(11))
    return dict(range=[0, edge])


def timeline(report) -> go.Figure:
    """One inference in execution order: each NPU partition (vela-estimate) and each run
    of CPU kernels between them (cortex-m-estimate: the bar at the estimate, the whisker
    its range). The segments follow each other at their estimates; the note gives the
    total's range."""
    s, t, ops = report.results, report.target, report.operators
    fig = go.Figure()
    _style(fig, report, "One inference: NPU and CPU in execution order", 300)
    if "cpu_cycles_est" not in s:
        return empty(fig, "This report has no CPU estimate (compiled before labkit estimated the Cortex-M side).")
    segments = _segments(ops, t)
    if not segments:
        return empty(fig, "Nothing runs in this report.")
    start = 0.0
    for seg in segments:
        npu = seg["kind"] == "NPU"
        lane = "NPU · vela-estimate" if npu else "CPU · cortex-m-estimate"
        hover = (f"<b>{seg['label']}</b><br>{fmt.ms(seg['est'])} ms (vela-estimate)" if npu else
                 f"<b>{seg['label']}</b><br>{fmt.ms_range(seg['low'], seg['high'])} ms, est. {fmt.ms(seg['est'])} "
                 "(cortex-m-estimate)")
        fig.add_bar(y=[lane], x=[seg["est"]], base=[start], orientation="h", showlegend=False,
                    marker_color=NPU_COLOR if npu else CPU_COLOR, hovertext=[hover + "<br>" + seg["detail"]],
                    hovertemplate="%{hovertext}<extra></extra>",
                    error_x=None if npu else dict(type="data", symmetric=False, array=[seg["high"] - seg["est"]],
                                                  arrayminus=[seg["est"] - seg["low"]], color=FONT_COLOR,
                                                  thickness=1.2))
        start += seg["est"]
    fig.update_layout(barmode="overlay", bargap=0.35)
    fig.update_xaxes(title_text="ms from the start of the inference")
    fig.update_yaxes(categoryorder="array", categoryarray=["CPU · cortex-m-estimate", "NPU · vela-estimate"])
    note(fig, f"NPU {fmt.ms(s['npu_ms'])} ms at {fmt.mhz(t.clock_hz)} MHz · CPU "
              f"{fmt.ms_range(s['cpu_ms_low'], s['cpu_ms_high'])} ms on {t.cpu_core} ({s['cpu_kernels']} kernels) · "
              f"whole inference {fmt.ms_range(s['total_ms_low'], s['total_ms_high'])} ms", below=45)
    return fig


def _segments(ops: pd.DataFrame, target) -> list[dict]:
    """NPU partitions and runs of consecutive CPU kernels, in the operators' order (the
    program's)."""
    out, seen = [], set()
    cpu_ms = 1e3 / float(target.cpu_clock_hz)
    for r in ops.itertuples():
        if r.placement == "NPU" and not pd.isna(r.partition):
            if r.partition in seen:
                continue
            seen.add(r.partition)
            part = ops[ops["partition"] == r.partition]
            cycles = float(part["cycles"].fillna(0).sum())
            ms = cycles / float(target.clock_hz) * 1e3
            out.append({"kind": "NPU", "label": f"NPU partition {int(r.partition)}", "est": ms, "low": ms,
                        "high": ms, "detail": f"{len(part)} operators · {cycles:,.0f} cycles"})
        elif not pd.isna(getattr(r, "cpu_cycles_est", float("nan"))):
            if not out or out[-1]["kind"] != "CPU":
                out.append({"kind": "CPU", "label": "CPU", "est": 0.0, "low": 0.0, "high": 0.0, "kernels": []})
            seg = out[-1]
            for key, col in (("est", "cpu_cycles_est"), ("low", "cpu_cycles_low"), ("high", "cpu_cycles_high")):
                seg[key] += float(getattr(r, col)) * cpu_ms
            seg["kernels"].append(str(r.kernel).split(" · ")[0])
            seg["detail"] = "<br>".join(seg["kernels"][:8]) + (" …" if len(seg["kernels"]) > 8 else "")
    return out


# ------------------------------------------------------------------ modules

def module_treemap(report) -> go.Figure:
    """Cycles by nn.Module path as a treemap: the model at the root, each tile a
    module sized by its cycles (its submodules' included), coloured from NPU blue
    (compute-bound) to purple (waiting on memory)."""
    ops = report.operators
    fig = go.Figure()
    _style(fig, report, "Cycles by module", 480)
    data = ops.assign(module=ops["module"].where(~ops["origin"].eq("backend"), "(inserted by the backend)"))
    data = data[data["cycles"].fillna(0) > 0]
    if data.empty:
        return empty(fig, "No cycles per module in this report (no NPU work).")
    root = str(report.summary["model"])
    totals: dict[str, list[float]] = {root: [0.0, 0.0]}  # path -> [cycles, NPU compute cycles]
    for module, op, c, npu in zip(data["module"].fillna(""), data["op"], data["cycles"], data["npu_cycles"].fillna(0)):
        parts = module.split(".") if module else [module_label("", op)]
        for key in [root] + [".".join(parts[:k]) for k in range(1, len(parts) + 1)]:
            acc = totals.setdefault(key, [0.0, 0.0])
            acc[0] += c
            acc[1] += min(npu, c)
    ids = list(totals)
    parents = ["" if i == root else (i.rsplit(".", 1)[0] if "." in i else root) for i in ids]
    memory_share = [1 - totals[i][1] / totals[i][0] for i in ids]
    fig.add_treemap(
        ids=ids, parents=parents, labels=[root] + [_tile_label(i) for i in ids[1:]],
        values=[totals[i][0] for i in ids], branchvalues="total", customdata=memory_share,
        textinfo="label+percent root", root_color="rgba(0,0,0,0)",
        hovertemplate="<b>%{id}</b><br>%{value:,.0f} cycles, %{percentRoot:.1%} of the model"
                      "<br>%{customdata:.0%} of them memory access beyond compute<extra></extra>",
        marker=dict(colors=memory_share, colorscale=[[0, NPU_COLOR], [1, MEMORY_COLOR]], cmin=0, cmax=1,
                    line=dict(width=1, color="rgba(128,128,128,0.5)"),
                    colorbar=dict(title=dict(text="memory-bound<br>share", side="top"), tickformat=".0%",
                                  thickness=12, len=0.6, outlinewidth=0)),
    )
    fig.update_layout(margin=dict(t=70, l=5, r=5, b=5))
    return fig


def _tile_label(path: str) -> str:
    """The end of a module path from its last named part: 'features.3', 'conv.0.0'
    rather than a bare '3' or '0'."""
    parts = path.split(".")
    start = len(parts) - 1
    while start > 0 and parts[start].isdigit():
        start -= 1
    return ".".join(parts[start:])


# ------------------------------------------------------------------ memory

def memory(report) -> go.Figure:
    """SRAM staging usage of every Vela layer, in order, against the memory mode's limit."""
    mem = report.memory
    limit = report.summary["sram_limit_kib"]
    limit = float("nan") if pd.isna(limit) else float(limit)
    fig = go.Figure()
    _style(fig, report, "SRAM staging usage per layer", 400)
    if mem.empty:
        return empty(fig, "No NPU layers: nothing is staged in SRAM.")
    x = list(range(len(mem)))
    hover = [f"<b>partition {r.partition} · layer {r.layer}</b><br>{r.op}"
             + f"<br>module: {module_label(r.module, r.op)}"
             + f"<br>{r.staging_kib:,.1f} KiB staged" for r in mem.itertuples()]
    fig.add_bar(x=x, y=mem["staging_kib"], name="SRAM staging", marker_color=NPU_COLOR,
                hovertext=hover, hovertemplate="%{hovertext}<extra></extra>")
    peak = float(mem["staging_kib"].max())
    top = peak * 1.25 or 1.0
    if not math.isnan(limit):
        off_scale = limit > 4 * peak  # keep the bars readable; say where the limit is
        name = f"limit {limit:,.0f} KiB" + (" (above this axis)" if off_scale else "")
        fig.add_scatter(x=[-0.5, len(mem) - 0.5], y=[limit, limit], mode="lines", name=name,
                        line=dict(color=LIMIT_COLOR, dash="dash", width=2), hoverinfo="name")
        top = top if off_scale else max(top, limit * 1.1)
    starts = mem.index[mem["partition"].ne(mem["partition"].shift())]
    for start in starts:
        fig.add_vline(x=start - 0.5, line=dict(color=GRID_COLOR, dash="dot"),
                      annotation_text=f"partition {mem.at[start, 'partition']}",
                      annotation_position="top right", annotation_font=dict(size=px(11), color=FONT_COLOR))
    fig.update_xaxes(title_text="Vela layer, in execution order", range=[-0.7, len(mem) - 0.3], showgrid=False,
                     zeroline=False)
    fig.update_yaxes(title_text="KiB", range=[0, top])
    s = report.results
    text = f"peak staging {peak:,.1f} KiB · SRAM used {s['sram_kib']:,.1f} KiB · flash {s['flash_kib']:,.1f} KiB"
    if not math.isnan(limit):
        text += f" · the memory mode allows {limit:,.0f} KiB ({100 * s['sram_kib'] / limit:.1f}% used)"
    else:
        text += " · the memory mode sets no SRAM limit"
    note(fig, text, below=45)
    return fig


# ------------------------------------------------------------------ summary

_BUFFER_COLORS = {"program": "#76B7B2", "scratch": NPU_COLOR, "kernel_temp": NPU_COLOR, "fast_scratch": "#2E6DB4",
                  "planned": CPU_COLOR, "runtime": "#B07AA1"}
_BUFFER_NAMES = {"program": "the .pte (weights, command streams, CPU program)", "scratch": "Ethos-U scratch (temp pool)",
                 "kernel_temp": "Ethos-U scratch (temp pool)", "fast_scratch": "Ethos-U fast scratch",
                 "planned": "ExecuTorch's planned buffers", "runtime": "the runtime's own structures (estimate)"}


def memory_regions(report) -> go.Figure:
    """The whole deployment's memory, region by region: a stacked bar of what each buffer
    takes, against the region's size (on a board: the share of each region; without one: KiB
    against the only size known, the SRAM the memory mode gives Vela)."""
    table, placed = report.regions, report.deployment
    placed = placed.loc[placed["counted"].astype(bool)]
    on_board = report.board is not None
    fig = go.Figure()
    what = f"Will it fit? Memory by region on {report.board.id}" if on_board else "Memory by region"
    _style(fig, report, what, 180 + 46 * max(1, len(table)))
    if table.empty:
        return empty(fig, "This report has no deployment figures (compiled before labkit read them).")
    shown = set()
    for kind, color in _BUFFER_COLORS.items():
        rows = placed[placed["kind"] == kind]
        if rows.empty:
            continue
        name = _BUFFER_NAMES[kind]
        for region, part in rows.groupby("region", sort=False):
            size = table.set_index("region").at[region, "size"]
            total = float(part["bytes"].sum())
            x = 100 * total / size if on_board else total / 1024
            fig.add_bar(y=[region], x=[x], orientation="h", name=name, marker_color=color, legendgroup=name,
                        showlegend=name not in shown, hovertemplate=f"<b>{region}</b><br>{name}: "
                        f"{fmt.kib(total / 1024)} KiB<br>" + "<br>".join(
                            f"{r.item}: {fmt.kib(r.bytes / 1024)} KiB" for r in part.itertuples()) + "<extra></extra>")
            shown.add(name)
    limit = 100.0 if on_board else None
    if on_board:
        fig.add_vline(x=100, line=dict(color=LIMIT_COLOR, dash="dash", width=2))
        labels = {r.region: f"{r.region} · {fmt.kib(r.used / 1024)} of {fmt.kib(r.size / 1024)} KiB"
                  + ("" if r.fits else " · OVER") for r in table.itertuples()}
        fig.update_yaxes(ticktext=list(labels.values()), tickvals=list(labels))
        fig.update_xaxes(title_text="share of the region (%)",
                         range=[0, max(105.0, 100 * float((table["used"] / table["size"]).max()) * 1.05)])
    else:
        sram = table[table["region"] == "NPU SRAM"]["size"]
        limit = float(sram.iloc[0]) / 1024 if len(sram) and not pd.isna(sram.iloc[0]) else None
        if limit:
            fig.add_vline(x=limit, line=dict(color=LIMIT_COLOR, dash="dash", width=2),
                          annotation_text=f"the memory mode's SRAM: {fmt.kib(limit)} KiB")
        fig.update_xaxes(title_text="KiB")
    fig.update_layout(barmode="stack", bargap=0.35)
    fig.update_yaxes(autorange="reversed", automargin=True)
    verdict = ("fits every region" if report.fits else "does NOT fit: " + ", ".join(
        f"{r.region} over by {fmt.kib(-r.margin / 1024)} KiB" for r in table[~table["fits"]].itertuples()))
    note(fig, f"{report.model} {verdict}. Sizes: the .pte, Vela's scratch and ExecuTorch's planned buffers as "
              "compiled (exact); the runtime's structures estimated.", below=45)
    return fig


def summary_card(report) -> go.Figure:
    """The headline numbers as Indicator tiles, in as many columns as fill every row."""
    s, t = report.results, report.target
    ms, whole = (lambda v: dict(suffix=" ms", valueformat=f",.{fmt.decimals_for(v)}f")), dict(valueformat=",d")
    kib = dict(suffix=" KiB", valueformat=",.1f")
    tiles = [
        ("NPU time (vela-estimate)", s["inference_ms"], ms(s["inference_ms"]), NPU_COLOR),
        *([(f"CPU time, est. ({fmt.ms_range(s['cpu_ms_low'], s['cpu_ms_high'])} ms)", s["cpu_ms_est"],
            ms(s["cpu_ms_est"]), CPU_COLOR)] if "cpu_ms_est" in s else []),
        ("NPU cycles (vela-estimate)", s["total_cycles"], whole, None),
        ("MACs", s["macs"], dict(valueformat=".3s"), None),
        ("NPU partitions", s["partitions"], whole, None),
        ("NPU operators", s["npu_ops"], whole, NPU_COLOR),
        ("CPU operators", s["cpu_ops"], whole, CPU_COLOR),
        ("SRAM", s["sram_kib"], kib, None),
        ("flash", s["flash_kib"], kib, None),
    ]
    if s.get("dram_kib", 0) and s["dram_kib"] > 0:
        tiles.append(("DRAM", s["dram_kib"], kib, None))
    columns = min((5, 4, 3), key=lambda c: (-len(tiles) % c, -c))  # no row left half empty
    rows = math.ceil(len(tiles) / columns)
    fig = go.Figure()
    for k, (title, value, number, color) in enumerate(tiles):
        r, c = divmod(k, columns)
        fig.add_indicator(mode="number", value=float(value), title=dict(text=title, font=dict(size=px(13))),
                          number=dict(font=dict(size=px(30), color=color or FONT_COLOR), **number),
                          domain=dict(row=r, column=c))
    _style(fig, report, "Summary", 110 + 100 * rows)
    fig.update_layout(grid=dict(rows=rows, columns=columns, pattern="independent"))
    cpu = (f"CPU: {t.cpu_core}, {s['cpu_kernels']} kernels, cortex-m-estimate · whole inference "
           f"{fmt.ms_range(s['total_ms_low'], s['total_ms_high'])} ms · " if "cpu_ms_est" in s else "")
    warnings = "".join(f"<br><span style='color:{CPU_COLOR}'>⚠</span> {_wrap(w, 130)}" for w in report.warnings)
    note(fig, f"NPU {fmt.rate(s['inferences_per_s'])} inferences/s at {fmt.mhz(t.clock_hz)} MHz · {cpu}"
               f"NPU numbers: {source_label(report)} · torch {s['torch_version']}, executorch "
               f"{s['executorch_version']}, vela {s['vela_version']}{warnings}", below=5)
    fig.update_layout(height=fig.layout.height + px(16) * warnings.count("<br>"))
    return fig


# ------------------------------------------------------------------ numerics

def numerics(table: pd.DataFrame) -> go.Figure:
    """SQNR along the graph (``labkit.numerics``): fake-quant and TOSA reference vs float
    at each operator's quantized output, NPU partitions shaded; hover for the module,
    the source line, the SQNR drop and the TOSA vs fake-quant difference in steps."""
    a = table.attrs
    ops = table[~table["op"].str.startswith("quantized_decomposed.")].reset_index(drop=True)
    fig = go.Figure()
    for p, rows in _partition_runs(ops):
        fig.add_vrect(x0=rows.index.min() - 0.5, x1=rows.index.max() + 0.5, fillcolor=NPU_COLOR, opacity=0.10,
                      line_width=0, layer="below", annotation_text=f"NPU partition {p}",
                      annotation_position="bottom left")
    hover = [_numerics_hover(i, r) for i, r in ops.iterrows()]
    fig.add_scatter(x=ops.index, y=ops["sqnr_fake_quant_db"].clip(upper=120), mode="lines+markers",
                    name=f"{SOURCE_LABELS['fake-quant-int8']} vs float", line=dict(color=CPU_COLOR),
                    marker=dict(size=px(7)), hovertext=hover, hovertemplate="%{hovertext}<extra></extra>")
    fig.add_scatter(x=ops.index, y=ops["sqnr_tosa_db"].clip(upper=120), mode="markers",
                    name=f"{SOURCE_LABELS['tosa-reference']} vs float",
                    marker=dict(color=NPU_COLOR, size=px(10), symbol="diamond-open", line=dict(width=2)),
                    hovertext=hover, hovertemplate="%{hovertext}<extra></extra>")
    top = pd.concat([ops["sqnr_fake_quant_db"], ops["sqnr_tosa_db"]]).clip(upper=120).max()
    top = top if top > 0 else 1.0
    worst = ops["sqnr_drop_db"].idxmax() if ops["sqnr_drop_db"].notna().any() else None
    if worst is not None and ops.at[worst, "sqnr_drop_db"] > 0:
        r = ops.loc[worst]
        y = min(r["sqnr_fake_quant_db"], 120)
        # The label in the empty band above the lines (the axis runs 15 % past the highest point),
        # its arrow down to the point: never on top of the data.
        fig.add_annotation(x=worst, y=y, axref="x", ayref="y", ax=worst, ay=top * 1.1, arrowcolor=LIMIT_COLOR,
                           xanchor="right" if worst > len(ops) / 2 else "left", yanchor="bottom",
                           text=f"largest drop: {fmt.db(r['sqnr_drop_db'])} dB at {_short_op(r['op'])}"
                                f"{' (' + r['module'] + ')' if r['module'] else ''}", font=dict(color=LIMIT_COLOR))
    style(fig, "SQNR along the graph", a.get("model", ""),
          f"{a.get('target', '')} · {a.get('quantization', '')} · {a.get('samples', '?')} samples · "
          "fake-quant int8 and TOSA reference run vs PyTorch float", 420)
    fig.update_xaxes(title_text="operator, in execution order (quantize/dequantize hidden)", showgrid=False,
                     range=[-1, max(len(ops), 1)], zeroline=False)
    fig.update_yaxes(title_text="SQNR (dB), higher is better", range=[0, top * 1.15])
    note(fig, "SQNR at each operator's quantized output over all samples; an operator quantized with the next "
              "(a convolution and its ReLU) shares its point. Where the line falls, error enters.", below=45)
    return fig


def _numerics_hover(i: int, row) -> str:
    def db(v):
        return "—" if pd.isna(v) else ("exact" if v == math.inf else f"{fmt.db(v)} dB")

    lines = [f"<b>#{i} {row['op']}</b>", f"module: {module_label(row['module'], row['op'])}",
             f"source: {short_source(row['source'])}", f"placement: {row['placement']}",
             f"fake-quant vs float: {db(row['sqnr_fake_quant_db'])} (max error {row['max_abs_error']:.3g})"]
    if not pd.isna(row["sqnr_tosa_db"]):
        lines.append(f"TOSA reference vs float: {db(row['sqnr_tosa_db'])}; vs fake-quant: "
                     f"{row['tosa_vs_fake_quant_lsb']:.0f} step(s)")
    if not pd.isna(row["sqnr_drop_db"]):
        lines.append(f"SQNR drop against its inputs: {fmt.db(row['sqnr_drop_db'])} dB")
    if not pd.isna(row.get("act_bits")):
        lines.append(f"activations {int(row['act_bits'])}-bit"
                     + (f", weights {int(row['weight_bits'])}-bit" if not pd.isna(row.get("weight_bits")) else ""))
    return "<br>".join(lines)
