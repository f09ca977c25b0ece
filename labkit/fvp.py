"""Corstone FVPs: find them and ExecuTorch's bare-metal runner, run a Report's
``.pte`` on one, and parse what it prints.

The FVPs are a separate download from Arm (licence acceptance), so labkit looks
for them and says plainly what is missing; it never invents their numbers.
Everything an FVP produces is labelled ``fvp-measured``.

Where each piece comes from (ExecuTorch 1.5.1, the version labkit compiles with):

* the FVP command line: ``backends/arm/test/runner_utils.py`` ``run_corstone``
  (the semihosting run ExecuTorch's own tests use: ``-C ethosu.num_macs``,
  ``mps3_board``/``mps4_board`` UART and visualisation options,
  ``cpu0.semihosting-*``, ``-a <elf>``, ``--timelimit``) and
  ``backends/arm/scripts/run_fvp.sh`` (``uart0.shutdown_on_eot=1`` and
  ``--data <pte>@<addr>`` for a runner that reads the ``.pte`` from memory);
* which FVP for which NPU: ``runner_utils.get_target_board`` (U55 ->
  corstone-300, U65 -> corstone-300-u65, U85 -> corstone-320) and the FVP
  binary per board in ``run_corstone``;
* the runner's semihosting arguments ``-m model.pte -i input.bin -o out`` and
  its ``out-<i>.bin`` output files: ``examples/arm/executor_runner/arm_executor_runner.cpp``;
* where ExecuTorch's build puts the semihosting runners
  (``arm_test/arm_semihosting_executor_runner_<board>/arm_executor_runner``):
  ``runner_utils._elf_path_candidates`` and ``backends/arm/test/setup_testing.sh``.

Parsing lives in fvp_parse.py; ``parse`` and ``FvpRun`` are re-exported here.
"""

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

from .errors import FvpNotFoundError, LabkitError
from .fvp_parse import FvpRun, parse

__all__ = ["run", "parse", "FvpRun", "MeasuredRun", "fvp_command", "find_fvps", "find_fvp", "find_runner",
           "runner_mode", "doctor_lines", "missing", "how_to_build_runner", "HOW_TO_INSTALL",
           "FvpRunError", "FvpTimeoutError", "RunnerNotFoundError"]

FVP_BINARIES = {
    "Corstone-300 (Ethos-U55)": "FVP_Corstone_SSE-300_Ethos-U55",
    "Corstone-300 (Ethos-U65)": "FVP_Corstone_SSE-300_Ethos-U65",
    "Corstone-320 (Ethos-U85)": "FVP_Corstone_SSE-320",
}
# NPU family -> (FVP binary, ExecuTorch's board name); runner_utils.get_target_board / run_corstone.
FAMILIES = {
    "ethos-u55": ("FVP_Corstone_SSE-300_Ethos-U55", "corstone-300"),
    "ethos-u65": ("FVP_Corstone_SSE-300_Ethos-U65", "corstone-300-u65"),
    "ethos-u85": ("FVP_Corstone_SSE-320", "corstone-320"),
}
HOW_TO_INSTALL = (
    "Download the Corstone-300/320 FVPs from Arm (developer.arm.com, 'Arm Ecosystem FVPs'; a licence must be "
    "accepted), or run ExecuTorch's examples/arm/setup.sh --i-agree-to-the-contained-eula (it installs them under "
    "examples/arm/arm-scratch), then put the FVP binaries on PATH or set LABKIT_FVP_DIR to their folder "
    "(examples/arm/arm-scratch works)."
)
DEFAULT_TIMEOUT = 600  # s; run_fvp.sh's default ("might need to be higher on large models")
SEMIHOSTING_CMDLINE_MAX = 256  # runner_utils.run_corstone: longer semihosting command lines get truncated
_RUNNER_NAME = "arm_executor_runner"
_SEMIHOSTING_MARK = b"-o output_basename"  # the semihosting runner's usage message (arm_executor_runner.cpp)
# Error lines ExecuTorch's run_corstone treats as a failed run (runner_utils.py, error_regex).
_PROBLEM = re.compile(r"(^[EF][: ].*$)|(^.*Hard fault.*$)|(^.*Assertion.*$)", re.MULTILINE)
_TIME_LIMIT = re.compile(r"Simulation is stopping\. Reason: .*(time|limit).*", re.IGNORECASE)


class RunnerNotFoundError(FvpNotFoundError):
    """No ExecuTorch arm_executor_runner for the report's NPU (or one labkit cannot feed the .pte)."""


