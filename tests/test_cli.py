"""The `labkit` command compiling, run as a user would (a real subprocess)."""

import json

from tests.fast.test_cli import labkit


def test_compile_json(compiled):
    compiled("ds_cnn", "ethos-u85-256")  # warm the session cache; the CLI reads the same cache
    out = labkit("compile", "ds_cnn", "--target", "ethos-u85-256", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["summary"]["source"] == "vela-estimate"
    assert data["summary"]["total_cycles"] == compiled("ds_cnn", "ethos-u85-256").summary["total_cycles"]
    assert {"node", "op", "module", "placement", "reason"} <= set(data["operators"][0])


def test_compile_readable_and_csv(compiled, tmp_path):
    compiled("ds_cnn", "ethos-u55-128")
    csv_path = tmp_path / "ops.csv"
    out = labkit("compile", "ds_cnn", "--target", "corstone-300", "--csv", str(csv_path))
    assert out.returncode == 0, out.stderr
    assert "vela-estimate" in out.stdout and "aten.avg_pool2d" in out.stdout
    import pandas as pd

    assert (pd.read_csv(csv_path)["placement"] == "CPU").sum() >= 1


def test_advise_json(compiled):
    compiled("deep_autoencoder", "ethos-u55-128")
    out = labkit("advise", "deep_autoencoder", "--target", "corstone-300", "--levers", "target", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    top = data["advice"][0]
    assert top["kwargs"]["memory_mode"] == "Sram_Only" and top["kwargs"]["model"] == "deep_autoencoder"
    assert top["delta_cycles"] < 0 and data["attrs"]["sources"]["delta_cycles"] == "vela-estimate"
    readable = labkit("advise", "deep_autoencoder", "--target", "corstone-300", "--levers", "rewrites")
    assert readable.returncode == 0 and "No lever applies" in readable.stdout
    bad = labkit("advise", "deep_autoencoder", "--levers", "faster")
    assert bad.returncode == 2 and "choose from target" in bad.stderr
