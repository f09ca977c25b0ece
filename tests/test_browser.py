"""A real JupyterLab in a real Chromium: open lesson 1, run all cells, check that
every code cell ran (or say which did not, and what the kernel replied), see the
app and the plots render, then compile a second target from the app and see the
plots change. Screenshots go to test-artifacts/."""

import json
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ARTIFACTS
from tests.jupyterlab import CHROMIUM, CHROMIUM_ARGS, running_lab

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason="Debian's chromium is not installed (make browser installs it)")


@pytest.fixture(scope="module")
def jupyter(tmp_path_factory, cache_dir):
    root = tmp_path_factory.mktemp("lab")
    with running_lab(root, cache_dir) as (base, token, _):
        yield base, token, root


_RUN_ALL_AT_ONCE = """(() => {
  const t0 = performance.now();
  const tick = () => {
    const w = window.jupyterapp?.shell?.currentWidget;
    if (w?.content?.widgets?.length >= 6) {
      window.__runAll = window.jupyterapp.commands.execute('notebook:run-all-cells').then(() => 'done', String);
    } else if (performance.now() - t0 < 120000) {
      setTimeout(tick, 2);
    }
  };
  tick();
})();"""


def test_run_all_at_once_runs_every_cell(jupyter):
    """Run All the moment the notebook shows its cells, before its kernel exists: JupyterLab 4.6 alone
    drops every cell it finds without a kernel (20 of 20 tries ran none); labkit's extension makes them
    wait for the notebook's own kernel, so all five run, in order, on one kernel."""
    import nbformat
    from playwright.sync_api import sync_playwright

    base, token, root = jupyter
    cells = [nbformat.v4.new_markdown_cell("# five cells")] + [
        nbformat.v4.new_code_cell(f"import time; time.sleep(0.2); print({i})") for i in range(1, 6)]
    nbformat.write(nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}}), root / "five.ipynb")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.add_init_script(_RUN_ALL_AT_ONCE)
        page.goto(f"{base}/lab/tree/five.ipynb?reset&token={token}")  # reset: no notebook from another test
        page.wait_for_function("() => window.__runAll !== undefined", timeout=120_000)
        counts = "() => window.jupyterapp.shell.currentWidget.content.widgets.filter(c => c.model.type === 'code')" \
                 ".map(c => c.model.executionCount)"
        try:
            page.wait_for_function(f"() => ({counts})().every(n => n)", timeout=120_000)
        except Exception:  # noqa: BLE001 - the assertion below shows the counts
            pass
        ran = page.evaluate(counts)
        browser.close()
    sessions = json.load(urllib.request.urlopen(f"{base}/api/sessions?token={token}"))
    assert ran == [1, 2, 3, 4, 5], f"execution counts after an early Run All: {ran}"
    assert len([s for s in sessions if s["path"].endswith("five.ipynb")]) == 1


def test_server_requires_the_token(jupyter):
    base, _, _ = jupyter
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(f"{base}/api/contents", timeout=5)
    assert e.value.code == 403


def _run_all_cells(page, attempts: int = 3) -> None:
    """Run > Run All Cells, as a user would. On a loaded machine the menu can open
    before the notebook is the current widget, when the item is still disabled and
    a click does nothing; so check that a cell started and try again if not."""
    started = ("() => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-InputPrompt')]"
               ".some(e => /\\[(\\*|\\d+)\\]/.test(e.textContent))")
    for attempt in range(attempts):
        page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell").first.click()
        page.locator(".lm-MenuBar-item", has_text="Run").first.click()
        page.locator(".lm-Menu-content .lm-Menu-item", has_text="Run All Cells").first.click()
        try:
            page.wait_for_function(started, timeout=30_000)
            return
        except Exception:  # noqa: BLE001 - playwright's TimeoutError; the last attempt re-raises
            page.keyboard.press("Escape")
            if attempt == attempts - 1:
                raise


