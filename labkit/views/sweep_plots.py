"""Plotly figures of a sweep: one function per figure, the DataFrame of
``labkit.sweep`` in, go.Figure out.

    scaling(df)         inference time vs MACs per cycle, one line per NPU family
    configurations(df)  the effect of system config and memory mode, per accelerator
    pareto(df)          time vs MACs/cycle (a silicon-area proxy) vs SRAM, Pareto-optimal ones marked
    whole_inference(df) NPU + CPU time of every configuration, CPU-only targets included
    fallbacks(reports)  operators on the CPU on Ethos-U55 that run on the NPU on Ethos-U85
                        (the sweep's Reports: ``labkit.sweeps.reports(df)``)

Same conventions as ``labkit.plots`` (theme.py): every title names the model
and the source of the numbers ('Vela estimate'). The model's name comes from
``model=``, else ``df.attrs['model']``, else the sweep's ``model`` column.
Nothing here reads the cache or a config file: the sweep table carries what the
figures need (e.g. ``sram_need_kib``).
"""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .. import formats as fmt
from .. import targets
from ..sweep_tables import (
    clock_mhz,
    compiled_rows,
    fallback_table,
    family_rows,
    model_name,
    non_dominated,
    ok_rows,
    pareto_front,
    short_config,
)
from .plots import short_source
from .theme import CPU_COLOR, FONT_COLOR, GRID_COLOR, NPU_COLOR, SOURCE_LABELS, empty, log_axis, note, px, style

# One colour per NPU family in every sweep figure (not the NPU / CPU colours of
# labkit.plots, which mean "where an operator runs").
FAMILY_COLORS = {"ethos-u55": "#59A14F", "ethos-u65": "#D4A72C", "ethos-u85": "#8E6BBF"}
OTHER_FAMILY_COLOR = "#9C755F"
PARETO_COLOR = "#E15759"    # the ring around a Pareto-optimal configuration
# Memory modes by colour (configurations()).
# (Neither the NPU blue nor the CPU orange: those mean "where an operator runs".)
MEMORY_MODE_COLORS = {
    "Sram_Only": "#76B7B2", "Shared_Sram": "#EDC948", "Dedicated_Sram": "#9C755F",
    "Dedicated_Sram_256KB": "#FF9DA7", "Dedicated_Sram_384KB": "#D37295", "Dedicated_Sram_512KB": "#A463A0",
}
_SPARE_COLORS = ["#BAB0AC", "#59A14F", "#E15759", "#4E79A7"]
# ------------------------------------------------------------------ helpers

def _source(df: pd.DataFrame) -> str:
    """'Vela estimate · int8': the source of the numbers and the quantization(s) compared."""
    sources = [s for s in df.get("source", pd.Series(dtype=object)).dropna().unique() if s]
    schemes = [q for q in df.get("quantization", pd.Series(dtype=object)).dropna().unique() if q]
    text = " / ".join(SOURCE_LABELS.get(s, s) for s in sources) or "Vela estimate"
    return f"{text} · {' / '.join(schemes) or 'int8'}"


def _family_color(family: str) -> str:
    return FAMILY_COLORS.get(family, OTHER_FAMILY_COLOR)


def _style(fig: go.Figure, what: str, model: str, detail: str, source: str, height: int) -> go.Figure:
    style(fig, what, model, f"{detail} · {source}", height, legend="side")
    fig.update_layout(margin=dict(t=80))
    return fig


def _failed_note(df: pd.DataFrame) -> str:
    bad = df[df["error"].fillna("").astype(str).ne("")] if "error" in df else df.iloc[:0]
    if bad.empty:
        return ""
    names = ", ".join(sorted(set(bad["accelerator"])))
    return f"<br>{len(bad)} configuration(s) failed and are not shown ({names}): see the table's error column"


