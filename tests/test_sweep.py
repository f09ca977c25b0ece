"""Sweeps: lower once per TOSA profile, Vela per target; results equal single
compiles; every Report cached; any concurrent.futures Executor (dask too)."""

import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import labkit
from labkit.errors import CompileCancelled, TargetError
from labkit.sweeps import expand_targets, reports
from tests.models_for_tests import TinyConv, example

TARGETS = ["ethos-u55-64", "ethos-u65-512", "ethos-u85-512"]


@pytest.fixture(scope="module")
def resnet8_sweep(tmp_path_factory):
    """A cache of its own: the lessons compile some of these targets, and a target
    found in the cache would not take part in the shared lowering tested here."""
    import os

    saved = os.environ["LABKIT_CACHE_DIR"]
    os.environ["LABKIT_CACHE_DIR"] = str(tmp_path_factory.mktemp("sweep-cache"))
    try:
        yield labkit.sweep("resnet8", TARGETS, progress=False)
    finally:
        os.environ["LABKIT_CACHE_DIR"] = saved


def test_one_row_per_target_with_summary_columns(resnet8_sweep):
    df = resnet8_sweep
    assert df["accelerator"].tolist() == TARGETS
    for col in ["accelerator", "system_config", "memory_mode", "total_cycles", "npu_cycles", "inference_ms",
                "inferences_per_s", "sram_kib", "flash_kib", "npu_ops", "cpu_ops", "partitions", "macs"]:
        assert df[col].notna().all(), col
    assert (df["source"] == "vela-estimate").all() and (df["error"] == "").all()
    assert df.set_index("accelerator").loc["ethos-u85-512", "total_cycles"] < \
        df.set_index("accelerator").loc["ethos-u55-64", "total_cycles"]


def _program(report):
    """The .pte's program, without the intermediates folder ExecuTorch records in it."""
    from labkit.toolchain.pte import read

    program = read(report.artifacts.pte).program
    for plan in program.execution_plan:
        for delegate in plan.delegates:
            delegate.compile_specs = [s for s in delegate.compile_specs if s.key != "debug_artifact_path"]
    return program


def test_shared_lowering_gives_the_single_compile_result(resnet8_sweep):
    """ethos-u65-512 reuses the TOSA lowered for ethos-u55-64: its cycles, its
    operator table and its whole .pte program must be those of a compile of its own."""
    (report,) = [r for r in reports(resnet8_sweep) if r.summary["accelerator"] == "ethos-u65-512"]
    assert report.summary["lowered_with"] == "ethos-u55-64"
    solo = labkit.compile("resnet8", "ethos-u65-512", cache=False, progress=False)
    assert report.summary["total_cycles"] == solo.summary["total_cycles"]
    pd.testing.assert_frame_equal(report.operators, solo.operators)
    cmd = np.load(Path(report.artifacts.partitions[0].vela_dir) / "out_vela.npz")["cmd_data"].tobytes()
    other = np.load(Path(solo.artifacts.partitions[0].vela_dir) / "out_vela.npz")["cmd_data"].tobytes()
    assert cmd == other and cmd in Path(report.artifacts.pte).read_bytes()
    assert _program(report) == _program(solo)


def test_a_later_compile_reuses_the_cached_lowering(resnet8_sweep):
    """A target of a profile the cache has lowered already: Vela and the .pte only."""
    stages = []
    report = labkit.compile("resnet8", "ethos-u55-128", progress=lambda stage, detail="": stages.append(stage))
    assert report.summary["lowered_with"] == "ethos-u55-64"
    assert "lower" not in stages and "vela" in stages and not report.from_cache
    solo = labkit.compile("resnet8", "ethos-u55-128", cache=False, progress=False)
    assert report.summary["total_cycles"] == solo.summary["total_cycles"]
    pd.testing.assert_frame_equal(report.operators, solo.operators)
    assert _program(report) == _program(solo)


def test_every_report_cached_and_second_sweep_is_all_hits(resnet8_sweep):
    again = labkit.sweep("resnet8", TARGETS, progress=False)
    assert again["from_cache"].all()
    assert again["total_cycles"].tolist() == resnet8_sweep["total_cycles"].tolist()
    hit = labkit.compile("resnet8", "ethos-u85-512", progress=False)
    assert hit.from_cache


def test_progress_name_and_cancel(fresh_cache):
    """The callback counts finished targets; cancelling keeps what finished (cached,
    nothing half-written) and the next sweep continues from there."""
    cancel, seen = threading.Event(), []
    model, targets = TinyConv(), ["ethos-u55-32", "ethos-u55-64", "ethos-u55-128", "ethos-u85-128"]

    def progress(done, total, label):
        seen.append((done, total, label))
        if done >= 1:
            cancel.set()

    with pytest.raises(CompileCancelled, match="cached"):
        labkit.sweep(model, targets, example_inputs=example(), name="tiny", progress=progress, cancel=cancel)
    assert seen[0] == (0, 4, "") and seen[1][0] == 1 and "·" in seen[1][2]
    assert not list((fresh_cache / ".staging").iterdir())
    df = labkit.sweep(model, targets, example_inputs=example(), name="tiny", progress=False)
    assert (df["model"] == "tiny").all() and (df["error"] == "").all()
    assert df["from_cache"].sum() >= 1  # what finished before the cancel


def test_family_selection_and_memory_modes():
    u65 = expand_targets("u65", memory_modes=["Dedicated_Sram_384KB", "Dedicated_Sram_512KB"])
    assert {t.accelerator for t in u65} == {"ethos-u65-256", "ethos-u65-512"} and len(u65) == 4
    assert len(expand_targets("all")) == 11
    with pytest.raises(TargetError, match="No valid target"):
        expand_targets("u55", system_configs=["Ethos_U85_SYS_DRAM_Mid"])


def test_process_pool_executor(fresh_cache):
    """Any concurrent.futures Executor: here a plain process pool (spawned, as a
    cluster worker would be: nothing shared with this process but the arguments)."""
    import concurrent.futures as cf
    import multiprocessing

    with cf.ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        df = labkit.sweep(TinyConv(), ["ethos-u55-32", "ethos-u65-256", "ethos-u85-128"], example_inputs=example(),
                          executor=pool, progress=False)
    assert (df["error"] == "").all() and df["total_cycles"].gt(0).all()
    by_accelerator = {r.summary["accelerator"]: r for r in reports(df)}
    assert by_accelerator["ethos-u65-256"].summary["lowered_with"] == "ethos-u55-32"  # one lowering per profile
    assert len([d for d in fresh_cache.iterdir() if not d.name.startswith(".")]) == 3


def test_dask_local_cluster_executor():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        df = labkit.sweep(TinyConv(), ["ethos-u55-32", "ethos-u85-128"], example_inputs=example(),
                          executor=client.get_executor(), progress=False)
    assert (df["error"] == "").all() and df["total_cycles"].gt(0).all()
    local = labkit.compile(TinyConv(), "ethos-u85-128", example_inputs=example(), cache=False, progress=False)
    assert df.set_index("accelerator").loc["ethos-u85-128", "total_cycles"] == local.summary["total_cycles"]
