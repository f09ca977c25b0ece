"""What the Lab and its panels share: showing figures and HTML in Output widgets
(plotly's own mime bundle, rendered offline by the jupyterlab-plotly extension
that ships plotly.js), one-line status and error boxes, and running one job at a
time in a background thread so the notebook stays responsive."""

from __future__ import annotations

import html as _html
import json
import threading
from typing import Callable, ContextManager, NamedTuple

from ..errors import LabkitError
from ..views.theme import LIMIT_COLOR, PLOTLY_CONFIG

PLOTLY_MIME = "application/vnd.plotly.v1+json"
Theme = Callable[[], ContextManager]  # the figures' theme, entered around building them


def button(description: str, **kwargs):
    """An ipywidgets Button as wide as its label, that a crowded row never shrinks (a
    fixed-width button cuts "Save HTML report" to "Save HTML rep…")."""
    import ipywidgets as widgets

    return widgets.Button(description=description, layout=widgets.Layout(width="auto", flex="0 0 auto"), **kwargs)


class ModelChoice(NamedTuple):
    """A model as the Lab's controls name it: its name, what ``labkit.compile`` takes for
    it, the quantization and the CPU kernels (what the Compare tab sweeps)."""

    name: str
    model: object
    quantization: object  # a scheme name or a mapping, as labkit.compile takes it
    cpu_kernels: str

    def key(self) -> tuple:
        return self.name, repr(self.quantization), self.cpu_kernels


def figure_bundle(fig) -> dict:
    """A display_data output holding a plotly figure as plotly's mime type."""
    spec = json.loads(fig.to_json())
    spec["config"] = PLOTLY_CONFIG
    title = fig.layout.title.text or "figure"
    return {"output_type": "display_data", "metadata": {},
            "data": {PLOTLY_MIME: spec, "text/plain": f"<plotly figure: {title}>"}}


def status_html(markup: str) -> str:
    return f"<div style='padding:4px 0'>{markup}</div>"


def error_html(headline: str, message: str) -> str:
    """One readable error line (never a traceback), in a box edged in the theme's error colour."""
    return (f"<div style='padding:6px 10px;border-left:4px solid {LIMIT_COLOR};background:{LIMIT_COLOR}1F;"
            f"white-space:pre-wrap'><b>{headline}</b> {_html.escape(message)}</div>")


def html_bundle(markup: str) -> dict:
    return {"output_type": "display_data", "metadata": {}, "data": {"text/html": markup, "text/plain": markup}}



def one_line(e: Exception) -> str:
    """What the app shows of an error: a LabkitError's message, else its type and first line."""
    if isinstance(e, LabkitError):
        return str(e)
    lines = [ln for ln in str(e).splitlines() if ln.strip()]
    return f"{type(e).__name__}: {lines[0] if lines else 'unexpected error'}"


def describe(report) -> str:
    t = report.target
    return _html.escape(f"{report.model} on {t.accelerator} · {t.system_config} · {t.memory_mode}")


class Background:
    """One job at a time in a daemon thread (``self._run(*args)``), so the notebook
    stays responsive; with ``wait`` the caller blocks and gets ``results[key]``."""

    _thread: threading.Thread | None = None

    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _start(self, name: str, args: tuple, results: dict, key, wait: bool):
        self._thread = threading.Thread(target=self._run, args=args, daemon=True, name=name)
        self._thread.start()
        if wait:
            self._thread.join()
            return results.get(key)
        return None


class StatusBox(Background):
    """The status line, error box and Cancel of the Lab and its Compare panel (both
    have ``status``, ``progress`` and ``stage`` widgets and a ``_cancel`` Event)."""

    failure_headline = "Could not compile."

    def _panel_widgets(self, start) -> None:
        """A tab's own job widgets: ``start`` (the button that starts ``run``); cancel_button, progress,
        stage, status and output (what the Compare and Numerics tabs have alike)."""
        import ipywidgets as widgets

        self._cancel = threading.Event()
        self.button = start
        self.cancel_button = button("Cancel", icon="stop", disabled=True)
        self.progress = widgets.IntProgress(min=0, max=1, value=0, layout=widgets.Layout(width="240px"))
        self.stage = widgets.Label("")
        self.status = widgets.HTML("")
        self.output = widgets.Output()
        self.button.on_click(lambda _b: self.run(wait=False))
        self.cancel_button.on_click(lambda _b: self.cancel())

    def _say(self, markup: str) -> None:
        self.status.value = status_html(markup)

    def _error(self, message: str) -> None:
        self.progress.bar_style = "danger"
        self.stage.value = ""
        self.status.value = error_html(self.failure_headline, message)

    def cancel(self) -> None:
        """Stop the running job; what already finished stays cached."""
        if self.busy():
            self._cancel.set()
            self.stage.value = "cancelling…"



class ReportPanel(StatusBox):
    """A tab that computes one table for the Report on show, in the background, with
    progress and Cancel, and keeps it per report (the Numerics and Advice tabs). A
    subclass says what to compute (``_compute``), what it shows (``_show_table``, and
    ``_clear`` for a report without a table) and its words (``_prompt``, ``_running``, ``_how``)."""

    thread_name = "labkit-panel"
    starting = "starting…"
    report = None

    def _can_run(self, report) -> bool:
        return report is not None

    def show(self, report) -> None:
        """The tab for ``report``: its table if computed this session, else the button."""
        if self.busy():
            return
        self.report = report
        self.button.disabled = not self._can_run(report)
        key = _table_key(report) if report is not None else ""
        if key in self.tables:
            self._show_table(self.tables[key], "from this session")
        elif report is not None:
            self._clear()
            self._say(self._prompt(report))

    def run(self, wait: bool = True):
        """Compute the table of the report on show in a background thread, as the button
        does. With ``wait``, block until done and return the table (None on error)."""
        if self.report is None or self.busy():
            return None
        report = self.report
        self._cancel = threading.Event()
        self.button.disabled, self.cancel_button.disabled = True, False
        self.progress.value, self.progress.bar_style, self.stage.value = 0, "info", self.starting
        self._say(self._running(report))
        return self._start(self.thread_name, (report, self._cancel), self.tables, _table_key(report), wait)

    def _run(self, report, cancel: threading.Event) -> None:
        try:
            table = self._compute(report, cancel)
        except Exception as e:  # noqa: BLE001 - the tab shows one line, never a traceback
            self._error(one_line(e))
        else:
            self.tables[_table_key(report)] = table
            self._show_table(table, self._how(table))
        finally:
            self.button.disabled, self.cancel_button.disabled = not self._can_run(self.report), True

    def _clear(self) -> None:
        self.output.outputs = ()


def _table_key(report) -> str:
    return str(report.summary.get("cache_key"))