def _hover(row) -> str:
    return (f"<b>{row['accelerator']}</b> · {short_config(row['system_config'])} · {row['memory_mode']}"
            f"<br>{fmt.ms(row['inference_ms'])} ms · {fmt.rate(row['inferences_per_s'])} inferences/s"
            f"<br>{fmt.cycles(row['total_cycles'])} cycles at {clock_mhz(row):,.0f} MHz"
            f"<br>SRAM {fmt.kib(row['sram_kib'])} KiB · flash {fmt.kib(row['flash_kib'])} KiB"
            f" · DRAM {fmt.kib(row['dram_kib'])} KiB"
            f"<br>{int(row['npu_ops'])} NPU / {int(row['cpu_ops'])} CPU operators, "
            f"{int(row['partitions'])} partition(s)")


def _log2_ticks(values) -> dict:
    ticks = sorted({int(v) for v in values})
    return dict(type="log", tickvals=ticks, ticktext=[str(t) for t in ticks])


# ------------------------------------------------------------------ scaling

def scaling(df: pd.DataFrame, *, model: str | None = None) -> go.Figure:
    """Inference time against the NPU's MACs per cycle, one line per family (log
    axes), each point labelled with its speed-up over the previous MAC count and a
    dashed 'ideal' line (twice the MACs, half the time) from the family's smallest."""
    name = model_name(df, model)
    rows = family_rows(df)
    fig = go.Figure()
    combos = "; ".join(f"{targets.family_label(f)}: " + (
        f"{short_config(r['system_config'].iloc[0])} · {r['memory_mode'].iloc[0]}"
        if len(r[["system_config", "memory_mode"]].drop_duplicates()) == 1 else "mixed configs (hover)")
        for f, r in rows.groupby("family", sort=False))
    _style(fig, "Inference time vs MACs per cycle", name, combos or "no configurations", _source(df), 480)
    if rows.empty:
        return empty(fig, "No configuration of this sweep compiled.")
    ideal_shown = False
    for family, r in rows.groupby("family", sort=False):
        r = r.sort_values("macs_per_cycle")
        ms, macs = r["inference_ms"].to_numpy(), r["macs_per_cycle"].to_numpy()
        labels, hovers = [], []
        for k, (_, row) in enumerate(r.iterrows()):
            if k == 0:
                labels.append("")
                step = "smallest of the family"
            else:
                speedup, more = ms[k - 1] / ms[k], macs[k] / macs[k - 1]
                share = math.log(speedup) / math.log(more) if more > 1 else float("nan")
                labels.append(f"×{speedup:.2f}")
                step = (f"×{speedup:.2f} faster than {r['accelerator'].iloc[k - 1]} with ×{more:g} the MACs "
                        f"({100 * share:.0f}% of ideal scaling)")
            hovers.append(_hover(row) + "<br>" + step)
        color = _family_color(family)
        fig.add_scatter(x=macs, y=ms, mode="lines+markers+text", name=targets.family_label(family),
                        legendgroup=family, text=labels, textposition="top right",
                        textfont=dict(color=color, size=px(11)),
                        line=dict(color=color, width=2), marker=dict(color=color, size=9),
                        hovertext=hovers, hovertemplate="%{hovertext}<extra></extra>",
                        meta={"family": family})
        if len(r) > 1:
            fig.add_scatter(x=macs, y=ms[0] * macs[0] / macs, mode="lines", name="ideal: 2× MACs → ½ time",
                            legendgroup="ideal", showlegend=not ideal_shown, hoverinfo="skip",
                            line=dict(color=color, dash="dot", width=1), opacity=0.7,
                            meta={"ideal": family})
            ideal_shown = True
    fig.update_xaxes(title_text="MACs per cycle (the NPU configuration)", **_log2_ticks(rows["macs_per_cycle"]))
    fig.update_yaxes(title_text="inference time (ms, log)", **log_axis(rows["inference_ms"]))
    clocks = "; ".join(f"{targets.family_label(f)} at {clock_mhz(r.iloc[0]):,.0f} MHz"
                       for f, r in rows.groupby("family", sort=False))
    note(fig, f"Labels: speed-up over the next smaller MAC count. Clocks come from the system config: {clocks}."
               + _failed_note(df))
    return fig


# ------------------------------------------------------------------ system config and memory mode

