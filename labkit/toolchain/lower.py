"""Lowering: PT2E-quantize, partition and lower to TOSA, Vela per NPU partition,
the .pte, then the Report. The one place that calls ExecuTorch's lowering and
Vela; runs in the worker process (or in-process for debugging)."""

from __future__ import annotations

import contextlib
import copy
import json
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

from ..cpu import kernels as cpu_kernels
from ..errors import CompileError, LabkitError, QuantizationError, VelaError, first_line
from ..report import Partition, Report
from . import assemble, failures, graph_file, vela
from . import pte as pte_file
from .export import model_inputs
from .job import CompileJob
from .native import tool_output_to
from .quantize import calibrated, compile_spec, fake_quant_graph
from .quantize import calibrated_cortex_m as quantize_cortex_m
from .rows import in_execution_order, operator_rows, program_steps

Progress = Callable[[str, str], None]


@dataclass(frozen=True)
class LoweredPartition:
    """A partition as one compile produced it: its files, and what its Ethos-U
    delegate holds for this target (Vela's output and the compile specs)."""

    partition: Partition
    processed: bytes
    compile_specs: list


@dataclass(frozen=True)
class Lowering:
    """What every target of a TOSA profile shares: the .pte of the first target and
    its partitions, the partitioner's operator rows and ExecuTorch's delegation table."""

    pte: Path
    partitions: list[Partition]
    rows: list[dict]
    delegation: object  # pandas DataFrame
    lowered_with: str  # the accelerator it was lowered for
    calibration_samples: int  # how many samples PT2E calibration ran on
    fake_quant: Path | None  # the graph_file of the quantized model with float weights, if kept
    notes: list[str]  # the report warnings about the model itself (dynamic shapes), true of every target


def run_group(jobs: list[CompileJob], out_dirs: list[Path], progress: Progress | None = None,
              capture_fds: bool = False, donor: Path | None = None) -> None:
    """Compile one model for several targets that share a TOSA profile; each out_dir
    gets a complete Report. The first target is exported, quantized and lowered to
    TOSA (the expensive part); the others reuse that lowering: Vela on each
    partition's TOSA, then the first .pte with its delegates' Vela output swapped.
    With ``donor`` (the Report folder of an earlier compile of the same model and
    profile) every target reuses the donor's lowering and nothing is lowered.
    ``progress(stage, detail)`` sees each stage, then ("saved", target label) per target.
    ``capture_fds`` also redirects file descriptors 1 and 2 (native tool output);
    the worker process does, in-process mode leaves the caller's descriptors alone."""
    progress = progress or (lambda stage, detail="": None)
    if len({j.target.tosa_profile for j in jobs}) != 1:
        raise ValueError("run_group needs targets of one TOSA profile")
    out_dirs = [Path(d) for d in out_dirs]
    for d in out_dirs:
        d.mkdir(parents=True)
        (d / "artifacts").mkdir()
    source = _load_lowering(Path(donor)) if donor else None
    for job, out_dir in zip(jobs, out_dirs):
        started, timings = time.perf_counter(), {}
        clock = _Stopwatch(timings, progress)
        work = out_dir / "artifacts"
        with tool_output_to(out_dir / "compile.log", capture_fds), _scheme_refused(job):
            if source is None:
                lower = _lower if job.target.has_npu else _lower_cpu_only
                edge, lowered, rows, delegation, calibrated, notes = lower(job, work, clock)
                graph = edge.exported_program().graph_module
                with clock("serialize"), _as(CompileError, "serializing the .pte", graph):
                    pte = work / "model.pte"
                    pte.write_bytes(edge.to_executorch().buffer)
                lowered_with = ""
            else:
                if source.fake_quant is not None:
                    shutil.copy2(source.fake_quant, work / assemble.FAKE_QUANT_FILE)
                lowered = _vela_again(source.partitions, job, work, clock)
                with clock("serialize"), _as(CompileError, "writing the .pte"):
                    streams = [_command_stream(p) for p in source.partitions]
                    pte = pte_file.retarget(source.pte, streams, [(p.processed, p.compile_specs) for p in lowered],
                                            work / "model.pte")
                rows, delegation, lowered_with = source.rows, source.delegation, source.lowered_with
                calibrated, notes = source.calibration_samples, source.notes
            report = assemble.report(job, copy.deepcopy(rows), [p.partition for p in lowered], pte, delegation)
            report.warnings += notes
        report.results["compile_seconds"] = round(time.perf_counter() - started, 3)
        report.results["lowered_with"] = lowered_with
        report.results["calibration_samples"] = calibrated
        for stage, seconds in timings.items():
            report.results[f"{stage}_seconds"] = round(seconds, 3)
        report.save(out_dir)
        progress("saved", job.target.label)
        if source is None:
            kept = work / assemble.FAKE_QUANT_FILE
            source = Lowering(pte, [p.partition for p in lowered], rows, delegation, job.target.accelerator,
                              calibrated, kept if kept.exists() else None, notes)


