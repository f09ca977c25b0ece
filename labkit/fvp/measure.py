"""``labkit.fvp.run``: a Report's .pte on the Corstone FVP for its NPU, measured."""

from __future__ import annotations

import dataclasses
import math
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from ..errors import FvpNotFoundError, FvpRunError, FvpTimeoutError, InputValueError, LabkitError, RunnerNotFoundError
from ..inputs import leaves, run_inputs
from ..report import Report
from ..toolchain import pte as pte_file
from .command import DEFAULT_TIMEOUT, fvp_command
from .console import FvpRun, parse
from .discover import (
    FAMILIES,
    HOW_TO_INSTALL,
    accelerator_of,
    board,
    family,
    find_fvp,
    find_fvps,
    find_runner,
    how_to_build_runner,
    runner_mode,
)

# Error lines ExecuTorch's run_corstone treats as a failed run (runner_utils.py, error_regex).
_PROBLEM = re.compile(r"(^[EF][: ].*$)|(^.*Hard fault.*$)|(^.*Assertion.*$)", re.MULTILINE)
_TIME_LIMIT = re.compile(r"Simulation is stopping\. Reason: .*(time|limit).*", re.IGNORECASE)


@dataclasses.dataclass
class MeasuredRun(FvpRun):
    """An ``FvpRun`` launched by labkit: the parsed output plus how it was obtained."""

    command: list = dataclasses.field(default_factory=list)   # the FVP command line, as run
    exit_status: int | None = None                              # the FVP process's exit status
    seconds: float = math.nan                                   # wall-clock time of the simulation
    workdir: Path | None = None                                 # .pte, inputs, outputs and fvp.log
    report_key: str = ""                                        # cache key of the Report whose .pte ran
    mode: str = ""                                              # 'semihosting' | 'address' | 'baked-in'



def run(report, inputs=None, *, timeout: float = DEFAULT_TIMEOUT, fvp=None, runner=None, pte_address=None,
        workdir=None, fast: bool = False) -> MeasuredRun:
    """Run ``report``'s .pte on the Corstone FVP for its NPU and return the parsed, measured run.

    ``inputs``: a tensor or tuple of tensors shaped like the compiled program's inputs; None fills every input
    with ones (what ExecuTorch's runner does when it is given no input). ``timeout`` (s) is the FVP's
    ``--timelimit``; the process is killed if it overruns it. ``fvp``/``runner``: explicit paths, else they
    are looked up (PATH, LABKIT_FVP_DIR, LABKIT_ARM_RUNNER, EXECUTORCH_ROOT). ``pte_address``: for a runner
    built with ``--pte=<address>``, where the FVP puts the .pte. ``workdir``: where the .pte, inputs,
    outputs and ``fvp.log`` go (default: a new temporary folder, kept).

    Raises FvpNotFoundError (no FVP, with how to get one), RunnerNotFoundError (no usable runner, with how
    to build one), FvpTimeoutError, FvpRunError (the program did not complete)."""
    pte = _pte_of(report)
    acc = accelerator_of(report)
    fam = family(acc)
    fvp_path = Path(fvp) if fvp else find_fvp(acc)
    if fvp_path is None or not fvp_path.is_file():
        others = [f"{label}: {p}" for label, p in find_fvps().items() if p]
        raise FvpNotFoundError(
            f"No Corstone FVP for {acc}: {FAMILIES[fam][0]} is not on PATH or under LABKIT_FVP_DIR"
            + (f" (found only {'; '.join(others)})" if others else "") + ". " + HOW_TO_INSTALL
            + " Until then labkit shows Vela's estimates only.")
    s, t = report.results, report.target
    runner_path = Path(runner) if runner else find_runner(acc)
    if runner_path is None or not runner_path.is_file():
        raise RunnerNotFoundError(
            f"No ExecuTorch arm_executor_runner for {board(acc)}: the FVP needs the bare-metal runner, built for "
            f"{acc} with ExecuTorch's backends/arm/scripts and the arm-none-eabi toolchain. Build it:\n"
            + how_to_build_runner(report)
            + "\nthen pass runner=<path>, or set LABKIT_ARM_RUNNER or EXECUTORCH_ROOT.")
    mode = runner_mode(runner_path, pte, pte_address)
    if mode is None:
        raise RunnerNotFoundError(
            f"{runner_path} is not a runner labkit can give this report's .pte: it was built with a .pte inside "
            "(--pte=<file>) that is not this report's. Build a semihosting runner (--pte=semihosting):\n"
            + how_to_build_runner(report))
    if inputs is not None and mode != "semihosting":
        raise LabkitError(f"this runner ({mode}) cannot read inputs from the host: it fills them with ones. Run "
                          "without inputs, or build a semihosting runner (--pte=semihosting).")

    work = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="labkit-fvp-"))
    work.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(pte, work / "model.pte")

    in_specs, out_specs = pte_file.io_specs(pte_file.read(pte).program)
    names: list[str] = []
    if mode == "semihosting":
        names = write_inputs(work, inputs, in_specs)
    cmd = fvp_command(acc, fvp_path, runner_path, workdir=work, inputs=names, timeout=timeout, mode=mode,
                      pte_address=pte_address, pte_path=work / "model.pte", fast=fast)
    rc, text, killed, seconds = launch(cmd, timeout, cwd=work, env=_fvp_env(fvp_path))
    log = work / "fvp.log"
    log.write_text(text)

    completed = "Program complete" in text
    if killed or (not completed and (_TIME_LIMIT.search(text) or seconds >= 0.98 * timeout)):
        raise FvpTimeoutError(
            f"The FVP did not finish {report.model} on {acc} within timeout={timeout:g} s (--timelimit). The "
            f"simulator is far slower than hardware and large models take minutes: try "
            f"labkit.fvp.run(report, timeout={int(max(2 * timeout, 1800))}). If it never finishes, check that "
            f"the runner was built for {acc} (log: {log}).")
    problems = [m.group(0).strip() for m in _PROBLEM.finditer(text)]
    try:
        parsed = parse(text, acc)
    except ValueError:
        tail = " | ".join(text.strip().splitlines()[-5:]) or "(no output)"
        raise FvpRunError(f"The FVP exited with status {rc} without the runner's report ({tail}). Check that "
                          f"{runner_path} is an arm_executor_runner built for {acc}; log: {log}") from None
    if problems or not parsed.completed:
        shown = "; ".join(problems[:5]) or f"no 'Program complete' line, exit status {rc}"
        raise FvpRunError(f"The program did not complete on the FVP ({shown}). Full log: {log}")

    fields = {f.name: getattr(parsed, f.name) for f in dataclasses.fields(FvpRun)}
    result = MeasuredRun(**fields, command=cmd, exit_status=rc, seconds=seconds, workdir=work,
                         report_key=str(s.get("cache_key", "")), mode=mode)
    if mode == "semihosting":
        result.outputs = read_outputs(work, out_specs, "out")
    result.notes.append("inputs: " + ("given by the caller" if inputs is not None else
                                      "all ones (as ExecuTorch's runner fills inputs it is not given)"))
    if fast:
        result.notes.append("run with the Ethos-U model's --fast option (as ExecuTorch's unit tests do); "
                            "ExecuTorch's run_fvp.sh leaves it off for performance runs")
    result.notes.append("the runner's timing adapters come from the system config and memory mode it was built "
                        f"for; labkit cannot check that they are this report's ({t.system_config}, "
                        f"{t.memory_mode})")
    return result


