"""labkit.Lab: the ipywidgets app — pick a model and an Ethos-U configuration,
compile, and see placement, cycles and memory in tabs.

The compile runs in a background thread (and the toolchain in labkit's worker
process), so the kernel and the UI stay responsive. Figures are shown as
plotly's own mime bundle in Output widgets: JupyterLab renders it with the
jupyterlab-plotly extension that ships plotly.js, so nothing is fetched online.
"""

from __future__ import annotations

import html as _html
import json
import threading
import time
from pathlib import Path

import ipywidgets as widgets

from . import targets
from .errors import LabkitError
from .pipeline import STAGES

TABS = ("Summary", "Placement", "Cycles", "Memory", "Artifacts", "Compare", "FVP")  # the one list of output tabs
PLOTLY_MIME = "application/vnd.plotly.v1+json"

# Presentation mode scales ipywidgets' own CSS variables under the app's class.
_PRESENTATION_CSS = """<style>
.labkit-presentation { --jp-widgets-font-size: 20px; --jp-widgets-inline-height: 40px;
  --jp-widgets-horizontal-tab-height: 40px; --jp-widgets-horizontal-tab-width: 170px; font-size: 20px; }
.labkit-presentation .widget-button { width: auto; padding: 0 18px; }
.labkit-presentation .widget-html-content { font-size: 20px; }
.labkit-presentation .lm-TabBar-tab { font-size: 20px; }
</style>"""


def figure_bundle(fig) -> dict:
    """A display_data output holding a plotly figure as plotly's mime type."""
    from .plots import PLOTLY_CONFIG

    spec = json.loads(fig.to_json())
    spec["config"] = PLOTLY_CONFIG
    title = fig.layout.title.text or "figure"
    return {"output_type": "display_data", "metadata": {},
            "data": {PLOTLY_MIME: spec, "text/plain": f"<plotly figure: {title}>"}}


def status_html(markup: str) -> str:
    return f"<div style='padding:4px 0'>{markup}</div>"


def error_html(headline: str, message: str) -> str:
    """One readable error line (never a traceback), in a red-edged box."""
    return ("<div style='padding:6px 10px;border-left:4px solid #E15759;background:rgba(225,87,89,0.12);"
            f"white-space:pre-wrap'><b>{headline}</b> {_html.escape(message)}</div>")


def html_bundle(markup: str) -> dict:
    return {"output_type": "display_data", "metadata": {}, "data": {"text/html": markup, "text/plain": markup}}


class _Background:
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


class _StatusBox(_Background):
    """The status line, error box and Cancel of the Lab and its Compare panel (both
    have ``status``, ``progress`` and ``stage`` widgets and a ``_cancel`` Event)."""

    failure_headline = "Could not compile."

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