class FvpRunError(LabkitError):
    """The FVP ran but the program did not complete (runtime error, fault, wrong runner)."""


class FvpTimeoutError(FvpRunError):
    """The FVP did not finish within the timeout."""


@dataclasses.dataclass
class MeasuredRun(FvpRun):
    """An ``FvpRun`` launched by labkit: the parsed output plus how it was obtained."""

    command: list = dataclasses.field(default_factory=list)   # the FVP command line, as run
    exit_status: int | None = None                              # the FVP process's exit status
    seconds: float = math.nan                                   # wall-clock time of the simulation
    workdir: Path | None = None                                 # .pte, inputs, outputs and fvp.log
    report_key: str = ""                                        # cache key of the Report whose .pte ran
    mode: str = ""                                              # 'semihosting' | 'address' | 'baked-in'


# ====================================================================== discovery

def family(accelerator: str) -> str:
    """'ethos-u85' for 'ethos-u85-256' (or for a Report / its summary)."""
    acc = _accelerator(accelerator)
    m = re.match(r"(ethos-u\d+)", acc.lower())
    if not m or m.group(1) not in FAMILIES:
        raise LabkitError(f"{acc!r} is not an Ethos-U55/U65/U85 accelerator; the Corstone FVPs simulate those "
                          "three (e.g. 'ethos-u55-128', 'ethos-u85-256').")
    return m.group(1)


def num_macs(accelerator) -> int:
    acc = _accelerator(accelerator)
    try:
        return int(acc.rsplit("-", 1)[1])
    except (IndexError, ValueError):
        raise LabkitError(f"{acc!r} names no MAC count; use e.g. 'ethos-u85-256'.") from None


def board(accelerator) -> str:
    """ExecuTorch's board name for the accelerator: corstone-300, corstone-300-u65 or corstone-320."""
    return FAMILIES[family(accelerator)][1]


def _accelerator(target) -> str:
    summary = getattr(target, "summary", target)
    if hasattr(summary, "get") and not isinstance(summary, str):
        return str(summary.get("accelerator"))
    return str(target)


def _executorch_root() -> Path | None:
    env = os.environ.get("EXECUTORCH_ROOT")
    return Path(env).expanduser() if env else None


def _search_dirs() -> list[Path]:
    roots = []
    if env := os.environ.get("LABKIT_FVP_DIR"):
        roots.append(Path(env).expanduser())
    if (et := _executorch_root()) is not None:
        roots.append(et / "examples" / "arm" / "arm-scratch")  # where examples/arm/setup.sh installs them
    dirs = []
    for root in roots:
        # <root>/FVP-corstone300/models/Linux64_GCC-9.3/ is the installer's layout (fvp_utils.sh).
        dirs += [root, root / "bin", *sorted(root.glob("*/models/*"))]
    return dirs


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def find_fvps() -> dict[str, Path | None]:
    """Each known FVP binary: its path, or None when it is not installed."""
    found = {}
    for label, binary in FVP_BINARIES.items():
        hit = next((d / binary for d in _search_dirs() if _executable(d / binary)), None)
        which = shutil.which(binary)
        found[label] = hit or (Path(which) if which else None)
    return found


def find_fvp(accelerator) -> Path | None:
    """The FVP binary that simulates ``accelerator`` (a string or a Report), or None."""
    binary = FAMILIES[family(accelerator)][0]
    label = next(k for k, v in FVP_BINARIES.items() if v == binary)
    return find_fvps()[label]


def _runner_candidates(accelerator) -> list[Path]:
    """ExecuTorch's own places for the semihosting runner of this board (runner_utils._elf_path_candidates)."""
    root = _executorch_root()
    if root is None:
        return []
    build = root / "arm_test" / f"arm_semihosting_executor_runner_{board(accelerator)}"
    return [build / _RUNNER_NAME, build / "Release" / _RUNNER_NAME,
            build / "examples" / "arm" / "executor_runner" / _RUNNER_NAME,
            build / "examples" / "arm" / "executor_runner" / "Release" / _RUNNER_NAME]


def find_runner(accelerator=None) -> Path | None:
    """A prebuilt ExecuTorch arm_executor_runner: ``LABKIT_ARM_RUNNER`` if set and present, else (for an
    accelerator) the semihosting runner ExecuTorch's build puts under ``$EXECUTORCH_ROOT/arm_test/``."""
    env = os.environ.get("LABKIT_ARM_RUNNER")
    if env and Path(env).expanduser().is_file():
        return Path(env).expanduser()
    if accelerator is None:
        return None
    return next((p for p in _runner_candidates(accelerator) if p.is_file()), None)


