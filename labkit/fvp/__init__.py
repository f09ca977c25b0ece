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

Here: discover.py (finding FVPs and runners, what is missing), command.py (the
FVP command line, a pure function), measure.py (``run``) and console.py (``parse``); no
module is named like a function it exports.
"""

from ..errors import FvpNotFoundError, FvpRunError, FvpTimeoutError, RunnerNotFoundError
from .command import DEFAULT_TIMEOUT, fvp_command, semihosting_cmd_line
from .console import PUBLISHED_LOGS, FvpRun, parse, published_log
from .discover import (
                       FAMILIES,
                       FVP_BINARIES,
                       HOW_TO_INSTALL,
                       board,
                       cpu_kernels_of_report,
                       doctor_lines,
                       family,
                       find_fvp,
                       find_fvps,
                       find_runner,
                       how_to_build_runner,
                       missing,
                       num_macs,
                       runner_mode,
)
from .measure import MeasuredRun, launch, read_outputs, run, write_inputs

__all__ = ["run", "parse", "FvpRun", "MeasuredRun", "fvp_command", "semihosting_cmd_line", "find_fvps", "find_fvp",
           "find_runner", "runner_mode", "doctor_lines", "missing", "how_to_build_runner", "cpu_kernels_of_report",
           "family", "num_macs",
           "board", "launch", "write_inputs", "read_outputs", "FAMILIES", "FVP_BINARIES", "HOW_TO_INSTALL",
           "DEFAULT_TIMEOUT", "PUBLISHED_LOGS", "published_log", "FvpNotFoundError", "FvpRunError", "FvpTimeoutError",
           "RunnerNotFoundError"]