class Lab(_StatusBox, widgets.VBox):
    """The lab in one cell: ``labkit.Lab()``; your own models with
    ``Lab(models={"mine": (module, example_inputs)})``; large fonts for demos
    with ``Lab(presentation=True)``.

    Widgets: model, accelerator, system_config, memory_mode, presets (dict of
    buttons), compile_button, cancel_button, progress, stage, status, tabs,
    outputs (dict: tab title -> Output), export_button, compare (the Compare tab's
    ComparePanel: ``lab.compare.run()`` sweeps every NPU), fvp (the FVP tab's FvpPanel:
    ``lab.fvp.run()`` runs the report on a Corstone FVP). ``report`` is the Report
    on show, ``reports`` every Report of this session by (model, accelerator,
    system config, memory mode).
    """

    def __init__(self, models: dict | None = None, *, model: str | None = None,
                 target: str = "corstone-300", presentation: bool = False, warm: bool = True):
        from . import models as registry

        self.user_models = dict(models or {})
        self.presentation = presentation
        self.report = None
        self.reports: dict[tuple, object] = {}
        self._cancel = threading.Event()
        self._syncing = False

        names = list(registry.registry()) + [n for n in self.user_models if n not in registry.registry()]
        first = model or (next(iter(self.user_models)) if self.user_models else "ds_cnn")
        wide = {"description_width": "initial"}
        self.model = widgets.Dropdown(options=names, value=first, description="model", style=wide)
        self.accelerator = widgets.Dropdown(options=targets.accelerators(), description="NPU", style=wide)
        self.system_config = widgets.Dropdown(description="system config", style=wide,
                                              layout=widgets.Layout(width="max-content"))
        self.memory_mode = widgets.Dropdown(description="memory mode", style=wide,
                                            layout=widgets.Layout(width="max-content"))
        self.presets = {}
        for name, (_, _, _, description) in targets.PRESETS.items():
            button = widgets.Button(description=name.replace("corstone", "Corstone"), tooltip=description,
                                    icon="microchip")
            button.on_click(lambda _b, name=name: self.apply_preset(name))
            self.presets[name] = button
        self.compile_button = widgets.Button(description="Compile", button_style="primary", icon="play")
        self.cancel_button = widgets.Button(description="Cancel", icon="stop", disabled=True)
        self.compile_button.on_click(lambda _b: self.compile(wait=False))
        self.cancel_button.on_click(lambda _b: self.cancel())
        self.progress = widgets.IntProgress(min=0, max=len(STAGES), value=0, description="",
                                            layout=widgets.Layout(width="240px"))
        self.stage = widgets.Label("")
        self.status = widgets.HTML("")
        self.export_button = widgets.Button(description="Save HTML report", icon="download", disabled=True)
        self.export_button.on_click(lambda _b: self.export_html())

        self.outputs = {title: widgets.Output() for title in TABS}
        self.compare = ComparePanel(self)  # the Compare tab: every NPU configuration at once
        self.outputs["Compare"] = self.compare.output
        self.fvp = FvpPanel(self)  # the FVP tab: run the report on a Corstone FVP, where one is installed
        self.outputs["FVP"] = self.fvp.output
        pages = [widgets.VBox([self.export_button, self.outputs[t]]) if t == "Artifacts"
                 else self.compare if t == "Compare" else self.fvp if t == "FVP" else self.outputs[t]
                 for t in TABS]
        self.tabs = widgets.Tab(children=pages, titles=TABS)

        self.accelerator.observe(self._on_accelerator, "value")
        self.system_config.observe(self._on_system_config, "value")
        for w in (self.model, self.memory_mode):
            w.observe(lambda _c: self._on_selection(), "value")
        self.apply_preset(target) if target in targets.PRESETS else self._set_accelerator(target)

        children = [
            widgets.HBox([self.model, self.accelerator]),
            widgets.HBox([self.system_config, self.memory_mode]),
            widgets.HBox([*self.presets.values(), self.compile_button, self.cancel_button]),
            widgets.HBox([self.progress, self.stage]),
            self.status, self.tabs,
        ]
        if presentation:
            children.insert(0, widgets.HTML(_PRESENTATION_CSS))
        super().__init__(children)
        if presentation:
            self.add_class("labkit-presentation")
        if self.report is None:
            self._say("Pick a model and an NPU configuration (or a Corstone preset), then press <b>Compile</b>.")
        if warm:
            threading.Thread(target=_warm_worker, daemon=True, name="labkit-warm").start()

    # ------------------------------------------------------------ choices
    def selection(self) -> tuple[str, str, str, str]:
        """(model, accelerator, system config, memory mode) as chosen now."""
        return (self.model.value, self.accelerator.value, self.system_config.value, self.memory_mode.value)

    def apply_preset(self, name: str) -> None:
        accelerator, system_config, memory_mode, _ = targets.PRESETS[name]
        self._set_accelerator(accelerator, system_config, memory_mode)

    def _set_accelerator(self, accelerator, system_config=None, memory_mode=None) -> None:
        """Set the three target dropdowns at once, offering only valid combinations."""
        self._syncing = True
        try:
            family_sc, family_mm = targets.FAMILY_DEFAULTS[accelerator.rsplit("-", 1)[0]]
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
        finally:
            self._syncing = False
        self._on_selection()

    def _on_accelerator(self, change) -> None:
        """Another MAC count keeps the choices; another NPU family starts from its defaults
        (those ExecuTorch's EthosUCompileSpec picks)."""
        if self._syncing:
            return
        family = change["new"].rsplit("-", 1)[0]
        if change["old"] and change["old"].rsplit("-", 1)[0] == family:
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
        choice = self.selection()
        report = self.reports.get(choice) or self._disk_cached(choice)
        if report is not None:
            self.reports[choice] = report
            self._show(report, "from the cache")
        elif self.report is not None:
            self._say(f"Showing {_describe(self.report)}. Press <b>Compile</b> for "
                      f"{_html.escape(choice[0])} on {_html.escape(' · '.join(choice[1:]))}.")

    def _disk_cached(self, choice):
        name, accelerator, system_config, memory_mode = choice
        if name in self.user_models:
            return None  # keying a user model means exporting it: leave that to Compile
        try:
            from . import api, cache

            target = targets.resolve_target(accelerator, system_config, memory_mode)
            return cache.lookup(api.make_job(name, target).key)
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

    def _run(self, choice, cancel: threading.Event) -> None:
        import labkit

        name, accelerator, system_config, memory_mode = choice
        started = time.perf_counter()
        try:
            target = targets.resolve_target(accelerator, system_config, memory_mode)
            model, kwargs = self._model_argument(name)
            self._say(f"Compiling {_html.escape(name)} for {_html.escape(target.label)}…")
            report = labkit.compile(model, target, progress=self._on_progress, cancel=cancel, name=name,
                                    **kwargs)
        except LabkitError as e:
            self._error(str(e))
        except Exception as e:  # noqa: BLE001 - the app shows one line, never a traceback
            lines = [ln for ln in str(e).splitlines() if ln.strip()]
            self._error(f"{type(e).__name__}: {lines[0] if lines else 'unexpected error'}")
        else:
            self.reports[choice] = report
            seconds = time.perf_counter() - started
            self._show(report, "from the cache" if report.from_cache else f"compiled in {seconds:.1f} s")
        finally:
            self._set_busy(False)

    def _model_argument(self, name: str):
        if name not in self.user_models:
            return name, {}
        value = self.user_models[name]
        if isinstance(value, tuple) and len(value) == 2:
            return value[0], {"example_inputs": value[1]}
        return value, {}  # a ModelSpec, an nn.Module with its own inputs, or a .pt2 path

    def _on_progress(self, stage: str, detail: str = "") -> None:
        if stage in STAGES:
            self.progress.value = STAGES.index(stage)
        self.stage.value = f"{stage} {detail}".strip() + "…"

    def _set_busy(self, busy: bool) -> None:
        for w in (self.model, self.accelerator, self.system_config, self.memory_mode, self.compile_button,
                  *self.presets.values()):
            w.disabled = busy
        self.cancel_button.disabled = not busy
        if busy:  # when done, _show or _error has set the bar's final colour
            self.progress.value, self.progress.bar_style, self.stage.value = 0, "info", "starting…"

    # ------------------------------------------------------------ output
    def _show(self, report, how: str) -> None:
        """Render every tab from ``report`` (figures are built here, in this thread)."""
        from . import plots

        self.report = report
        self.progress.value, self.progress.bar_style = len(STAGES), "success"
        self.stage.value = ""
        scale = plots.presentation if self.presentation else (lambda f: f)
        fig = lambda f: figure_bundle(scale(f))  # noqa: E731
        s = report.summary
        warnings = "".join(f"<li>{_html.escape(w)}</li>" for w in report.warnings)
        pages = {
            "Summary": [fig(plots.summary_card(report)),
                        html_bundle(f"<ul>{warnings}</ul>" if warnings else "")],
            "Placement": [fig(plots.placement(report)), html_bundle(_cpu_table(report))],
            "Cycles": [fig(plots.cycles(report)), fig(plots.module_treemap(report))],
            "Memory": [fig(plots.memory(report))],
            "Artifacts": [html_bundle(_artifacts(report))],
        }
        for title, outputs in pages.items():
            self.outputs[title].outputs = tuple(outputs)
        self.fvp.show(report)
        self.export_button.disabled = False
        self._say(f"✓ {_describe(report)}: {s['inference_ms']:.3f} ms, {int(s['total_cycles']):,} cycles "
                  f"({plots.source_label(report)}) · {how}")

    def export_html(self, path: str | Path | None = None) -> Path | None:
        """Write the Report on show as a standalone HTML file (default: in the current folder)."""
        if self.report is None:
            return None
        from .html import write_html

        s = self.report.summary
        path = Path(path or f"labkit-{s['model']}-{s['accelerator']}.html").resolve()
        try:
            write_html(self.report, path)
        except OSError as e:
            self._error(f"Could not write {path}: {e.strerror or e}")
            return None
        self._say(f"Saved the report as <code>{_html.escape(str(path))}</code> (opens offline in a browser).")
        return path


