"""Soak test of the lessons, as a user demos them: a real JupyterLab (the one
`labkit lab` starts) in a real Chromium, each lesson opened, Run > Run All Cells,
and a check that every code cell ran without an error output.

Runs, in order: one with a cold cache, N warm ones, M while two other compiles
load both cores, then two recoveries: a kernel restart mid-lesson followed by
Run All, and the compile worker killed mid-compile followed by Run All (the
latter on a JupyterLab of its own with an empty cache). Prints one row per lesson and run: completed?, seconds to
the first figure, seconds to the last cell. Not part of `make test`; it asserts
nothing about time.

    python benchmarks/soak_lessons.py                    # cold, 3 warm, 1 loaded, both recoveries
    python benchmarks/soak_lessons.py --warm 1 --loaded 0 --lessons 1,2 --no-recoveries
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository, for tests.jupyterlab
from tests.jupyterlab import CHROMIUM, CHROMIUM_ARGS, running_lab  # noqa: E402

LESSON_TIMEOUT = 1800  # s, per lesson and run
# What loads both cores in the loaded run: two compiles that never hit the cache.
LOAD = "import labkit\nwhile True:\n    labkit.compile('resnet8', '{target}', cache=False, progress=False)\n"

CODE_CELLS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const model = panel.content.model, cells = [];
  for (let i = 0; i < model.cells.length; i++) {
    const c = model.cells.get(i);
    if (c.type !== 'code') continue;
    let error = '';
    for (let k = 0; k < c.outputs.length; k++) {
      const o = c.outputs.get(k).toJSON();
      if (o.output_type === 'error') error = o.ename + ': ' + o.evalue;
    }
    cells.push({count: c.executionCount, error, running: c.executionState === 'running'});
  }
  return cells;
}"""


def shut_down_kernels(base: str, token: str) -> None:
    """Close every session, as a user closing the notebook and its kernel would."""
    sessions = json.load(urllib.request.urlopen(f"{base}/api/sessions?token={token}"))
    for s in sessions:
        req = urllib.request.Request(f"{base}/api/sessions/{s['id']}?token={token}", method="DELETE")
        urllib.request.urlopen(req)


def open_lesson(browser, base: str, token: str, name: str):
    page = browser.new_page(viewport={"width": 1500, "height": 1000})
    page.goto(f"{base}/lab/tree/{name}.ipynb?reset&token={token}")  # reset: this lesson alone, no earlier tabs
    page.wait_for_selector(".jp-Notebook", timeout=120_000)
    page.wait_for_function("() => window.jupyterapp?.shell?.currentWidget?.content?.model?.cells?.length > 0",
                           timeout=120_000)
    return page


def run_all(page) -> None:
    """Run > Run All Cells from the menu bar, as a user clicks it (once: no retry)."""
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell").first.click()
    page.locator(".lm-MenuBar-item", has_text="Run").first.click()
    page.locator(".lm-Menu-content .lm-Menu-item", has_text="Run All Cells").first.click()


def wait_for_cells(page, started: float, timeout: float) -> dict:
    """Until every code cell ran, one failed, or ``timeout``: completed, first figure and last cell times."""
    first_figure = None
    while time.perf_counter() - started < timeout:
        if first_figure is None and page.locator(".js-plotly-plot").count():
            first_figure = time.perf_counter() - started
        cells = page.evaluate(CODE_CELLS)
        errors = [f"cell {i + 1}: {c['error']}" for i, c in enumerate(cells) if c["error"]]
        if errors or all(c["count"] for c in cells):
            break
        time.sleep(0.25)
    cells = page.evaluate(CODE_CELLS)
    ran = sum(1 for c in cells if c["count"])
    errors = [f"cell {i + 1}: {c['error']}" for i, c in enumerate(cells) if c["error"]]
    return {"completed": ran == len(cells) and not errors, "cells": f"{ran}/{len(cells)}",
            "first_figure_s": first_figure, "last_cell_s": time.perf_counter() - started,
            "problem": "; ".join(errors) or ("" if ran == len(cells) else "not every cell ran")}


def soak_run(browser, base: str, token: str, lessons: list[str], run: str) -> list[dict]:
    rows = []
    for name in lessons:
        page = open_lesson(browser, base, token, name)
        started = time.perf_counter()
        run_all(page)
        row = {"run": run, "lesson": name[:2], **wait_for_cells(page, started, LESSON_TIMEOUT)}
        if not row["completed"]:
            Path("test-artifacts").mkdir(exist_ok=True)
            page.screenshot(path=f"test-artifacts/soak-{run}-{name[:2]}.png")
        rows.append(row)
        print(_row(row), flush=True)
        page.close()
        shut_down_kernels(base, token)
    return rows


