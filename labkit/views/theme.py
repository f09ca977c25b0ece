"""One look for every figure, the HTML report and the app.

A plotly template, ``labkit``, and its presentation variant (larger type and
figures for live demos) style every figure; ``style`` applies the one in force
with a title that names what, the model, the target and the source of the
numbers. Presentation is chosen when a figure is built (``with presentation():``),
so nothing rescales a figure afterwards. Colours mean the same thing everywhere:
NPU blue, CPU orange. Backgrounds are transparent and text mid-grey, so figures
read in JupyterLab's light and dark themes alike.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
from functools import lru_cache

NPU_COLOR = "#4C9BE8"      # mid blue: runs on the NPU
CPU_COLOR = "#F28E2B"      # mid orange: runs on the CPU
MEMORY_COLOR = "#B07AA1"   # access cycles the NPU waits on memory
LIMIT_COLOR = "#E15759"    # a limit (the memory mode's SRAM), an error
FONT_COLOR = "#808080"     # mid grey: readable on white and on JupyterLab's dark grey
GRID_COLOR = "rgba(128, 128, 128, 0.25)"
FONT_SIZE = 12
PRESENTATION_SCALE = 1.5

PLOTLY_CONFIG = {"displaylogo": False, "responsive": False}  # for every place a figure is shown

SOURCE_LABELS = {  # every number's source, as a figure names it
    "vela-estimate": "Vela estimate",
    "cortex-m-estimate": "Cortex-M estimate",
    "tosa-reference": "TOSA reference run",
    "fake-quant-int8": "fake-quant int8 (PyTorch)",
    "fvp-measured": "FVP measured",
    "pytorch-float": "PyTorch float",
}
SOURCE_NOTES = {  # what each source is, in a sentence
    "vela-estimate": "Vela's compiler estimate, not a measurement",
    "cortex-m-estimate": "labkit's cost model of the Cortex-M, a range calibrated on silicon measurements",
    "tosa-reference": "bit-exact int8 functional run of the TOSA reference model on the host",
    "fake-quant-int8": "the quantized graph run in PyTorch with quantize/dequantize in float",
    "fvp-measured": "measured on an Arm Corstone Fixed Virtual Platform",
    "pytorch-float": "the float model in PyTorch",
}

_scale = contextvars.ContextVar("labkit_figure_scale", default=1.0)


@contextlib.contextmanager
def presentation(scale: float = PRESENTATION_SCALE):
    """Figures built inside this block use the presentation template: type and
    heights ``scale`` times larger (the Lab's presentation mode)."""
    token = _scale.set(scale)
    try:
        yield
    finally:
        _scale.reset(token)


def scale() -> float:
    return _scale.get()


def px(size: float) -> int:
    """A font size or height in the theme in force."""
    return round(size * _scale.get())


@lru_cache(maxsize=4)
def template(scale: float = 1.0):
    """The labkit plotly template at ``scale`` (1: normal, 1.5: presentation)."""
    import plotly.graph_objects as go
    import plotly.io as pio

    axis = dict(gridcolor=GRID_COLOR, zerolinecolor=GRID_COLOR, linecolor=GRID_COLOR)
    t = go.layout.Template(pio.templates["plotly_white"])
    t.layout.update(
        paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)",
        font=dict(color=FONT_COLOR, size=round(FONT_SIZE * scale)),
        title=dict(x=0.01, xanchor="left"), margin=dict(l=10, r=10, t=70, b=40),
        hoverlabel=dict(align="left", font_size=round(13 * scale)),
        legend=dict(bgcolor="rgba(0,0,0,0)"), xaxis=axis, yaxis=axis,
        annotationdefaults=dict(font=dict(color=FONT_COLOR, size=round(11 * scale))),
    )
    name = "labkit" if scale == 1.0 else f"labkit_x{scale:g}"
    pio.templates[name] = t
    return t


def style(fig, what: str, model: str, detail: str, height: int, *, legend: str = "top"):
    """Apply the template in force: title ``<b>what</b> · model`` over ``detail`` (target ·
    source), ``height`` in the theme's scale, legend on ``top`` (horizontal) or at the ``side``."""
    fig.update_layout(template=template(_scale.get()), height=px(height),
                      title_text=f"<b>{what}</b> · {model}<br><sup>{detail}</sup>")
    if legend == "top":
        fig.update_layout(legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1.0))
    return fig


def note(fig, text: str, below: int = 45) -> None:
    """A footnote ``below`` pixels under the plot area (room for an axis title); the
    bottom margin grows to hold all its lines."""
    fig.add_annotation(text=text, xref="paper", yref="paper", x=0, y=0, yshift=-px(below), xanchor="left",
                       yanchor="top", showarrow=False, align="left")
    lines = text.count("<br>") + 1
    fig.update_layout(margin_b=max(fig.layout.margin.b or 0, px(below + 16 * lines + 10)))


def empty(fig, text: str):
    """A figure with nothing to plot says why, in its middle."""
    fig.add_annotation(text=text, xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False,
                       font=dict(size=px(14)))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def source_label(source: str) -> str:
    """'Vela estimate' for 'vela-estimate'."""
    return SOURCE_LABELS.get(str(source), str(source) or "unknown source")


def log_axis(values, steps=(1, 2, 5)) -> dict:
    """A log axis over ``values`` whose tick labels are whole numbers, increasing: 1, 2, 5
    per decade (``steps``), each written out ("20", "50", "100", "0.5"), never the lone
    leading digits plotly's own minor labels show ("5, 2, 10")."""
    finite = [float(v) for v in values if v is not None and v == v and float(v) > 0]
    if not finite:
        return dict(type="log")
    lo, hi = min(finite), max(finite)
    ticks = [m * 10.0 ** e for e in range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1)
             for m in steps]
    inside = [x for x in ticks if lo / 1.25 <= x <= hi * 1.25]
    if len(inside) < 2:  # a narrow range: the ticks either side of it
        below = [x for x in ticks if x <= lo][-1:]
        above = [x for x in ticks if x >= hi][:1]
        inside = sorted(set(below + inside + above))
    return dict(type="log", tickvals=inside, ticktext=[_tick(x) for x in inside])


def _tick(x: float) -> str:
    return f"{x:,.0f}" if x >= 1 else f"{x:.{max(0, -math.floor(math.log10(x)))}f}"