def _pick(wanted, default, options):
    return wanted if wanted in options else default if default in options else options[0]


def _describe(report) -> str:
    s = report.summary
    return _html.escape(f"{s['model']} on {s['accelerator']} · {s['system_config']} · {s['memory_mode']}")


def _cpu_table(report) -> str:
    ops = report.operators
    cpu = ops[ops["placement"] == "CPU"][["op", "module", "reason"]]
    if cpu.empty:
        return "<p>Every operator runs on the NPU.</p>"
    return ("<p><b>On the CPU</b> (the Ethos-U partitioner's reasons):</p>"
            + cpu.to_html(index=True, index_names=False, border=0, classes="labkit-table"))


def _artifacts(report) -> str:
    a, s = report.artifacts, report.summary
    rows = [("model (.pte)", a.get("pte")), ("compile log", a.get("log"))]
    for p in a.get("partitions", []):
        rows += [(f"partition {p['index']} TOSA", p.get("tosa")), (f"partition {p['index']} Vela output",
                                                                   p.get("vela_dir"))]
    items = "".join(f"<tr><td>{_html.escape(k)}</td><td><code>{_html.escape(str(v))}</code></td></tr>"
                    for k, v in rows if v)
    versions = ", ".join(f"{k} {s[f'{k}_version']}" for k in ("torch", "executorch", "vela", "tosa_tools")
                         if f"{k}_version" in s)
    return (f"<table>{items}</table><p>Tools: {_html.escape(versions)} · cache key "
            f"<code>{_html.escape(str(s.get('cache_key', '')))}</code></p>")


