"""labkit.Lab: the ipywidgets app — pick a model and an Ethos-U configuration,
compile, and see placement, cycles and memory in tabs, every NPU configuration
at once (Compare) and a run on the FVP where one is installed.

The compile runs in a background thread (and the toolchain in labkit's worker
process), so the kernel and the UI stay responsive. The tabs are given what they show
and what they may call (the report on show, the chosen model, a theme, a callback that
compiles a change), never the Lab itself.
"""

from __future__ import annotations

import contextlib
import html as _html
import threading
import time
from pathlib import Path

import ipywidgets as widgets

from .. import formats as fmt
from .. import hardware, targets
from .. import models as registry
from ..api import STAGES, cached, warm_up
from ..api import compile as compile_model
from ..quantization import DEFAULT, SCHEMES, from_text
from ..views import tables, theme
from .advice_panel import AdvicePanel
from .common import ModelChoice, StatusBox, button, describe, figure_bundle, html_bundle, one_line
from .compare import ComparePanel
from .fvp_panel import FvpPanel
from .graph import GraphPanel
from .numerics_panel import NumericsPanel

# A trained model, so every tab (Numerics above all) shows what a real model does.
DEFAULT_MODEL = "digits_mobilenet"
REPORTS_FOLDER = "labkit-reports"  # where "Save HTML report" writes, under the notebook's folder
# The one list of output tabs.
TABS = ("Summary", "Placement", "Cycles", "Memory", "Graph", "Numerics", "Advice", "Artifacts", "Compare", "FVP")

# Every tab label whole: a tab is as wide as its label (ipywidgets gives each a fixed width and
# cuts the label when ten do not fit), and the bar wraps to a second row before cutting one.
_LAB_CSS = """<style>
.labkit-lab .lm-TabBar-content { flex-wrap: wrap; }
.labkit-lab .lm-TabBar-tab { flex: 0 0 auto !important; min-width: max-content; }
.labkit-lab .lm-TabBar { min-height: fit-content; }
</style>"""
# Presentation mode scales ipywidgets' own CSS variables under the app's class.
_PRESENTATION_CSS = """<style>
.labkit-presentation { --jp-widgets-font-size: 20px; --jp-widgets-inline-height: 40px;
  --jp-widgets-horizontal-tab-height: 40px; --jp-widgets-horizontal-tab-width: 170px; font-size: 20px; }
.labkit-presentation .widget-button { width: auto; padding: 0 18px; }
.labkit-presentation .widget-html-content { font-size: 20px; }
.labkit-presentation .lm-TabBar-tab { font-size: 20px; }
</style>"""



