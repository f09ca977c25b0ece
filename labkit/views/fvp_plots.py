"""Figures and tables of an FVP run beside the Report it belongs to (or not).

``estimate_vs_measured(report, run)`` puts Vela's cycle estimate beside the
Ethos-U PMU's measured NPU active cycles, with the CPU cycles the FVP printed
labelled as not cycle-accurate. Its title names both sources; its caption says
whether the run is of this report's own ``.pte`` and, where it is not, how the
two builds differ (so a published log is never passed off as a run here).
Same style as ``plots``: NPU / CPU colours, transparent background, target and
source in the title.
"""

from __future__ import annotations

import html
import textwrap

import pandas as pd
import plotly.graph_objects as go

from .. import targets
from .plots import target_label
from .theme import CPU_COLOR, NPU_COLOR, SOURCE_LABELS, note, style

FVP_LABEL = SOURCE_LABELS["fvp-measured"]      # 'FVP measured'
VELA_LABEL = SOURCE_LABELS["vela-estimate"]    # 'Vela estimate'

def _same_build(report, run) -> bool:
    key = str(report.summary.get("cache_key", ""))
    return bool(key) and getattr(run, "report_key", None) == key


def provenance(report, run) -> list[str]:
    """Plain sentences on how ``run`` relates to ``report``: same .pte or not, weights, NPU family."""
    s, t = report.results, report.target
    lines = []
    if _same_build(report, run):
        lines.append(f"The FVP ran this report's own .pte (labkit.fvp.run, {getattr(run, 'mode', '')} runner).")
    else:
        size = run.allocator.get("model_pte_loaded_size") if run.allocator else None
        diff = (f" Its .pte was {size:,} bytes; this report's is {int(s['pte_bytes']):,} bytes."
                if size and "pte_bytes" in s and int(size) != int(s["pte_bytes"]) else "")
        lines.append("The FVP figures are not from this report's .pte but from another build "
                     f"(different weights, toolchain and options).{diff} Compare their scale, not Vela's accuracy.")
    if str(s.get("weights", "")) == "random":
        lines.append(f"This report's {report.model} has random weights: Vela's weight compression, and so its "
                     "estimate, depends on them.")
    if targets.family_or_none(run.target) and targets.family_or_none(run.target) != targets.family_or_none(t.accelerator):
        lines.append(f"The run is of an {targets.family_label(targets.family_or_none(run.target))}, the report of an "
                     f"{targets.family_label(targets.family_or_none(t.accelerator))}.")
    return lines


def estimate_vs_measured(report, run, *, caption: str | None = None, run_label: str | None = None) -> go.Figure:
    """Bars: Vela's estimated total and NPU cycles for ``report`` beside the FVP's measured NPU active cycles
    (the Ethos-U PMU cycle counter) of ``run``, and the CPU cycles the FVP printed (not cycle-accurate).
    ``run`` may be None (no FVP): Vela's bars only, saying so. ``caption`` adds a sentence (e.g. what a
    published log is); ``run_label`` names the run in the title (default: 'FVP measured')."""
    s = report.results
    same = run is not None and _same_build(report, run)
    label = run_label or (FVP_LABEL + (" (this .pte)" if same else " (another build)" if run is not None else ""))
    fig = go.Figure()
    x_est = [f"{VELA_LABEL}<br>total cycles", f"{VELA_LABEL}<br>NPU cycles"]
    y_est = [int(s["total_cycles"]), int(s["npu_cycles"])]
    fig.add_bar(x=x_est, y=y_est, name=f"{VELA_LABEL} (vela-estimate)", marker=dict(
        color=NPU_COLOR, opacity=0.55, line=dict(color=NPU_COLOR, width=2)),
        text=[f"{v:,}" for v in y_est], textposition="outside",
        hovertemplate="%{x}: %{y:,} cycles<extra>Vela's compiler estimate</extra>")
    notes = []
    if run is not None:
        if run.npu_cycles is not None:
            x = f"{FVP_LABEL}<br>NPU active cycles"
            fig.add_bar(x=[x], y=[run.npu_cycles], name=f"{FVP_LABEL} (fvp-measured)", marker_color=NPU_COLOR,
                        text=[f"{run.npu_cycles:,}"], textposition="outside",
                        hovertemplate="%{x}: %{y:,} cycles<extra>Ethos-U PMU cycle counter on the FVP</extra>")
            if y_est[0]:
                ratio = run.npu_cycles / y_est[0]
                notes.append(f"measured / estimated NPU cycles: {ratio:.2f}×" if same else
                             f"ratio of the two bars (two different builds, not an error of Vela's): {ratio:.2f}×")
        else:
            notes.append("The run printed no NPU cycle count.")
        if run.cpu_cycles:
            x = f"{FVP_LABEL}<br>CPU cycles (not cycle-accurate)"
            fig.add_bar(x=[x], y=[run.cpu_cycles], name="FVP CPU cycles — not cycle-accurate",
                        marker=dict(color=CPU_COLOR, pattern_shape="/"),
                        text=[f"{run.cpu_cycles:,}"], textposition="outside",
                        hovertemplate="%{x}: %{y:,} CPU cycles<extra>the FVP is not cycle-accurate for the "
                                      "CPU</extra>")
        elif run.cpu_cycles == 0:
            notes.append("The run printed 0 CPU cycles (counter not enabled or not recorded).")
    detail = f"{target_label(report)} · {VELA_LABEL} vs {label if run is not None else FVP_LABEL + ': no run'}"
    lines = []
    if run is None:
        lines.append("No FVP measurement: only Vela's estimate is shown. Install a Corstone FVP and ExecuTorch's "
                     "arm_executor_runner to measure (labkit doctor says what is missing).")
    else:
        lines += provenance(report, run)
        if caption:
            lines.append(caption)
        lines.append("NPU: Vela's estimate vs the Ethos-U PMU's active-cycle counter, both NPU clock cycles; "
                     "the FVP is cycle-approximate for the NPU. CPU cycles from the FVP are not cycle-accurate.")
    lines += notes
    wrapped = "<br>".join("<br>".join(textwrap.wrap(line, 125)) for line in lines)
    rows = wrapped.count("<br>") + 1
    style(fig, "Estimate vs measured", report.model, detail, 480 + 16 * rows)
    fig.update_layout(margin=dict(t=80), bargap=0.35, showlegend=True, uniformtext_minsize=10)
    top = max([*y_est, run.npu_cycles or 0, run.cpu_cycles or 0] if run is not None else y_est) or 1
    fig.update_yaxes(title_text="cycles", range=[0, top * 1.18])
    note(fig, wrapped, below=45)
    return fig


