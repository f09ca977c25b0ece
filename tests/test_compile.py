"""Real compiles with the real ExecuTorch and Vela: the Report against the tools' own outputs."""

import csv
from pathlib import Path

import pytest
import torch

import labkit
from labkit import errors
from tests.models_for_tests import ConvSortConv, DataDependent, Raises, TinyConv, example

SUMMARY_FIELDS = ["model", "accelerator", "system_config", "memory_mode", "clock_hz", "npu_cycles", "total_cycles",
                  "inference_ms", "inferences_per_s", "sram_kib", "flash_kib", "dram_kib", "macs", "npu_ops",
                  "cpu_ops", "partitions", "pte_bytes", "weights", "source", "torch_version",
                  "executorch_version", "vela_version", "compile_seconds"]
OPERATOR_COLUMNS = ["node", "op", "module", "module_type", "source", "placement", "reason"]


def _vela_csv_rows(report):
    rows = []
    for p in report.artifacts.partitions:
        (path,) = Path(p.vela_dir).glob("out_summary_*.csv")
        rows.append(next(csv.DictReader(path.open())))
    return rows


@pytest.mark.parametrize("target", ["ethos-u55-128", "ethos-u85-256"])
def test_ds_cnn_totals_equal_vela_summary_csvs(compiled, target):
    r = compiled("ds_cnn", target)
    rows = _vela_csv_rows(r)
    assert len(rows) == r.summary["partitions"] >= 1
    assert r.summary["total_cycles"] == sum(int(float(x["cycles_total"])) for x in rows)
    assert r.summary["npu_cycles"] == sum(int(float(x["cycles_npu"])) for x in rows)
    assert r.summary["macs"] == sum(int(float(x["nn_macs"])) for x in rows)
    assert r.summary["inference_ms"] == pytest.approx(sum(float(x["inference_time"]) for x in rows) * 1e3)
    for field in SUMMARY_FIELDS:
        assert field in r.summary.index, field
    assert r.summary["source"] == "vela-estimate"
    assert r.summary["weights"] == "random" and any("random weights" in w for w in r.warnings)
    assert r.summary["accelerator"] == target
    assert r.summary["pte_bytes"] == Path(r.artifacts.pte).stat().st_size > 0


@pytest.mark.parametrize("target", ["ethos-u55-128", "ethos-u85-256"])
def test_operator_table(compiled, target):
    ops = compiled("ds_cnn", target).operators
    assert set(OPERATOR_COLUMNS) <= set(ops.columns)
    assert not ops["op"].str.contains("placeholder|output").any()
    assert set(ops["placement"]) <= {"NPU", "CPU"}
    cpu = ops[ops["placement"] == "CPU"]
    assert (cpu["reason"].str.len() > 0).all()
    convs = ops[ops["op"] == "aten.convolution"]
    assert len(convs) == 9
    assert "feature_extractor.4.depthwise" in set(convs["module"])
    assert convs["source"].str.contains(r"ds_cnn\.py:\d+$").all()


@pytest.mark.parametrize("target", ["ethos-u55-128", "ethos-u85-256"])
def test_placement_agrees_with_get_delegation_info(compiled, target):
    r = compiled("ds_cnn", target)
    ours = r.operators.assign(op_type=r.operators["node"].str.replace(r"_\d+$", "", regex=True))
    theirs = r.delegation[~r.delegation["op_type"].isin(["Total", "getitem", "alloc"])]
    for _, row in theirs.iterrows():
        mine = ours[ours["op_type"] == row["op_type"]]
        assert (mine["placement"] == "NPU").sum() == row["occurrences_in_delegated_graphs"], row["op_type"]
        assert (mine["placement"] == "CPU").sum() == row["occurrences_in_non_delegated_graphs"], row["op_type"]


def test_u55_rejects_ds_cnn_pool_with_executorch_reason(compiled):
    ops = compiled("ds_cnn", "ethos-u55-128").operators
    pool = ops[ops["op"] == "aten.avg_pool2d"].iloc[0]
    assert pool["placement"] == "CPU" and "kernel" in pool["reason"]
    assert compiled("ds_cnn", "ethos-u55-128").summary["partitions"] == 2
    u85 = compiled("ds_cnn", "ethos-u85-256").operators
    assert u85[u85["op"] == "aten.avg_pool2d"].iloc[0]["placement"] == "NPU"