def _warm_worker() -> None:
    """Start the compile worker and import the toolchain ahead of the first Compile."""
    try:
        from .worker import shared

        shared().warm()
    except Exception:  # noqa: BLE001 - warming is an optimisation; Compile reports real errors
        pass


# ---------------------------------------------------------------- the Compare tab

COMPARE_VARY = {  # what the Compare tab sweeps besides every accelerator (family defaults otherwise)
    "defaults": "each NPU's default system config and memory mode",
    "memory_modes": "every memory mode",
    "system_configs": "every system config",
}


class ComparePanel(_StatusBox, widgets.VBox):
    """The Compare tab: every Ethos-U configuration for the Lab's model at once
    (``labkit.sweep``), in a background thread; then the sweep figures and the
    table. Run again, it comes back from the cache in a moment.

    Widgets: button, vary (what to sweep besides the accelerators), cancel_button,
    progress, stage, status, output. ``df`` is the sweep on show, ``sweeps`` every
    sweep of this session by (model, vary)."""

    failure_headline = "Could not compare."

    def __init__(self, lab: "Lab"):
        self.lab = lab
        self.df = None
        self.sweeps: dict[tuple, object] = {}
        self._cancel = threading.Event()
        wide = {"description_width": "initial"}
        self.button = widgets.Button(description="Compare all NPUs", button_style="primary", icon="th-list",
                                     tooltip="Compile the model for all 11 Ethos-U accelerators (labkit.sweep)",
                                     layout=widgets.Layout(width="auto"))
        self.vary = widgets.Dropdown(options=[(v, k) for k, v in COMPARE_VARY.items()], value="defaults",
                                     description="with", style=wide, layout=widgets.Layout(width="max-content"))
        self.cancel_button = widgets.Button(description="Cancel", icon="stop", disabled=True)
        self.progress = widgets.IntProgress(min=0, max=1, value=0, layout=widgets.Layout(width="240px"))
        self.stage = widgets.Label("")
        self.status = widgets.HTML("")
        self.output = widgets.Output()
        self.button.on_click(lambda _b: self.run(wait=False))
        self.cancel_button.on_click(lambda _b: self.cancel())
        lab.model.observe(lambda _c: self._on_model(), "value")
        self.vary.observe(lambda _c: self._on_model(), "value")
        super().__init__([widgets.HBox([self.button, self.vary, self.cancel_button]),
                          widgets.HBox([self.progress, self.stage]),
                          self.status, self.output])
        self._say("Press <b>Compare all NPUs</b> to compile the model for every Ethos-U55, U65 and U85 "
                  "configuration at once (the first time takes a minute or two; the model is lowered once "
                  "per TOSA profile).")

    def run(self, wait: bool = True):
        """Sweep the Lab's model in a background thread, as the button does. With
        ``wait``, block until done and return the DataFrame (None on error)."""
        if self.busy():
            self._say("A comparison is already running.")
            return None
        choice = (self.lab.model.value, self.vary.value)
        self._set_busy(True)
        self._cancel = threading.Event()
        return self._start("labkit-sweep", (choice, self._cancel), self.sweeps, choice, wait)

    def _run(self, choice, cancel: threading.Event) -> None:
        import labkit

        name, vary = choice
        started = time.perf_counter()
        done = threading.Event()
        counts = {"done": 0, "total": 0, "first": None}

        def on_progress(n: int, total: int, _label: str) -> None:
            counts.update(done=n, total=total, first=n if counts["first"] is None else counts["first"])

        try:
            model, kwargs = self.lab._model_argument(name)
            kwargs.update(_sweep_options(vary))
            self._say(f"Compiling {_html.escape(name)} for every Ethos-U configuration "
                      f"({_html.escape(COMPARE_VARY[vary])})…")
            ticker = threading.Thread(target=self._tick, args=(counts, started, done), daemon=True,
                                      name="labkit-sweep-progress")
            ticker.start()
            df = labkit.sweep(model, "all", progress=on_progress, cancel=cancel, **kwargs)
        except LabkitError as e:
            self._error(str(e))
        except Exception as e:  # noqa: BLE001 - the tab shows one line, never a traceback
            lines = [ln for ln in str(e).splitlines() if ln.strip()]
            self._error(f"{type(e).__name__}: {lines[0] if lines else 'unexpected error'}")
        else:
            df.attrs["model"] = name
            self.sweeps[choice] = df
            seconds = time.perf_counter() - started
            how = "from the cache" if df["from_cache"].fillna(False).all() else f"compiled in {seconds:.0f} s"
            try:
                self._show(df, how)
            except Exception as e:  # noqa: BLE001
                self._error(f"Could not draw the comparison: {type(e).__name__}: {e}")
        finally:
            done.set()
            self._set_busy(False)

    def _tick(self, counts: dict, started: float, done: threading.Event) -> None:
        """Progress while the sweep runs: finished configurations and the time so far."""
        while not done.wait(0.5):
            if self._cancel.is_set():
                continue
            n, total, seconds = counts["done"], counts["total"], time.perf_counter() - started
            self.progress.max, self.progress.value = max(1, total), n
            self.stage.value = (f"lowering to TOSA (once per profile)… {seconds:.0f} s"
                                if n == counts["first"] and n < total
                                else f"Vela: {n} of {total} configurations… {seconds:.0f} s")

    def _set_busy(self, busy: bool) -> None:
        self.button.disabled = self.vary.disabled = busy
        self.cancel_button.disabled = not busy
        if busy:
            self.progress.value, self.progress.bar_style, self.stage.value = 0, "info", "starting…"

    def _on_model(self) -> None:
        """Back on a model (and choice) compared before in this session: show it again."""
        if self.busy():
            return
        df = self.sweeps.get((self.lab.model.value, self.vary.value))
        if df is not None:
            self._show(df, "from this session")
        elif self.df is not None:
            self._say(f"Showing {_html.escape(self.df.attrs.get('model', ''))}. Press <b>Compare all NPUs</b> for "
                      f"{_html.escape(self.lab.model.value)}.")

    def _show(self, df, how: str) -> None:
        """The sweep figures and the table (built here, in the calling thread)."""
        from . import plots, sweep_plots

        self.df = df
        name = df.attrs.get("model")
        scale = plots.presentation if self.lab.presentation else (lambda f: f)
        outputs = [figure_bundle(scale(f)) for f in sweep_plots.figures(df, model=name)]
        table = sweep_plots.table(df).to_html(index=False, border=0, classes="labkit-table", na_rep="—")
        outputs.append(html_bundle(f"<div style='overflow-x:auto'>{table}</div>"))
        self.output.outputs = tuple(outputs)
        self.progress.max = max(1, len(df))
        failed = df["error"].fillna("").astype(bool)
        self.progress.value = len(df)
        self.progress.bar_style = "warning" if failed.any() else "success"
        self.stage.value = ""
        ok = df[~failed]
        best = ok.loc[ok["inference_ms"].idxmin()] if len(ok) else None
        text = f"✓ {_html.escape(str(name))}: {len(ok)} of {len(df)} configurations"
        if best is not None:
            text += (f"; fastest {_html.escape(best['accelerator'])} at {best['inference_ms']:.3g} ms "
                     f"(Vela estimate)")
        if failed.any():
            text += f"; {int(failed.sum())} failed (see the table)"
        self._say(f"{text} · {how}")