# In the page (the app is exposed by --LabApp.expose_app_in_browser): record every execute request
# the notebook sends and the kernel's reply to it, on whichever kernel the notebook has.
_WATCH_KERNEL = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const log = window.__labkit = {requests: {}, replies: {}, kernels: []};
  const watch = (kernel) => {
    if (!kernel || log.kernels.includes(kernel.id)) return;
    log.kernels.push(kernel.id);
    kernel.anyMessage.connect((_, {msg, direction}) => {
      if (direction === 'send' && msg.header.msg_type === 'execute_request')
        log.requests[msg.header.msg_id] = {cellId: msg.metadata.cellId, kernel: kernel.id};
      if (direction === 'recv' && msg.header.msg_type === 'execute_reply')
        log.replies[msg.parent_header.msg_id] = {status: msg.content.status, ename: msg.content.ename || '',
                                                 evalue: msg.content.evalue || ''};
    });
  };
  watch(panel.sessionContext.session?.kernel);
  panel.sessionContext.kernelChanged.connect((_, change) => watch(change.newValue));
}"""
# Every code cell: its execution count, its error outputs, and the request/reply recorded for it.
_CELLS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const log = window.__labkit || {requests: {}, replies: {}, kernels: []};
  const sent = {};
  for (const [id, r] of Object.entries(log.requests)) sent[r.cellId] = {...r, reply: log.replies[id] || null};
  const cells = [];
  const model = panel.content.model;
  for (let i = 0; i < model.cells.length; i++) {
    const c = model.cells.get(i);
    if (c.type !== 'code') continue;
    const errors = [];
    for (let k = 0; k < c.outputs.length; k++) {
      const o = c.outputs.get(k).toJSON();
      if (o.output_type === 'error') errors.push(o.ename + ': ' + o.evalue);
    }
    cells.push({number: cells.length + 1, count: c.executionCount, source: c.sharedModel.getSource().split('\\n')[0],
                errors, request: sent[c.id] || null});
  }
  return {cells, kernels: log.kernels, kernel: panel.sessionContext.session?.kernel?.id || null,
          status: panel.sessionContext.kernelDisplayStatus};
}"""
_ALL_RAN_OR_FAILED = """() => {
  const model = window.jupyterapp.shell.currentWidget.content.model;
  let all = true;
  for (let i = 0; i < model.cells.length; i++) {
    const c = model.cells.get(i);
    if (c.type !== 'code') continue;
    for (let k = 0; k < c.outputs.length; k++) if (c.outputs.get(k).type === 'error') return true;
    if (!c.executionCount) all = false;
  }
  return all;
}"""


def _not_run(info: dict) -> str:
    """Which code cells did not run cleanly, and why, from what the notebook sent and the kernel replied."""
    lines = []
    for cell in info["cells"]:
        if cell["count"] and not cell["errors"]:
            continue
        request = cell["request"]
        if cell["errors"]:
            why = "raised " + "; ".join(cell["errors"])
        elif request is None:
            why = ("no execute request for it ever reached a kernel (JupyterLab dropped it; kernels the notebook had: "
                   f"{info['kernels'] or 'none'})")
        elif request["reply"] is None:
            why = f"kernel {request['kernel']} never replied (still busy, or it died)"
        else:
            reply = request["reply"]
            why = f"kernel {request['kernel']} replied {reply['status']!r} {reply['ename']} {reply['evalue']}".strip()
        lines.append(f"code cell {cell['number']} ({cell['source']!r}): {why}")
    return (f"{len(lines)} of {len(info['cells'])} code cells of lesson 1 did not run cleanly (notebook kernel "
            f"{info['kernel']}, {info['status']}):\n  " + "\n  ".join(lines))