def measured_table(run) -> pd.DataFrame:
    """What the FVP measured, one row per figure: [quantity, value, counter, note]; source 'fvp-measured'."""
    rows = []
    if run.npu_cycles is not None:
        counter = "NPU ACTIVE" if run.format == "mlek" else "ethosu_pmu_cycle_cntr"
        rows.append(("NPU active cycles", run.npu_cycles, counter, "Ethos-U PMU; the FVP is cycle-approximate"))
    for r in run.counters.itertuples():
        per = "" if pd.isna(r.per_inference) else f"{r.per_inference:,.2f} per inference"
        event = str(r.event).removeprefix("ETHOSU_PMU_") if r.event else "(event not printed)"
        rows.append((event, int(r.value), r.counter, per))
    cpu_note = "not cycle-accurate on the FVP"
    if run.cpu_cycles is not None:
        rows.append(("CPU cycles in the Ethos-U delegate", run.cpu_cycles, "cycle_cnt",
                     cpu_note + ("; 0 means it was not recorded" if run.cpu_cycles == 0 else "")))
    labels = {"inference_runtime_cpu_cycles": "CPU cycles, whole inference",
              "cpu_wait_for_npu_cycles": "CPU cycles waiting for the NPU",
              "npu_total_cycles": "NPU total cycles (active + idle)", "npu_inferences": "NPU inferences"}
    for key, name in labels.items():
        if key in run.stats:
            rows.append((name, run.stats[key], key, cpu_note if "cpu" in key else ""))
    if "model_pte_loaded_size" in run.allocator:
        rows.append((".pte size (bytes)", run.allocator["model_pte_loaded_size"], "model_pte_loaded_size", ""))
    df = pd.DataFrame(rows, columns=["quantity", "value", "counter", "note"])
    df["value"] = [v if isinstance(v, float) and not float(v).is_integer() else int(v) for v in df["value"]]
    df.attrs["source"] = run.source
    return df


def measured_html(run) -> str:
    """``measured_table`` as HTML for the Lab, headed with its source."""
    table = measured_table(run).to_html(index=False, border=0, classes="labkit-table",
                                        formatters={"value": lambda v: f"{v:,}" if isinstance(v, int) else f"{v}"})
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in run.notes if not n.startswith("CPU cycles from the FVP"))
    return (f"<p><b>{FVP_LABEL}</b> ({run.source}) on {run.target}: the Ethos-U PMU counters and the CPU cycle "
            f"counts the runner printed.</p>{table}" + (f"<ul>{notes}</ul>" if notes else ""))
