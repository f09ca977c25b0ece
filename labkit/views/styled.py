"""The tables a user sees, as pandas Stylers: the columns a reader needs first, units (and
sources) in the headers, numbers in labkit's one format per quantity (``labkit.formats``),
in-cell bars for shares, hints that wrap, and source paths relative to the project or the
labkit package. A table wider than its cell or tab scrolls inside itself (nothing is
clipped). A Styler shows itself in a notebook; ``.to_html()`` is what the Lab and the
HTML report embed.

    from labkit.views import styled
    styled.hotspots(report.hotspots())
"""

from __future__ import annotations

import html
import re

import pandas as pd

from .. import formats as fmt
from ..sources import short_source
from ..sweep_tables import ACCURACY, table
from .theme import CPU_COLOR, NPU_COLOR

_WRAP = {"white-space": "normal", "min-width": "16em", "max-width": "38em", "text-align": "left"}
_TABLE_CSS = [  # display:block with overflow: a wide table scrolls in place instead of being cut off
    {"selector": "", "props": [("border-collapse", "collapse"), ("font-size", "12px"), ("display", "block"),
                               ("max-width", "100%"), ("overflow-x", "auto")]},
    {"selector": "caption", "props": [("text-align", "left"), ("caption-side", "top"), ("padding", "2px 0 6px")]},
    {"selector": "th", "props": [("text-align", "left"), ("padding", "3px 8px"), ("border-bottom", "1px solid #ccc"),
                                 ("vertical-align", "bottom")]},
    {"selector": "td", "props": [("padding", "3px 8px"), ("vertical-align", "top")]},
]


def _styler(df: pd.DataFrame, *, formats: dict, text: tuple = (), wrap: tuple = (), bars: dict | None = None,
            caption: str = ""):
    """``df`` with ``formats`` ({column: format string}), left-aligned ``text`` columns,
    wrapping ``wrap`` columns and ``bars`` ({column: colour}, shares in %)."""
    shown = df.reset_index(drop=True)
    style = shown.style.hide(axis="index").set_table_styles(_TABLE_CSS).set_table_attributes(
        'class="labkit-table"').format({c: f for c, f in formats.items() if c in shown}, na_rep="—")
    for column, colour in (bars or {}).items():
        if column in shown and shown[column].notna().any():
            style = style.bar(subset=[column], color=colour + "66", vmin=0, vmax=100, height=60, width=100)
            style = style.set_properties(subset=[column], **{"min-width": "7em"})
    numbers = [c for c in shown if c not in (*text, *wrap)]
    if numbers:
        style = style.set_properties(subset=numbers, **{"text-align": "right", "white-space": "nowrap",
                                                        "font-variant-numeric": "tabular-nums"})
    left = [c for c in text if c in shown]
    if left:
        style = style.set_properties(subset=left, **{"text-align": "left", "white-space": "nowrap"})
    wrapped = [c for c in wrap if c in shown]
    if wrapped:
        style = style.set_properties(subset=wrapped, **_WRAP)
    return style.set_caption(caption) if caption else style


class Shown(pd.DataFrame):
    """A DataFrame that shows itself in a notebook as one of these tables (rounded, units in
    the headers, no raw reprs); it is a DataFrame in everything else, and what is derived
    from it (a slice, a copy) is a plain one."""

    _metadata = ["_table"]

    @property
    def _constructor(self):
        return pd.DataFrame

    def _repr_html_(self) -> str:
        return self._table(self).to_html()


def shown_as(df: pd.DataFrame, table) -> Shown:
    """``df`` (attrs kept) displayed as ``table(df)``, e.g. ``shown_as(advice, styled.advice)``."""
    out = Shown(df)
    out.attrs.update(df.attrs)
    out._table = table
    return out


def _sources(df: pd.DataFrame, *columns: str) -> pd.DataFrame:
    return df.assign(**{c: df[c].map(short_source) for c in columns if c in df})


def _first(df: pd.DataFrame, columns: tuple) -> pd.DataFrame:
    """``df`` with ``columns`` (those it has) first, in that order: what a reader needs
    first stays in view on a narrow screen; the rest follows."""
    head = [c for c in columns if c in df]
    return df[head + [c for c in df if c not in head]]


