"""What a live demo or a classroom finds: bad input, crashes, interruptions,
concurrent use. Each user mistake is one LabkitError naming the problem and the
fix; nothing cached is ever half-written."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

import labkit
from labkit import cache, errors
from labkit.jobs import make_job
from labkit.targets import bundled_vela_ini
from tests.models_for_tests import TinyConv, example


class OnlySort(torch.nn.Module):
    def forward(self, x):
        return torch.sort(x, dim=-1)[0]


def _entries(root: Path) -> list[Path]:
    return [d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")]


def test_model_with_no_npu_operator_still_compiles_and_says_why():
    r = labkit.compile(OnlySort(), "ethos-u55-128", example_inputs=example(), progress=False)
    assert r.summary["partitions"] == 0 and r.summary["npu_ops"] == 0
    assert any("no operator runs on the NPU" in w for w in r.warnings)
    assert (r.operators.loc[r.operators["placement"] == "CPU", "reason"].str.len() > 0).all()
    # no NPU partition, so no Q/DQ sits at a partition boundary
    assert not r.operators["reason"].str.contains("boundary").any()
    assert r.operators["reason"].str.contains(r"between CPU operators \(aten.sort\)").any()


def test_model_too_large_for_the_memory_mode(tmp_path):
    ini = tmp_path / "small_sram.ini"
    ini.write_text(open(bundled_vela_ini()).read() + "\n[Memory_Mode.Sram_8KB]\ninherit=Memory_Mode.Sram_Only\n"
                   "arena_cache_size=8192\n")
    with pytest.raises(errors.ModelTooLargeError, match=r"needs \d+ KiB of SRAM but memory mode Sram_8KB gives "
                                                        r"Vela 8 KiB") as e:
        labkit.compile("resnet8", "ethos-u85-256", memory_mode="Sram_8KB", config_ini=str(ini), progress=False)
    assert e.value.report is not None and not e.value.report.fits
    r = labkit.compile("resnet8", "ethos-u85-256", memory_mode="Sram_8KB", config_ini=str(ini), progress=False,
                       allow_overflow=True)
    assert any("does not fit" in w for w in r.warnings)


def test_unwritable_cache_dir_works_without_cache(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("LABKIT_CACHE_DIR", str(blocker / "cache"))  # a folder inside a file: never writable
    with pytest.warns(UserWarning, match="not writable"):
        r = labkit.compile(TinyConv(), "ethos-u85-128", example_inputs=example(), progress=False)
    assert r.summary["macs"] > 0 and not r.from_cache


def test_cache_dir_is_user_only(cache_dir):
    labkit.compile(TinyConv(), "ethos-u85-128", example_inputs=example(), progress=False)
    assert (cache_dir.stat().st_mode & 0o777) == 0o700


def test_killed_worker_gives_an_error_and_the_next_compile_works(fresh_cache):
    from labkit.worker import shared

    stages, result = [], {}

    def compile_in_thread():
        try:
            labkit.compile("mobilenet_v1_025", "ethos-u65-256", cache=True,
                           progress=lambda stage, detail="": stages.append(stage))
        except BaseException as e:  # noqa: BLE001
            result["error"] = e

    thread = threading.Thread(target=compile_in_thread)
    thread.start()
    deadline = time.time() + 300
    while "quantize" not in stages and time.time() < deadline:
        time.sleep(0.05)
    os.kill(shared().pid, signal.SIGKILL)  # a hard crash of the native toolchain, as far as the kernel can tell
    thread.join(120)
    assert isinstance(result.get("error"), errors.WorkerCrashedError)
    assert "died" in str(result["error"])
    assert not list((fresh_cache / ".staging").iterdir())
    r = labkit.compile("mobilenet_v1_025", "ethos-u65-256", progress=False)
    assert r.summary["total_cycles"] > 0 and not r.from_cache


def test_cancel_leaves_no_partial_entry(fresh_cache):
    cancel = threading.Event()
    before = set(_entries(fresh_cache))

    def progress(stage, detail=""):
        if stage == "lower":
            cancel.set()

    with pytest.raises(errors.CompileCancelled):
        labkit.compile("deep_autoencoder", "ethos-u65-512", progress=progress, cancel=cancel)
    assert set(_entries(fresh_cache)) == before and not list((fresh_cache / ".staging").iterdir())
    assert labkit.compile("deep_autoencoder", "ethos-u65-512", progress=False).summary["total_cycles"] > 0


def test_keyboard_interrupt_leaves_no_partial_entry(fresh_cache):
    before = set(_entries(fresh_cache))

    def progress(stage, detail=""):
        if stage == "quantize":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        labkit.compile("deep_autoencoder", "ethos-u55-32", progress=progress)
    assert set(_entries(fresh_cache)) == before and not list((fresh_cache / ".staging").iterdir())
    assert labkit.compile("deep_autoencoder", "ethos-u55-32", progress=False).summary["total_cycles"] > 0


def test_two_processes_compiling_the_same_thing(tmp_path):
    code = ("import labkit; r = labkit.compile('ds_cnn', 'ethos-u85-512', progress=False); "
            "print(r.summary['total_cycles'], r.directory)")
    env = dict(os.environ, LABKIT_CACHE_DIR=str(tmp_path))
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=600)[0].split() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert outs[0][0] == outs[1][0] and int(outs[0][0]) > 0
    assert outs[0][1] == outs[1][1]  # both read the one committed entry
    assert len(_entries(tmp_path)) == 1 and not list((tmp_path / ".staging").iterdir())
    assert labkit.Report.load(Path(outs[0][1])).summary["total_cycles"] == int(outs[0][0])


def test_worker_is_recycled_when_it_grows(monkeypatch, tmp_path):
    """With a 0% growth allowance the worker is replaced after its second compile,
    and a fresh one is already warming up for the next."""
    from labkit import worker as worker_mod

    monkeypatch.setattr(worker_mod, "MAX_GROWTH", -0.5)  # any size counts as grown
    w = worker_mod.Worker()
    try:
        for i, target in enumerate(["ethos-u55-32", "ethos-u85-128"]):
            job = make_job(TinyConv(), labkit.resolve_target(target), example_inputs=example())
            w.run_group([job], [tmp_path / str(i)], lambda s, d="": None)
        assert w.recycled >= 1
        deadline = time.time() + 120
        while w.pid is None and time.time() < deadline:
            time.sleep(0.2)
        assert w.pid is not None  # the replacement was started without waiting for a compile
    finally:
        w.stop()
