"""The Lab's Advice tab: candidate changes to the Report on show, each measured by a
real compile (``labkit.advise``), with one click to compile a suggestion."""

from __future__ import annotations

import html as _html
import threading
from typing import Callable

import ipywidgets as widgets

from ..advice import advise, call_text
from ..views import tables
from ..views.styled import inline_code
from .common import ReportPanel, button, describe, html_bundle


class AdvicePanel(ReportPanel, widgets.VBox):
    """The Advice tab: ``labkit.advise(report)`` for the Report on show, in a background
    thread with progress and Cancel; then the measured changes, best first, each with a
    button that calls ``compile_change(kwargs, change)`` (the Lab compiles and shows it).

    Widgets: button, cancel_button, progress, stage, status, output, suggestions (one
    Compile button per change). ``tables``: every advice table of this session by the
    report's cache key."""

    failure_headline = "Could not advise."
    thread_name, starting = "labkit-advise", "finding candidates…"

    def __init__(self, compile_change: Callable[[dict, str], object]):
        self.compile_change = compile_change
        self.tables: dict[str, object] = {}
        self._panel_widgets(button(
            "What should I change?", button_style="primary", icon="magic", disabled=True,
            tooltip="Try the NPU configurations, rewrites, CPU kernels and quantization that could help, "
                    "each by a real compile (labkit.advise)"))
        self.suggestions = widgets.VBox([])
        super().__init__([widgets.HBox([self.button, self.cancel_button]), widgets.HBox([self.progress, self.stage]),
                          self.status, self.output, self.suggestions])
        self._say("Compile a model, then press <b>What should I change?</b>")

    def _can_run(self, report) -> bool:
        return report is not None and report.compiled_from is not None

    def _prompt(self, report) -> str:
        return (f"Press <b>What should I change?</b>: labkit compiles each change that could help "
                f"{describe(report)} and shows the ones that measurably do.")

    def _running(self, report) -> str:
        return f"Compiling the candidate changes of {describe(report)}…"

    def _compute(self, report, cancel: threading.Event):
        return advise(report, progress=self._on_progress, cancel=cancel)

    def _how(self, table) -> str:
        return f"{table.attrs['tried']} compiles"

    def _clear(self) -> None:
        self.output.outputs, self.suggestions.children = (), ()

    def _on_progress(self, done: int, total: int, label: str) -> None:
        self.progress.max, self.progress.value = max(1, total), done
        self.stage.value = f"{done} of {total} candidate compiles… {label}".strip()

    def _show_table(self, table, how: str) -> None:
        self.output.outputs = (html_bundle(tables.advice(table)),)
        rows = []
        for n, row in enumerate(table.itertuples(), 1):
            compile_it = button(f"Compile #{n}", icon="play", tooltip=row.change)
            compile_it.on_click(lambda _b, kwargs=row.kwargs, change=row.change: self.compile_change(kwargs, change))
            rows.append(widgets.HBox([compile_it, widgets.HTML(
                f"{_html.escape(row.benefit)}: {inline_code(row.change)}<br><code style='font-size:11px'>"
                f"{_html.escape(call_text(row.kwargs))}</code>")]))
        self.suggestions.children = tuple(rows)
        self.progress.max, self.progress.value, self.progress.bar_style = 1, 1, "success"
        self.stage.value = ""
        self._say(f"✓ {_html.escape(table.attrs['message'])} · {how}")
