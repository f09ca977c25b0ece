"""The Lab's Advice tab: candidate changes to the Report on show, each measured by a
real compile (``report.advise``), with one click to compile a suggestion."""

from __future__ import annotations

import html as _html
import threading
from typing import TYPE_CHECKING

import ipywidgets as widgets

from ..advise import call_text
from ..views import tables
from .common import StatusBox, describe, html_bundle, one_line

if TYPE_CHECKING:
    from .lab import Lab


class AdvicePanel(StatusBox, widgets.VBox):
    """The Advice tab: ``report.advise()`` for the Report on show, in a background thread
    with progress and Cancel; then the measured changes, best first, each with a button
    that compiles it in the Lab (``lab.compile_advice``).

    Widgets: button, cancel_button, progress, stage, status, output, suggestions (one
    Compile button per change). ``tables``: every advice table of this session by the
    report's cache key."""

    failure_headline = "Could not advise."

    def __init__(self, lab: "Lab"):
        self.lab = lab
        self.report = None
        self.tables: dict[str, object] = {}
        self._panel_widgets(widgets.Button(
            description="What should I change?", button_style="primary", icon="magic", disabled=True,
            layout=widgets.Layout(width="auto"),
            tooltip="Try the NPU configurations, rewrites, CPU kernels and quantization that could help, "
                    "each by a real compile (report.advise)"))
        self.suggestions = widgets.VBox([])
        super().__init__([widgets.HBox([self.button, self.cancel_button]), widgets.HBox([self.progress, self.stage]),
                          self.status, self.output, self.suggestions])
        self._say("Compile a model, then press <b>What should I change?</b>")

    def show(self, report) -> None:
        """The tab for ``report``: its advice if measured this session, else the button."""
        if self.busy():
            return
        self.report = report
        self.button.disabled = report is None or report.compiled_from is None
        key = str(report.summary.get("cache_key")) if report is not None else ""
        if key in self.tables:
            self._show_table(self.tables[key], "from this session")
        elif report is not None:
            self.output.outputs, self.suggestions.children = (), ()
            self._say(f"Press <b>What should I change?</b>: labkit compiles each change that could help "
                      f"{describe(report)} and shows the ones that measurably do.")

    def run(self, wait: bool = True):
        """Advise on the report on show in a background thread, as the button does. With
        ``wait``, block until done and return the table (None on error)."""
        if self.report is None or self.busy():
            return None
        report = self.report
        self._cancel = threading.Event()
        self.button.disabled, self.cancel_button.disabled = True, False
        self.progress.value, self.progress.bar_style, self.stage.value = 0, "info", "finding candidates…"
        self._say(f"Compiling the candidate changes of {describe(report)}…")
        key = str(report.summary.get("cache_key"))
        return self._start("labkit-advise", (report, self._cancel), self.tables, key, wait)

    def _run(self, report, cancel: threading.Event) -> None:
        try:
            table = report.advise(progress=self._on_progress, cancel=cancel)
        except Exception as e:  # noqa: BLE001 - the tab shows one line, never a traceback
            self._error(one_line(e))
        else:
            self.tables[str(report.summary.get("cache_key"))] = table
            self._show_table(table, f"{table.attrs['tried']} compiles")
        finally:
            self.button.disabled, self.cancel_button.disabled = self.report is None, True

    def _on_progress(self, done: int, total: int, label: str) -> None:
        self.progress.max, self.progress.value = max(1, total), done
        self.stage.value = f"{done} of {total} candidate compiles… {label}".strip()

    def _show_table(self, table, how: str) -> None:
        self.output.outputs = (html_bundle(tables.advice(table)),)
        rows = []
        for n, row in enumerate(table.itertuples(), 1):
            button = widgets.Button(description=f"Compile #{n}", icon="play", tooltip=row.change,
                                    layout=widgets.Layout(width="auto"))
            button.on_click(lambda _b, kwargs=row.kwargs, change=row.change: self.lab.compile_advice(
                kwargs, change, wait=False))
            rows.append(widgets.HBox([button, widgets.HTML(
                f"{_html.escape(row.benefit)}: {_html.escape(row.change)}<br><code style='font-size:11px'>"
                f"{_html.escape(call_text(row.kwargs))}</code>")]))
        self.suggestions.children = tuple(rows)
        self.progress.max, self.progress.value, self.progress.bar_style = 1, 1, "success"
        self.stage.value = ""
        self._say(f"✓ {_html.escape(table.attrs['message'])} · {how}")