def runner_mode(runner: Path, pte: Path | None = None, pte_address=None) -> str | None:
    """How ``runner`` gets its .pte: 'semihosting' (reads -m model.pte from the host), 'address' (reads it
    from memory where the FVP's --data puts it; needs ``pte_address``), 'baked-in' (the runner holds this very
    .pte), or None (a runner built with another .pte inside, or not an arm_executor_runner)."""
    data = Path(runner).read_bytes()
    if _SEMIHOSTING_MARK in data:
        return "semihosting"
    if pte_address is not None:
        return "address"
    if pte is not None and Path(pte).read_bytes() in data:
        return "baked-in"
    return None


def how_to_build_runner(accelerator="ethos-u85-256", system_config: str | None = None,
                        memory_mode: str | None = None) -> str:
    """The commands that build ExecuTorch's semihosting arm_executor_runner for this target."""
    from .targets import FAMILY_DEFAULTS

    fam = family(accelerator)
    acc = _accelerator(accelerator)
    if acc == fam:
        acc = {"ethos-u55": "ethos-u55-128", "ethos-u65": "ethos-u65-256", "ethos-u85": "ethos-u85-256"}[fam]
    sc_default, mm_default = FAMILY_DEFAULTS[fam]
    system_config, memory_mode = system_config or sc_default, memory_mode or mm_default
    out = f"arm_test/arm_semihosting_executor_runner_{board(acc)}"
    return "\n".join([
        "# An ExecuTorch checkout at the commit of your installed ExecuTorch, the Arm GNU toolchain",
        "# (arm-none-eabi-gcc) and the Ethos-U SDK (examples/arm/setup.sh installs both, and the FVPs):",
        "git clone https://github.com/pytorch/executorch.git && cd executorch",
        f"git checkout {_executorch_commit()}",
        "git submodule update --init --recursive",
        "./examples/arm/setup.sh --i-agree-to-the-contained-eula",
        "source examples/arm/arm-scratch/setup_path.sh",
        "# ExecuTorch's runtime libraries for bare-metal Cortex-M:",
        "./backends/arm/scripts/build_executorch.sh --et_build_root=arm_test --build_type=Release",
        "# The runner, reading the .pte and inputs from the host (semihosting); its timing adapters come",
        "# from --system_config/--memory_mode, so build it for the report's own configuration:",
        f"./backends/arm/scripts/build_executor_runner.sh --pte=semihosting --target={acc} "
        f"--system_config={system_config} --memory_mode={memory_mode} --build_type=Release "
        f"--et_build_root=arm_test --output={out} "
        "--extra_build_flags=-DET_ARM_BAREMETAL_METHOD_ALLOCATOR_POOL_SIZE=83886080",
        f"export EXECUTORCH_ROOT=$PWD   # labkit finds {out}/{_RUNNER_NAME}",
        f"# or: export LABKIT_ARM_RUNNER=$PWD/{out}/{_RUNNER_NAME}   (or labkit.fvp.run(report, runner=...))",
    ])


def _executorch_commit() -> str:
    try:
        from executorch.version import git_version

        return git_version or "v1.5.1"
    except Exception:  # noqa: BLE001 - only used in a help text
        return "v1.5.1"


def missing(accelerator) -> list[str]:
    """What is missing to run ``accelerator`` on an FVP (empty when labkit.fvp.run can run it)."""
    fam = family(accelerator)
    binary = FAMILIES[fam][0]
    out = []
    if find_fvp(accelerator) is None:
        out.append(f"{binary} (the FVP for {fam.upper().replace('ETHOS', 'Ethos')}) is not on PATH or under "
                   f"LABKIT_FVP_DIR. {HOW_TO_INSTALL}")
    if find_runner(accelerator) is None:
        out.append(f"No arm_executor_runner for {board(accelerator)}: set LABKIT_ARM_RUNNER to a prebuilt one, or "
                   f"EXECUTORCH_ROOT to an ExecuTorch checkout holding arm_test/arm_semihosting_executor_runner_"
                   f"{board(accelerator)}/ (see labkit.fvp.how_to_build_runner()).")
    return out


