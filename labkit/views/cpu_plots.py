"""The Cortex-M cost model against the silicon it was fitted on.

``calibration(table)`` draws ``labkit.cpu.calibration.table()``: every fitted measurement's
measured cycles against labkit's estimate, log-log, one colour per kernel class, each
estimate's stated range as a bar; a point on the diagonal is an exact estimate and a
point inside its bar is inside the range.
"""

from __future__ import annotations

import math

import plotly.graph_objects as go
from plotly.colors import qualitative

from .. import formats as fmt
from .theme import GRID_COLOR, log_axis, note, style


def calibration(table, title: str = "Cortex-M55 cycles: measured against estimated") -> go.Figure:
    """Measured against estimated cycles per calibration measurement (the fitted rows of
    ``table``), coloured by kernel class, with each estimate's range."""
    fitted = table[table["fitted"]]
    fig = go.Figure()
    values = list(fitted["measured"]) + list(fitted["cpu_cycles_low"]) + list(fitted["cpu_cycles_high"])
    lo, hi = min(values) / 1.5, max(values) * 1.5
    fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", line=dict(color=GRID_COLOR, dash="dot"),
                             hoverinfo="skip", showlegend=False))
    palette = qualitative.Safe + qualitative.Pastel
    for i, (kernel_class, rows) in enumerate(fitted.groupby("kernel_class", sort=True)):
        color = palette[i % len(palette)]
        fig.add_trace(go.Scatter(
            x=rows["measured"], y=rows["cpu_cycles_est"], mode="markers", name=kernel_class,
            marker=dict(color=color, size=9, line=dict(width=1, color="white")),
            error_y=dict(type="data", symmetric=False, array=rows["cpu_cycles_high"] - rows["cpu_cycles_est"],
                         arrayminus=rows["cpu_cycles_est"] - rows["cpu_cycles_low"], color=color, thickness=1.5),
            customdata=list(zip(rows["source"], rows["measurement"], rows["ratio"])),
            hovertemplate=[f"<b>%{{customdata[1]}}</b><br>%{{customdata[0]}}<br>measured {fmt.cycles(m)}"
                           f"<br>estimated {fmt.cycles(e)} ({fmt.cycles(l)}–{fmt.cycles(h)})"
                           f"<br>estimate / measured %{{customdata[2]:.2f}}<extra>{kernel_class}</extra>"
                           for m, e, l, h in zip(rows["measured"], rows["cpu_cycles_est"], rows["cpu_cycles_low"],
                                                 rows["cpu_cycles_high"])]))
    axis = log_axis([lo, hi], steps=(1,))
    fig.update_xaxes(title_text="measured on Cortex-M55 silicon (cycles)", range=_log_range(lo, hi), **axis)
    fig.update_yaxes(title_text="cortex-m-estimate (cycles, bar: its range)", range=_log_range(lo, hi), **axis)
    inside = int(fitted["in_range"].sum())
    style(fig, title, "every measurement the model is fitted on",
          f"cortex-m-estimate · {inside} of {len(fitted)} inside their range", 560, legend="side")
    note(fig, "On the dotted line the estimate equals the measurement. Sources: data/cortex-m/ (Alif E8, "
              "Apollo510).")
    return fig


def _log_range(lo: float, hi: float) -> list[float]:
    return [math.log10(lo), math.log10(hi)]