def _command_stream(partition: Partition) -> bytes | None:
    stream = vela.read_command_stream(partition.vela_dir)
    return stream.cmd_data if stream else None


def _load_lowering(donor: Path) -> Lowering:
    """What run_group reuses from a saved Report."""
    report = Report.load(donor)
    a = report.artifacts
    return Lowering(a.pte, list(a.partitions), json.loads(Path(a.operator_rows).read_text()), report.delegation,
                    report.results.get("lowered_with") or report.target.accelerator,
                    int(report.results.get("calibration_samples", 0)), a.fake_quant,
                    [w for w in report.warnings if w.startswith(failures.DYNAMIC_SHAPES)])


def _lower(job: CompileJob, work: Path, clock: "_Stopwatch"):
    """(the lowered edge program, its LoweredPartitions, operator rows, delegation table,
    the number of calibration samples, the report warnings about the model)."""
    import torch
    from executorch.exir import to_edge_transform_and_lower
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e

    with clock("export"):
        ep, example, calibration = model_inputs(job)
    spec = compile_spec(job.target, work)
    with clock("quantize"), _as(CompileError, "PT2E quantization", ep.graph_module):
        prepared = calibrated(ep, calibration, spec, job.quantization)
        _keep_fake_quant(copy.deepcopy(prepared), example, work / assemble.FAKE_QUANT_FILE)
        converted = convert_pt2e(prepared)
    with clock("lower"), _as(CompileError, "lowering to TOSA", converted) as lowering:
        quantized_ep = torch.export.export(converted, example)
        lowering.graph = quantized_ep.graph_module
        partitioner = _recording_partitioner(spec)
        with _vela_per_partition(work, clock) as partitions:
            edge = to_edge_transform_and_lower(quantized_ep, partitioner=[partitioner])
        delegation = _delegation(edge)  # as the partitioner placed them, before the CPU kernels
    kernel_set = cpu_kernels.effective(job.cpu_kernels, job.quantization)
    with clock("lower", "CPU kernels"), _as(CompileError, f"applying the {kernel_set} CPU kernels"):
        core = job.target.cpu_core
        before = program_steps(edge.exported_program().graph_module)
        try:
            edge = cpu_kernels.apply(edge, kernel_set, core)
        except Exception as e:
            raise CompileError(failures.cpu_kernels_refused(e, kernel_set)) from e
        rows = cpu_kernels.annotate_rows(partitioner.operator_rows,
                                         cpu_kernels.cpu_kernels_of(edge.exported_program().graph_module, core),
                                         kernel_set)
        rows = _in_execution_order(rows, edge, before)
    return edge, partitions, rows, delegation, len(calibration), failures.dynamic_shapes(ep, example)


def _in_execution_order(rows: list[dict], edge, before: list[dict]) -> list[dict]:
    """The operator rows in the order the lowered program runs them (in_execution_order);
    the partitioner listed them in its graph's order, where a partition's weights come first."""
    return in_execution_order(rows, program_steps(edge.exported_program().graph_module), before)


def _delegation(edge):
    """ExecuTorch's delegation table of the lowered program (devtools' get_delegation_info)."""
    from executorch.devtools.backend_debug import get_delegation_info

    return get_delegation_info(edge.exported_program().graph_module).get_operator_delegation_dataframe()


