"""Quantization as a choice: schemes, per-module and per-type overrides, calibration
counts, and their errors. Real compiles (digits_cnn: a few seconds each)."""

import pytest
import torch

import labkit
from labkit.errors import QuantizationError
from labkit.quantization import SCHEMES

U55, U85 = "ethos-u55-128", "ethos-u85-256"


def _bits(report, op):
    rows = report.operators[report.operators["op"] == op]
    return set(rows["act_bits"].dropna()), set(rows["weight_bits"].dropna())


@pytest.mark.parametrize("target", [U55, U85])
def test_every_scheme_compiles_with_its_bits(compiled, target):
    cycles = {}
    for name, scheme in SCHEMES.items():
        r = labkit.compile("digits_cnn", target, quantization=name, progress=False)
        assert r.summary["quantization"] == name
        assert _bits(r, "aten.convolution") == ({scheme.act_bits}, {scheme.weight_bits})
        assert _bits(r, "aten.linear")[1] == {scheme.weight_bits}
        assert r.summary["cpu_ops"] == compiled("digits_cnn", target).summary["cpu_ops"]
        cycles[name] = r.summary["npu_cycles"]
    assert compiled("digits_cnn", target).summary["npu_cycles"] == cycles["int8"]  # the default is int8
    assert cycles["a16w8"] > cycles["int8"]  # 16-bit activations cost cycles on both families
    assert len({labkit.cached("digits_cnn", target, quantization=s).summary["cache_key"] for s in SCHEMES}) == 4


def test_a16w8_cycles_equal_a_hand_written_executorch_flow(tmp_path):
    from executorch.backends.arm.ethosu import EthosUCompileSpec, EthosUPartitioner
    from executorch.backends.arm.quantizer import EthosUQuantizer, get_symmetric_a16w8_quantization_config
    from executorch.exir import to_edge_transform_and_lower
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    from labkit import models
    from labkit.toolchain import vela

    spec = models.get("digits_cnn")
    model, example = spec.factory(), spec.example_inputs()
    for target in (U55, U85):
        work = tmp_path / target
        cs = EthosUCompileSpec(target, extra_flags=["--verbose-performance"]).dump_intermediate_artifacts_to(str(work))
        q = EthosUQuantizer(cs)
        q.set_global(get_symmetric_a16w8_quantization_config())
        prepared = prepare_pt2e(torch.export.export(model, example).module(check_guards=False), q)
        for sample in spec.calibration_inputs():
            prepared(*sample)
        converted = convert_pt2e(prepared)
        to_edge_transform_and_lower(torch.export.export(converted, example), partitioner=[EthosUPartitioner(cs)])
        hand = int(vela.read_summary(work / "output")["cycles_npu"])
        assert labkit.compile("digits_cnn", target, quantization="a16w8", progress=False).summary["npu_cycles"] \
            == hand


def test_a_module_override_changes_only_that_modules_operators(compiled):
    base = compiled("digits_cnn", U85)
    r = labkit.compile("digits_cnn", U85, quantization={"default": "int8", "conv2": "a16w8"}, progress=False)
    assert r.summary["quantization"] == "int8; conv2: a16w8"
    # 16-bit activations keep the CPU side on portable kernels, and the report says so.
    assert r.summary["cpu_kernels"] == "portable" and base.summary["cpu_kernels"] == "cmsis-nn"
    assert any("portable kernels, not CMSIS-NN" in w for w in r.warnings)
    ops = r.operators.set_index("node")
    before = base.operators.set_index("node")
    conv = [n for n in ops.index if ops.at[n, "op"] == "aten.convolution"]
    assert ops.loc[conv[1], ["act_bits", "weight_bits"]].tolist() == [16, 8]
    assert ops.loc[conv[0], ["act_bits", "weight_bits"]].tolist() == [8, 8]
    fc = ops[(ops["module"] == "fc") & (ops["op"] == "aten.linear")]
    assert fc[["act_bits", "weight_bits"]].values.tolist() == [[8, 8]]
    assert set(before["act_bits"].dropna()) == {8}


def test_a_type_override_reaches_every_module_of_that_type(compiled):
    r = labkit.compile("digits_cnn", U55, quantization={"default": "int8", torch.nn.Linear: "a8w4"}, progress=False)
    assert r.summary["quantization"] == "int8; Linear: a8w4"
    assert _bits(r, "aten.linear")[1] == {4}
    assert _bits(r, "aten.convolution")[1] == {8}


def test_calibration_count_is_part_of_the_key_and_changes_the_result(compiled):
    full = compiled("digits_cnn", U85)
    one = labkit.compile("digits_cnn", U85, calibration=1, progress=False)
    assert one.summary["cache_key"] != full.summary["cache_key"]
    assert (one.summary["calibration_samples"], full.summary["calibration_samples"]) == (1, 64)
    assert "int8 (1 calibration sample)" in labkit.plots.placement(one).layout.title.text
    assert labkit.cached("digits_cnn", U85, calibration=1).summary["cache_key"] == one.summary["cache_key"]