def configurations(df: pd.DataFrame, *, model: str | None = None) -> go.Figure:
    """Inference time of every (system config, memory mode) swept: one panel per
    family, bars grouped by accelerator and system config, one colour per memory mode."""
    name = model_name(df, model)
    rows = ok_rows(df)
    families = list(dict.fromkeys(rows["family"]))
    widths = [len(rows[rows["family"] == f][["accelerator", "system_config"]].drop_duplicates()) for f in families]
    fig = make_subplots(rows=1, cols=max(1, len(families)), shared_yaxes=True, horizontal_spacing=0.02,
                        subplot_titles=[targets.family_label(f) for f in families] or None,
                        column_widths=widths or None)
    n = len(rows[["accelerator", "system_config", "memory_mode"]].drop_duplicates())
    _style(fig, "System config and memory mode", name,
           f"{n} configurations of {rows['accelerator'].nunique()} accelerators", _source(df), 560)
    if rows.empty:
        return empty(fig, "No configuration of this sweep compiled.")
    spare = iter(_SPARE_COLORS * 4)
    mode_colors = {m: MEMORY_MODE_COLORS.get(m) or next(spare) for m in dict.fromkeys(rows["memory_mode"])}
    shown = set()
    for col, family in enumerate(families, start=1):
        fam = rows[rows["family"] == family].sort_values(["macs_per_cycle", "system_config"], kind="stable")
        for mm, r in fam.groupby("memory_mode", sort=False):
            fig.add_bar(x=[r["accelerator"].str.replace("ethos-", "", regex=False).tolist(),
                           r["system_config"].map(short_config).tolist()],
                        y=r["inference_ms"], name=mm, legendgroup=mm, showlegend=mm not in shown,
                        marker=dict(color=mode_colors[mm], line=dict(width=0)),
                        hovertext=[_hover(row) for _, row in r.iterrows()],
                        hovertemplate="%{hovertext}<extra></extra>",
                        meta={"family": family, "memory_mode": mm}, row=1, col=col)
            shown.add(mm)
    fig.update_layout(barmode="group", bargap=0.15, bargroupgap=0.05, legend=dict(title_text="memory mode"))
    fig.update_xaxes(tickangle=-90, tickfont=dict(size=px(10)))
    fig.update_yaxes(**log_axis(rows["inference_ms"]))
    fig.update_yaxes(title_text="inference time (ms, log)", row=1, col=1)
    one = (rows.groupby("accelerator")[["system_config", "memory_mode"]].nunique().max(axis=1) <= 1).all()
    text = ("Bars: one per memory mode, grouped by accelerator and system config (the system config sets the "
            "clock and the memory bandwidth).")
    if one:
        text += ("<br>This sweep has one system config and memory mode per accelerator: pass "
                 "system_configs= / memory_modes= to labkit.sweep to compare them.")
    note(fig, text + _failed_note(df), below=130)
    return fig


# ------------------------------------------------------------------ Pareto