def doctor_lines() -> list[str]:
    lines = []
    fvps = find_fvps()
    for label, path in fvps.items():
        lines.append(f"{label:<26} {path if path else 'not found'}")
    runners = {}
    for fam, (_, brd) in FAMILIES.items():
        runners[fam] = find_runner(f"{fam}-128")
        where = runners[fam] if runners[fam] else "not found (LABKIT_ARM_RUNNER, or $EXECUTORCH_ROOT/arm_test/)"
        lines.append(f"{'runner ' + brd:<26} {where}")
    gcc = shutil.which("arm-none-eabi-gcc")
    lines.append(f"{'arm-none-eabi-gcc':<26} {gcc if gcc else 'not found (only needed to build the runner)'}")
    ready = [fam for fam, (binary, _) in FAMILIES.items()
             if runners[fam] and fvps[next(k for k, v in FVP_BINARIES.items() if v == binary)]]
    if not any(fvps.values()):
        lines.append("no Corstone FVP: labkit shows Vela estimates only. " + HOW_TO_INSTALL)
    if not any(runners.values()):
        lines.append("no arm_executor_runner: labkit.fvp.run needs ExecuTorch's bare-metal runner; build it with "
                     "ExecuTorch's backends/arm/scripts (labkit.fvp.how_to_build_runner(), README 'Corstone FVP').")
    if ready:
        lines.append("labkit.fvp.run(report) can run: " + ", ".join(ready))
    return lines


# ====================================================================== the command line

def fvp_command(target, fvp, runner, *, workdir=None, pte: str = "model.pte", inputs=("i0.bin",),
                output: str = "out", timeout: float = DEFAULT_TIMEOUT, mode: str = "semihosting",
                pte_address=None, pte_path=None, fast: bool = False) -> list[str]:
    """The FVP command line that runs ``runner`` for ``target`` (a Report or an accelerator string).

    mode 'semihosting': the runner reads ``pte`` and ``inputs`` (names relative to ``workdir``) through
    semihosting and writes ``<output>-<i>.bin`` there (ExecuTorch's runner_utils.run_corstone);
    'address': the FVP loads ``pte_path`` at ``pte_address`` (run_fvp.sh ``--data``); 'baked-in': the
    runner holds the .pte. ``timeout`` becomes ``--timelimit``. ``fast`` adds the Ethos-U model's
    ``--fast`` option, which ExecuTorch's unit tests use and its run_fvp.sh leaves off."""
    fam = family(target)
    macs = num_macs(target)
    name = Path(fvp).name
    if name in FVP_BINARIES.values() and name != FAMILIES[fam][0]:
        raise LabkitError(f"{name} does not simulate {fam}: use {FAMILIES[fam][0]}.")
    if mode not in ("semihosting", "address", "baked-in"):
        raise ValueError(f"mode must be 'semihosting', 'address' or 'baked-in', not {mode!r}")
    u85 = fam == "ethos-u85"
    board_ = "mps4_board" if u85 else "mps3_board"
    npu = "mps4_board.subsystem.ethosu" if u85 else "ethosu"
    cpu = "mps4_board.subsystem.cpu0" if u85 else "cpu0"
    params = [f"{npu}.num_macs={macs}", f"{board_}.visualisation.disable-visualisation=1"]
    if u85:
        params.append("vis_hdlcd.disable_visualisation=1")
    params += [f"{board_}.telnetterminal0.start_telnet=0", f"{board_}.uart0.out_file='-'"]
    if u85:
        params.append(f"{board_}.uart0.unbuffered_output=1")
    params.append(f"{board_}.uart0.shutdown_on_eot=1")
    if fast:
        params.append(f"{npu}.extra_args='--fast'")
    if mode == "semihosting":
        if workdir is None:
            raise ValueError("semihosting needs the workdir that holds the .pte and the inputs")
        cmd_line = semihosting_cmd_line(pte, inputs, output)
        params += [f"{cpu}.semihosting-enable=1", f"{cpu}.semihosting-stack_base=0",
                   f"{cpu}.semihosting-heap_limit=0", f"{cpu}.semihosting-cwd={workdir}",
                   f"{cpu}.semihosting-cmd_line='{cmd_line}'"]
    cmd = [str(fvp)]
    for p in params:
        cmd += ["-C", p]
    cmd += ["-a", str(runner)]
    if mode == "address":
        if pte_address is None or pte_path is None:
            raise ValueError("mode 'address' needs pte_address and pte_path")
        cmd += ["--data", f"{pte_path}@{_hex(pte_address)}"]
    cmd += ["--timelimit", str(int(math.ceil(timeout)))]
    return cmd


