"""The tables a user sees (views/styled.py), from committed Report fixtures: units and
sources in the headers, separators, one-decimal percentages, share bars, wrapping hints,
relative source paths; and how advice is shown and passed on (its compile arguments in
words)."""

import pandas as pd
import torch

from labkit.advice import COLUMNS, call_text, describe_kwargs
from labkit.views import styled, tables
from tests.fast.conftest import sweep_fixture


def _advice(rows):
    df = pd.DataFrame(rows, columns=COLUMNS)
    df.attrs["message"] = f"{len(df)} of 3 measured change(s) improve m on t, best first."
    return df


def test_the_table_says_units_and_sources_and_leaves_out_accuracy_without_data():
    df = _advice([{"change": "memory mode Sram_Only instead of Shared_Sram", "lever": "target",
                   "benefit": "81.9% faster", "why": "memory-bound", "delta_ms": -0.48, "delta_cycles": -240192.0,
                   "delta_cpu_cycles": 0.0, "delta_sram_kib": 274.9, "delta_accuracy": float("nan"), "fits": True,
                   "kwargs": {"model": "m"}}])
    html = tables.advice(df)
    assert "Δ NPU cycles (vela-estimate)" in html and "Δ CPU cycles (cortex-m-estimate)" in html
    assert "-240,192" in html and "+274.9" in html and "81.9% faster" in html
    assert "accuracy" not in html  # no data: no column that would be all dashes
    assert df.attrs["message"] not in html  # the Lab's status line says it, once
    assert df.attrs["message"] in styled.advice(df).to_html()  # a notebook's table says it itself
    assert ">yes<" in html and "True" not in html


def test_advice_shows_code_as_code_and_displays_styled_in_a_notebook():
    df = _advice([{"change": "feed the input channels-last: `x.to(memory_format=torch.channels_last)`",
                   "lever": "rewrites", "benefit": "2.0% faster", "why": "transpose", "delta_ms": -0.024228,
                   "delta_cycles": -1000.0, "delta_cpu_cycles": 0.0, "delta_sram_kib": 27.65625,
                   "delta_accuracy": float("nan"), "fits": True, "kwargs": {"model": torch.nn.Linear(2, 2)}}])
    shown = styled.shown_as(df, styled.advice)
    html = shown._repr_html_()
    assert "<code>x.to(memory_format=torch.channels_last)</code>" in html and "`" not in html
    assert "-0.0242" in html and "+27.7" in html and "Linear(" not in html  # rounded; no module repr
    assert shown.iloc[0]["delta_ms"] == -0.024228 and shown.attrs == df.attrs  # still the DataFrame it was


def test_an_empty_table_shows_its_message():
    df = _advice([])
    df.attrs["message"] = "Nothing to improve: labkit compiled 3 candidate change(s)."
    assert "Nothing to improve" in tables.advice(df) and "<table" not in tables.advice(df)


def test_kwargs_in_words_for_json_and_display():
    x = torch.rand(1, 3, 8, 8).to(memory_format=torch.channels_last)
    kwargs = {"model": torch.nn.Conv2d(3, 4, 3), "example_inputs": (x,), "target": "corstone-320",
              "quantization": {"default": "int8", "features.1": "a16w8"},
              "calibration_inputs": [(x,)] * 8}
    words = describe_kwargs(kwargs)
    assert words["model"] == "<Conv2d: the rewritten copy of the model>"
    assert words["example_inputs"] == ["<tensor 1x3x8x8 float32 channels-last>"]
    assert words["calibration_inputs"] == "<8 samples>" and words["quantization"]["features.1"] == "a16w8"
    assert call_text(kwargs).startswith("labkit.compile(model=<Conv2d") and "target='corstone-320'" in call_text(
        kwargs)


def test_hotspots_read_well(mv2):
    html = styled.hotspots(mv2.hotspots()).to_html()
    top = mv2.hotspots(1).iloc[0]
    assert "cycles (vela-estimate)" in html and "share of cycles %" in html and "MAC use %" in html
    assert f"{int(top['cycles']):,}" in html and f"{top['share_pct']:.1f}<" in html
    assert "linear-gradient" in html  # the in-cell bar of the share
    assert "white-space: normal" in html  # the hint wraps
    assert "/work/" not in html and "site-packages" not in html  # paths relative to the project or package
    assert "mobilenet_v2.py:84" in html


def test_cpu_work_and_sweep_tables_say_their_sources(ds_cnn_u55):
    work = styled.cpu_work(ds_cnn_u55.cpu_work).to_html()
    assert "cortex-m-estimate" in work and "share of CPU cycles %" in work and "linear-gradient" in work
    df = sweep_fixture("ds_cnn-every")
    sweep = styled.sweep(df).to_html()
    assert "vela-estimate" in sweep and "SRAM needed KiB" in sweep
    assert f"{int(df['total_cycles'].dropna().iloc[0]):,}" in sweep
