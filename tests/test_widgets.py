"""labkit.Lab driven as a user would, with real compiles (shared through the
session cache), and the standalone HTML export. The dropdowns and rendering a
Report are tested in the fast tier (tests/fast/test_app.py)."""

import base64
import re
import threading

import numpy as np
import pytest
import torch

from labkit import plots
from labkit.app import TABS, Lab
from labkit.app.common import PLOTLY_MIME
from tests.models_for_tests import TinyConv


@pytest.fixture(scope="module")
def reports(compiled):
    """Both ds_cnn reports in the session cache, so the Lab finds them on disk."""
    return {t: compiled("ds_cnn", t) for t in ("ethos-u55-128", "ethos-u85-256")}


def _figures(output):
    return [o["data"][PLOTLY_MIME] for o in output.outputs if PLOTLY_MIME in o["data"]]


def _array(value):
    """A trace array as plotly's JSON has it: a list, or base64 typed-array data."""
    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).tolist()
    return list(value)


def test_compile_fills_the_tabs(reports):
    lab = Lab(warm=False, model="ds_cnn", target="corstone-300")
    report = lab.compile()
    assert report is not None and lab.report is report
    assert report.summary["cache_key"] == reports["ethos-u55-128"].summary["cache_key"]
    assert tuple(lab.tabs.titles) == TABS == ("Summary", "Placement", "Cycles", "Memory", "Graph", "Numerics",
                                              "Advice", "Artifacts", "Compare", "FVP")
    (placement,) = _figures(lab.outputs["Placement"])
    cpu = next(t for t in placement["data"] if t["name"].startswith("CPU"))
    assert cpu["marker"]["color"] == plots.CPU_COLOR and len(_array(cpu["x"])) == report.summary["cpu_ops"]
    assert "Vela estimate" in placement["layout"]["title"]["text"]
    # Memory: the deployment by region, then the NPU's SRAM staging.
    assert len(_figures(lab.outputs["Cycles"])) == 2 and len(_figures(lab.outputs["Memory"])) == 2
    assert "avg_pool2d" in lab.outputs["Placement"].outputs[1]["data"]["text/html"]
    assert "model.pte" in lab.outputs["Artifacts"].outputs[0]["data"]["text/html"]
    assert "Vela estimate" in lab.status.value and "ethos-u55-128" in lab.status.value
    assert lab.progress.value == lab.progress.max
    assert not lab.compile_button.disabled and lab.cancel_button.disabled


def test_coming_back_to_a_compiled_configuration_shows_it_at_once(reports):
    lab = Lab(warm=False, model="ds_cnn", target="corstone-300")
    # Found in the disk cache when the dropdowns land on it: no Compile press needed.
    assert lab.report is not None and lab.report.summary["accelerator"] == "ethos-u55-128"
    lab.presets["corstone-320"].click()
    assert lab.report.summary["accelerator"] == "ethos-u85-256"
    first = lab.reports[lab.selection()]
    lab.presets["corstone-300"].click()
    lab.presets["corstone-320"].click()
    assert lab.report is first  # the in-memory dict, not a reload
    (placement,) = _figures(lab.outputs["Placement"])
    assert "ethos-u85-256" in placement["layout"]["title"]["text"]


def test_a_labkit_error_is_a_readable_message_not_a_traceback():
    wrong = (torch.rand(1, 5, 16, 16),)  # TinyConv wants 3 channels
    lab = Lab(models={"tiny": (TinyConv(), wrong)}, warm=False)
    assert lab.model.value == "tiny" and "ds_cnn" in lab.model.options
    assert lab.compile() is None
    status = lab.status.value
    assert "Could not compile" in status and "example inputs" in status and "forward()" in status
    assert "Traceback" not in status
    assert lab.report is None and not lab.compile_button.disabled


def test_presentation_mode_has_large_figures(reports):
    lab = Lab(warm=False, model="ds_cnn", target="corstone-320", presentation=True)
    assert "labkit-presentation" in lab._dom_classes
    card, timeline = _figures(lab.outputs["Summary"])
    assert card["layout"]["template"]["layout"]["font"]["size"] == 18  # the presentation template
    assert timeline["layout"]["template"]["layout"]["font"]["size"] == 18
    assert all(t["number"]["font"]["size"] == 45 for t in card["data"])


def test_cancel_stops_a_running_compile():
    lab = Lab(models={"tiny": (TinyConv(), (torch.rand(1, 3, 16, 16),))}, warm=False)
    lab.accelerator.value = "ethos-u55-32"  # a configuration no other test compiles
    started = threading.Event()
    lab.progress.observe(lambda _c: started.set(), "value")
    lab.stage.observe(lambda c: started.set() if c["new"].startswith(("export", "quantize")) else None,
                      "value")
    lab.compile(wait=False)
    assert started.wait(120)
    lab.cancel()
    lab._thread.join(60)
    assert "cancelled" in lab.status.value.lower() and lab.report is None
    assert not lab.compile_button.disabled


