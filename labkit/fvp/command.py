"""The FVP command line: a pure function of the target, the FVP, the runner and the
files, as ExecuTorch 1.5.1 runs it (runner_utils.run_corstone, run_fvp.sh)."""

from __future__ import annotations

import math
from pathlib import Path

from ..errors import LabkitError
from .discover import FAMILIES, FVP_BINARIES, family, num_macs

DEFAULT_TIMEOUT = 600  # s; run_fvp.sh's default ("might need to be higher on large models")
SEMIHOSTING_CMDLINE_MAX = 256  # runner_utils.run_corstone: longer semihosting command lines get truncated


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