def _lower_cpu_only(job: CompileJob, work: Path, clock: "_Stopwatch"):
    """A CPU-only Cortex-M target, as ExecuTorch's Cortex-M flow compiles it: quantized with
    the Cortex-M backend's quantizer, no partitioner, every operator on CMSIS-NN kernels
    (``cpu_kernels='cmsis-nn'``) or on portable ones."""
    import torch
    from executorch.backends.cortex_m.edge_compile_config import cortex_m_edge_compile_config
    from executorch.exir import to_edge_transform_and_lower
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e

    with clock("export"):
        ep, example, calibration = model_inputs(job)
    with clock("quantize"), _as(CompileError, "PT2E quantization for the Cortex-M", ep.graph_module):
        prepared, example = quantize_cortex_m(ep, calibration, example, job.quantization)
        _keep_fake_quant(copy.deepcopy(prepared), example, work / assemble.FAKE_QUANT_FILE)
        converted = convert_pt2e(prepared)
    with clock("lower", "Cortex-M"), _as(CompileError, "lowering for the Cortex-M", converted) as lowering:
        exported = torch.export.export(converted, example)
        lowering.graph = exported.graph_module
        edge = to_edge_transform_and_lower(exported, compile_config=cortex_m_edge_compile_config())
        reason = f"{job.target.accelerator} is a CPU-only target: no NPU"
        graph = edge.exported_program().graph_module
        rows = operator_rows(graph, {n.name: reason for n in graph.graph.nodes})
        delegation = _delegation(edge)
        before = program_steps(graph)
        edge = cpu_kernels.apply(edge, job.cpu_kernels, job.target.cpu_core)
        rows = cpu_kernels.annotate_rows(rows, cpu_kernels.cpu_kernels_of(edge.exported_program().graph_module,
                                                                          job.target.cpu_core), job.cpu_kernels)
        rows = _in_execution_order(rows, edge, before)
    return edge, [], rows, delegation, len(calibration), failures.dynamic_shapes(ep, example)


def _keep_fake_quant(prepared, example, path: Path) -> None:
    """Save the fake-quant graph for numerics and evaluate (one more convert and export,
    about 2 s of a 40 s MobileNetV2 compile). Optional: when this graph cannot be stored they
    quantize the model again themselves, so a failure is logged, not raised."""
    try:
        graph_file.save(fake_quant_graph(prepared, example), path)
    except Exception as e:  # noqa: BLE001 - see the docstring
        print(f"labkit: the fake-quant graph was not kept ({type(e).__name__}: {first_line(e)}); "
              "numerics and evaluate will quantize the model again")


def _vela_again(lowered: list[Partition], job: CompileJob, work: Path, clock: "_Stopwatch") -> list[LoweredPartition]:
    """Vela for another target on the TOSA each partition was already lowered to."""
    from executorch.backends.arm.ethosu.backend import EthosUBackend

    partitions = []
    for p in lowered:
        dest = work / f"partition_{p.index}"
        dest.mkdir()
        for name in ("debug.json", p.tosa.name if p.tosa else None):
            if name and (p.folder / name).exists():
                shutil.copy2(p.folder / name, dest / name)
        spec = compile_spec(job.target, dest)
        specs = spec._to_list()  # before Vela: the backend appends its output paths to the flags
        with clock("vela", f"partition {p.index + 1}"):
            try:
                result = EthosUBackend._compile_tosa_flatbuffer((p.folder / "out.tosa").read_bytes(), spec)
            except SystemExit as e:
                raise VelaError(f"Vela exited with status {e.code} on NPU partition {p.index + 1}.") from None
            except Exception as e:
                raise VelaError(_vela_message(e, p.index)) from e
        moved = Partition(p.index, p.tag, dest, dest / p.tosa.name if p.tosa else None)
        partitions.append(LoweredPartition(moved, result.processed_bytes, specs))
    return partitions


class _Stopwatch:
    """Times named stages and reports them to the progress callback."""

    def __init__(self, timings: dict, progress: Progress):
        self.timings, self.progress = timings, progress

    @contextlib.contextmanager
    def __call__(self, stage: str, detail: str = ""):
        self.progress(stage, detail)
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.timings[stage] = self.timings.get(stage, 0.0) + time.perf_counter() - t0


@contextlib.contextmanager
def _as(error_cls, what: str, graph=None):
    """Re-raise a toolchain failure as one labkit error (labkit errors pass through).
    ``graph``: the GraphModule being worked on; the block may set a later one on the
    object it yields (``.graph``). The message then names the operator that failed, its
    source line and any control flow the graph holds."""
    failing = SimpleNamespace(graph=graph)
    try:
        yield failing
    except LabkitError:
        raise
    except Exception as e:
        raise error_cls(failures.toolchain_failure(e, what, failing.graph)) from e