def _pte_of(report) -> Path:

    if not isinstance(report, Report):
        raise LabkitError(f"fvp.run needs the Report labkit.compile() returned, not {type(report).__name__}: "
                          "report = labkit.compile(model, target); labkit.fvp.run(report).")
    pte = Path(report.artifacts.pte)
    if not pte.is_file():
        raise LabkitError(f"The report's .pte ({pte}) is missing: its cache entry was removed. Compile again "
                          "(labkit.compile) and run the new report.")
    return pte


def _fvp_env(fvp_path: Path) -> dict:
    """The Corstone-320 FVP needs its bundled Python libraries (fvp_utils.sh adds <FVP>/python/lib)."""
    env = dict(os.environ)
    for parent in Path(fvp_path).resolve().parents[:4]:
        lib = parent / "python" / "lib"
        if lib.is_dir():
            env["LD_LIBRARY_PATH"] = os.pathsep.join(filter(None, [str(lib), env.get("LD_LIBRARY_PATH")]))
            break
    return env


def launch(cmd: list[str], timeout: float, *, cwd=None, env=None, grace: float = 30.0):
    """Run ``cmd`` (stdout and stderr together) and return (exit status, text, killed, seconds). The FVP's
    own --timelimit should end it; if it overruns by ``grace`` seconds, its process group is killed."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    killed = False
    try:
        out, _ = proc.communicate(timeout=timeout + grace)
    except subprocess.TimeoutExpired:
        killed = True
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the group this Popen started (start_new_session)
        except ProcessLookupError:
            pass
        out, _ = proc.communicate()
    text = out.decode("utf-8", errors="replace").replace("\r\n", "\n")
    return proc.returncode, text, killed, time.perf_counter() - started



def write_inputs(workdir: Path, inputs, specs: list) -> list[str]:
    """Write each input as the runner reads it (raw bytes in the tensor's dim order): i0.bin, i1.bin, ..."""
    import torch


    tensors = tuple(leaves(run_inputs(inputs))) if inputs is not None else \
        tuple(torch.ones(s[0], dtype=s[1]) for s in specs if s is not None)
    if len(tensors) != len(specs) or any(s is None for s in specs):
        raise InputValueError(f"the compiled program takes {len(specs)} tensor input(s), got {len(tensors)}.")
    names = []
    for i, (t, (sizes, dtype, dim_order)) in enumerate(zip(tensors, specs)):
        if tuple(t.shape) != sizes or t.dtype != dtype:
            raise InputValueError(f"input {i} is {tuple(t.shape)} {t.dtype}; the compiled program takes "
                                  f"{sizes} {dtype}.")
        data = t.detach().permute(dim_order).contiguous().numpy().tobytes()
        name = f"i{i}.bin"
        (Path(workdir) / name).write_bytes(data)
        names.append(name)
    return names


def read_outputs(workdir: Path, specs: list, base: str = "out") -> list[list[float]]:
    """The runner's ``<base>-<i>.bin`` files as flat lists, in the order the runtime holds the values."""
    import numpy as np
    import torch

    outs = []
    for i, spec in enumerate(specs):
        path = Path(workdir) / f"{base}-{i}.bin"
        if spec is None or not path.is_file():
            outs.append([])
            continue
        np_dtype = torch.empty((), dtype=spec[1]).numpy().dtype
        outs.append(np.fromfile(path, dtype=np_dtype).astype(float).tolist())
    return outs