def test_lesson_1_in_chromium(jupyter, compiled):
    from playwright.sync_api import sync_playwright

    compiled("mobilenet_v2", "ethos-u85-256")  # the lesson's compile comes from the session cache
    compiled("mobilenet_v2", "ethos-u55-128")  # and so does the second target below
    base, token, _ = jupyter
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1000})
        page.goto(f"{base}/lab/tree/01_first_model_on_an_npu.ipynb?reset&token={token}")
        page.wait_for_selector(".jp-Notebook", timeout=120_000)
        page.wait_for_function("() => window.jupyterapp?.shell?.currentWidget?.sessionContext !== undefined",
                               timeout=120_000)
        page.evaluate(_WATCH_KERNEL)
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)
        _run_all_cells(page)
        try:
            page.wait_for_function(_ALL_RAN_OR_FAILED, timeout=300_000)
        except Exception:  # noqa: BLE001 - playwright's TimeoutError: the assertion below says what did not run
            pass
        finally:
            page.screenshot(path=str(ARTIFACTS / "lesson1-run-all.png"))
        info = page.evaluate(_CELLS)
        assert all(c["count"] and not c["errors"] for c in info["cells"]), _not_run(info)
        page.wait_for_selector(".js-plotly-plot", timeout=300_000)
        compile_button = page.locator(".widget-button", has_text="Compile")
        compile_button.wait_for(timeout=300_000)
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 3", timeout=300_000)
        page.screenshot(path=str(ARTIFACTS / "lesson1-after-run-all.png"), full_page=False)
        assert page.locator(".js-plotly-plot").count() >= 3

        # The app: pick another NPU and compile; its plots must now name that NPU.
        compile_button.scroll_into_view_if_needed()
        page.get_by_label("NPU", exact=True).select_option("ethos-u55-128")
        compile_button.click()
        app = page.locator(".widget-vbox", has=compile_button).last
        page.wait_for_function(
            """() => [...document.querySelectorAll('.widget-vbox .js-plotly-plot .gtitle, .widget-vbox .js-plotly-plot .annotation-text')]
                     .some(e => e.textContent.includes('ethos-u55-128'))""", timeout=300_000)
        app.screenshot(path=str(ARTIFACTS / "lesson1-app-u55.png"))
        browser.close()


def test_graph_view_offline(jupyter, compiled):
    """labkit.explore(report) in JupyterLab with every request off this machine blocked: Model
    Explorer shows the graph, and the overlay values it reads match the report."""
    import nbformat
    from playwright.sync_api import sync_playwright

    report = compiled("ds_cnn", "ethos-u55-128")
    base, token, root = jupyter
    code = 'import labkit\nreport = labkit.compile("ds_cnn", "ethos-u55-128", progress=False)\nlabkit.explore(report)'
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)], metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}}), root / "graph.ipynb")
    ops = report.operators
    first_conv = ops[ops["op"] == "aten.convolution"].iloc[0]
    blocked = []

    def local_only(route):
        host = route.request.url.split("/")[2].split(":")[0]
        if host in ("127.0.0.1", "localhost") or route.request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        page.route("**/*", local_only)
        page.goto(f"{base}/lab/tree/graph.ipynb?reset&token={token}")
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)
        _run_all_cells(page)
        page.wait_for_selector("iframe[title='Model Explorer']", timeout=300_000)
        frame = page.frame_locator("iframe[title='Model Explorer']")
        stats = frame.locator("table", has=frame.locator("td", has_text="Sum")).first
        stats.wait_for(timeout=180_000)
        page.screenshot(path=str(ARTIFACTS / "graph-view.png"))
        labels = [t.strip() for t in stats.locator("th .stat-label").all_inner_texts()]
        column = labels.index("NPU cycles (vela-estimate)") + 1  # the first column names the statistic
        sums = stats.locator("tr", has=frame.locator("td", has_text="Sum")).first.locator("td").all_inner_texts()
        nodes = frame.locator("table", has=frame.locator("td", has_text="convolution")).last
        row = nodes.locator("tr", has=frame.locator("td", has_text="convolution")).first.locator("td").all_inner_texts()
        browser.close()
    assert float(sums[column].strip().replace(",", "")) == ops["cycles"].sum(), (labels, sums)
    assert str(int(first_conv["cycles"])) in [c.strip() for c in row], row  # a node's value, read from the page
    assert "NPU partition 0" in [c.strip() for c in row], (row, blocked)