def test_warm_starts_the_worker():
    from labkit.worker import shared

    Lab(warm=True)
    warm = next(t for t in threading.enumerate() if t.name == "labkit-warm")
    warm.join(180)
    assert shared().pid is not None


def test_html_export_is_standalone(reports, tmp_path):
    lab = Lab(warm=False, model="ds_cnn", target="corstone-300")
    path = lab.export_html(tmp_path / "ds_cnn.html")
    text = path.read_text()
    assert "ethos-u55-128" in text and "Ethos_U55_High_End_Embedded" in text and "Shared_Sram" in text
    assert "Vela estimate" in text and "executorch" in text and "vela" in text
    assert text.count("* plotly.js v") == 1  # inlined once: opens offline
    assert not re.search(r"<script[^>]*\ssrc=", text)  # no script fetched from anywhere
    assert "avg_pool2d" in text and str(path) in lab.status.value


def test_the_quantization_control_compiles_the_scheme_and_its_overrides():
    lab = Lab(warm=False, model="digits_cnn", target="corstone-320")
    lab.quantization.value, lab.overrides.value = "a16w8", "fc=int8"
    report = lab.compile()
    assert report.summary["quantization"] == "a16w8; fc: int8"
    assert lab.reports[lab.selection()] is report and "a16w8" in _figures(lab.outputs["Placement"])[0]["layout"][
        "title"]["text"]
    for text, words in (("fc", "module=scheme"), ("nope=int8", "no module &#x27;nope&#x27;"), ("fc=int7", "int7")):
        lab.overrides.value = text
        assert lab.compile() is None and words in lab.status.value, lab.status.value


def test_the_numerics_tab_shows_where_accuracy_is_lost():
    lab = Lab(warm=False, model="digits_cnn", target="corstone-320")
    lab.compile()
    table = lab.numerics.run()
    assert table is not None and table.attrs["target"] == "ethos-u85-256"
    (figure,) = _figures(lab.numerics.output)
    assert "SQNR along the graph" in figure["layout"]["title"]["text"]
    assert "largest drop" in lab.numerics.status.value and lab.numerics.progress.bar_style == "success"
    html = "".join(o["data"].get("text/html", "") for o in lab.numerics.output.outputs)
    assert "By module" in html and "Where error enters" in html


def test_the_numerics_tab_computes_for_the_report_on_show_not_the_controls():
    """The controls can name a compile that has not run (another quantization): the Lab
    keeps the report it shows, and the Numerics tab must compute that report's numerics,
    not the controls' (and file them under that report)."""
    lab = Lab(warm=False, model="digits_cnn", target="corstone-320")
    shown = lab.report or lab.compile()
    lab.overrides.value = "conv2=a16w8"  # compiled by no test: the int8 report stays on show
    assert lab.report is shown and shown.summary["quantization"] == "int8"
    table = lab.numerics.run()
    assert table is not None and table.attrs["quantization"] == "int8"
    assert table.attrs["report"] == shown.summary["cache_key"]


def test_the_advice_tab_measures_changes_and_compiles_one(compiled):
    compiled("deep_autoencoder", "ethos-u55-128")
    lab = Lab(warm=False, model="deep_autoencoder", target="corstone-300")  # shown from the cache
    before = lab.report
    assert before is not None and not lab.advice.button.disabled
    table = lab.advice.run()
    assert table is not None and "Sram_Only" in table.iloc[0]["change"]
    html = lab.advice.output.outputs[0]["data"]["text/html"]
    assert "Δ NPU cycles (vela-estimate)" in html and table.attrs["message"] in lab.advice.status.value
    first = lab.advice.suggestions.children[0]
    first.children[0].click()  # "Compile #1": in the background, as a user's click
    lab._thread.join()
    assert lab.report.target.memory_mode == "Sram_Only" == lab.memory_mode.value  # the controls follow
    assert lab.report.summary["total_cycles"] == before.summary["total_cycles"] + table.iloc[0]["delta_cycles"]


def test_the_graph_tab_shows_the_report_in_model_explorer(reports):
    lab = Lab(warm=False, model="ds_cnn", target="corstone-300")  # ds_cnn on ethos-u55-128, from the cache
    assert lab.report is not None and not lab.graph.button.disabled
    url = lab.graph.run()
    assert url.startswith("http://127.0.0.1:")
    html = lab.graph.output.outputs[0]["data"]["text/html"]
    assert "<iframe" in html and url in html
    lab.apply_preset("corstone-320")  # another report: the tab waits for the button again
    assert lab.graph.output.outputs == () and lab.graph.url is None
