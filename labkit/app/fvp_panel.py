"""The Lab's FVP tab: run the Report on show on a Corstone FVP, where one is installed."""

from __future__ import annotations

import html as _html

import ipywidgets as widgets

from .. import fvp
from .common import Background, Theme, button, describe, error_html, figure_bundle, html_bundle, one_line

_FVP_ADDS = (
    "<p>A <b>Corstone FVP</b> (Arm's Fixed Virtual Platform of the Corstone-300 / Corstone-320 reference "
    "systems) runs this report's <code>.pte</code> with ExecuTorch's bare-metal <code>arm_executor_runner</code> "
    "and adds what Vela's estimate cannot:</p><ul>"
    "<li><b>measured NPU cycles</b>: the Ethos-U PMU's active-cycle counter, beside Vela's estimate</li>"
    "<li><b>PMU counters</b>: memory beats read and written per port (AXI on the U55/U65, SRAM and external on "
    "the U85), NPU idle cycles, and on the U85 MAC and weight-decoder activity</li>"
    "<li><b>CPU cycles</b> of the Cortex-M, labelled <i>not cycle-accurate</i> (the FVP does not time the CPU)</li>"
    "</ul>")


class FvpPanel(Background, widgets.VBox):
    """The FVP tab: run the Report on show on a Corstone FVP (``labkit.fvp.run``)
    in a background thread, then Vela's estimate beside the measured cycles and the
    PMU counters. Without an FVP or runner it says what one would add, exactly what
    is missing, and how to install it; the button stays disabled.

    Widgets: button, status, output. ``runs`` every measured run of this session
    by the report's cache key."""

    def __init__(self, theme: Theme):
        self.theme = theme
        self.report = None
        self.runs: dict[str, object] = {}
        self.button = button("Run on the FVP", button_style="primary", icon="play",
                                     disabled=True,
                                     tooltip="Run the compiled .pte on the Corstone FVP (labkit.fvp.run)")
        self.status = widgets.HTML("")
        self.output = widgets.Output()
        self.button.on_click(lambda _b: self.run(wait=False))
        super().__init__([self.button, self.status, self.output])
        self.show(None)

    def show(self, report) -> None:
        """Fill the tab for ``report`` (None before anything is compiled)."""
        if self.busy():
            return
        self.report = report
        if report is not None and str(report.summary.get("cache_key")) in self.runs:
            self._show_run(report, self.runs[str(report.summary["cache_key"])], "from this session")
            return
        if report is None:
            gaps = [] if any(fvp.find_fvps().values()) else [f"No Corstone FVP found. {fvp.HOW_TO_INSTALL}"]
            where, build = "", fvp.how_to_build_runner()
        elif not report.target.has_npu:
            self.output.outputs = ()
            self.button.disabled = True
            self.status.value = (
                _FVP_ADDS + f"<p>{_html.escape(str(report.summary['accelerator']))} is a CPU-only target. labkit "
                "runs Ethos-U programs on the Corstone FVPs; a CPU-only program's time is the Cortex-M estimate "
                "(cortex-m-estimate), since the FVPs do not time the CPU.</p>")
            return
        else:
            t = report.target
            gaps = fvp.missing(t.accelerator)
            where = f" for {_html.escape(str(t.accelerator))} ({_html.escape(fvp.board(t.accelerator))})"
            build = fvp.how_to_build_runner(report)
        self.output.outputs = ()
        if gaps:
            self.button.disabled = True
            items = "".join(f"<li>{_html.escape(g)}</li>" for g in gaps)
            self.status.value = (
                _FVP_ADDS + f"<p><b>Not available here{where}:</b></p><ul>{items}</ul>"
                "<p>The FVPs are a free download from Arm behind a licence acceptance, so labkit cannot install "
                "them for you; until one is installed every number in this app is Vela's estimate. Build the "
                "runner with ExecuTorch's scripts and the arm-none-eabi toolchain:</p>"
                f"<pre style='white-space:pre-wrap;font-size:85%'>{_html.escape(build)}</pre>"
                "<p><code>labkit doctor</code> shows what is found.</p>")
        elif report is None:
            self.button.disabled = True
            self.status.value = _FVP_ADDS + "<p>Compile a model, then press <b>Run on the FVP</b>.</p>"
        else:
            acc = report.summary["accelerator"]
            self.button.disabled = False
            self.status.value = (
                _FVP_ADDS + f"<p>Found <code>{_html.escape(str(fvp.find_fvp(acc)))}</code> and the runner "
                f"<code>{_html.escape(str(fvp.find_runner(acc)))}</code>. Press <b>Run on the FVP</b> to run "
                f"{describe(report)} (the simulator is slow: large models take minutes).</p>")

    def run(self, wait: bool = True):
        """Run the report on show on the FVP in a background thread, as the button does. With ``wait``,
        block until done and return the measured run (None on error)."""
        if self.report is None or self.busy():
            return None
        report = self.report
        self.button.disabled = True
        self.status.value = f"<p>Running {describe(report)} on the FVP… (this can take minutes)</p>"
        return self._start("labkit-fvp", (report,), self.runs, str(report.summary.get("cache_key")), wait)

    def _run(self, report) -> None:
        try:
            measured = fvp.run(report)
        except Exception as e:  # noqa: BLE001 - the tab shows one line, never a traceback
            self.status.value = error_html("Could not run on the FVP.", one_line(e))
        else:
            self.runs[str(report.summary.get("cache_key"))] = measured
            self._show_run(report, measured, f"ran in {measured.seconds:.0f} s")
        finally:
            self.button.disabled = False

    def _show_run(self, report, measured, how: str) -> None:
        from ..views import fvp_plots

        with self.theme():
            figure = figure_bundle(fvp_plots.estimate_vs_measured(report, measured))
        self.output.outputs = (figure, html_bundle(fvp_plots.measured_html(measured)))
        npu = f"{measured.npu_cycles:,}" if measured.npu_cycles is not None else "no"
        self.status.value = (f"<p>✓ {describe(report)}: {npu} NPU active cycles (FVP measured) vs "
                             f"{int(report.summary['total_cycles']):,} (Vela estimate) · {how}</p>")
        self.button.disabled = False

