"""The graph view: Google's Model Explorer with labkit's overlays, inside JupyterLab.

Model Explorer's web app needs its server (it serves the app and the graph and
node-data JSON), so labkit runs one per kernel: bound to 127.0.0.1, started on first
use, in a daemon thread that ends with the kernel. Each view adds its graph and
overlays (``views.model_explorer``) to that server's config and shows an iframe on
its URL. Nothing leaves the machine: the server's check for a newer release on PyPI
is switched off, and the app's web fonts fall back to local ones offline.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import threading
import time
import urllib.request
from typing import Callable
from urllib.parse import quote

import ipywidgets as widgets

from ..errors import LabkitError
from .common import button, html_bundle, one_line, status_html

_LOCK = threading.Lock()
_SERVER: dict = {}  # "port", "config" once started
START_TIMEOUT_S = 30.0


def _server():
    """(port, config) of this kernel's Model Explorer server, started on first use."""
    with _LOCK:
        if _SERVER:
            return _SERVER["port"], _SERVER["config"]
        try:
            import portpicker
            from model_explorer import server
            from model_explorer.config import ModelExplorerConfig
        except ImportError as e:
            raise LabkitError(f"The graph view needs Model Explorer ({e}); install it with "
                              "`pip install ai-edge-model-explorer`.") from None
        config = ModelExplorerConfig()
        port = portpicker.pick_unused_port()
        server._check_new_version = _no_version_check  # offline: no request to PyPI or GitHub
        thread = threading.Thread(target=server.start, daemon=True, name="labkit-model-explorer",
                                  kwargs={"host": "127.0.0.1", "port": port, "config": config,
                                          "no_open_in_browser": True})
        with contextlib.redirect_stdout(io.StringIO()):  # its start-up banner would land in a cell
            thread.start()
            _wait_healthy(port)
        _SERVER.update(port=port, config=config)
        return port, config


def _no_version_check(print_msg=True) -> dict:
    return {"version": "", "runningVersion": "", "releaseUrl": "", "desktopAppUrl": ""}


def _wait_healthy(port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/check_health", timeout=2) as r:
                if r.read() == b"model_explorer_ok":
                    return
        except OSError:
            time.sleep(0.2)
    raise LabkitError(f"Model Explorer's server did not start on 127.0.0.1:{port} within {START_TIMEOUT_S:.0f} s.")


def url(report, numerics=None) -> str:
    """The URL of ``report``'s graph with its overlays on this kernel's server."""
    from ..views import model_explorer

    graph, overlays = model_explorer.graph(report), model_explorer.overlays(report, numerics)
    port, config = _server()
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{report.model}-{report.target.accelerator}")
    with _LOCK:
        config.graphs_list.append(json.dumps({"graphs": graph["graphs"]}))  # the server's form: no label
        model = {"url": f"graphs://{name}/{len(config.graphs_list) - 1}"}
        sources = []
        for stem, data in overlays.items():
            config.node_data_list.append(json.dumps(data))
            sources.append(f"node_data://{stem}/{len(config.node_data_list) - 1}")
    data = {"models": [model], "nodeData": sources, "nodeDataTargets": [name] * len(sources)}
    return f"http://127.0.0.1:{port}/?data={quote(json.dumps(data))}"


def explore(report, numerics=None, height: int = 720) -> "GraphView":
    """``labkit.explore(report)``: the graph with labkit's overlays in Google's Model
    Explorer, shown inline (a local Model Explorer server on 127.0.0.1, one per kernel;
    works offline). ``numerics``: a ``labkit.numerics`` table, shown as an SQNR overlay."""
    return GraphView(url(report, numerics), height)


class GraphView:
    """What ``labkit.explore(report)`` returns: Model Explorer in an iframe when a notebook shows
    it; ``url`` opens the same view in a browser tab (on this machine)."""

    def __init__(self, url: str, height: int = 720):
        self.url, self.height = url, height

    def _repr_html_(self) -> str:
        return iframe_html(self.url, self.height)

    def __repr__(self) -> str:
        return f"<Model Explorer view: {self.url}>"


def iframe_html(src: str, height: int = 720) -> str:
    return (f"<iframe src='{src}' title='Model Explorer' style='width:100%;height:{height}px;border:1px solid "
            "#ddd;border-radius:4px'></iframe>")


class GraphPanel:
    """The Lab's Graph tab: the Report on show in Model Explorer, with the placement, cycle
    and CPU-range overlays (and SQNR when the Numerics tab computed it for this report).

    Widgets: button, status, output. ``url`` is the view on show."""

    def __init__(self, numerics_of: Callable[[object], object]):
        self.numerics_of = numerics_of  # the Numerics tab's table of a report, or None
        self.report = None
        self.url = None
        self.button = button("Show the graph", button_style="primary", icon="project-diagram",
                                     disabled=True,
                                     tooltip="Open the compiled graph in Model Explorer with labkit's overlays")
        self.button.on_click(lambda _b: self.run())
        self.status = widgets.HTML(status_html("Compile a model, then press <b>Show the graph</b>."))
        self.output = widgets.Output()
        self.widget = widgets.VBox([self.button, self.status, self.output])

    def show(self, report) -> None:
        self.report, self.url = report, None
        self.button.disabled = report is None
        self.output.outputs = ()
        if report is not None:
            self._say("Press <b>Show the graph</b>: the operators grouped by nn.Module, coloured by placement, with "
                      "NPU cycles (vela-estimate) and the CPU range (cortex-m-estimate) as overlays.")

    def run(self) -> str | None:
        """Show the report on show in Model Explorer; returns the view's URL (None on error)."""
        if self.report is None:
            return None
        numerics = self.numerics_of(self.report)
        try:
            self.url = url(self.report, numerics)
        except Exception as e:  # noqa: BLE001 - the tab shows one line, never a traceback
            self._say(f"Could not show the graph: {one_line(e)}")
            return None
        self.output.outputs = (html_bundle(iframe_html(self.url)),)
        self._say("Pick an overlay under <i>Node data providers</i> on the right; the table below it lists each "
                  "node's value." + (" SQNR from the Numerics tab is included." if numerics is not None else ""))
        return self.url

    def _say(self, markup: str) -> None:
        self.status.value = status_html(markup)
