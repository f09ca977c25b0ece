"""Parse the console output of Corstone FVP runs of Ethos-U workloads.

Understands ExecuTorch's bare-metal ``arm_executor_runner`` (PMU report from
``arm_perf_monitor.cpp``, outputs, allocator figures, base64 ETDump) in both
its older log prefix ``I [executorch:FILE:LINE] `` and the newer
``I [executorch:FILE:LINE FUNC()] `` with ``(%.2f per inference)`` suffixes,
plus the PMU block of Arm's ML Embedded Evaluation Kit (MLEK).

``npu_cycles`` is the NPU's *active* cycle count: for ExecuTorch the
``ethosu_pmu_cycle_cntr`` (the runner starts that counter on NPU_ACTIVE and
stops it on NPU_IDLE), for MLEK the ``NPU ACTIVE`` event counter. MLEK's
``NPU TOTAL`` (free-running cycle counter = active + idle) goes to ``stats``.
"""
from __future__ import annotations

import base64
import binascii
import math
import re
from dataclasses import dataclass, field

import pandas as pd

from .. import shipped
from ..targets import family_or_none

# Event order the runner programs when it does not print the names.
_EVENTS_U55_U65 = ["ETHOSU_PMU_AXI0_RD_DATA_BEAT_RECEIVED", "ETHOSU_PMU_AXI1_RD_DATA_BEAT_RECEIVED",
                   "ETHOSU_PMU_AXI0_WR_DATA_BEAT_WRITTEN", "ETHOSU_PMU_NPU_IDLE"]
_EVENTS_U85 = ["ETHOSU_PMU_SRAM_RD_DATA_BEAT_RECEIVED", "ETHOSU_PMU_SRAM_WR_DATA_BEAT_WRITTEN",
               "ETHOSU_PMU_EXT_RD_DATA_BEAT_RECEIVED", "ETHOSU_PMU_EXT_WR_DATA_BEAT_WRITTEN",
               "ETHOSU_PMU_NPU_IDLE", "ETHOSU_PMU_MAC_ACTIVE", "ETHOSU_PMU_WD_ACTIVE"]
# Runners before the Oct-2024 driver update used 4 counters on U85 too.
_EVENTS_U85_LEGACY = ["ETHOSU_PMU_EXT0_RD_DATA_BEAT_RECEIVED", "ETHOSU_PMU_EXT1_RD_DATA_BEAT_RECEIVED",
                      "ETHOSU_PMU_EXT0_WR_DATA_BEAT_WRITTEN", "ETHOSU_PMU_NPU_IDLE"]

# Published runner logs that ship with labkit (data/fvp-logs), each a run of a model labkit also
# builds: what it is, so a figure that puts one beside a labkit Report says honestly how the two builds differ.
PUBLISHED_LOGS = {
    "corstone320_mv2_executorch_tutorial.log": {
        "model": "mobilenet_v2",
        "target": "ethos-u85",  # the log does not print the MAC count
        "caption": (
            "Published log, not a run here: ExecuTorch's Arm delegate tutorial (docs/source/"
            "executorch-arm-delegate-tutorial.md, ExecuTorch ~0.4), MobileNetV2 from executorch.examples.models "
            "(torchvision's ImageNet-trained weights), its .pte baked into the runner, on the Corstone-320 FVP. "
            "The log does not state the MAC count or memory mode (the tutorial names ethos-u85-128 as run.sh's "
            "Corstone-320 target)."
        ),
    },
}