def test_multi_partition_user_module_keeps_every_partitions_outputs(compiled):
    r = labkit.compile(ConvSortConv(), "ethos-u55-128", example_inputs=example(), progress=False)
    assert r.summary["partitions"] == 2
    dirs = [Path(p.vela_dir) for p in r.artifacts.partitions]
    assert len(set(dirs)) == 2 and all((d / "out_per-layer.csv").exists() for d in dirs)
    assert all(Path(p.tosa).exists() for p in r.artifacts.partitions)
    assert set(r.layers["partition"]) == {0, 1}
    sort = r.operators[r.operators["op"].str.contains("sort")]
    assert (sort["placement"] == "CPU").all() and (sort["reason"].str.len() > 0).all()
    assert r.summary["total_cycles"] == sum(int(float(x["cycles_total"])) for x in _vela_csv_rows(r))
    assert r.summary["weights"] == "user-supplied"


def test_pt2_file_compiles_like_the_module(tmp_path):
    path = tmp_path / "tiny.pt2"
    torch.export.save(torch.export.export(TinyConv().eval(), example()), str(path))
    from_file = labkit.compile(str(path), "ethos-u85-256", progress=False)
    from_module = labkit.compile(TinyConv(), "ethos-u85-256", example_inputs=example(), progress=False)
    assert from_file.summary["model"] == "tiny"
    assert from_file.summary["npu_ops"] == from_module.summary["npu_ops"] > 0
    assert from_file.summary["macs"] == from_module.summary["macs"] > 0


def test_cache_hit_and_corrupt_entry_recovery(compiled):
    first = compiled("ds_cnn", "ethos-u85-256")
    again = labkit.compile("ds_cnn", "ethos-u85-256", progress=False)
    assert again.from_cache and again.directory == first.directory
    assert again.summary["total_cycles"] == first.summary["total_cycles"]
    # Corrupt one byte of the Vela output: the entry must be recompiled, not trusted.
    victim = Path(again.artifacts.partitions[0].vela_dir) / "out_per-layer.csv"
    victim.write_text(victim.read_text().replace("Conv2D", "Conv2X", 1))
    fresh = labkit.compile("ds_cnn", "ethos-u85-256", progress=False)  # recompiled silently
    assert not fresh.from_cache
    assert fresh.summary["total_cycles"] == first.summary["total_cycles"]
    assert "Conv2X" not in victim.read_text()


def test_no_cache_compiles_in_a_private_folder(cache_dir):
    r = labkit.compile(TinyConv(), "ethos-u55-64", example_inputs=example(), cache=False, progress=False)
    assert not str(r.directory).startswith(str(cache_dir)) and r.summary["macs"] > 0


def test_in_process_mode_gives_the_same_report(compiled):
    worker = compiled("resnet8", "ethos-u85-256")
    local = labkit.compile("resnet8", "ethos-u85-256", cache=False, in_process=True, progress=False)
    assert local.summary["total_cycles"] == worker.summary["total_cycles"]
    assert local.operators["placement"].tolist() == worker.operators["placement"].tolist()


def test_compile_leaves_the_users_module_in_its_mode():
    model = TinyConv().train()
    labkit.compile(model, "ethos-u85-128", example_inputs=example(), cache=False, in_process=True, progress=False)
    assert model.training and model.conv.training


def test_progress_reports_every_stage():
    stages = []
    labkit.compile(TinyConv(), "ethos-u85-128", example_inputs=example(), cache=False,
                   progress=lambda stage, detail="": stages.append(stage))
    assert [s for i, s in enumerate(stages) if s not in stages[:i]] == list(labkit.STAGES)


# ------------------------------------------------------------------ errors

def test_unknown_model_lists_builtins():
    with pytest.raises(errors.UnknownModelError, match="ds_cnn.*mobilenet_v2"):
        labkit.compile("resnet9000")


def test_not_a_module():
    with pytest.raises(errors.InvalidModelError, match="Expected a torch.nn.Module"):
        labkit.compile(42, example_inputs=example())
    with pytest.raises(errors.InvalidModelError, match="instance"):
        labkit.compile(TinyConv, example_inputs=example())


def test_missing_example_inputs():
    with pytest.raises(errors.ExampleInputError, match="needs example inputs"):
        labkit.compile(TinyConv())