def inline_code(text) -> str:
    """``text`` as HTML, its `backticked` code shown as code (advice quotes the user's source)."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(str(text)))


def _signed(format_one):
    return lambda v: fmt.MISSING if v != v else ("+" if v > 0 else "") + format_one(v)


def hotspots(df: pd.DataFrame):
    """``report.hotspots()``."""
    shown = _first(_sources(df, "source"), ("op", "module", "share_pct", "hint", "cycles")).rename(columns={
        "cycles": "cycles (vela-estimate)", "share_pct": "share of cycles %", "npu_cycles": "compute cycles",
        "sram_ac": "SRAM access cycles", "dram_ac": "DRAM access cycles", "flash_ac": "flash access cycles",
        "util_pct": "MAC use %"})
    counts = ("cycles (vela-estimate)", "compute cycles", "SRAM access cycles", "DRAM access cycles",
              "flash access cycles")
    return _styler(shown, formats={**{c: fmt.cycles for c in counts}, "share of cycles %": fmt.pct,
                                   "MAC use %": fmt.pct},
                   text=("node", "op", "module", "source"), wrap=("hint",), bars={"share of cycles %": NPU_COLOR},
                   caption="Hotspots: the operators with the most NPU cycles (vela-estimate)")


def cpu_work(df: pd.DataFrame):
    """``report.cpu_work``."""
    total = df["cpu_cycles_est"].sum() if "cpu_cycles_est" in df else 0
    shown = df.assign(share=100 * df["cpu_cycles_est"] / total) if total else df
    shown = _first(shown.drop(columns="source", errors="ignore"),  # every row's is cortex-m-estimate: the caption
                   ("op", "module", "reason", "kernel", "cpu_cycles_est", "cpu_cycles_low", "cpu_cycles_high", "share"))
    shown = shown.rename(columns={
        "bytes": "bytes", "cpu_cycles_low": "CPU cycles low", "cpu_cycles_est": "CPU cycles est.",
        "cpu_cycles_high": "CPU cycles high", "share": "share of CPU cycles %"})
    cycles = ("CPU cycles low", "CPU cycles est.", "CPU cycles high")
    return _styler(shown, formats={"elements": fmt.cycles, "bytes": fmt.cycles, "share of CPU cycles %": fmt.pct,
                                   **{c: fmt.cycles for c in cycles}},
                   text=("node", "op", "kind", "module", "shape", "dtype", "kernel"),
                   wrap=("reason", "cost"), bars={"share of CPU cycles %": CPU_COLOR},
                   caption="Work on the Cortex-M: CPU cycles are a cortex-m-estimate (a range, low–high)")


def sweep(df: pd.DataFrame):
    """``labkit.sweep``'s table, as ``sweep_tables.table`` arranges it."""
    shown = table(df)
    return _styler(shown, formats={"ms": fmt.ms, "inferences/s": fmt.rate, "cycles": fmt.cycles,
                                   "SRAM KiB": fmt.kib, "SRAM needed KiB": fmt.kib, "flash KiB": fmt.kib,
                                   "DRAM KiB": fmt.kib, ACCURACY: lambda v: fmt.pct(100 * v)},
                   text=("quantization", "accelerator", "system config", "memory mode", "Pareto", "fits"),
                   wrap=("error",), caption="Every configuration, fastest first (NPU: vela-estimate; CPU: "
                                            "cortex-m-estimate)")


_NUMERICS = {"sqnr_fake_quant_db": "SQNR fake-quant dB", "sqnr_tosa_db": "SQNR TOSA dB",
             "sqnr_drop_db": "SQNR drop dB", "max_abs_error": "max abs error",
             "tosa_vs_fake_quant_lsb": "TOSA vs fake-quant (steps)"}


def numerics(df: pd.DataFrame, rows: int | None = None):
    """``labkit.numerics``: per operator, or its ``rows`` largest SQNR drops."""
    shown = df if rows is None else df[df["sqnr_drop_db"].notna()].nlargest(rows, "sqnr_drop_db")
    columns = [c for c in ("node", "op", "module", "source", "placement", "sqnr_fake_quant_db", "sqnr_tosa_db",
                           "sqnr_drop_db", "tosa_vs_fake_quant_lsb", "act_bits", "weight_bits") if c in shown]
    shown = _sources(shown[columns], "source").rename(columns=_NUMERICS)
    return _styler(shown, formats={v: fmt.db for v in _NUMERICS.values()} | {"max abs error": "{:.3g}",
                                                                             "TOSA vs fake-quant (steps)": fmt.cycles},
                   text=("node", "op", "module", "source", "placement"),
                   caption="SQNR against PyTorch float: fake-quant-int8 and tosa-reference")


def numerics_modules(df: pd.DataFrame):
    """``runtime.numerics.by_module``, the largest drop first."""
    shown = df.sort_values("largest_drop_db", ascending=False, na_position="last").rename(columns={
        "worst_sqnr_fake_quant_db": "worst SQNR fake-quant dB", "worst_sqnr_tosa_db": "worst SQNR TOSA dB",
        "largest_drop_db": "largest drop dB", "max_lsb": "TOSA vs fake-quant (steps)"})
    return _styler(shown, formats={"worst SQNR fake-quant dB": fmt.db, "worst SQNR TOSA dB": fmt.db,
                                   "largest drop dB": fmt.db, "TOSA vs fake-quant (steps)": fmt.cycles},
                   text=("module",), caption="By module: SQNR against PyTorch float (fake-quant-int8, tosa-reference)")


_ADVICE = {"change": "change", "benefit": "benefit (measured)", "why": "why",
           "delta_ms": "Δ time ms (vela-estimate + cortex-m-estimate)", "delta_cycles": "Δ NPU cycles (vela-estimate)",
           "delta_cpu_cycles": "Δ CPU cycles (cortex-m-estimate)", "delta_sram_kib": "Δ SRAM KiB (vela-estimate)",
           "delta_accuracy": "Δ accuracy % points (tosa-reference)", "fits": "fits"}


def advice(df: pd.DataFrame, caption: bool = True):
    """``labkit.advise(report)``: each measured change, best first (``caption``: its message
    above it, where nothing else says it)."""
    shown = df[[c for c in _ADVICE if c in df and (c != "delta_accuracy" or df[c].notna().any())]]
    shown = shown.assign(**({"delta_accuracy": 100 * shown["delta_accuracy"]} if "delta_accuracy" in shown else {}))
    shown = shown.rename(columns=_ADVICE)
    shown.insert(0, "#", range(1, len(shown) + 1))
    return _styler(shown, formats={_ADVICE["delta_ms"]: _signed(fmt.ms), _ADVICE["delta_cycles"]: _signed(fmt.cycles),
                                   _ADVICE["delta_cpu_cycles"]: _signed(fmt.cycles),
                                   _ADVICE["delta_sram_kib"]: _signed(fmt.kib),
                                   _ADVICE["delta_accuracy"]: _signed(fmt.pct),
                                   "fits": lambda v: "yes" if v else "no", "change": inline_code, "why": inline_code},
                   text=("benefit (measured)",), wrap=("change", "why"),
                   caption=df.attrs.get("message", "") if caption else "")
