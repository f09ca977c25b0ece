"""The Lab's Numerics tab: where quantization loses accuracy, operator by operator."""

from __future__ import annotations

import html as _html
import threading
from typing import TYPE_CHECKING

import ipywidgets as widgets

from ..runtime.numerics import by_module, numerics
from ..views import tables
from .common import StatusBox, describe, figure_bundle, html_bundle, one_line

if TYPE_CHECKING:
    from .lab import Lab


class NumericsPanel(StatusBox, widgets.VBox):
    """The Numerics tab: ``labkit.numerics`` for the Report on show (its model, NPU and
    quantization) in a background thread, with progress per sample and Cancel; then
    SQNR along the graph, the modules that lose most, and the operators behind them.

    Widgets: button, cancel_button, progress, stage, status, output. ``tables`` every
    numerics table of this session by the report's cache key."""

    failure_headline = "Could not compute the numerics."

    def __init__(self, lab: "Lab"):
        self.lab = lab
        self.report = None
        self.tables: dict[str, object] = {}
        self._panel_widgets(widgets.Button(
            description="Where is accuracy lost?", button_style="primary", icon="search", disabled=True,
            layout=widgets.Layout(width="auto"),
            tooltip="Compare fake-quant and the TOSA reference model with float at every operator (labkit.numerics)"))
        super().__init__([widgets.HBox([self.button, self.cancel_button]), widgets.HBox([self.progress, self.stage]),
                          self.status, self.output])
        self._say("Compile a model, then press <b>Where is accuracy lost?</b>")

    def show(self, report) -> None:
        """The tab for ``report``: its numerics if computed this session, else the button."""
        if self.busy():
            return
        self.report = report
        self.button.disabled = report is None
        key = str(report.summary.get("cache_key")) if report is not None else ""
        if key in self.tables:
            self._show_table(self.tables[key], "from this session")
        elif report is not None:
            self.output.outputs = ()
            self._say(f"Press <b>Where is accuracy lost?</b> to compare fake-quant int8 and the TOSA reference "
                      f"model with PyTorch float at every operator of {describe(report)} "
                      f"({_html.escape(str(report.summary.get('quantization', 'int8')))}).")

    def run(self, wait: bool = True):
        """Compute the numerics of the report on show in a background thread, as the button
        does. With ``wait``, block until done and return the table (None on error)."""
        if self.report is None or self.busy():
            return None
        report = self.report
        self._cancel = threading.Event()
        self.button.disabled, self.cancel_button.disabled = True, False
        self.progress.value, self.progress.bar_style, self.stage.value = 0, "info", "compiling…"
        self._say(f"Running {describe(report)} in float, fake-quant and on the TOSA reference model…")
        key = str(report.summary.get("cache_key"))
        return self._start("labkit-numerics", (report, self._cancel), self.tables, key, wait)

    def _run(self, report, cancel: threading.Event) -> None:
        s = report.summary
        try:
            table = numerics(self.lab.model_for(s["model"]), report.target,
                             quantization=self.lab.quantization_choice(), progress=self._on_progress, cancel=cancel)
        except Exception as e:  # noqa: BLE001 - the tab shows one line, never a traceback
            self._error(one_line(e))
        else:
            self.tables[str(s.get("cache_key"))] = table
            self._show_table(table, f"{table.attrs['samples']} samples")
        finally:
            self.button.disabled, self.cancel_button.disabled = self.report is None, True

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.max, self.progress.value = max(total, 1), done
        self.stage.value = f"sample {min(done + 1, total)} of {total}…" if done < total else ""

    def _show_table(self, table, how: str) -> None:
        from ..views import plots

        with self.lab.theme():
            figure = figure_bundle(plots.numerics(table))
        self.output.outputs = (figure, html_bundle(tables.numerics_modules(by_module(table))),
                               html_bundle(tables.numerics_worst(table)))
        self.progress.value, self.progress.bar_style = self.progress.max, "success"
        worst = table.loc[table["sqnr_drop_db"].idxmax()] if table["sqnr_drop_db"].notna().any() else None
        where = (f"; the largest drop, {worst['sqnr_drop_db']:.1f} dB, is at {_html.escape(worst['op'])} in "
                 f"<code>{_html.escape(worst['module'] or '(top level)')}</code>") if worst is not None else ""
        self._say(f"✓ {_html.escape(table.attrs['model'])} on {_html.escape(table.attrs['target'])} "
                  f"({_html.escape(table.attrs['quantization'])}){where} · {how}")
