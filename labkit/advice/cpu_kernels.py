"""The ``cpu_kernels`` lever: the other CPU kernel set, when operators run on the CPU."""

from __future__ import annotations

from ..cpu import kernels
from ..jobs import vary
from .candidate import Candidate, base_kwargs


def candidates(report, origin, evaluation) -> list:
    ops = report.operators
    if "cpu_cycles_est" not in ops:
        return []
    cpu = ops[ops["cpu_cycles_est"].notna()]
    now = origin.job.cpu_kernels
    other = next(k for k in kernels.CPU_KERNELS if k != now)
    q = origin.job.quantization
    if cpu.empty or kernels.effective(other, q) == kernels.effective(now, q):
        return []
    work = report.cpu_work
    operators = work[(work["kind"] == "operator") & work["cpu_cycles_est"].notna()]
    if now == "cmsis-nn" and operators.empty:
        return []  # only the I/O conversions run on the CPU: CMSIS-NN's are its cheapest
    worst = (operators if len(operators) else work).sort_values("cpu_cycles_est", ascending=False).iloc[0]
    why = (f"{worst['op']} runs on the CPU ({worst['reason']}): {worst['kernel']}, "
           f"{int(worst['cpu_cycles_low']):,}–{int(worst['cpu_cycles_high']):,} cycles (cortex-m-estimate)")
    label = {"cmsis-nn": "CMSIS-NN kernels (the Cortex-M backend's int8 kernels)",
             "portable": "ExecuTorch's portable kernels"}[other]
    return [Candidate("cpu_kernels", f"run the CPU operators on {label}: cpu_kernels={other!r}", why,
                      vary(origin.job, cpu_kernels=other), {**base_kwargs(report, origin), "cpu_kernels": other})]