def semihosting_cmd_line(pte: str = "model.pte", inputs=("i0.bin",), output: str = "out") -> str:
    """The runner's argv as the FVP passes it through semihosting: ``-m <pte> -o <out> -i <input>...``."""
    line = f"executor_runner -m {pte} -o {output}" + "".join(f" -i {name}" for name in inputs)
    if len(line) > SEMIHOSTING_CMDLINE_MAX:
        raise LabkitError(f"the semihosting command line is {len(line)} characters; the FVP truncates it after "
                          f"{SEMIHOSTING_CMDLINE_MAX}. Use shorter file names (labkit uses i0.bin, i1.bin, ...).")
    return line


def _hex(address) -> str:
    value = int(address, 0) if isinstance(address, str) else int(address)
    return f"0x{value:08x}"


# ====================================================================== running

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
    acc = _accelerator(report)
    fam = family(acc)
    fvp_path = Path(fvp) if fvp else find_fvp(acc)
    if fvp_path is None or not fvp_path.is_file():
        others = [f"{label}: {p}" for label, p in find_fvps().items() if p]
        raise FvpNotFoundError(
            f"No Corstone FVP for {acc}: {FAMILIES[fam][0]} is not on PATH or under LABKIT_FVP_DIR"
            + (f" (found only {'; '.join(others)})" if others else "") + ". " + HOW_TO_INSTALL
            + " Until then labkit shows Vela's estimates only.")
    s = report.summary
    runner_path = Path(runner) if runner else find_runner(acc)
    if runner_path is None or not runner_path.is_file():
        raise RunnerNotFoundError(
            f"No ExecuTorch arm_executor_runner for {board(acc)}: the FVP needs the bare-metal runner, built for "
            f"{acc} with ExecuTorch's backends/arm/scripts and the arm-none-eabi toolchain. Build it:\n"
            + how_to_build_runner(acc, s.get("system_config"), s.get("memory_mode"))
            + "\nthen pass runner=<path>, or set LABKIT_ARM_RUNNER or EXECUTORCH_ROOT.")
    mode = runner_mode(runner_path, pte, pte_address)
    if mode is None:
        raise RunnerNotFoundError(
            f"{runner_path} is not a runner labkit can give this report's .pte: it was built with a .pte inside "
            "(--pte=<file>) that is not this report's. Build a semihosting runner (--pte=semihosting):\n"
            + how_to_build_runner(acc, s.get("system_config"), s.get("memory_mode")))
    if inputs is not None and mode != "semihosting":
        raise LabkitError(f"this runner ({mode}) cannot read inputs from the host: it fills them with ones. Run "
                          "without inputs, or build a semihosting runner (--pte=semihosting).")

    work = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="labkit-fvp-"))
    work.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(pte, work / "model.pte")
    in_specs, out_specs = io_specs(pte)
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
            f"The FVP did not finish {s['model']} on {acc} within timeout={timeout:g} s (--timelimit). The "
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
                        f"for; labkit cannot check that they are this report's ({s.get('system_config')}, "
                        f"{s.get('memory_mode')})")
    return result


def _pte_of(report) -> Path:
    from .report import Report

    if not isinstance(report, Report):
        raise LabkitError(f"fvp.run needs the Report labkit.compile() returned, not {type(report).__name__}: "
                          "report = labkit.compile(model, target); labkit.fvp.run(report).")
    pte = Path(report.artifacts.get("pte", ""))
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


# ====================================================================== the program's inputs and outputs

def io_specs(pte: Path) -> tuple[list, list]:
    """[(sizes, torch dtype, dim_order)] of the program's inputs and of its outputs, read from the .pte."""
    from executorch.exir._serialize._program import deserialize_pte_binary

    from .simulate import _dtype

    plan = deserialize_pte_binary(Path(pte).read_bytes()).program.execution_plan[0]

    def spec(i):
        val = plan.values[i].val
        if type(val).__name__ != "Tensor":
            return None
        return tuple(int(d) for d in val.sizes), _dtype(val.scalar_type), [int(d) for d in val.dim_order]

    return [spec(i) for i in plan.inputs], [spec(i) for i in plan.outputs]


def write_inputs(workdir: Path, inputs, specs: list) -> list[str]:
    """Write each input as the runner reads it (raw bytes in the tensor's dim order): i0.bin, i1.bin, ..."""
    import torch

    from .errors import InputValueError
    from .simulate import _as_inputs

    tensors = _as_inputs(inputs) if inputs is not None else \
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