def published_log(name: str = "corstone320_mv2_executorch_tutorial.log") -> str:
    """The text of a published FVP log that ships with labkit (see PUBLISHED_LOGS)."""
    if name not in PUBLISHED_LOGS:
        raise KeyError(f"{name!r} is not a published log labkit ships; choose from {', '.join(PUBLISHED_LOGS)}")
    return shipped.data("fvp-logs", name).read_text()


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# Anything up to and including the ET_LOG prefix; FUNC() only in newer runners.
_PREFIX = re.compile(r"^.*?\bexecutorch:[\w.\-/]+:\d+(?P<func>\s+[\w:~<>]+\(\))?\]\s?")
_PER_INF = re.compile(r"\(\s*([-\d.]+) per inference\)")
_STATS = [  # (pattern on the message body, stats key)
    (re.compile(r"NPU Inferences\s*:\s*(\d+)"), "npu_inferences"),
    (re.compile(r"NPU delegations\s*:\s*(\d+)"), "npu_delegations"),
    (re.compile(r"Operator\(s\) total\s*:\s*(\d+)"), "operators_total_cpu_cycles"),
    (re.compile(r"Inference runtime\s*:\s*(\d+)"), "inference_runtime_cpu_cycles"),
    (re.compile(r"Inference CPU ratio\s*:\s*([\d.]+)\s*%"), "cpu_ratio_pct"),
    (re.compile(r"Inference NPU ratio\s*:\s*([\d.]+)\s*%"), "npu_ratio_pct"),
    (re.compile(r"cpu_wait_for_npu_cntr\s*:\s*(\d+)"), "cpu_wait_for_npu_cycles"),
]
_CYCLE_CNT = re.compile(r"ethos-u\s*:\s*cycle_cnt\s*:\s*(\d+)")
_PMU_CYCLES = re.compile(r"ethosu_pmu_cycle_cntr\s*:\s*(\d+)")
_PMU_CNTR = re.compile(r"(ethosu_pmu_cntr\d+)\s*:\s*(\d+)")
_PMU_EVENTS = re.compile(r"Ethos-U PMU Events\s*:\s*\[([^\]]*)\]")
_OUTPUT = re.compile(r"Output\[(\d+)\]\[(\d+)\]\s*:\s*(?:\((\w+)\)\s*)?(\S+)")
_ALLOC_FRAC = re.compile(r"^(\w+):\s+(\d+)\s*/\s*(\d+)\s+free:\s*(\d+)")
_ALLOC_ONE = re.compile(r"^(\w+):\s+(\d+)(?:\s*bytes)?\.?(?:\s*\(.*\))?\s*$")
_ALLOC_WORDS = ("alloc", "pte", "planned", "buffer")
_MLEK = re.compile(r"^(?:INFO\s*-\s*)?(NPU|CPU) ([A-Z0-9_ ]+?) (beats|cycles)(?: \(approx\))?\s*:\s*(\d+)")
_ETDUMP_ECHO = re.compile(r'echo\s+"([A-Za-z0-9+/=\s]+)"\s*\|\s*base64\s+-d\s*>\s*(\S+)')
_B64_LINE = re.compile(r"^[A-Za-z0-9+/=]+$")
_DONE_ET = "Program complete"
_DONE_MLEK = ("Main loop terminated", "program terminating")


@dataclass
class FvpRun:
    target: str
    npu_cycles: int | None      # NPU active cycles (see module docstring)
    cpu_cycles: int | None      # ExecuTorch 'ethos-u : cycle_cnt' (MLEK: 'CPU TOTAL'); 0 is kept but flagged
    counters: pd.DataFrame      # counter, event, value, per_inference
    outputs: list[list[float]]
    allocator: dict[str, int]
    etdump: bytes | None
    completed: bool
    format: str                 # 'executorch-old' | 'executorch-new' | 'mlek'
    notes: list[str]
    source: str = "fvp-measured"
    raw: str = ""
    # Other printed figures: npu_inferences, inference_runtime_cpu_cycles,
    # cpu_wait_for_npu_cycles, cpu/npu_ratio_pct, npu_total_cycles (MLEK), ...
    stats: dict[str, float] = field(default_factory=dict)


def _default_events(family: str | None, n: int) -> list[str] | None:
    if family in ("55", "65"):
        return _EVENTS_U55_U65
    if family == "85":
        return _EVENTS_U85_LEGACY if n == 4 else _EVENTS_U85
    return None


def _mlek_event(label: str) -> str:
    name = "NPU_" + label if label in ("ACTIVE", "IDLE") else label.replace(" ", "_")
    return name if name.startswith("ETHOSU_PMU_") else f"ETHOSU_PMU_{name}"