def _sweep_options(vary: str) -> dict:
    """labkit.sweep keyword arguments for the Compare tab's 'with' choice."""
    if vary == "defaults":
        return {}
    ini = targets.read_vela_ini(targets.bundled_vela_ini())
    return {vary: list(ini[vary])}


# ---------------------------------------------------------------- the FVP tab

_FVP_ADDS = (
    "<p>A <b>Corstone FVP</b> (Arm's Fixed Virtual Platform of the Corstone-300 / Corstone-320 reference "
    "systems) runs this report's <code>.pte</code> with ExecuTorch's bare-metal <code>arm_executor_runner</code> "
    "and adds what Vela's estimate cannot:</p><ul>"
    "<li><b>measured NPU cycles</b>: the Ethos-U PMU's active-cycle counter, beside Vela's estimate</li>"
    "<li><b>PMU counters</b>: memory beats read and written per port (AXI on the U55/U65, SRAM and external on "
    "the U85), NPU idle cycles, and on the U85 MAC and weight-decoder activity</li>"
    "<li><b>CPU cycles</b> of the Cortex-M, labelled <i>not cycle-accurate</i> (the FVP does not time the CPU)</li>"
    "</ul>")


class FvpPanel(_Background, widgets.VBox):
    """The FVP tab: run the Report on show on a Corstone FVP (``labkit.fvp.run``)
    in a background thread, then Vela's estimate beside the measured cycles and the
    PMU counters. Without an FVP or runner it says what one would add, exactly what
    is missing, and how to install it; the button stays disabled.

    Widgets: button, status, output. ``runs`` every measured run of this session
    by the report's cache key."""

    def __init__(self, lab: "Lab"):
        self.lab = lab
        self.report = None
        self.runs: dict[str, object] = {}
        self.button = widgets.Button(description="Run on the FVP", button_style="primary", icon="play",
                                     disabled=True, layout=widgets.Layout(width="auto"),
                                     tooltip="Run the compiled .pte on the Corstone FVP (labkit.fvp.run)")
        self.status = widgets.HTML("")
        self.output = widgets.Output()
        self.button.on_click(lambda _b: self.run(wait=False))
        super().__init__([self.button, self.status, self.output])
        self.show(None)

    def show(self, report) -> None:
        """Fill the tab for ``report`` (None before anything is compiled)."""
        from . import fvp

        if self.busy():
            return
        self.report = report
        if report is not None and str(report.summary.get("cache_key")) in self.runs:
            self._show_run(report, self.runs[str(report.summary["cache_key"])], "from this session")
            return
        if report is None:
            gaps = [] if any(fvp.find_fvps().values()) else [f"No Corstone FVP found. {fvp.HOW_TO_INSTALL}"]
            where, build = "", fvp.how_to_build_runner()
        else:
            s = report.summary
            gaps = fvp.missing(s["accelerator"])
            where = f" for {_html.escape(str(s['accelerator']))} ({_html.escape(fvp.board(s['accelerator']))})"
            build = fvp.how_to_build_runner(s["accelerator"], s.get("system_config"), s.get("memory_mode"))
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
                f"{_describe(report)} (the simulator is slow: large models take minutes).</p>")

    def run(self, wait: bool = True):
        """Run the report on show on the FVP in a background thread, as the button does. With ``wait``,
        block until done and return the measured run (None on error)."""
        if self.report is None or self.busy():
            return None
        report = self.report
        self.button.disabled = True
        self.status.value = f"<p>Running {_describe(report)} on the FVP… (this can take minutes)</p>"
        return self._start("labkit-fvp", (report,), self.runs, str(report.summary.get("cache_key")), wait)

    def _run(self, report) -> None:
        from . import fvp

        try:
            measured = fvp.run(report)
        except LabkitError as e:
            self.status.value = error_html("Could not run on the FVP.", str(e))
        except Exception as e:  # noqa: BLE001 - the tab shows one line, never a traceback
            lines = [ln for ln in str(e).splitlines() if ln.strip()]
            self.status.value = (f"<b>Could not run on the FVP.</b> {_html.escape(type(e).__name__)}: "
                                 f"{_html.escape(lines[0] if lines else 'unexpected error')}")
        else:
            self.runs[str(report.summary.get("cache_key"))] = measured
            self._show_run(report, measured, f"ran in {measured.seconds:.0f} s")
        finally:
            self.button.disabled = False

    def _show_run(self, report, measured, how: str) -> None:
        from . import fvp_plots, plots

        scale = plots.presentation if self.lab.presentation else (lambda f: f)
        self.output.outputs = (figure_bundle(scale(fvp_plots.estimate_vs_measured(report, measured))),
                               html_bundle(fvp_plots.measured_html(measured)))
        npu = f"{measured.npu_cycles:,}" if measured.npu_cycles is not None else "no"
        self.status.value = (f"<p>✓ {_describe(report)}: {npu} NPU active cycles (FVP measured) vs "
                             f"{int(report.summary['total_cycles']):,} (Vela estimate) · {how}</p>")
        self.button.disabled = False
