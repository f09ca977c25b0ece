"""Assemble a Report from what one compile wrote: the operator rows (rows.py), each NPU
partition's Vela output joined back to them (attribution.py), Vela's summaries and
ExecuTorch's delegation table."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..cpu import estimate as cpu_estimate
from ..cpu import kernels as cpu_kernels
from ..report import BUFFER_COLUMNS, Artifacts, Partition, Report, tool_versions
from ..targets import CPUS
from . import attribution, deployment, vela

SOURCE = "vela-estimate"
FAKE_QUANT_FILE = "fake_quant.graph"  # in artifacts/: toolchain.graph_file of the fake-quant graph


_ADDRESS_SPACE_KIB = 4 * 2**20

_SUM_FIELDS = {  # results field: Vela summary CSV column(s), summed over partitions
    "npu_cycles": ["cycles_npu"],
    "total_cycles": ["cycles_total"],
    "sram_access_cycles": ["cycles_sram_access"],
    "dram_access_cycles": ["cycles_dram_access"],
    "flash_access_cycles": ["cycles_on_chip_flash_access", "cycles_off_chip_flash_access"],
    "macs": ["nn_macs"],
    "sram_kib": ["sram_memory_used"],
    "dram_kib": ["dram_memory_used"],
    "flash_kib": ["on_chip_flash_memory_used", "off_chip_flash_memory_used"],
}


def _by_call_order(partitions: list[Partition], operators: pd.DataFrame) -> list[Partition]:
    """The partitions in the order the program calls them (the rows' order), for the layer
    tables: Vela ran them in the partitioner's order, which iterates a set of tags."""
    first: dict[int, int] = {}
    for i, p in enumerate(operators["partition"]):
        if not pd.isna(p):
            first.setdefault(int(p), i)
    return sorted(partitions, key=lambda p: first.get(p.index, len(operators)))


def report(job, rows: list[dict], partitions: list[Partition], pte: Path, delegation: pd.DataFrame) -> Report:
    # The operator rows as lowering left them (in execution order): what a later compile for
    # another target of this TOSA profile reuses instead of lowering again (lower.run_group).
    rows_file = pte.parent / "operator_rows.json"
    rows_file.write_text(json.dumps(rows))
    tag_to_partition = {p.tag: p.index for p in partitions}
    origins = [r.pop("origins") for r in rows]
    added = {r["node"] for r in rows if r.pop("added", False)}
    works = {r["node"]: r.pop("cpu_work") for r in rows if "cpu_work" in r}
    for r in rows:
        r.pop("inputs")
    operators = pd.DataFrame(rows, columns=["node", "op", "module", "module_type", "source", "shape", "dtype",
                                            "act_bits", "weight_bits", "placement", "tag", "reason", "kernel"])
    operators["kernel"] = operators["kernel"].fillna("")
    operators.insert(10, "partition", operators["tag"].map(tag_to_partition).astype("Int64"))
    operators = operators.drop(columns="tag")
    called = _by_call_order(partitions, operators)
    operators, joined = attribution.attribute(operators, origins, called, job.target.macs)
    operators = operators.astype({"act_bits": "Int64", "weight_bits": "Int64"})
    operators.loc[operators["node"].isin(added), "origin"] = "cpu-kernels"
    estimated = job.target.cpu_core in CPUS  # a core labkit's Cortex-M cost model is calibrated for
    if estimated:
        operators = cpu_estimate.add_columns(operators, works, job.target.cpu_core, job.target.cpu_clock_hz)
    operators["cpu"] = operators["placement"].map({"CPU": job.target.cpu_core}).fillna("")  # the core it runs on

    vela_summaries = [vela.read_summary(p.vela_dir) for p in partitions]
    layer_frames = [vela.read_per_layer(p.vela_dir).assign(partition=p.index) for p in called]
    layers = pd.concat(layer_frames, ignore_index=True) if layer_frames else pd.DataFrame()
    if len(joined) and len(layers) == len(joined):  # the per-layer CSV and the debug db list the same layers
        layers = pd.concat([layers, joined[["tosa_op", "node", "module"]]], axis=1)

    t = job.target
    results = {}
    for field, columns in _SUM_FIELDS.items():
        results[field] = sum(float(s[c]) for s in vela_summaries for c in columns) if vela_summaries else 0.0
    for field in ("npu_cycles", "total_cycles", "sram_access_cycles", "dram_access_cycles",
                  "flash_access_cycles", "macs"):
        results[field] = int(results[field])
    seconds = sum(float(s["inference_time"]) for s in vela_summaries)
    results["inference_ms"] = seconds * 1e3
    results["inferences_per_s"] = 1.0 / seconds if seconds else float("nan")
    # Vela's arena_cache_size (KiB in its CSV) is the SRAM the memory mode gives it;
    # 4 GiB and up is the NPU's address space, i.e. no size configured.
    limits = [float(s["arena_cache_size"]) for s in vela_summaries]
    results["sram_limit_kib"] = min(limits) if limits and min(limits) < _ADDRESS_SPACE_KIB else float("nan")
    model_ops = operators[operators["origin"] == "model"]
    results["npu_ops"] = int((model_ops["placement"] == "NPU").sum())
    results["cpu_ops"] = int((model_ops["placement"] == "CPU").sum())
    results["partitions"] = len(partitions)
    results["pte_bytes"] = pte.stat().st_size
    results["weights"] = job.weights
    results["quantization"] = job.quantization.describe()
    results["source"] = SOURCE
    kernel_set = cpu_kernels.effective(job.cpu_kernels, job.quantization)
    if estimated:
        results.update(cpu_estimate.summary_fields(operators, t, kernel_set, results["inference_ms"]))
    results.update(tool_versions())
    results["cache_key"] = job.key

    warnings = []
    if not estimated:
        warnings.append(f"no CPU time: labkit's Cortex-M cost model is calibrated for {', '.join(CPUS)}, not "
                        f"{t.cpu_core}; the CPU operators are listed without cycles")
    if job.weights == "random":
        warnings.append("built with random weights: Vela's weight compression, and so its cycle estimate, "
                        "depends on the weight values; trained weights can give different figures")
    if kernel_set != job.cpu_kernels:
        warnings.append(cpu_kernels.SIXTEEN_BIT_NOTE)
    if not t.has_npu:
        warnings.append(f"{t.accelerator} is a CPU-only target: every figure is the Cortex-M estimate "
                        "(cortex-m-estimate); Vela's figures are zero")
    elif not partitions:
        warnings.append("no operator runs on the NPU: every figure from Vela is zero")
    if results["sram_kib"] > results["sram_limit_kib"]:
        warnings.append(f"the model needs {results['sram_kib']:.0f} KiB of SRAM but memory mode {t.memory_mode} "
                        f"gives Vela {results['sram_limit_kib']:.0f} KiB: it does not fit; pick a memory mode "
                        "with more SRAM or a smaller model")
    fake_quant = pte.parent / FAKE_QUANT_FILE
    artifacts = Artifacts(pte=pte, log=pte.parent.parent / "compile.log", operator_rows=rows_file,
                          partitions=tuple(partitions), fake_quant=fake_quant if fake_quant.exists() else None)
    buffers = pd.DataFrame(deployment.buffers(pte, partitions), columns=BUFFER_COLUMNS)
    return Report(pd.Series(results), operators, layers, delegation, artifacts, warnings, target=t, model=job.model,
                  buffers=buffers)
