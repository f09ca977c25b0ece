"""``report.advise()``: candidate changes, each measured by a real compile.

Levers, where they apply (``LEVERS``):

- ``target``: the NPU configuration: the next MAC count down and up, the other system
  configs and memory modes Vela accepts for the accelerator. The TOSA graph is the
  report's own, so each costs Vela and a patched .pte (the lowering is reused), and the
  accuracy is the report's (the same program on the NPU).
- ``rewrites``: source edits labkit proves on the exported graph (``labkit.rewrites``),
  compiled as a rewritten copy of the model.
- ``cpu_kernels``: the other CPU kernel set, when operators run on the CPU.
- ``quantization``: 16-bit activations (a16w8) for the module where ``numerics`` finds the
  largest SQNR drop (needs evaluation data, to measure accuracy), or int8 for an a16w8
  model.

Candidates are compiled cheapest first (target, rewrites, cpu_kernels, quantization);
``budget`` caps the compiles (cache hits are free). Only measured improvements are
shown: faster (whole inference, NPU + CPU), less SRAM, more accurate, or fitting where
the report does not; and a smaller NPU that is as fast (within 2%).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable

import pandas as pd

from . import cache, scheduler, targets as targets_mod
from .errors import CompileCancelled, InputValueError, LabkitError
from .inputs import first_samples

LEVERS = ("target", "rewrites", "cpu_kernels", "quantization")
COLUMNS = ["change", "lever", "benefit", "why", "delta_ms", "delta_cycles", "delta_cpu_cycles", "delta_sram_kib",
           "delta_accuracy", "fits", "kwargs"]
SOURCES = {"delta_ms": "vela-estimate + cortex-m-estimate (NPU time plus the CPU range's middle)",
           "delta_cycles": "vela-estimate", "delta_cpu_cycles": "cortex-m-estimate",
           "delta_sram_kib": "vela-estimate", "delta_accuracy": "tosa-reference", "fits": "vela-estimate"}
FASTER_PCT = 1.0  # a change shorter by less than this share of the inference is noise, not advice
SMALLER_SRAM_PCT = 5.0
MORE_ACCURATE = 0.005
SMALLER_NPU_SLOWER_PCT = 2.0  # fewer MACs is advice when it costs at most this much time
NUMERICS_SAMPLES = 16


@dataclass
class Candidate:
    lever: str
    change: str
    why: str
    job: object  # toolchain.job.CompileJob
    kwargs: dict
    as_fed: Callable | None = None  # a data sample as the changed program takes it


def advise(report, *, data=None, levers=None, budget: int | None = None,
           progress: "bool | Callable[[int, int, str], None]" = True,
           cancel: threading.Event | None = None) -> pd.DataFrame:
    """Candidate changes to ``report``'s compile, each measured by a real compile and
    ranked by measured benefit (the changes that make the model fit first, then by time
    saved, accuracy gained, SRAM saved).

    Columns: ``change`` (in your terms), ``lever``, ``benefit``, ``why`` (the hotspot,
    fallback or numerics row it answers), the measured deltas against the report
    (``delta_ms``, ``delta_cycles`` vela-estimate, ``delta_cpu_cycles`` cortex-m-estimate,
    ``delta_sram_kib``, ``delta_accuracy`` tosa-reference when there is data), ``fits``,
    and ``kwargs``: ``labkit.compile(**kwargs)`` compiles the change.
    ``attrs``: ``message`` (what was tried), ``sources``, ``rejected`` (changes measured
    without a benefit, with their deltas), ``not_tried`` (over budget), ``failed``
    (candidates that could not be measured, with the error).

    data: (inputs, labels) to measure accuracy on; default: the model's evaluation data.
    levers: a subset of ``LEVERS``; default all. budget: at most this many compiles.
    progress, cancel: as for ``labkit.sweep``.
    """
    origin = report.compiled_from
    if origin is None:
        raise InputValueError("This Report was not compiled in this session (it was loaded from a folder or a "
                              "sweep), so labkit does not have its model. Get it with labkit.compile(model, "
                              "target, ...) (a cache hit: instant), then call .advise() on that.")
    chosen = _levers(levers)
    if budget is not None and (not isinstance(budget, int) or budget < 0):
        raise InputValueError(f"budget={budget!r}: give the number of compiles advise may spend (an int ≥ 0), "
                              "or None for no limit.")
    evaluation = data if data is not None else origin.model.evaluation()
    candidates, failed = [], []
    for lever, make in (("target", _target_candidates), ("rewrites", _rewrite_candidates),
                        ("cpu_kernels", _kernel_candidates), ("quantization", _quantization_candidates)):
        if lever in chosen:
            try:
                candidates += make(report, origin, evaluation)
            except LabkitError as e:  # the lever cannot apply to this model: say so, keep the others
                failed.append({"change": lever, "error": str(e)})
    tried, not_tried = _within_budget(candidates, budget)
    jobs = list({c.job.key: c.job for c in tried}.values())
    shown = scheduler.Progress(progress, label=f"advise {report.summary['model']}", total=len(jobs),
                               per_target=True)
    outcome = scheduler.run(jobs, progress=shown, cancel=cancel)
    if cancel is not None and cancel.is_set():
        raise CompileCancelled(f"Advice cancelled after {len(outcome.reports)} of {len(jobs)} compiles; those are "
                               "cached, so asking again continues from there.")
    accuracy = _Accuracy(origin, evaluation)
    rows = []
    for c in tried:
        measured = outcome.reports.get(c.job.key)
        if measured is None:
            error = outcome.errors.get(c.job.key)
            failed.append({"change": c.change, "error": str(error) if isinstance(error, LabkitError)
                           else f"{type(error).__name__}: {error}"})
            continue
        rows.append(_row(c, report, measured, accuracy))
    every = pd.DataFrame(rows, columns=COLUMNS + ["_score"])
    table = _rank(every)
    rejected = every[every["_score"].isna()].drop(columns=["_score", "kwargs", "benefit"])
    table.attrs.update({"model": report.summary["model"], "target": report.target.label, "sources": SOURCES,
                        "tried": len(tried), "not_tried": [c.change for c in not_tried], "failed": failed,
                        "rejected": rejected.to_dict(orient="records"),
                        "data": "none: accuracy not measured" if evaluation is None else "given" if data is not None
                        else "the model's evaluation data"})
    table.attrs["message"] = _message(table, report, len(tried), not_tried, failed)
    return table


def _levers(levers) -> tuple:
    if levers is None:
        return LEVERS
    chosen = (levers,) if isinstance(levers, str) else tuple(levers)
    unknown = [lever for lever in chosen if lever not in LEVERS]
    if unknown:
        raise InputValueError(f"Unknown lever(s) {', '.join(map(repr, unknown))}: choose from {', '.join(LEVERS)}.")
    return chosen


def _within_budget(candidates: list, budget: int | None) -> tuple[list, list]:
    """The candidates to measure: those in the cache, and the first ``budget`` compiles."""
    if budget is None:
        return candidates, []
    tried, not_tried, spent = [], [], set()
    for c in candidates:
        hit = cache.holds(c.job.key)
        if hit or c.job.key in spent or len(spent) < budget:
            tried.append(c)
            spent |= set() if hit else {c.job.key}
        else:
            not_tried.append(c)
    return tried, not_tried


# ---------------------------------------------------------------- candidates per lever

def _base_kwargs(report, origin) -> dict:
    t = report.target
    kwargs = {k: v for k, v in origin.kwargs.items() if v is not None}
    kwargs.update(target=t.preset or t.accelerator)
    if t.has_npu:
        kwargs.update(system_config=t.system_config, memory_mode=t.memory_mode)
    return kwargs


def _target_candidates(report, origin, evaluation) -> list:
    from .api import retarget

    t = report.target
    if not t.has_npu:
        return []
    hot = report.hotspots(top=len(report.operators))
    memory_bound = hot[hot["hint"].str.startswith("memory-bound")]
    poorly_used = hot[hot["hint"].str.startswith("only")]
    share = lambda rows: f"{rows['share_pct'].sum():.1f}% of the cycles"  # noqa: E731
    s = report.summary
    compute_why = (f"{int(s['npu_cycles']):,} of the NPU's {int(s['total_cycles']):,} cycles are MAC compute "
                   "(vela-estimate)")
    found: dict[tuple, tuple[str, str]] = {}
    family = [a for a in targets_mod.accelerators() if targets_mod.family_of(a) == t.family]
    macs = sorted(family, key=targets_mod.macs_of)
    i = macs.index(t.accelerator)
    if i + 1 < len(macs):
        found[(macs[i + 1], t.system_config, t.memory_mode)] = (
            f"{targets_mod.macs_of(macs[i + 1])} MACs/cycle instead of {t.macs} ({macs[i + 1]})", compute_why)
    if i > 0:
        found[(macs[i - 1], t.system_config, t.memory_mode)] = (
            f"{targets_mod.macs_of(macs[i - 1])} MACs/cycle instead of {t.macs} ({macs[i - 1]}): a smaller NPU",
            f"{len(poorly_used)} hotspot(s) keep under 10% of the MACs busy ({share(poorly_used)})"
            if len(poorly_used) else "a smaller NPU may be as fast where memory or the CPU limits the time")
    memory_why = (f"{len(memory_bound)} memory-bound hotspot(s), {share(memory_bound)}, e.g. "
                  f"{memory_bound.iloc[0]['node']}: {memory_bound.iloc[0]['hint'].split(';')[0]}"
                  if len(memory_bound) else "memory access: " + ", ".join(
                      f"{name} {int(report.operators[col].sum()):,}" for name, col in
                      (("SRAM", "sram_ac"), ("DRAM", "dram_ac"), ("flash", "flash_ac"))) +
                  f" cycles against {int(s['npu_cycles']):,} of compute (vela-estimate)")
    if not report.fits:
        memory_why = (f"the model needs {report.summary['sram_kib']:.0f} KiB of SRAM, more than "
                      f"{t.memory_mode} gives ({report.summary['sram_limit_kib']:.0f} KiB)")
    for system in _neighbour_systems(t):
        modes = targets_mod.valid_memory_modes(t.accelerator, system, t.config_ini)
        mode = t.memory_mode if t.memory_mode in modes else targets_mod.FAMILY_DEFAULTS[t.family][1]
        if mode in modes:
            found[(t.accelerator, system, mode)] = (f"system config {system} instead of {t.system_config}"
                                                    + (f", memory mode {mode}" if mode != t.memory_mode else ""),
                                                    memory_why)
    for mode in _other_memory_modes(t, report):
        change = f"memory mode {mode} instead of {t.memory_mode}"
        probe = targets_mod.Target(t.accelerator, t.system_config, mode, t.config_ini)
        if probe.weights_in_sram != t.weights_in_sram:
            change += " (the weights move from flash to SRAM)" if probe.weights_in_sram else \
                " (the weights move from SRAM to flash)"
        found[(t.accelerator, t.system_config, mode)] = (change, memory_why)
    base = _base_kwargs(report, origin)
    out = []
    for (accelerator, system, mode), (change, why) in found.items():
        target = targets_mod.resolve_target(accelerator, system, mode, t.config_ini, t.cpu)
        kwargs = {**base, "target": accelerator, "system_config": system, "memory_mode": mode}
        out.append(Candidate("target", change, why, retarget(origin.job, target), kwargs))
    return out


def _neighbour_systems(t) -> list[str]:
    """The other system configs of the same memory technology (Ethos_U85_SYS_DRAM_Low/_High
    for ..._Mid), else every other one Vela accepts for the accelerator."""
    valid = [s for s in targets_mod.valid_system_configs(t.accelerator, t.config_ini) if s != t.system_config]
    stem = t.system_config.rsplit("_", 1)[0]
    same = [s for s in valid if s.rsplit("_", 1)[0] == stem]
    return same or valid


def _other_memory_modes(t, report) -> list[str]:
    """The other memory modes; of the sized variants (Dedicated_Sram_384KB, ...), only when
    the model does not fit, the smallest that gives it enough."""
    valid = [m for m in targets_mod.valid_memory_modes(t.accelerator, t.system_config, t.config_ini)
             if m != t.memory_mode]
    plain = [m for m in valid if not m.endswith("KB")]
    if report.fits:
        return plain
    need = report.summary["sram_kib"]
    sized = sorted((int(m.rsplit("_", 1)[1][:-2]), m) for m in valid if m.endswith("KB"))
    return plain + [next(m for kib, m in sized if kib >= need)] if any(k >= need for k, _ in sized) else plain


def _rewrite_candidates(report, origin, evaluation) -> list:
    from . import rewrites
    from .api import make_job

    m = origin.model
    example = m.example()
    if example is None:
        return []
    calibration = m.own_calibration(origin.job.calibration_samples)
    found = [rewrites.channels_last_input(report, example, calibration)]
    if report.target.has_npu:
        found.append(rewrites.mean_to_adaptive_pool(report, m.float_module(), example, calibration))
    base = _base_kwargs(report, origin)
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


def _kernel_candidates(report, origin, evaluation) -> list:
    from .api import vary
    from .cpu import kernels

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
                      vary(origin.job, cpu_kernels=other), {**_base_kwargs(report, origin), "cpu_kernels": other})]


def _quantization_candidates(report, origin, evaluation) -> list:
    from .api import vary
    from .runtime.numerics import by_module, numerics

    if evaluation is None or not report.target.has_npu:
        return []
    q = origin.job.quantization
    base = _base_kwargs(report, origin)
    if q.schemes() == {"a16w8"}:
        return [Candidate("quantization", "int8 everywhere instead of a16w8",
                          f"a16w8's 16-bit activations cost NPU cycles ({int(report.summary['total_cycles']):,} "
                          "cycles, vela-estimate) and memory", vary(origin.job, quantization="int8"),
                          {**base, "quantization": "int8"})]
    if "a16w8" in q.schemes() or q.types:
        return []
    inputs, labels = evaluation
    subset = (first_samples(inputs, NUMERICS_SAMPLES), labels[:NUMERICS_SAMPLES])
    kw = origin.kwargs
    model = kw["model"]
    table = numerics(model, report.target, data=subset, example_inputs=kw.get("example_inputs"),
                     quantization=kw.get("quantization") or "int8",
                     calibration=kw.get("calibration_inputs") or kw.get("calibration"),
                     cpu_kernels=kw.get("cpu_kernels") or "cmsis-nn")
    modules = by_module(table, depth=2).dropna(subset=["largest_drop_db"])
    modules = modules[modules["module"] != ""].sort_values("largest_drop_db", ascending=False)
    if modules.empty or modules.iloc[0]["largest_drop_db"] <= 0:
        return []
    worst = modules.iloc[0]
    mapping = {"default": q.default, **dict(q.modules), worst["module"]: "a16w8"}
    why = (f"numerics: the largest SQNR drop is inside {worst['module']}, {worst['largest_drop_db']:.1f} dB "
           f"(fake-quant-int8 vs pytorch-float, {table.attrs['samples']} samples)")
    return [Candidate("quantization", f"16-bit activations in {worst['module']}: quantization={mapping!r}", why,
                      vary(origin.job, quantization=mapping), {**base, "quantization": mapping})]


# ---------------------------------------------------------------- measuring and ranking

class _Accuracy:
    """tosa-reference accuracy of the report and of each changed program, once per lowering."""

    def __init__(self, origin, evaluation):
        self.origin, self.evaluation = origin, evaluation
        self.found = {}

    def of(self, measured, c: Candidate | None = None) -> float:
        from .runtime.evaluate import tosa_accuracy

        if self.evaluation is None:
            return float("nan")
        job = c.job if c is not None else self.origin.job
        key = cache.lowering_key(job)
        if key not in self.found:
            data = self.evaluation
            if c is not None and c.as_fed is not None:
                from .runtime.evaluate import _samples

                samples, labels, _ = _samples(data, self.origin.model.example())
                data = ([c.as_fed(s) for s in samples], labels)
            self.found[key] = tosa_accuracy(measured, data, job.example_inputs or self.origin.model.example())
        return self.found[key]


def _total_ms(report) -> float:
    s = report.summary
    cpu = s.get("cpu_ms_est", 0.0)
    return float(s["inference_ms"]) + (0.0 if pd.isna(cpu) else float(cpu))


def _row(c: Candidate, report, measured, accuracy: _Accuracy) -> dict:
    s, m = report.summary, measured.summary
    base_ms, ms = _total_ms(report), _total_ms(measured)
    delta_accuracy = (accuracy.of(measured, c) - accuracy.of(report)) if accuracy.evaluation is not None \
        else float("nan")
    row = {"change": c.change, "lever": c.lever, "why": c.why, "kwargs": c.kwargs,
           "delta_ms": ms - base_ms, "delta_cycles": float(m["total_cycles"] - s["total_cycles"]),
           "delta_cpu_cycles": float(m.get("cpu_cycles_est", float("nan")) - s.get("cpu_cycles_est", float("nan"))),
           "delta_sram_kib": measured.sram_need_kib - report.sram_need_kib,
           "delta_accuracy": delta_accuracy, "fits": measured.fits}
    row["benefit"], row["_score"] = _benefit(row, report, measured, base_ms)
    return row


def _benefit(row: dict, report, measured, base_ms: float) -> tuple[str, tuple | None]:
    """What the change buys, in words, and its sort key (None: no benefit, not shown)."""
    faster = -100.0 * row["delta_ms"] / base_ms if base_ms else 0.0
    smaller = -100.0 * row["delta_sram_kib"] / report.sram_need_kib if report.sram_need_kib else 0.0
    accurate = row["delta_accuracy"] if row["delta_accuracy"] == row["delta_accuracy"] else 0.0
    fewer_macs = measured.target.macs < report.target.macs
    if not measured.fits and report.fits:
        return "", None
    said = []
    if measured.fits and not report.fits:
        said.append("fits in the memory mode's SRAM")
    if faster >= FASTER_PCT:
        said.append(f"{faster:.1f}% faster")
    if accurate >= MORE_ACCURATE:
        said.append(f"+{100 * accurate:.1f} points accuracy")
    if smaller >= SMALLER_SRAM_PCT and faster > -FASTER_PCT:
        said.append(f"{smaller:.1f}% less SRAM")
    if fewer_macs and faster > -SMALLER_NPU_SLOWER_PCT:
        said.append(f"a smaller NPU ({measured.target.macs} MACs), "
                    + ("as fast" if abs(faster) < 0.05 else f"{abs(faster):.1f}% " + ("faster" if faster > 0
                                                                                     else "slower")))
    if not said:
        return "", None
    costs = []
    if faster <= -FASTER_PCT and not fewer_macs:
        costs.append(f"{-faster:.1f}% slower")
    if accurate <= -MORE_ACCURATE:
        costs.append(f"{100 * accurate:.1f} points accuracy")
    text = "; ".join(said) + (f" (costs: {', '.join(costs)})" if costs else "")
    return text, (measured.fits and not report.fits, max(faster, 0.0), accurate, smaller)


def _rank(table: pd.DataFrame) -> pd.DataFrame:
    kept = table[table["_score"].notna()]
    order = sorted(range(len(kept)), key=lambda i: kept.iloc[i]["_score"], reverse=True)
    return kept.iloc[order].drop(columns="_score").reset_index(drop=True)


def _message(table, report, tried: int, not_tried: list, failed: list) -> str:
    name, target = report.summary["model"], report.target.label
    if tried == 0 and not not_tried:
        text = f"No lever applies to {name} on {target}: nothing to try."
    elif table.empty:
        text = (f"Nothing to improve: labkit compiled {tried} candidate change(s) of {name} on {target}, and none "
                "made it faster, smaller or more accurate by a measurable margin.")
    else:
        text = f"{len(table)} of {tried} measured change(s) improve {name} on {target}, best first."
    if not_tried:
        text += (f" {len(not_tried)} more not tried (budget; attrs['not_tried'] lists them): asking again "
                 "continues, as what was compiled is cached.")
    if failed:
        text += f" {len(failed)} could not be measured (see attrs['failed'])."
    return text


def describe_kwargs(kwargs: dict) -> dict:
    """``kwargs`` with every value JSON can hold as it is, and the rest (a rewritten copy
    of the model, tensors) described in words."""
    def plain(v):
        if v is None or isinstance(v, (str, int, float, bool)):
            return v
        if isinstance(v, dict):
            return {str(k): plain(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            if len(v) > 4 and all(isinstance(x, (list, tuple)) for x in v):
                return f"<{len(v)} samples>"
            return [plain(x) for x in v]
        if hasattr(v, "shape") and hasattr(v, "dtype"):
            import torch

            channels_last = v.dim() == 4 and v.is_contiguous(memory_format=torch.channels_last) \
                and not v.is_contiguous()
            return f"<tensor {'x'.join(map(str, v.shape))} {str(v.dtype).replace('torch.', '')}" \
                   f"{' channels-last' if channels_last else ''}>"
        return f"<{type(v).__name__}: the rewritten copy of the model>" if hasattr(v, "forward") else repr(v)

    return {k: plain(v) for k, v in kwargs.items()}


def call_text(kwargs: dict) -> str:
    """``labkit.compile(...)`` as a user would write it for ``kwargs`` (values described)."""
    shown = describe_kwargs(kwargs)
    return "labkit.compile(" + ", ".join(f"{k}={v!r}" if not (isinstance(v, str) and v.startswith("<"))
                                         else f"{k}={v}" for k, v in shown.items()) + ")"
