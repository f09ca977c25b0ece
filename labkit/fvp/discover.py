"""Finding the Corstone FVPs and ExecuTorch's bare-metal runner, and saying exactly
what is missing (``labkit doctor``, the Lab's FVP tab) and how to build the runner."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .. import hardware, targets

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
_RUNNER_NAME = "arm_executor_runner"
_SEMIHOSTING_MARK = b"-o output_basename"  # the semihosting runner's usage message (arm_executor_runner.cpp)


def accelerator_of(target) -> str:
    """The accelerator string of a Report, a Target or a string."""
    if isinstance(target, targets.Target):
        return target.accelerator
    own = getattr(target, "target", None)  # a Report
    return own.accelerator if isinstance(own, targets.Target) else str(target)


def family(accelerator) -> str:
    """'ethos-u85' for 'ethos-u85-256' (or for a Report or Target)."""
    return targets.family_of(accelerator_of(accelerator))


def num_macs(accelerator) -> int:
    return targets.macs_of(accelerator_of(accelerator))


def board(accelerator) -> str:
    """ExecuTorch's board name for the accelerator: corstone-300, corstone-300-u65 or corstone-320."""
    return FAMILIES[family(accelerator)][1]


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
                        memory_mode: str | None = None, kernels: list[str] | None = None) -> str:
    """The commands that build ExecuTorch's semihosting arm_executor_runner for this target:
    an accelerator (with its system config and memory mode), or a Report, whose runner is then
    built for its own configuration, with the CPU kernels its program calls, and with pools
    sized from its deployment (``hardware.runner_pools``) instead of ExecuTorch's defaults.
    ``kernels``: the CPU kernels the runner must include (a report brings its own)."""
    pools = None
    if not isinstance(accelerator, str):  # a Report
        report = accelerator
        t = report.target
        accelerator, system_config, memory_mode = t.accelerator, t.system_config, t.memory_mode
        kernels, pools = cpu_kernels_of_report(report), hardware.runner_pools(report.buffers)
    fam = family(accelerator)
    acc = accelerator_of(accelerator)
    if acc == fam:
        acc = {"ethos-u55": "ethos-u55-128", "ethos-u65": "ethos-u65-256", "ethos-u85": "ethos-u85-256"}[fam]
    sc_default, mm_default = targets.FAMILY_DEFAULTS[fam]
    system_config, memory_mode = system_config or sc_default, memory_mode or mm_default
    out = f"arm_test/arm_semihosting_executor_runner_{board(acc)}"
    sizes = pools or {"ET_ARM_BAREMETAL_METHOD_ALLOCATOR_POOL_SIZE": (83886080, "")}
    flags = " ".join(f"-D{option}={size}" for option, (size, _) in sizes.items())
    sized = (["# Pools sized from this report's deployment (labkit.hardware.runner_pools):"]
             + [f"#   {option} = {size:,} B: {how}" for option, (size, how) in pools.items()]) if pools else \
        ["# Pools: 80 MiB for the method allocator, room for any model; give a Report to size them from its plan."]
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
        *sized,
        f"./backends/arm/scripts/build_executor_runner.sh --pte=semihosting --target={acc} "
        f"--system_config={system_config} --memory_mode={memory_mode} --build_type=Release "
        f"--et_build_root=arm_test --output={out} "
        f'--extra_build_flags="{flags}"',
        f"export EXECUTORCH_ROOT=$PWD   # labkit finds {out}/{_RUNNER_NAME}",
        f"# or: export LABKIT_ARM_RUNNER=$PWD/{out}/{_RUNNER_NAME}   (or labkit.fvp.run(report, runner=...))",
        *_kernel_lines(kernels or []),
    ])


def cpu_kernels_of_report(report) -> list[str]:
    """The distinct CPU kernels a report's program calls (its operators' ``kernel`` column)."""
    ops = report.operators
    if "kernel" not in ops:
        return []
    names = [k.split(" · ")[0] for k in ops["kernel"].fillna("") if k and not k.startswith("no kernel")]
    return sorted(set(part.strip() for name in names for part in name.split(" + ")))


def _kernel_lines(kernels: list[str]) -> list[str]:
    """What the runner must be built with for these CPU kernels."""
    if not kernels:
        return []
    cortex_m = [k for k in kernels if k.startswith("cortex_m.")]
    other = [k for k in kernels if not k.startswith("cortex_m.")]
    lines = ["# This program's CPU kernels, which the runner must include:"]
    if cortex_m:
        lines.append(f"#   the Cortex-M backend's (EXECUTORCH_BUILD_CORTEX_M=ON, on in the Arm bare-metal build), "
                     f"CMSIS-NN for the core: {', '.join(cortex_m)}")
    if other:
        lines.append(f"#   ExecuTorch's portable and quantized kernels: {', '.join(other)}")
    return lines


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