def restart_then_run_all(browser, base: str, token: str, name: str) -> dict:
    """Run All; once two code cells ran, Kernel > Restart Kernel and Clear Outputs of All Cells…;
    then Run All again."""
    page = open_lesson(browser, base, token, name)
    run_all(page)
    page.wait_for_function(f"() => ({CODE_CELLS})().filter(c => c.count).length >= 2", timeout=600_000)
    page.locator(".lm-MenuBar-item", has_text="Kernel").first.click()
    page.locator(".lm-Menu-content .lm-Menu-item", has_text="Restart Kernel and Clear Outputs").first.click()
    page.locator(".jp-Dialog-button.jp-mod-accept").click()
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)
    started = time.perf_counter()
    run_all(page)
    row = {"run": "restart", "lesson": name[:2], **wait_for_cells(page, started, LESSON_TIMEOUT)}
    page.close()
    shut_down_kernels(base, token)
    return row


def kill_worker_then_run_all(browser, base: str, token: str, name: str, server: subprocess.Popen) -> dict:
    """Run All on a cold cache; kill labkit's compile worker while the first compile runs (a native
    crash as the kernel sees it); the cell shows the error; Run All again must complete."""
    page = open_lesson(browser, base, token, name)
    run_all(page)
    deadline, killed = time.time() + 600, []
    while not killed and time.time() < deadline:
        time.sleep(1)
        for p in psutil.Process(server.pid).children(recursive=True):
            with contextlib.suppress(psutil.Error):
                if "labkit.worker" in " ".join(p.cmdline()) and p.cpu_percent(0.5) > 20:  # busy compiling
                    p.send_signal(signal.SIGKILL)
                    killed.append(p.pid)
    first = wait_for_cells(page, time.perf_counter(), 300)
    started = time.perf_counter()
    run_all(page)
    row = {"run": "kill-worker", "lesson": name[:2], **wait_for_cells(page, started, LESSON_TIMEOUT)}
    row["problem"] = (f"worker {killed} killed: first Run All {first['cells']} ({first['problem'] or 'no error'})"
                      + (f"; after: {row['problem']}" if row["problem"] else ""))
    page.close()
    shut_down_kernels(base, token)
    return row


def _row(r: dict) -> str:
    fig = f"{r['first_figure_s']:.1f}" if r["first_figure_s"] is not None else "—"
    return (f"| {r['run']:<11} | {r['lesson']} | {'yes' if r['completed'] else 'NO':<3} | {r['cells']:>5} | "
            f"{fig:>6} | {r['last_cell_s']:7.1f} | {r['problem']}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--warm", type=int, default=3)
    ap.add_argument("--loaded", type=int, default=1)
    ap.add_argument("--lessons", help="comma-separated lesson numbers (default: all)")
    ap.add_argument("--no-cold", action="store_true", help="start from a cache prepared by an earlier run")
    ap.add_argument("--cache", help="the cache folder to use (default: a new one)")
    ap.add_argument("--no-recoveries", action="store_true")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    from labkit import lessons

    chosen = [s.stem for s in lessons.select([int(n) for n in args.lessons.split(",")] if args.lessons else None)]
    work = Path(tempfile.mkdtemp(prefix="labkit-soak-"))
    cache = Path(args.cache) if args.cache else work / "cache"
    plan = ([] if args.no_cold else ["cold"]) + [f"warm {i + 1}" for i in range(args.warm)] + \
        [f"loaded {i + 1}" for i in range(args.loaded)]
    rows = []
    print("| run         | lesson | completed | cells | first figure (s) | last cell (s) | problem")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        with running_lab(work / "lessons", cache) as (base, token, _):
            for run in plan:
                load = []
                if run.startswith("loaded"):
                    load = [subprocess.Popen([sys.executable, "-c", LOAD.format(target=t)],
                                             env=dict(os.environ, LABKIT_CACHE_DIR=str(work / "load-cache")),
                                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                            for t in ("ethos-u55-64", "ethos-u85-512")]
                    time.sleep(20)  # let them get going
                try:
                    rows += soak_run(browser, base, token, chosen, run)
                finally:
                    for proc in load:
                        for child in psutil.Process(proc.pid).children(recursive=True):
                            child.kill()
                        proc.kill()
            if not args.no_recoveries:
                rows.append(restart_then_run_all(browser, base, token, chosen[0]))
                print(_row(rows[-1]), flush=True)
        if not args.no_recoveries:
            with running_lab(work / "lessons-kill", work / "cold-cache") as (base, token, server):
                rows.append(kill_worker_then_run_all(browser, base, token, chosen[0], server))
                print(_row(rows[-1]), flush=True)
        browser.close()
    done = sum(r["completed"] for r in rows)
    print(f"\n{done} of {len(rows)} lesson runs completed ({100 * done / len(rows):.0f}%); work folder {work}")


if __name__ == "__main__":
    main()