def _recording_partitioner(spec):
    """An EthosUPartitioner that keeps, per node, its placement and the rejection reason."""
    from executorch.backends.arm.ethosu import EthosUPartitioner
    from executorch.backends.arm.tosa import partitioner as tosa_partitioner

    class RecordingPartitioner(EthosUPartitioner):
        operator_rows: list = []

        def partition(self, exported_program):
            reporters = []
            base = tosa_partitioner.WhyNoPartitionReporter

            class KeptReporter(base):
                def __init__(self):
                    super().__init__()
                    reporters.append(self)

            tosa_partitioner.WhyNoPartitionReporter = KeptReporter
            try:
                result = super().partition(exported_program)
            finally:
                tosa_partitioner.WhyNoPartitionReporter = base
            reasons = {}
            for r in reporters:
                for node, reason in r._rejected_nodes.items():
                    reasons.setdefault(node.name, reason)
            self.operator_rows = operator_rows(result.tagged_exported_program.graph_module, reasons)
            return result

    return RecordingPartitioner(spec)


@contextlib.contextmanager
def _vela_per_partition(work: Path, clock: _Stopwatch):
    """Give each NPU partition its own folder: every partition's TOSA and Vela run
    write the same file names into the intermediates folder, so move them away
    right after each Vela run."""
    from executorch.backends.arm.ethosu.backend import EthosUBackend

    original = EthosUBackend.__dict__["_compile_tosa_flatbuffer"]
    partitions: list[LoweredPartition] = []

    def compile_and_keep(tosa_flatbuffer, spec):
        index = len(partitions)
        with clock("vela", f"partition {index + 1}"):
            try:
                result = original.__func__(tosa_flatbuffer, spec)
            except SystemExit as e:
                raise VelaError(f"Vela exited with status {e.code} on NPU partition {index + 1}; "
                                "see compile.log for its message.") from None
            except Exception as e:
                raise VelaError(_vela_message(e, index)) from e
        dest = work / f"partition_{index}"
        dest.mkdir()
        for item in list(work.iterdir()):
            if not item.name.startswith("partition_") and item.name not in ("model.pte", assemble.FAKE_QUANT_FILE):
                shutil.move(str(item), dest / item.name)
        tosa_dump = next(iter(sorted(dest.glob("output_tag*.tosa"))), None)
        tag = re.search(r"output_(tag\d+)_", tosa_dump.name).group(1) if tosa_dump else None
        partitions.append(LoweredPartition(Partition(index, tag, dest, tosa_dump), result.processed_bytes,
                                           spec._to_list()))
        return result

    EthosUBackend._compile_tosa_flatbuffer = staticmethod(compile_and_keep)
    try:
        yield partitions
    finally:
        EthosUBackend._compile_tosa_flatbuffer = original


@contextlib.contextmanager
def _scheme_refused(job: CompileJob):
    """Vela refusing an operator of a 16-bit scheme on an Ethos-U55/U65 is the scheme's
    limit on that NPU, not a memory problem: say so, and what runs instead."""
    try:
        yield
    except VelaError as e:
        act_bits, _ = job.quantization.max_bits()
        if act_bits < 16 or job.target.family == "ethos-u85" or "could not run on NPU" not in str(e):
            raise
        refused = re.search(r"Vela failed on NPU partition \d+: \w+: (.*?)\. Try", str(e))
        raise QuantizationError(
            f"{job.target.accelerator} cannot run {job.model} with {job.quantization.describe()}: Vela "
            f"{_vela_version()} refused an operator with 16-bit activations "
            f"({refused.group(1) if refused else str(e)}). The Ethos-U55 and U65 run int16 activations for "
            "fewer operator forms than the U85: compile for an Ethos-U85, or keep int8 by default and give "
            "16 bits only to the modules that need them (quantization={'default': 'int8', 'module.path': "
            "'a16w8'}; labkit.numerics shows which).") from None


def _vela_version() -> str:
    from importlib.metadata import version

    return version("ethos-u-vela")


def _vela_message(e: Exception, index: int) -> str:
    text = first_line(e)
    hint = "Try another memory mode or a larger NPU configuration."
    if re.search(r"(?i)out of (memory|space)|does not fit|exceeds|too large|allocation", text):
        hint = ("The model does not fit the memory this memory mode provides: pick a memory mode with more "
                "SRAM (e.g. Dedicated_Sram or Sram_Only on a system with DRAM) or a smaller model.")
    return f"Vela failed on NPU partition {index + 1}: {type(e).__name__}: {text}. {hint}"


def warm_up() -> None:
    """Import the heavy toolchain modules (what the first compile would otherwise wait for)."""
    import executorch.backends.arm.ethosu  # noqa: F401
    import executorch.backends.arm.quantizer  # noqa: F401
    import executorch.exir  # noqa: F401
    import torchao.quantization.pt2e.quantize_pt2e  # noqa: F401
