"""Boards as targets and the whole deployment's memory, with real compiles: the planned
buffers are what ExecuTorch's own deserializer reads from the .pte, each partition's
scratch is what Vela reports, a model too big for a board gets the overflow message,
every preset fact has a source, a board of your own round-trips, and a sweep over
boards says which run the model and how close each comes to full."""

import tomllib

import numpy as np
import pytest
import torch

import labkit
from labkit import errors, hardware
from labkit.toolchain import vela
from tests.models_for_tests import ConvSortConv, example
from tests.zoo import ZOO

RESIDUAL_CNN = next(z for z in ZOO if z.name == "residual_cnn")


def _pte_plan(report):
    from executorch.exir._serialize._program import deserialize_pte_binary

    return deserialize_pte_binary(report.artifacts.pte.read_bytes()).program.execution_plan[0]


@pytest.mark.parametrize("model, target", [("ds_cnn", "ethos-u55-128"), ("digits_cnn", "ethos-u85-256"),
                                           ("deep_autoencoder", "ethos-u65-256")])
def test_planned_buffers_are_what_executorch_reads_from_the_pte(compiled, model, target):
    report = compiled(model, target)
    planned = report.buffers[report.buffers["kind"] == "planned"]["bytes"].tolist()
    assert planned == [n for n in _pte_plan(report).non_const_buffer_sizes[1:] if n]
    assert sum(report.buffers[report.buffers["kind"] == "program"]["bytes"]) == report.artifacts.pte.stat().st_size


def test_each_partitions_scratch_is_what_vela_reports(compiled):
    """Two NPU partitions (a sort on the CPU between them), on a Shared_Sram U55 and a
    Dedicated_Sram U65 (where the fast scratch is Vela's SRAM use)."""
    for target in ("ethos-u55-128", "ethos-u65-256"):
        report = compiled(ConvSortConv(), target, example_inputs=example())
        scratch = report.buffers[report.buffers["kind"] == "scratch"]
        fast = report.buffers[report.buffers["kind"] == "fast_scratch"]
        assert len(scratch) == len(report.artifacts.partitions) == 2
        for p in report.artifacts.partitions:
            with np.load(p.vela_dir / "out_vela.npz") as z:
                assert scratch[scratch["partition"] == p.index]["bytes"].item() == int(z["scratch_shape"][0])
            csv = vela.read_summary(p.vela_dir)
            if target == "ethos-u55-128":  # the feature maps live in SRAM: Vela's SRAM use is the scratch
                assert scratch[scratch["partition"] == p.index]["bytes"].item() == round(
                    float(csv["sram_memory_used"]) * 1024)
            else:  # Dedicated_Sram: the fast scratch is Vela's SRAM use
                assert fast[fast["partition"] == p.index]["bytes"].item() == round(
                    float(csv["sram_memory_used"]) * 1024)
        pools = hardware.runner_pools(report.buffers)
        assert pools["ET_ARM_BAREMETAL_SCRATCH_TEMP_ALLOCATOR_POOL_SIZE"][0] >= scratch["bytes"].max()
        assert pools["ET_ARM_BAREMETAL_SCRATCH_TEMP_ALLOCATOR_POOL_SIZE"][0] < scratch["bytes"].sum()  # shared


def test_a_model_too_big_for_a_board_says_where_by_how_much_and_what_would_fit():
    with pytest.raises(errors.ModelTooLargeError) as e:
        labkit.compile("mobilenet_v2", board="himax-we2", progress=False)
    text, report = str(e.value), e.value.report
    assert "does not fit himax-we2" in text and "SRAM (sram) needs" in text and "over by" in text
    over = report.regions[~report.regions["fits"]].iloc[0]
    assert over["region"] == "SRAM" and over["used"] > over["size"] == 2 * 1024 * 1024
    assert "Boards with room" in text and "int8" in text  # another board; the float input as int8
    fitting = labkit.compile("mobilenet_v2", board="alif-e8-hp", progress=False)
    assert fitting.fits and set(fitting.regions["region"]) == {"SRAM0", "SRAM1", "MRAM"}
    # Time on the board: the NPU at its clock (Vela's, from the board's own system config), the CPU at its own.
    assert fitting.target.clock_hz == fitting.board.npu_clock_hz == 400e6
    assert fitting.summary["cpu_clock_hz"] == 400e6 and "400 MHz" in fitting.summary_text()
    build = labkit.fvp.how_to_build_runner(fitting)
    assert "ET_ARM_BAREMETAL_METHOD_ALLOCATOR_POOL_SIZE=83886080" not in build
    method = hardware.runner_pools(fitting.buffers)["ET_ARM_BAREMETAL_METHOD_ALLOCATOR_POOL_SIZE"][0]
    assert f"-DET_ARM_BAREMETAL_METHOD_ALLOCATOR_POOL_SIZE={method}" in build
    assert method >= fitting.buffers[fitting.buffers["kind"] == "planned"]["bytes"].sum()