def _decode_etdump(block: list[str], notes: list[str]) -> bytes | None:
    echoes = [m for m in map(_ETDUMP_ECHO.search, block) if m]
    chosen = [m for m in echoes if "etdump" in m.group(2)] or echoes
    if chosen:  # prefer etdump.bin over an optional debug_buffer.bin
        payload = re.sub(r"\s", "", chosen[-1].group(1))
    else:  # bare base64 lines (older/hand-edited dumps)
        payload = "".join(s for s in block if _B64_LINE.match(s))
    try:
        return base64.b64decode(payload, validate=True) if payload else None
    except (binascii.Error, ValueError):
        notes.append("ETDump block found but its base64 did not decode")
        return None


def parse(text: str, target: str) -> FvpRun:
    """Parse one FVP console log; `target` (e.g. "ethos-u85-256") picks default event names."""
    notes: list[str] = []
    stats: dict[str, float] = {}
    allocator: dict[str, int] = {}
    counters: dict[str, list] = {}          # counter -> [value, per_inference, event]
    outs: dict[int, dict[int, float]] = {}
    events: list[str] | None = None
    npu_cycles = cpu_cycles = etdump = None
    recognised = completed = new_style = False
    etdump_block: list[str] | None = None
    reports = mlek_lines = 0
    et_seen = False  # saw an ExecuTorch-specific line (prefix or PMU report)

    for raw_line in text.splitlines():
        line = _ANSI.sub("", raw_line).strip().strip("\x00\x04")
        if not line:
            continue
        pm = _PREFIX.match(line)
        body = line[pm.end():].strip() if pm else line
        if pm:
            recognised = et_seen = True
            new_style |= bool(pm.group("func"))
        if etdump_block is not None:  # inside '#[RUN THIS]' ... '#[END]'
            if body.startswith("#[END]"):
                etdump = _decode_etdump(etdump_block, notes)
                etdump_block = None
            else:
                etdump_block.append(body)
            continue
        if body.startswith("#[RUN THIS]"):
            etdump_block, recognised = [], True
            continue
        per = _PER_INF.search(body)
        new_style |= bool(per)
        if _DONE_ET in body:
            completed = recognised = et_seen = True
        elif any(s in body for s in _DONE_MLEK):
            completed, recognised, mlek_lines = True, True, mlek_lines + 1
        elif m := _CYCLE_CNT.search(body):
            cpu_cycles, recognised, et_seen = int(m.group(1)), True, True
        elif m := _PMU_CYCLES.search(body):
            npu_cycles, recognised, et_seen = int(m.group(1)), True, True
            reports += 1
        elif m := _PMU_CNTR.search(body):
            counters[m.group(1)] = [int(m.group(2)), float(per.group(1)) if per else math.nan, None]
            recognised = et_seen = True
        elif m := _PMU_EVENTS.search(body):
            events, recognised, et_seen = [e.strip() for e in m.group(1).split(",") if e.strip()], True, True
        elif m := _OUTPUT.search(body):
            val = m.group(4).rstrip(",;").lower()
            try:
                num = {"true": 1.0, "false": 0.0}[val] if val in ("true", "false") else float(val)
            except ValueError:
                notes.append(f"unparsed output value: {line!r}")
                continue
            outs.setdefault(int(m.group(1)), {})[int(m.group(2))] = num
            recognised = True
        elif m := _MLEK.match(body):
            who, label, value = m.group(1), m.group(2).strip(), int(m.group(4))
            mlek_lines, recognised = mlek_lines + 1, True
            if who == "CPU":
                stats[f"cpu_{label.lower().replace(' ', '_')}_cycles"] = value
                if label == "TOTAL":
                    cpu_cycles = value
            elif label == "TOTAL":
                stats["npu_total_cycles"] = value
            else:
                counters[f"NPU {label}"] = [value, math.nan, _mlek_event(label)]
                if label == "ACTIVE":
                    npu_cycles = value
        elif m := _ALLOC_FRAC.match(body):
            base = m.group(1).lower().removesuffix("_used")
            allocator.update({f"{base}_used": int(m.group(2)), f"{base}_size": int(m.group(3)),
                              f"{base}_free": int(m.group(4))})
        elif (m := _ALLOC_ONE.match(body)) and any(w in m.group(1).lower() for w in _ALLOC_WORDS):
            allocator[m.group(1).lower()] = int(m.group(2))
        else:
            for rx, key in _STATS:
                if m := rx.search(body):
                    stats[key] = float(m.group(1)) if "." in m.group(1) else int(m.group(1))
                    recognised = True
                    break

    if not recognised:
        raise ValueError("no recognisable Corstone FVP / arm_executor_runner / MLEK output in the text (expected "
                         "e.g. 'I [executorch:...] ethosu_pmu_cycle_cntr : N' or 'INFO - NPU ACTIVE cycles: N')")
    if etdump_block is not None:
        notes.append("ETDump block '#[RUN THIS]' not closed by '#[END]' (log truncated?)")

    is_mlek = mlek_lines > 0 and not et_seen
    fmt = "mlek" if is_mlek else ("executorch-new" if new_style else "executorch-old")
    family = (family_or_none(target) or "")[len("ethos-u"):] or None  # '85'

    # Attach event names to ExecuTorch counters, in counter-index order.
    et_names = sorted((k for k in counters if k.startswith("ethosu_pmu_cntr")), key=lambda k: int(k[15:]))
    if et_names:
        names = events
        if names is None:
            names = _default_events(family, len(et_names))
            notes.append(f"PMU event names not printed; assumed the runner's defaults for {target!r}"
                         if names else f"PMU event names not printed and NPU family of {target!r} unknown")
        elif (family == "85" and any("AXI" in e for e in names)) or \
                (family in ("55", "65") and any("SRAM" in e or "_EXT" in e for e in names)):
            notes.append(f"printed PMU event names do not match the NPU family of {target!r}")
        for i, k in enumerate(et_names):
            counters[k][2] = names[i] if names and i < len(names) else None
        if names and len(et_names) > len(names):
            notes.append("more PMU counters than event names; extra counters have event None")

    if is_mlek and "npu_total_cycles" in stats:
        notes.append("MLEK: npu_cycles is 'NPU ACTIVE'; 'NPU TOTAL' (active + idle) is in stats")
    if reports > 1:
        notes.append(f"log holds {reports} PMU reports; the last one is used")
    if cpu_cycles is not None or any("cpu" in k for k in stats):
        notes.append("CPU cycles from the FVP are not cycle-accurate (the FVP is only cycle-approximate "
                     "for the NPU); use an FPGA or hardware for CPU timing")
    if cpu_cycles == 0:
        if stats.get("inference_runtime_cpu_cycles") or stats.get("cpu_wait_for_npu_cycles"):
            # The CPU counter evidently ran, so the delegate's hooks recorded nothing.
            notes.append("cycle_cnt printed as 0 while 'Inference runtime'/cpu_wait_for_npu_cntr are non-zero: "
                         "the Ethos-U delegate's execute begin/end hooks recorded nothing; treat cpu_cycles as missing")
        else:
            notes.append("cycle_cnt printed as 0: the CPU cycle counter was not enabled")
    if not completed:
        notes.append("no completion line ('Program complete' / MLEK 'Main loop terminated'): "
                     "run failed or log truncated")

    rows = list(counters.items())  # object dtype keeps None for unknown events (pandas 3 would make NaN)
    frame = pd.DataFrame({
        "counter": pd.Series([k for k, _ in rows], dtype=object),
        "event": pd.Series([r[2] for _, r in rows], dtype=object),
        "value": pd.Series([r[0] for _, r in rows], dtype="int64"),
        "per_inference": pd.Series([r[1] for _, r in rows], dtype="float64"),
    })
    outputs = [[outs[i][j] for j in sorted(outs[i])] if i in outs else [] for i in range(max(outs, default=-1) + 1)]
    return FvpRun(target=target, npu_cycles=npu_cycles, cpu_cycles=cpu_cycles, counters=frame,
                  outputs=outputs, allocator=allocator, etdump=etdump, completed=completed, format=fmt,
                  notes=notes, raw=text, stats=stats)