def test_wrong_shape_example_inputs():
    with pytest.raises(errors.ExampleInputError, match=r"\(1, 5, 16, 16\)"):
        labkit.compile(TinyConv(), example_inputs=(torch.rand(1, 5, 16, 16),))


def test_wrong_dtype_example_inputs():
    with pytest.raises(errors.ExampleInputError, match="int64"):
        labkit.compile(TinyConv(), example_inputs=(torch.ones(1, 3, 16, 16, dtype=torch.int64),))


def test_forward_that_raises():
    with pytest.raises(errors.ExampleInputError, match="broken on purpose"):
        labkit.compile(Raises(), example_inputs=example())


def test_data_dependent_control_flow(capfd):
    capfd.readouterr()
    with pytest.raises(errors.ExportError, match="data-dependent control flow"):
        labkit.compile(DataDependent(), example_inputs=example())
    err = capfd.readouterr().err
    assert "def forward" not in err and "Unable to find user code" not in err  # the one error, no torch noise


def test_invalid_target_refused_before_compiling():
    with pytest.raises(errors.TargetError, match="Ethos_U55_High_End_Embedded"):
        labkit.compile(TinyConv(), "ethos-u55-128", example_inputs=example(),
                       system_config="Ethos_U85_SYS_DRAM_Mid")


def test_pt2_path_missing_or_not_an_export(tmp_path):
    with pytest.raises(errors.InvalidModelError, match="does not exist"):
        labkit.compile(str(tmp_path / "nothing.pt2"))
    junk = tmp_path / "junk.pt2"
    junk.write_bytes(b"not a zip")
    with pytest.raises(errors.InvalidModelError, match="not a torch.export file"):
        labkit.compile(str(junk))


def test_vela_failure_is_one_clear_error(tmp_path):
    """A system config Vela cannot use (core clock 0: regor reports its feature-map
    memory as not configured). labkit's own checks pass it; Vela refuses it."""
    from labkit.targets import bundled_vela_ini

    ini = tmp_path / "broken.ini"
    ini.write_text(open(bundled_vela_ini()).read() + """
[System_Config.Broken_Board]
core_clock=0
axi0_port=Sram
axi1_port=Dram
""")
    with pytest.raises(errors.VelaError, match="Vela failed on NPU partition 1") as e:
        labkit.compile(TinyConv(), "ethos-u85-256", example_inputs=example(), system_config="Broken_Board",
                       memory_mode="Sram_Only", config_ini=str(ini), progress=False)
    assert "\n" not in str(e.value)


def test_cache_key_ignores_where_the_model_was_defined():
    """A notebook's model lives in /tmp/ipykernel_<pid>/...: a new kernel must still hit the cache."""
    from labkit.jobs import make_job
    from labkit.targets import resolve_target

    src = ("import torch\nclass M(torch.nn.Module):\n    def __init__(self):\n        super().__init__()\n"
           "        self.c = torch.nn.Conv2d(3, 4, 3)\n    def forward(self, x):\n        return torch.relu(self.c(x))\n")
    keys = []
    for filename in ("/tmp/ipykernel_1/111.py", "/tmp/ipykernel_2/222.py"):
        namespace = {}
        exec(compile(src, filename, "exec"), namespace)
        torch.manual_seed(0)
        keys.append(make_job(namespace["M"](), resolve_target("ethos-u85-128"), example_inputs=example()).key)
    assert keys[0] == keys[1]


def test_cache_hit_keeps_the_name_asked_for():
    torch.manual_seed(3)
    labkit.compile(TinyConv(), "ethos-u85-128", example_inputs=example(), name="first", progress=False)
    torch.manual_seed(3)
    again = labkit.compile(TinyConv(), "ethos-u85-128", example_inputs=example(), name="second", progress=False)
    assert again.from_cache and again.summary["model"] == "second"


def test_a_cache_hit_shows_the_preset_asked_for(compiled):
    by_accelerator = compiled("ds_cnn", "ethos-u85-256")  # the same hardware as corstone-320
    preset = labkit.compile("ds_cnn", "corstone-320", progress=False)
    assert preset.from_cache and preset.summary["cache_key"] == by_accelerator.summary["cache_key"]
    assert preset.summary["preset"] == preset.target.preset == "corstone-320"
    assert labkit.cached("ds_cnn", "ethos-u85-256").summary["preset"] == ""