def test_every_preset_fact_has_a_source():
    data = tomllib.loads(hardware.PRESETS_FILE.read_text())
    assert len(data["boards"]) >= 14
    for board_id, entry in data["boards"].items():
        for table in ("cpu", "npu", "vela", "placement"):
            facts = entry[table]
            assert any(k == "source" or k.endswith("_source") for k in facts), (board_id, table)
        for table, keys in (("cpu", ("core", "clock_hz")), ("npu", ("accelerator", "clock_hz"))):
            for key in keys:  # the table's source, or the fact's own (clock_source for clock_hz)
                assert {"source", f"{key}_source", f"{key.removesuffix('_hz')}_source"} & set(entry[table]), \
                    (board_id, table, key)
        for region in entry["memory"]:
            assert region.get("source"), (board_id, region["name"])
        b = hardware.presets()[board_id]
        assert abs(b.target().clock_hz - b.npu_clock_hz) < 1, board_id  # the Vela config models its NPU clock


def test_a_board_of_your_own_round_trips(tmp_path):
    mine = {"id": "my-board", "name": "my board", "cpu_core": "cortex-m55", "cpu_clock_hz": 200e6,
            "accelerator": "ethos-u55-128", "npu_clock_hz": 500e6, "system_config": "Ethos_U55_High_End_Embedded",
            "memory_mode": "Shared_Sram",
            "regions": [{"name": "SRAM", "kind": "sram", "bytes": 512 * 1024},
                        {"name": "FLASH", "kind": "flash", "bytes": 4 * 2**20}],
            "placement": {"pte": "FLASH", "npu_scratch": "SRAM", "method_allocator_pool": "SRAM"}}
    b = labkit.board(mine)
    assert labkit.board(b.to_dict()) == b and b.sources == (("board", "user-supplied"),)
    toml = tmp_path / "mine.toml"
    toml.write_text("\n".join([f'{k} = {v!r}' if isinstance(v, str) else f"{k} = {v}" for k, v in mine.items()
                               if k not in ("regions", "placement")]
                              + ["[placement]", *(f'{k} = "{v}"' for k, v in mine["placement"].items())]
                              + [line for r in mine["regions"] for line in
                                 ("[[regions]]", f'name = "{r["name"]}"', f'kind = "{r["kind"]}"',
                                  f'bytes = {r["bytes"]}')]).replace("'", '"'))
    assert labkit.board(toml) == b
    report = labkit.compile(RESIDUAL_CNN.build(), board=toml, example_inputs=RESIDUAL_CNN.example(), progress=False)
    assert report.board == b and report.fits and report.target.cpu_clock_hz == 200e6
    loaded = labkit.Report.load(report.directory)  # the board comes back with the report
    assert loaded.board == b and loaded.regions.equals(report.regions)
    with pytest.raises(errors.TargetError, match="not one of its memory regions"):
        labkit.board({**mine, "placement": {**mine["placement"], "pte": "MRAM"}})


def test_a_sweep_over_boards_says_which_fit_and_how_fast():
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.Conv2d(8, 8, 3)).eval()
    df = labkit.sweep(model, boards=["himax-we2", "alif-e8-hp", "alif-e8-he"],
                      example_inputs=(torch.randn(1, 3, 32, 32),), progress=False)
    assert list(df["board"]) == ["himax-we2", "alif-e8-hp", "alif-e8-he"]
    assert df["fits"].all() and (df["margin_kib"] > 0).all() and df["tightest_region"].notna().all()
    he, hp = df.set_index("board").loc["alif-e8-he"], df.set_index("board").loc["alif-e8-hp"]
    assert he["inference_ms"] > hp["inference_ms"]  # a U55-128 at 160 MHz against a U85-256 at 400 MHz
