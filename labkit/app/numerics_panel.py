"""The Lab's Numerics tab: where quantization loses accuracy, operator by operator."""

from __future__ import annotations

import html as _html
import threading

import ipywidgets as widgets

from .. import formats as fmt
from ..insights import module_label
from ..runtime.numerics import by_module
from ..runtime.numerics import of_report as numerics_of
from ..views import tables
from .common import ReportPanel, Theme, button, describe, figure_bundle, html_bundle


class NumericsPanel(ReportPanel, widgets.VBox):
    """The Numerics tab: ``labkit.numerics`` for the Report on show (its model, NPU,
    quantization and CPU kernels, as it was compiled) in a background thread, with
    progress per sample and Cancel; then SQNR along the graph, the modules that lose
    most, and the operators behind them. ``theme``: the figures' theme (a context manager).

    Widgets: button, cancel_button, progress, stage, status, output. ``tables`` every
    numerics table of this session by the report's cache key."""

    failure_headline = "Could not compute the numerics."
    thread_name, starting = "labkit-numerics", "compiling…"

    def __init__(self, theme: Theme):
        self.theme = theme
        self.tables: dict[str, object] = {}
        self._panel_widgets(button(
            "Where is accuracy lost?", button_style="primary", icon="search", disabled=True,
            tooltip="Compare fake-quant and the TOSA reference model with float at every operator (labkit.numerics)"))
        super().__init__([widgets.HBox([self.button, self.cancel_button]), widgets.HBox([self.progress, self.stage]),
                          self.status, self.output])
        self._say("Compile a model, then press <b>Where is accuracy lost?</b>")

    def _can_run(self, report) -> bool:
        return report is not None and report.compiled_from is not None

    def _prompt(self, report) -> str:
        return (f"Press <b>Where is accuracy lost?</b> to compare fake-quant int8 and the TOSA reference model with "
                f"PyTorch float at every operator of {describe(report)} "
                f"({_html.escape(str(report.summary.get('quantization', 'int8')))}).")

    def _running(self, report) -> str:
        return f"Running {describe(report)} in float, fake-quant and on the TOSA reference model…"

    def _compute(self, report, cancel: threading.Event):
        return numerics_of(report, progress=self._on_progress, cancel=cancel)

    def _how(self, table) -> str:
        return f"{table.attrs['samples']} samples"

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.max, self.progress.value = max(total, 1), done
        self.stage.value = f"sample {min(done + 1, total)} of {total}…" if done < total else ""

    def _show_table(self, table, how: str) -> None:
        from ..views import plots

        with self.theme():
            figure = figure_bundle(plots.numerics(table))
        self.output.outputs = (html_bundle(_weights_note(self.report)), figure,
                               html_bundle(tables.numerics_modules(by_module(table))),
                               html_bundle(tables.numerics_worst(table)))
        self.progress.value, self.progress.bar_style = self.progress.max, "success"
        worst = table.loc[table["sqnr_drop_db"].idxmax()] if table["sqnr_drop_db"].notna().any() else None
        where = (f"; the largest drop, {fmt.db(worst['sqnr_drop_db'])} dB, is at {_html.escape(worst['op'])} in "
                 f"<code>{_html.escape(module_label(worst['module'], worst['op']))}</code>") if worst is not None else ""
        self._say(f"✓ {_html.escape(table.attrs['model'])} on {_html.escape(table.attrs['target'])} "
                  f"({_html.escape(table.attrs['quantization'])}){where} · {how}")


def _weights_note(report) -> str:
    """What random weights mean for these figures, said where the figure is (nothing for a
    trained model)."""
    if report is None or report.results.get("weights") != "random":
        return ""
    return ("<div style='padding:6px 10px;border-left:4px solid #F28E2B;margin:4px 0'><b>This model has random "
            "weights.</b> Its int8 numerics say little about a trained model: random layers drive many "
            "activations towards zero or saturation, so SQNR can sink to 0 dB deep in the graph for reasons "
            "quantization is not to blame for, and the largest drop may sit anywhere. For numerics that mean "
            "something, pick a trained model (digits_cnn, digits_mobilenet, digits_vit) or your own, with its "
            "own calibration data.</div>")
