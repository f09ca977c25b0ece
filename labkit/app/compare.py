"""The Lab's Compare tab: every Ethos-U configuration for the chosen model at once."""

from __future__ import annotations

import html as _html
import threading
import time
from typing import Callable

import ipywidgets as widgets

from .. import formats as fmt
from .. import targets
from ..errors import LabkitError
from ..sweeps import reports, sweep
from ..views import tables
from .common import ModelChoice, StatusBox, Theme, button, figure_bundle, html_bundle, one_line

COMPARE_VARY = {  # what the Compare tab sweeps besides every accelerator (family defaults otherwise)
    "defaults": "each NPU's default system config and memory mode",
    "memory_modes": "every memory mode",
    "system_configs": "every system config",
}


class ComparePanel(StatusBox, widgets.VBox):
    """The Compare tab: every Ethos-U configuration for the model ``chosen()`` names
    (with its quantization and CPU kernels) at once (``labkit.sweep``), in a background
    thread; then the sweep figures and the table. Run again, it comes back from the
    cache in a moment. ``show()`` brings back a sweep of this session for the choice.

    Widgets: button, vary (what to sweep besides the accelerators), cancel_button,
    progress, stage, status, output. ``df`` is the sweep on show, ``sweeps`` every
    sweep of this session by (choice, vary)."""

    failure_headline = "Could not compare."

    def __init__(self, chosen: Callable[[], ModelChoice], theme: Theme):
        self.chosen, self.theme = chosen, theme
        self.df = None
        self.sweeps: dict[tuple, object] = {}
        wide = {"description_width": "initial"}
        self._panel_widgets(button("Compare all NPUs", button_style="primary", icon="th-list",
            tooltip="Compile the model for all 11 Ethos-U accelerators (labkit.sweep)"))
        self.vary = widgets.Dropdown(options=[(v, k) for k, v in COMPARE_VARY.items()], value="defaults",
                                     description="with", style=wide, layout=widgets.Layout(width="max-content"))
        self.vary.observe(lambda _c: self.show(), "value")
        super().__init__([widgets.HBox([self.button, self.vary, self.cancel_button]),
                          widgets.HBox([self.progress, self.stage]),
                          self.status, self.output])
        self._say("Press <b>Compare all NPUs</b> to compile the model for every Ethos-U55, U65 and U85 "
                  "configuration at once (the first time takes a minute or two; the model is lowered once "
                  "per TOSA profile).")

    def run(self, wait: bool = True):
        """Sweep the chosen model in a background thread, as the button does. With
        ``wait``, block until done and return the DataFrame (None on error)."""
        if self.busy():
            self._say("A comparison is already running.")
            return None
        try:
            choice = self.chosen()
        except LabkitError as e:
            self._error(one_line(e))
            return None
        key = (choice.key(), self.vary.value)
        self._set_busy(True)
        self._cancel = threading.Event()
        return self._start("labkit-sweep", (choice, self.vary.value, key, self._cancel), self.sweeps, key, wait)

    def _run(self, choice: ModelChoice, vary: str, key: tuple, cancel: threading.Event) -> None:
        name = choice.name
        started = time.perf_counter()
        done = threading.Event()
        counts = {"done": 0, "total": 0, "first": None}

        def on_progress(n: int, total: int, _label: str) -> None:
            counts.update(done=n, total=total, first=n if counts["first"] is None else counts["first"])

        try:
            self._say(f"Compiling {_html.escape(name)} for every Ethos-U configuration "
                      f"({_html.escape(COMPARE_VARY[vary])})…")
            ticker = threading.Thread(target=self._tick, args=(counts, started, done), daemon=True,
                                      name="labkit-sweep-progress")
            ticker.start()
            df = sweep(choice.model, "all", progress=on_progress, cancel=cancel, name=name,
                       quantization=choice.quantization, cpu_kernels=choice.cpu_kernels, **_sweep_options(vary))
        except Exception as e:  # noqa: BLE001 - the tab shows one line, never a traceback
            self._error(one_line(e))
        else:
            df.attrs["model"] = name
            self.sweeps[key] = df
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

    def show(self) -> None:
        """Back on a choice compared before in this session: show it again."""
        if self.busy():
            return
        try:
            choice = self.chosen()
        except LabkitError:  # the controls name no valid choice yet (Compile says why)
            return
        df = self.sweeps.get((choice.key(), self.vary.value))
        if df is not None:
            self._show(df, "from this session")
        elif self.df is not None:
            self._say(f"Showing {_html.escape(self.df.attrs.get('model', ''))}. Press <b>Compare all NPUs</b> for "
                      f"{_html.escape(choice.name)}.")

    def _show(self, df, how: str) -> None:
        """The sweep figures and the table (built here, in the calling thread)."""
        from ..views import sweep_plots

        self.df = df
        name = df.attrs.get("model")
        with self.theme():
            outputs = [figure_bundle(f) for f in sweep_plots.figures(df, reports(df), model=name)]
        outputs.append(html_bundle(tables.sweep(df)))
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
            text += (f"; fastest {_html.escape(best['accelerator'])} at {fmt.ms(best['inference_ms'])} ms "
                     f"(Vela estimate)")
        if failed.any():
            text += f"; {int(failed.sum())} failed (see the table)"
        self._say(f"{text} · {how}")


def _sweep_options(vary: str) -> dict:
    """labkit.sweep keyword arguments for the Compare tab's 'with' choice."""
    if vary == "defaults":
        return {}
    return {vary: targets.system_configs() if vary == "system_configs" else targets.memory_modes()}