def pareto(df: pd.DataFrame, *, model: str | None = None, time: str = "inference_ms") -> go.Figure:
    """Inference time (``time``: 'inference_ms' or 'total_cycles') against MACs per
    cycle (a proxy for silicon area), marker area = SRAM needed; the configurations
    that are Pareto-optimal in all three (time, MACs, SRAM) are ringed and labelled."""
    if time not in ("inference_ms", "total_cycles"):
        raise ValueError(f"time must be 'inference_ms' or 'total_cycles', not {time!r}")
    name = model_name(df, model)
    rows = ok_rows(df)
    fig = go.Figure()
    _style(fig, "Pareto view: time vs MACs vs SRAM", name,
           "lower is better on every axis; ringed = Pareto-optimal", _source(df), 540)
    if rows.empty:
        return empty(fig, "No configuration of this sweep compiled.")
    optimal = pareto_front(rows, (time, "macs_per_cycle", "sram_need_kib")).reindex(rows.index, fill_value=False)
    fits = rows["fits"].fillna(True).astype(bool) if "fits" in rows else pd.Series(True, index=rows.index)
    sram = rows["sram_need_kib"].astype(float)
    size = 8 + 24 * (sram / (float(sram.max()) or 1.0)) ** 0.5  # marker area ~ SRAM
    # Spread the configurations of one accelerator a little, so each stays visible.
    offset = rows.groupby("accelerator").cumcount()
    count = rows.groupby("accelerator")["accelerator"].transform("size")
    x = rows["macs_per_cycle"] * 2 ** ((offset - (count - 1) / 2) * (0.5 / count).clip(upper=0.06))
    for family, r in rows.groupby("family", sort=False):
        fig.add_scatter(x=x[r.index], y=r[time], mode="markers", name=targets.family_label(family), legendgroup=family,
                        marker=dict(color=_family_color(family), size=size[r.index], opacity=0.8,
                                    symbol=["circle" if fits[i] else "x" for i in r.index], line=dict(width=0)),
                        hovertext=[_hover(row) + f"<br>SRAM needed {row['sram_need_kib']:,.1f} KiB" + (
                            "<br><b>Pareto-optimal</b>" if optimal[i] else
                            "<br>does not fit its memory mode's SRAM" if not fits[i] else
                            "<br>dominated: another configuration is as good or better on all three")
                            for i, row in r.iterrows()],
                        hovertemplate="%{hovertext}<extra></extra>", meta={"family": family})
    best = rows[optimal]
    # One label per accelerator (its fastest optimal configuration); hover and the table have the rest.
    first = ~best.sort_values(time)["accelerator"].duplicated().reindex(best.index)
    fig.add_scatter(x=x[best.index], y=best[time], mode="markers", name="Pareto-optimal",
                    marker=dict(symbol="circle-open", size=size[best.index] + 8, color=PARETO_COLOR,
                                line=dict(width=2.5, color=PARETO_COLOR)),
                    customdata=list(best.index), hoverinfo="skip", meta={"pareto": True})
    for i in best.index[first.to_numpy()]:  # the label clear of its ring, whatever the ring's size
        fig.add_annotation(x=math.log10(x[i]), y=math.log10(best.loc[i, time]), xanchor="left", showarrow=False,
                           xshift=size[i] / 2 + 8, text=f"{best.loc[i, 'accelerator'].replace('ethos-', '')} · "
                           f"{best.loc[i, 'sram_need_kib']:,.0f} KiB", font=dict(color=PARETO_COLOR, size=px(10)),
                           name="Pareto label")
    lo, hi = float(x.min()), float(x.max())
    fig.update_xaxes(title_text="MACs per cycle (a proxy for silicon area, log)",
                     range=[math.log10(lo) - 0.12, math.log10(hi) + 0.5], **_log2_ticks(rows["macs_per_cycle"]))
    unit = "inference time (ms, log)" if time == "inference_ms" else "NPU cycles (log)"
    fig.update_yaxes(title_text=unit, **log_axis(rows[time]))
    note(fig, f"{len(best)} of {len(rows)} configurations are Pareto-optimal; each other one is matched or "
               "beaten on time, MACs and SRAM at once.<br>Marker area: SRAM needed, "
               f"{sram.min():,.1f}–{sram.max():,.1f} KiB (Vela's SRAM use, plus the weights when the memory mode "
               "keeps them in SRAM).<br>MACs per cycle is only a proxy for area: the families differ in design, "
               "and the system config sets the clock." + ("" if fits.all() else "<br>×: needs more SRAM than "
                                                          "its memory mode gives (not eligible).")
          + _failed_note(df), below=50)
    return fig