def test_a_user_module_with_overrides_by_path_and_local_type():
    class Block(torch.nn.Module):  # local to this function: the worker cannot import it
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(4, 4, 3, padding=1)

        def forward(self, x):
            return torch.relu(self.conv(x))

    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), Block(), Block())
    calibration = [(torch.randn(1, 3, 16, 16),) for _ in range(4)]
    r = labkit.compile(model, U85, example_inputs=calibration[0], calibration_inputs=calibration,
                       quantization={"default": "int8", Block: "a16w8", "2": "int8"}, progress=False)
    convs = r.operators[r.operators["op"] == "aten.convolution"]
    assert convs["act_bits"].tolist() == [8, 16, 8]


@pytest.mark.parametrize("value, words", [
    ("int9", ["Unknown quantization scheme 'int9'", "Did you mean 'int8'", "a16w8"]),
    ({"default": "int8", "conv3": "a16w8"}, ["no module 'conv3'", "conv1, conv2"]),
    ({"default": "int8", torch.nn.LayerNorm: "a16w8"}, ["no module of type LayerNorm", "Conv2d"]),
    ({"default": "int8", 3: "a16w8"}, ["module path (str) or an nn.Module type"]),
    (8, ["scheme name or a mapping"]),
])
def test_bad_quantization_is_one_clear_error_before_compiling(value, words, cache_dir):
    before = sorted(p.name for p in cache_dir.iterdir())
    with pytest.raises(QuantizationError) as e:
        labkit.compile("digits_cnn", U85, quantization=value, progress=False)
    assert all(w in str(e.value) for w in words), str(e.value)
    assert sorted(p.name for p in cache_dir.iterdir()) == before  # nothing written


@pytest.mark.parametrize("count, words", [(0, "an int ≥ 1"), (10_000, "is too many")])
def test_bad_calibration_count(count, words):
    with pytest.raises(QuantizationError, match=words):
        labkit.compile("digits_cnn", U85, calibration=count, progress=False)



def test_a_scheme_the_npu_cannot_run_is_one_clear_error(cache_dir):
    # Measured: Vela 5.1 refuses digits_mobilenet with 16-bit activations throughout on an
    # Ethos-U55 ("Non-passthrough operation (Conv2D) could not run on NPU"); the U85 runs it.
    before = {p.name for p in cache_dir.iterdir()}
    with pytest.raises(QuantizationError) as e:
        labkit.compile("digits_mobilenet", U55, quantization="a16w8", progress=False)
    assert "ethos-u55-128 cannot run digits_mobilenet with a16w8" in str(e.value)
    assert "Ethos-U85" in str(e.value) and "'default': 'int8'" in str(e.value)
    assert {p.name for p in cache_dir.iterdir()} - before <= {".lowered"}  # no entry for the refused compile
    staging = cache_dir / ".staging"
    assert not staging.exists() or not any(staging.iterdir())


def test_a_precision_sweep_lowers_once_per_scheme_and_profile(fresh_cache):
    from labkit import sweep_plots, sweep_tables
    from labkit.sweeps import reports

    df = labkit.sweep("digits_cnn", [U55, "ethos-u55-64", U85], quantization=["int8", "a16w8"], progress=False)
    assert df["quantization"].tolist() == ["int8"] * 3 + ["a16w8"] * 3 and (df["error"] == "").all()
    lowered = [(r.summary["quantization"], r.target.tosa_profile) for r in reports(df) if not r.summary["lowered_with"]]
    assert len(lowered) == len(set(lowered)) == 4  # 2 schemes x 2 TOSA profiles, each lowered once
    assert {r.summary["calibration_samples"] for r in reports(df)} == {64}  # a reused lowering says so too
    # One TOSA graph per scheme and profile: the same accuracy for both U55s; the one evaluate() reports.
    assert df.groupby(["quantization", "family"])["accuracy"].nunique().eq(1).all()
    wide = labkit.evaluate("digits_cnn", U85, quantization="a16w8").loc["tosa-reference", "accuracy"]
    assert df[(df["quantization"] == "a16w8") & (df["accelerator"] == U85)]["accuracy"].item() == wide
    fig = sweep_plots.precision(df)
    assert sum(len(t.x) for t in fig.data if t.name != "Pareto-optimal") == 6
    assert "accuracy vs time" in fig.layout.title.text and "int8 / a16w8" in fig.layout.title.text
    assert "quantization" in sweep_tables.table(df) and sweep_tables.ACCURACY in sweep_tables.table(df)
