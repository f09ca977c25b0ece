"""The ``rewrites`` lever: source edits labkit proves on the exported graph
(``labkit.rewrites``), each compiled as a rewritten copy of the model."""

from __future__ import annotations

from .. import rewrites
from ..jobs import make_job
from .candidate import Candidate, base_kwargs


def candidates(report, origin, evaluation) -> list:
    m = origin.model
    example = m.example()
    if example is None:
        return []
    calibration = m.own_calibration(origin.job.calibration_samples)
    found = [rewrites.channels_last_input(report, example, calibration)]
    if report.target.has_npu:
        found.append(rewrites.mean_to_adaptive_pool(report, m.float_module(), example, calibration))
    base = base_kwargs(report, origin)
    base.pop("calibration", None)  # the copy carries its calibration samples
    out = []
    for rw in (r for r in found if r is not None):
        module = rw.module if rw.module is not None else m.float_module()
        kwargs = {**base, "model": module, "example_inputs": rw.example_inputs,
                  "calibration_inputs": rw.calibration_inputs, "name": m.name}
        job = make_job(module, report.target, example_inputs=rw.example_inputs,
                       calibration_inputs=rw.calibration_inputs, name=m.name,
                       quantization=origin.kwargs.get("quantization"), cpu_kernels=origin.job.cpu_kernels)
        out.append(Candidate("rewrites", rw.change, rw.why, job, kwargs, as_fed=rw.as_fed))
    return out