def precision(df: pd.DataFrame, *, model: str | None = None) -> go.Figure:
    """A precision sweep (``labkit.sweep(..., quantization=[...])`` with evaluation data):
    accuracy (tosa-reference) against inference time (vela-estimate), one marker per
    quantization and configuration; those no other beats on both are ringed."""
    name = model_name(df, model)
    rows = ok_rows(df)
    rows = rows[rows["accuracy"].notna()] if "accuracy" in rows else rows.iloc[:0]
    fig = go.Figure()
    _style(fig, "Pareto view: accuracy vs time", name, "up and to the left is better; ringed = Pareto-optimal",
           f"{_source(df)} · accuracy: {SOURCE_LABELS['tosa-reference']}", 500)
    if rows.empty:
        return empty(fig, "No accuracy in this sweep: pass data=(inputs, labels) to labkit.sweep, or use a model "
                          "with evaluation data.")
    optimal = non_dominated(pd.DataFrame({"t": rows["inference_ms"].astype(float),
                                           "a": -rows["accuracy"].astype(float)}).to_numpy())
    symbols = dict(zip(dict.fromkeys(rows["quantization"]), ["circle", "diamond", "square", "triangle-up",
                                                             "cross", "star"] * 3))
    for (family, scheme), r in rows.groupby(["family", "quantization"], sort=False):
        fig.add_scatter(x=r["inference_ms"], y=r["accuracy"], mode="markers", name=f"{targets.family_label(family)} · "
                        f"{scheme}", marker=dict(color=_family_color(family), size=px(13), symbol=symbols[scheme]),
                        hovertext=[_hover(row) + f"<br>quantization {row['quantization']}<br>accuracy "
                                   f"{row['accuracy']:.2%} (tosa-reference)" for _, row in r.iterrows()],
                        hovertemplate="%{hovertext}<extra></extra>")
    best = rows[optimal]
    fig.add_scatter(x=best["inference_ms"], y=best["accuracy"], mode="markers", name="Pareto-optimal",
                    marker=dict(symbol="circle-open", size=px(22), color=PARETO_COLOR, line=dict(width=2.5)),
                    hoverinfo="skip")
    fig.update_xaxes(title_text="inference time (ms, log)", **log_axis(rows["inference_ms"]))
    fig.update_yaxes(title_text="accuracy on held-out data", tickformat=".1%")
    note(fig, f"Accuracy: the compiled program on the TOSA reference model, {len(rows)} configurations; it is "
              "the same for every NPU of a family (one TOSA graph per quantization)." + _failed_note(df), below=50)
    return fig


# ------------------------------------------------------------------ CPU fallbacks

def fallbacks(reports: list, *, model: str | None = None, cpu_family: str = "ethos-u55",
              npu_family: str = "ethos-u85") -> go.Figure:
    """A table of the operators that fall back to the CPU on ``cpu_family`` but run
    on the NPU on ``npu_family``: op, module, source line, the partitioner's
    reason on ``cpu_family``, and the op's cycles on the smallest ``npu_family``.
    ``reports``: the sweep's Reports (``labkit.sweeps.reports(df)``)."""
    reports = [r for r in reports if r is not None]
    name = model_name(reports, model)
    table = fallback_table(reports, cpu_family=cpu_family, npu_family=npu_family)
    boundary = fallback_table(reports, cpu_family=cpu_family, npu_family=npu_family, boundary=True)
    a, b = targets.family_label(cpu_family), targets.family_label(npu_family)
    have = {f: [r.target.accelerator for r in reports if r.target.family == f] for f in (cpu_family, npu_family)}
    fig = go.Figure()
    _style(fig, f"On the CPU on {a}, on the NPU on {b}", name,
           "placement by the Ethos-U partitioner; cycles on " + (have[npu_family][0] if have[npu_family] else b),
           "Vela estimate", 160 + 60 * max(1, len(table)))
    if not have[cpu_family] or not have[npu_family]:
        missing = " and ".join(targets.family_label(f) for f in (cpu_family, npu_family) if not have[f])
        return _one_line(fig, f"This sweep has no {missing} configuration to compare.")
    if table.empty:
        return _one_line(fig, f"Every operator is placed alike on {a} and {b}.")
    cycles = [f"{c:,.0f}" if not pd.isna(c) else "—" for c in table["cycles"]]
    fig.add_table(
        columnwidth=[1.1, 1.2, 1.3, 3.2, 0.9],
        header=dict(values=[f"<b>{h}</b>" for h in ("operator", "module", "source",
                                                    f"why not on the {a} NPU", f"{b} cycles")],
                    align="left", fill_color="rgba(128,128,128,0.15)", font=dict(color=FONT_COLOR),
                    line_color=GRID_COLOR),
        cells=dict(values=[table["op"].str.replace("aten.", "", regex=False), table["module"].replace("", "—"),
                           [short_source(s) for s in table["source"]], table["reason"], cycles],
                   align="left", fill_color="rgba(0,0,0,0)", font=dict(color=FONT_COLOR), height=28,
                   line_color=GRID_COLOR),
    )
    extra = len(boundary) - len(table)
    split = {f: sorted({int(r.summary["partitions"]) for r in reports if r.target.family == f})
             for f in (cpu_family, npu_family)}
    fig.update_layout(margin=dict(t=80, b=10))
    note(fig, f"On the CPU on {', '.join(have[cpu_family])}; on the NPU on {', '.join(have[npu_family])}."
          + (f"<br>Not listed: {extra} quantize/dequantize node(s) at the NPU partition boundaries these "
             f"operator(s) create on {a}." if extra else "")
          + f"<br>NPU partitions: {'/'.join(map(str, split[cpu_family]))} on {a}, "
            f"{'/'.join(map(str, split[npu_family]))} on {b} (each boundary is a round trip through the CPU).",
          below=5)
    return fig


