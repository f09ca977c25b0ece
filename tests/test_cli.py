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
