"""What an audience sees in a cell: the known noise of labkit's libraries is stopped
where it is logged, and a real warning from the same loggers still shows."""

import subprocess
import sys


def test_importing_the_toolchain_after_labkit_prints_no_known_noise():
    code = ("import labkit, logging, torchao\n"
            "from executorch.backends.arm.quantizer import EthosUQuantizer\n"
            "logging.getLogger('torchao').warning('a real warning stays')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    for known in ("Failed to load", "Enum subclass", "Detected no triton"):
        assert known not in out.stderr, out.stderr[-2000:]
    assert "a real warning stays" in out.stderr