def _one_line(fig: go.Figure, text: str) -> go.Figure:
    """A figure whose whole content is one sentence: as short as its title and that line."""
    fig.update_layout(height=px(150), margin=dict(t=80, b=10))
    return empty(fig, text)


# ------------------------------------------------------------------ the whole inference

def whole_inference(df: pd.DataFrame, *, model: str | None = None) -> go.Figure:
    """Every configuration's whole inference, fastest first: its NPU time (vela-estimate)
    and its CPU time (cortex-m-estimate, the bar at the estimate, the whisker the range);
    CPU-only targets ('cortex-m55', 'cortex-m85') show what the NPU buys."""
    name = model_name(df, model)
    rows = compiled_rows(df)
    fig = go.Figure()
    _style(fig, "The whole inference: NPU and CPU", name, "vela-estimate + cortex-m-estimate", _source(df),
           180 + 28 * max(len(rows), 1))
    if rows.empty or "cpu_ms_est" not in rows or rows["cpu_ms_est"].isna().all():
        return empty(fig, "No configuration of this sweep has a CPU estimate.")
    rows = rows.assign(total=rows["npu_ms"].fillna(0) + rows["cpu_ms_est"].fillna(0)).sort_values("total")
    labels = [f"{a} · CPU only" if f == "cortex-m" else f"{a} · {short_config(sc)} · {mm}"
              for a, f, sc, mm in zip(rows["accelerator"], rows["family"], rows["system_config"], rows["memory_mode"])]
    fig.add_bar(y=labels, x=rows["npu_ms"].fillna(0), orientation="h", name="NPU (vela-estimate)",
                marker_color=NPU_COLOR, hovertemplate="%{y}<br>NPU %{x:.3r} ms (vela-estimate)<extra></extra>")
    fig.add_bar(y=labels, x=rows["cpu_ms_est"], orientation="h", name="CPU (cortex-m-estimate, low–high)",
                marker_color=CPU_COLOR, customdata=rows[["cpu_ms_low", "cpu_ms_high", "cpu_core"]].to_numpy(),
                hovertemplate="%{y}<br>CPU %{customdata[0]:.3r}–%{customdata[1]:.3r} ms on %{customdata[2]} (cortex-m-estimate)"
                              "<extra></extra>",
                error_x=dict(type="data", symmetric=False, array=rows["cpu_ms_high"] - rows["cpu_ms_est"],
                             arrayminus=rows["cpu_ms_est"] - rows["cpu_ms_low"], color=FONT_COLOR, thickness=1.2))
    fig.update_layout(barmode="stack")
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_xaxes(title_text="ms per inference", **(log_axis(rows["total"]) if rows["total"].max() > 50 *
                                                      rows["total"].min() else {}))
    return fig


def figures(df: pd.DataFrame, reports: list | None = None, *, model: str | None = None) -> list[go.Figure]:
    """Every sweep figure, in the order the Compare tab shows them (the fallbacks
    table when the sweep's ``reports`` are given)."""
    name = model_name(df, model)
    out = [scaling(df, model=name), pareto(df, model=name), configurations(df, model=name)]
    if "accuracy" in df and df["accuracy"].notna().any():
        out.insert(2, precision(df, model=name))
    if "cpu_ms_est" in df and df["cpu_ms_est"].notna().any():
        out.insert(0, whole_inference(df, model=name))
    return out + ([fallbacks(reports, model=name)] if reports is not None else [])