class Lab(StatusBox, widgets.VBox):
    """The lab in one cell: ``labkit.Lab()``; your own models with
    ``Lab(models={"mine": (module, example_inputs)})``; large fonts for demos
    with ``Lab(presentation=True)``.

    Widgets: model, accelerator, system_config, memory_mode, quantization (the
    scheme), overrides (``module=scheme, ...``), presets (dict of buttons),
    compile_button, cancel_button, progress, stage, status, tabs, outputs (dict: tab
    title -> Output), export_button, compare (the Compare tab's ComparePanel:
    ``lab.compare.run()`` sweeps every NPU), numerics (the Numerics tab's
    NumericsPanel: ``lab.numerics.run()``), advice (the Advice tab's AdvicePanel:
    ``lab.advice.run()`` measures candidate changes; ``lab.compile_advice(kwargs)``
    compiles one), graph (the Graph tab's GraphPanel: ``lab.graph.run()`` shows the
    report in Model Explorer), fvp (the FVP tab's FvpPanel:
    ``lab.fvp.run()`` runs the report on a Corstone FVP). ``report`` is the Report
    on show, ``reports`` every Report of this session by ``selection()``.
    """

    def __init__(self, models: dict | None = None, *, model: str | None = None,
                 target: str = "corstone-300", board: str | None = None, presentation: bool = False,
                 warm: bool = True):

        self.user_models = dict(models or {})
        self.presentation = presentation
        self.report = None
        self.reports: dict[tuple, object] = {}
        self._cancel = threading.Event()
        self._syncing = False

        names = list(registry.registry()) + [n for n in self.user_models if n not in registry.registry()]
        first = model or (next(iter(self.user_models)) if self.user_models else DEFAULT_MODEL)
        wide = {"description_width": "initial"}
        self.model = widgets.Dropdown(options=names, value=first, description="model", style=wide)
        self.accelerator = widgets.Dropdown(options=[*((a, a) for a in targets.accelerators()),
                                                     *((f"{c} (CPU only)", c) for c in targets.CPU_ONLY)],
                                            description="NPU", style=wide)
        self.board = widgets.Dropdown(options=[("none: pick the NPU yourself", "")] + [
            (f"{b.id}: {b.name}", b.id) for b in hardware.presets().values()], value="", description="board",
            style=wide, layout=widgets.Layout(width="max-content"),
            tooltip="a real board: its NPU, clocks and memory regions (labkit.boards())")
        self.system_config = widgets.Dropdown(description="system config", style=wide,
                                              layout=widgets.Layout(width="max-content"))
        self.memory_mode = widgets.Dropdown(description="memory mode", style=wide,
                                            layout=widgets.Layout(width="max-content"))
        self.quantization = widgets.Dropdown(options=[(f"{s.name}: {s.text}", s.name) for s in SCHEMES.values()],
                                             value=DEFAULT, description="quantization", style=wide,
                                             layout=widgets.Layout(width="max-content"))
        self.overrides = widgets.Text(value="", description="overrides", style=wide, continuous_update=False,
                                      placeholder="per module, e.g. features.1=a16w8, classifier=int8",
                                      layout=widgets.Layout(width="420px"))
        self.cpu_kernels = widgets.ToggleButtons(options=[("CMSIS-NN", "cmsis-nn"), ("portable", "portable")],
                                                 value="cmsis-nn", description="CPU kernels", style=wide,
                                                 tooltips=["the Cortex-M backend's CMSIS-NN kernels",
                                                           "ExecuTorch's portable kernels"])
        self.presets = {}
        for name, (_, _, _, description) in targets.PRESETS.items():
            preset = button(name.replace("corstone", "Corstone"), tooltip=description, icon="microchip")
            preset.on_click(lambda _b, name=name: self.apply_preset(name))
            self.presets[name] = preset
        self.compile_button = button("Compile", button_style="primary", icon="play")
        self.cancel_button = button("Cancel", icon="stop", disabled=True)
        self.compile_button.on_click(lambda _b: self.compile(wait=False))
        self.cancel_button.on_click(lambda _b: self.cancel())
        self.progress = widgets.IntProgress(min=0, max=len(STAGES), value=0, description="",
                                            layout=widgets.Layout(width="240px"))
        self.stage = widgets.Label("")
        self.status = widgets.HTML("")
        self.export_button = button("Save HTML report", icon="download", disabled=True)
        self.export_button.on_click(lambda _b: self.export_html())

        self.outputs = {title: widgets.Output() for title in TABS}
        self.compare = ComparePanel(self.chosen, self.theme)  # the Compare tab: every NPU configuration at once
        self.outputs["Compare"] = self.compare.output
        self.fvp = FvpPanel(self.theme)  # the FVP tab: run the report on a Corstone FVP, where one is installed
        self.outputs["FVP"] = self.fvp.output
        self.numerics = NumericsPanel(self.theme)  # the Numerics tab: where quantization loses accuracy
        self.outputs["Numerics"] = self.numerics.output
        # the Advice tab: candidate changes, each measured by a compile; a click compiles one here
        self.advice = AdvicePanel(lambda kwargs, change: self.compile_advice(kwargs, change, wait=False))
        self.outputs["Advice"] = self.advice.output
        # the Graph tab: Model Explorer with labkit's overlays (and the Numerics tab's SQNR, once computed)
        self.graph = GraphPanel(lambda report: self.numerics.tables.get(str(report.summary.get("cache_key"))))
        self.outputs["Graph"] = self.graph.output
        panels = {"Compare": self.compare, "FVP": self.fvp, "Numerics": self.numerics, "Advice": self.advice,
                  "Graph": self.graph.widget}
        pages = [widgets.VBox([self.export_button, self.outputs[t]]) if t == "Artifacts"
                 else panels.get(t, self.outputs[t]) for t in TABS]
        self.tabs = widgets.Tab(children=pages, titles=TABS)

        self.accelerator.observe(self._on_accelerator, "value")
        self.system_config.observe(self._on_system_config, "value")
        for w in (self.model, self.memory_mode, self.quantization, self.overrides, self.cpu_kernels):
            w.observe(lambda _c: self._on_selection(), "value")
        self.board.observe(self._on_board, "value")
        self.apply_preset(target) if target in targets.PRESETS else self._set_accelerator(target)
        if board:
            self.board.value = hardware.board(board).id

        children = [  # what to compile, for which hardware, how; then the action and its progress
            self.model,
            self.board,
            widgets.HBox([self.accelerator, widgets.HTML("&nbsp;or a reference system:&nbsp;"),
                          *self.presets.values()], layout=widgets.Layout(align_items="center", flex_flow="row wrap")),
            widgets.HBox([self.system_config, self.memory_mode], layout=widgets.Layout(flex_flow="row wrap")),
            widgets.HBox([self.quantization, self.overrides], layout=widgets.Layout(flex_flow="row wrap")),
            self.cpu_kernels,
            widgets.HBox([self.compile_button, self.cancel_button, self.progress, self.stage],
                         layout=widgets.Layout(align_items="center")),
            self.status, self.tabs,
        ]
        children.insert(0, widgets.HTML(_LAB_CSS + (_PRESENTATION_CSS if presentation else "")))
        super().__init__(children)
        self.add_class("labkit-lab")
        if presentation:
            self.add_class("labkit-presentation")
        if self.report is None:
            self._say("Pick a model and an NPU configuration (or a Corstone preset), then press <b>Compile</b>.")
        if warm:
            warm_up()  # in the background: the first Compile does not wait for the toolchain's imports

    # ------------------------------------------------------------ choices
    def selection(self) -> tuple[str, str, str, str, str, str, str]:
        """(model, accelerator, system config, memory mode, quantization, CPU kernels, board) as
        chosen now (board '' for none)."""
        quantization = self.quantization.value + (f"; {self.overrides.value.strip()}"
                                                  if self.overrides.value.strip() else "")
        return (self.model.value, self.accelerator.value, self.system_config.value, self.memory_mode.value,
                quantization, self.cpu_kernels.value, self.board.value)

    def quantization_choice(self):
        """What labkit.compile takes as ``quantization`` for the scheme and overrides chosen:
        the scheme's name, or {"default": scheme, "module.path": scheme, ...}."""
        return from_text(self.quantization.value, self.overrides.value)

    def chosen(self) -> ModelChoice:
        """The model the controls name, as labkit.compile and labkit.sweep take it."""
        name = self.model.value
        return ModelChoice(name, self.model_for(name), self.quantization_choice(), self.cpu_kernels.value)

    def apply_preset(self, name: str) -> None:
        accelerator, system_config, memory_mode, _ = targets.PRESETS[name]
        self._set_accelerator(accelerator, system_config, memory_mode)

    def _on_board(self, change) -> None:
        """A board fixes the NPU, its system config and memory mode (shown, not to choose);
        none gives them back to choose."""
        if self._syncing:
            return
        for w in (self.accelerator, self.system_config, self.memory_mode, *self.presets.values()):
            w.disabled = bool(change["new"])
        if change["new"]:
            b = hardware.board(change["new"])
            self._syncing = True
            try:
                self.accelerator.value = b.accelerator
                self.system_config.options, self.system_config.value = [b.system_config], b.system_config
                self.memory_mode.options, self.memory_mode.value = [b.memory_mode], b.memory_mode
            finally:
                self._syncing = False
            self._on_selection()
        else:
            self._set_accelerator(self.accelerator.value)

    def _set_accelerator(self, accelerator, system_config=None, memory_mode=None) -> None:
        """Set the three target dropdowns at once, offering only valid combinations."""
        self._syncing = True
        try:
            if accelerator in targets.CPU_ONLY:  # no NPU: no system config or memory mode to choose
                self.accelerator.value = accelerator
                self.system_config.options, self.memory_mode.options = [""], [""]
                self.system_config.value = self.memory_mode.value = ""
            else:
                self._set_npu(accelerator, system_config, memory_mode)
        finally:
            self._syncing = False
        self._on_selection()

    def _set_npu(self, accelerator, system_config, memory_mode) -> None:
        """The three dropdowns for an NPU accelerator, offering only valid combinations."""
        family_sc, family_mm = targets.FAMILY_DEFAULTS[targets.family_of(accelerator)]
        # Read the current choices first: new options reset a dropdown's value.
        system_config = system_config or self.system_config.value
        memory_mode = memory_mode or self.memory_mode.value
        self.accelerator.value = accelerator
        configs = targets.valid_system_configs(accelerator)
        self.system_config.options = configs
        self.system_config.value = _pick(system_config, family_sc, configs)
        modes = targets.valid_memory_modes(accelerator, self.system_config.value)
        self.memory_mode.options = modes
        self.memory_mode.value = _pick(memory_mode, family_mm, modes)

    def _on_accelerator(self, change) -> None:
        """Another MAC count keeps the choices; another NPU family starts from its defaults
        (those ExecuTorch's EthosUCompileSpec picks)."""
        if self._syncing:
            return
        if change["new"] in targets.CPU_ONLY:
            self._set_accelerator(change["new"])
            return
        family = targets.family_of(change["new"])
        if change["old"] and change["old"] not in targets.CPU_ONLY and targets.family_of(change["old"]) == family:
            self._set_accelerator(change["new"])
        else:
            self._set_accelerator(change["new"], *targets.FAMILY_DEFAULTS[family])

    def _on_system_config(self, change) -> None:
        if not self._syncing and change["new"]:
            self._set_accelerator(self.accelerator.value, change["new"])

    def _on_selection(self) -> None:
        """Back on a configuration compiled before: show it at once (memory, then disk cache)."""
        if self._syncing or self.busy():
            return
        self.compare.show()
        choice = self.selection()
        report = self.reports.get(choice) or self._disk_cached(choice)
        if report is not None:
            self.reports[choice] = report
            self._show(report, "from the cache")
        elif self.report is not None:
            self._say(f"Showing {describe(self.report)}. Press <b>Compile</b> for "
                      f"{_html.escape(choice[0])} on {_html.escape(' · '.join(c for c in choice[1:] if c))}.")

    def _disk_cached(self, choice):
        name, accelerator, system_config, memory_mode, _, cpu_kernels, board = choice
        if name in self.user_models or self.overrides.value.strip():
            return None  # keying a user model (or checking overrides) builds the model: leave that to Compile
        try:
            where = {"board": board} if board else {"target": accelerator, "system_config": system_config,
                                                   "memory_mode": memory_mode}
            return cached(name, quantization=self.quantization.value, cpu_kernels=cpu_kernels, **where)
        except Exception:  # noqa: BLE001 - a cache miss is never an error worth showing
            return None

    # ------------------------------------------------------------ compile
    def compile(self, wait: bool = True):
        """Compile the current choice in a background thread, as the Compile button does.
        With ``wait`` (the default), block until it is done and return the Report (None on error)."""
        if self.busy():
            self._say("A compile is already running; press Cancel to stop it.")
            return None
        choice = self.selection()
        self._cancel = threading.Event()
        self._set_busy(True)
        return self._start("labkit-compile", (choice, self._cancel), self.reports, choice, wait)

    def compile_advice(self, kwargs: dict, change: str = "", wait: bool = True):
        """Compile one of the Advice tab's changes (``labkit.compile(**kwargs)``) and show it.
        The NPU, quantization and CPU-kernel controls follow the change where they can
        express it (a rewritten copy of the model keeps the model's name in its dropdown)."""
        if self.busy():
            self._say("A compile is already running; press Cancel to stop it.")
            return None
        self._follow(kwargs)
        self._cancel = threading.Event()
        self._set_busy(True)
        return self._start("labkit-compile", (("advice", change), self._cancel, kwargs), self.reports,
                           ("advice", change), wait)

    def _follow(self, kwargs: dict) -> None:
        if kwargs.get("board") in hardware.presets():  # a board lever's change: another board
            self.board.value = kwargs["board"]
        q = kwargs.get("quantization")
        self._syncing = True
        try:
            if isinstance(q, dict):
                self.quantization.value = q.get("default", DEFAULT)
                self.overrides.value = ", ".join(f"{k}={v}" for k, v in q.items() if k != "default")
            elif isinstance(q, str):
                self.quantization.value, self.overrides.value = q, ""
            self.cpu_kernels.value = kwargs.get("cpu_kernels", self.cpu_kernels.value)
        finally:
            self._syncing = False
        target = kwargs.get("target")
        if target in targets.PRESETS or target in targets.accelerators():
            accelerator = targets.PRESETS[target][0] if target in targets.PRESETS else target
            self._set_accelerator(accelerator, kwargs.get("system_config"), kwargs.get("memory_mode"))

    def _run(self, choice, cancel: threading.Event, kwargs: dict | None = None) -> None:
        """Compile ``choice`` (the controls' selection), or an advised change given as ``kwargs``."""
        started = time.perf_counter()
        try:
            if kwargs is not None:
                self._say(f"Compiling the advice: {_html.escape(choice[1])}…")
                report = compile_model(**{**kwargs, "progress": self._on_progress, "cancel": cancel})
            else:
                report = self._compile_choice(choice, cancel)
        except Exception as e:  # noqa: BLE001 - the app shows one line, never a traceback
            self._error(one_line(e))
        else:
            self.reports[choice] = report
            seconds = time.perf_counter() - started
            self._show(report, "from the cache" if report.from_cache else f"compiled in {seconds:.1f} s")
        finally:
            self._set_busy(False)

    def _compile_choice(self, choice, cancel: threading.Event):
        name, accelerator, system_config, memory_mode, _, cpu_kernels, board = choice
        where = {"board": board} if board else {"target": targets.resolve_target(accelerator, system_config,
                                                                               memory_mode)}
        self._say(f"Compiling {_html.escape(name)} for {_html.escape(board or where['target'].label)}…")
        # On a board the Lab shows a deployment that does not fit (the Memory tab says where it overflows).
        return compile_model(self.model_for(name), progress=self._on_progress, cancel=cancel, name=name,
                             quantization=self.quantization_choice(), cpu_kernels=cpu_kernels,
                             allow_overflow=bool(board), **where)

    def model_for(self, name: str):
        """What labkit.compile takes for the model named ``name``: a built-in's name, or your
        model as given to ``Lab(models=...)`` (an nn.Module with its inputs, a ModelSpec, a .pt2 path)."""
        return self.user_models.get(name, name)

    def _on_progress(self, stage: str, detail: str = "") -> None:
        if stage in STAGES:
            self.progress.value = STAGES.index(stage)
        self.stage.value = f"{stage} {detail}".strip() + "…"

    def _set_busy(self, busy: bool) -> None:
        board = bool(self.board.value)
        for w in (self.model, self.board, self.quantization, self.overrides, self.cpu_kernels, self.compile_button):
            w.disabled = busy
        for w in (self.accelerator, self.system_config, self.memory_mode, *self.presets.values()):
            w.disabled = busy or board
        self.cancel_button.disabled = not busy
        if busy:  # when done, _show or _error has set the bar's final colour
            self.progress.value, self.progress.bar_style, self.stage.value = 0, "info", "starting…"

    # ------------------------------------------------------------ output
    def _show(self, report, how: str) -> None:
        """Render every tab from ``report`` (figures are built here, in this thread)."""
        from ..views import plots

        self.report = report
        self.progress.value, self.progress.bar_style = len(STAGES), "success"
        self.stage.value = ""
        s = report.results
        with self.theme():  # the card carries the report's warnings: the tab draws all at once
            pages = {
                "Summary": [figure_bundle(plots.summary_card(report)), figure_bundle(plots.timeline(report))],
                "Placement": [figure_bundle(plots.placement(report)), html_bundle(tables.cpu_operators(report))],
                "Cycles": [figure_bundle(plots.cycles(report)), figure_bundle(plots.module_treemap(report))],
                "Memory": [figure_bundle(plots.memory_regions(report)), figure_bundle(plots.memory(report)),
                           html_bundle(tables.runner_pools(report))],
                "Artifacts": [html_bundle(tables.artifacts(report))],
            }
        for title, outputs in pages.items():
            self.outputs[title].outputs = tuple(outputs)
        self.fvp.show(report)
        self.numerics.show(report)
        self.advice.show(report)
        self.graph.show(report)
        self.export_button.disabled = False
        cpu = (f"; CPU {fmt.ms_range(s['cpu_ms_low'], s['cpu_ms_high'])} ms (cortex-m-estimate)"
               if "cpu_ms_low" in s else "")
        self._say(f"✓ {describe(report)}: NPU {fmt.ms(s['inference_ms'])} ms, {fmt.cycles(s['total_cycles'])} NPU "
                  f"cycles ({plots.source_label(report)}){cpu} · {how}")

    def theme(self):
        """The figure theme of this Lab: presentation (larger) or normal."""
        return theme.presentation() if self.presentation else contextlib.nullcontext()

    def export_html(self, path: str | Path | None = None) -> Path | None:
        """Write the Report on show as a standalone HTML file (default: in a ``labkit-reports``
        folder under the current one, not among your notebooks; it carries plotly.js, about 5 MB)."""
        if self.report is None:
            return None
        from ..views.html import write_html

        name = f"{self.report.model}-{self.report.target.accelerator}.html"
        path = Path(path or Path(REPORTS_FOLDER) / name).resolve()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_html(self.report, path)
        except OSError as e:
            self._error(f"Could not write {path}: {e.strerror or e}")
            return None
        self._say(f"Saved the report as <code>{_html.escape(str(path))}</code> (opens offline in a browser).")
        return path


def _pick(wanted, default, options):
    return wanted if wanted in options else default if default in options else options[0]

