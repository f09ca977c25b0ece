"""The compile pipeline: the one place that calls ExecuTorch and Vela.

torch.export -> PT2E int8 quantization (Ethos-U quantizer) -> partition and
lower to TOSA -> Vela (per NPU partition) -> .pte, then a Report built from
what the tools wrote. Runs in the worker process (or in-process for debugging).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from . import pte as pte_mod
from .errors import CompileError, ExampleInputError, ExportError, InvalidModelError, LabkitError, VelaError
from .targets import Target

STAGES = ("export", "quantize", "lower", "vela", "serialize")
VELA_FLAGS = ["--verbose-performance", "--enable-debug-db", "--verbose-cycle-estimate"]

Progress = Callable[[str, str], None]


@dataclass
class CompileJob:
    """Everything the worker needs; picklable. Exactly one of registry_name / exported."""

    model: str  # display name
    target: Target
    key: str
    weights: str
    registry_name: str | None = None
    exported: bytes | None = None  # torch.export.save() bytes of a user model
    example_inputs: tuple | None = None
    calibration_inputs: list | None = None
    identity: dict = field(default_factory=dict)  # what identifies the model in cache keys


# ---------------------------------------------------------------- export

def check_inputs(module, example_inputs) -> tuple:
    """Validate example inputs by running the float model once in plain PyTorch."""
    import torch

    if not isinstance(module, torch.nn.Module):
        raise InvalidModelError(
            f"Expected a torch.nn.Module, got {type(module).__name__}. Pass an nn.Module instance "
            "(not its class), a built-in model name, or the path of a .pt2 file."
        )
    if example_inputs is None:
        raise ExampleInputError(
            f"{type(module).__name__} needs example inputs. Pass example_inputs=(tensor, ...) "
            "with the shapes forward() expects, e.g. example_inputs=(torch.randn(1, 3, 32, 32),)."
        )
    if isinstance(example_inputs, torch.Tensor):
        example_inputs = (example_inputs,)
    example_inputs = tuple(example_inputs)
    if not example_inputs or not all(isinstance(t, torch.Tensor) for t in example_inputs):
        raise ExampleInputError(
            "example_inputs must be a tensor or a tuple of tensors, got "
            f"({', '.join(type(t).__name__ for t in example_inputs)}). Pass e.g. (torch.randn(1, 3, 32, 32),)."
        )
    described = ", ".join(f"{tuple(t.shape)} {str(t.dtype).replace('torch.', '')}" for t in example_inputs)
    try:
        with torch.no_grad(), _in_eval_mode(module):
            module(*example_inputs)
    except Exception as e:
        raise ExampleInputError(
            f"{type(module).__name__}.forward() failed on the example inputs [{described}]: "
            f"{type(e).__name__}: {_first_line(e)}. Pass example inputs of the shape and dtype "
            "forward() expects, and check that the model runs in plain PyTorch."
        ) from None
    return example_inputs


def export_module(module, example_inputs):
    """torch.export with a labkit error that names the construct export rejected."""
    import torch

    example_inputs = check_inputs(module, example_inputs)
    try:
        with _in_eval_mode(module), _quiet_export():
            return torch.export.export(module, example_inputs)
    except Exception as e:
        text = str(e)
        hint = "Make forward() traceable by torch.export (see the torch.export programming model)."
        if re.search(r"data.dependent|GuardOnDataDependent|Could not guard on data-dependent", text):
            hint = ("forward() has data-dependent control flow (an `if`/loop on a tensor's value). Rewrite it "
                    "with torch.where or torch.cond, or move the decision out of the model.")
        where = _user_frame(text)
        raise ExportError(
            f"torch.export cannot export {type(module).__name__}: {_first_line(e)}"
            f"{f' (at {where})' if where else ''}. {hint}"
        ) from None


@contextlib.contextmanager
def _quiet_export():
    """torch.export prints graphs and a warning of its own when it fails on a model;
    labkit's one-line ExportError says what matters, so keep that noise off stderr."""
    logger = logging.getLogger("torch.fx.experimental.symbolic_shapes")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        logger.setLevel(level)


@contextlib.contextmanager
def _in_eval_mode(module):
    """Inference mode (dropout off, batch-norm statistics frozen) for the export,
    then the user's module back in the mode it was in."""
    modes = {m: m.training for m in module.modules()}
    module.eval()
    try:
        yield
    finally:
        for m, training in modes.items():
            m.train(training)


def exported_bytes(ep) -> bytes:
    import torch

    buf = io.BytesIO()
    torch.export.save(ep, buf)
    return buf.getvalue()


def load_pt2(path: str | os.PathLike):
    """Load a torch.export .pt2 file with a clear error for anything else."""
    import torch

    p = Path(path)
    if not p.is_file():
        raise InvalidModelError(f"Model file {str(p)!r} does not exist. Pass the path of a .pt2 file "
                                "written by torch.export.save(), or a built-in model name.")
    try:
        return torch.export.load(str(p))
    except Exception as e:
        raise InvalidModelError(
            f"{str(p)!r} is not a torch.export file ({type(e).__name__}: {_first_line(e)}). "
            "Write it with torch.export.save(torch.export.export(model, example_inputs), path)."
        ) from None


def pt2_example_inputs(ep) -> tuple:
    """Example inputs stored in a .pt2, or seeded random ones of the placeholders' shapes."""
    import torch

    stored = getattr(ep, "example_inputs", None)
    if stored:
        args, _kwargs = stored
        if args and all(isinstance(a, torch.Tensor) for a in args):
            return tuple(args)
    g = torch.Generator().manual_seed(0)
    shapes = [spec.arg.name for spec in ep.graph_signature.input_specs if spec.kind.name == "USER_INPUT"]
    nodes = {n.name: n for n in ep.graph.nodes if n.op == "placeholder"}
    return tuple(torch.rand(*nodes[s].meta["val"].shape, generator=g) * 2 - 1 for s in shapes)


# ---------------------------------------------------------------- compile


def run_group(jobs: list[CompileJob], out_dirs: list[Path], progress: Progress | None = None,
              capture_fds: bool = False, donor: Path | None = None) -> None:
    """Compile one model for several targets that share a TOSA profile; each out_dir
    gets a complete Report. The first target is exported, quantized and lowered to
    TOSA (the expensive part); the others reuse that lowering: Vela on each
    partition's TOSA, then the first .pte with its delegates' Vela output swapped.
    With ``donor`` (the Report folder of an earlier compile of the same model and
    profile) every target reuses the donor's lowering and nothing is lowered.
    ``capture_fds`` also redirects file descriptors 1 and 2 (native tool output);
    the worker process does, in-process mode leaves the caller's descriptors alone."""
    import copy

    from . import report as report_mod

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
        with _tool_output_to(out_dir / "compile.log", capture_fds):
            if source is None:
                lowered = _lower(job, work, clock)
                partitions = lowered["partitions"]
                with clock("serialize"), _as(CompileError, "serializing the .pte"):
                    pte = work / "model.pte"
                    pte.write_bytes(lowered["edge"].to_executorch().buffer)
                rows, delegation, lowered_with = lowered["rows"], lowered["delegation"], ""
            else:
                partitions = _vela_again(source["partitions"], job, work, clock)
                with clock("serialize"), _as(CompileError, "writing the .pte"):
                    pte = pte_mod.retarget(source["pte"], [p["dir"] / "output" for p in source["partitions"]],
                                           partitions, work / "model.pte")
                rows, delegation, lowered_with = source["rows"], source["delegation"], source["lowered_with"]
            report = report_mod.build(job, copy.deepcopy(rows), partitions, pte, delegation)
        report.summary["compile_seconds"] = round(time.perf_counter() - started, 3)
        report.summary["lowered_with"] = lowered_with
        for stage, seconds in timings.items():
            report.summary[f"{stage}_seconds"] = round(seconds, 3)
        report.save(out_dir)
        progress("saved", job.target.label)
        if source is None:
            source = {"pte": pte, "partitions": partitions, "rows": rows, "delegation": delegation,
                      "lowered_with": job.target.accelerator}


def _load_lowering(donor: Path) -> dict:
    """What run_group reuses from a saved Report: partition folders (TOSA, Vela output),
    the .pte, the partitioner's operator rows and ExecuTorch's delegation table."""
    import json

    from .report import Report

    report = Report.load(donor)
    partitions = [{"index": p["index"], "tag": p["tag"], "dir": Path(p["vela_dir"]).parent, "tosa": p["tosa"]}
                  for p in report.artifacts["partitions"]]
    return {"pte": report.artifacts["pte"], "partitions": partitions, "delegation": report.delegation,
            "rows": json.loads(Path(report.artifacts["operator_rows"]).read_text()),
            "lowered_with": report.summary.get("lowered_with") or report.summary["accelerator"]}


def compile_spec_for(target: Target, work: Path):
    from executorch.backends.arm.ethosu import EthosUCompileSpec

    return (
        EthosUCompileSpec(target.accelerator, system_config=target.system_config, memory_mode=target.memory_mode,
                          extra_flags=list(VELA_FLAGS), config_ini=target.vela_ini_argument())
        .dump_intermediate_artifacts_to(str(work))
        .dump_debug_info(EthosUCompileSpec.DebugMode.JSON)
    )


def model_inputs(job: CompileJob):
    """(exported program, example inputs, calibration samples) of a job."""
    import torch

    from . import models

    if job.registry_name is not None:
        spec = models.get(job.registry_name)
        example = spec.example_inputs()
        calibration = spec.calibration_inputs() if spec.calibration_inputs else [example]
        return export_module(spec.factory(), example), example, calibration
    example = tuple(job.example_inputs)
    return torch.export.load(io.BytesIO(job.exported)), example, job.calibration_inputs or [example]


def quantize(ep, calibration, compile_spec):
    """PT2E int8 quantization with the Ethos-U quantizer (symmetric, as ExecuTorch's examples)."""
    import torch
    from executorch.backends.arm.quantizer import EthosUQuantizer, get_symmetric_quantization_config
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    quantizer = EthosUQuantizer(compile_spec)
    quantizer.set_global(get_symmetric_quantization_config())
    prepared = prepare_pt2e(ep.module(check_guards=False), quantizer)
    with torch.no_grad():
        for sample in calibration:
            prepared(*sample)
    return convert_pt2e(prepared)


def _lower(job: CompileJob, work: Path, clock: "_Stopwatch") -> dict:
    import torch
    from executorch.exir import to_edge_transform_and_lower

    with clock("export"):
        ep, example, calibration = model_inputs(job)
    compile_spec = compile_spec_for(job.target, work)
    with clock("quantize"), _as(CompileError, "PT2E quantization"):
        converted = quantize(ep, calibration, compile_spec)
    with clock("lower"), _as(CompileError, "lowering to TOSA"):
        quantized_ep = torch.export.export(converted, example)
        partitioner = _recording_partitioner(compile_spec)
        with _vela_per_partition(work, clock) as partitions:
            edge = to_edge_transform_and_lower(quantized_ep, partitioner=[partitioner])
        from executorch.devtools.backend_debug import get_delegation_info

        delegation = get_delegation_info(edge.exported_program().graph_module)
    return {"edge": edge, "partitions": partitions, "rows": partitioner.operator_rows,
            "delegation": delegation.get_operator_delegation_dataframe()}


def _vela_again(lowered_partitions: list[dict], job: CompileJob, work: Path, clock: "_Stopwatch") -> list[dict]:
    """Vela for another target on the TOSA each partition was already lowered to."""
    from executorch.backends.arm.ethosu.backend import EthosUBackend

    partitions = []
    for p in lowered_partitions:
        dest = work / f"partition_{p['index']}"
        dest.mkdir()
        for name in ("debug.json", p["tosa"].name if p["tosa"] else None):
            if name and (p["dir"] / name).exists():
                shutil.copy2(p["dir"] / name, dest / name)
        spec = compile_spec_for(job.target, dest)
        specs = spec._to_list()  # before Vela: the backend appends its output paths to the flags
        with clock("vela", f"partition {p['index'] + 1}"):
            try:
                result = EthosUBackend._compile_tosa_flatbuffer((p["dir"] / "out.tosa").read_bytes(), spec)
            except SystemExit as e:
                raise VelaError(f"Vela exited with status {e.code} on NPU partition {p['index'] + 1}.") from None
            except Exception as e:
                raise VelaError(_vela_message(e, p["index"])) from e
        partitions.append({**p, "dir": dest, "tosa": dest / p["tosa"].name if p["tosa"] else None,
                           "processed": result.processed_bytes, "compile_specs": specs})
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
def _as(error_cls, what: str):
    """Re-raise a toolchain failure as one labkit error (labkit errors pass through)."""
    try:
        yield
    except LabkitError:
        raise
    except Exception as e:
        raise error_cls(
            f"ExecuTorch failed while {what}: {type(e).__name__}: {_first_line(e)}. "
            "The full log is in the compile.log next to the report; re-run with in_process=True to debug."
        ) from e


def _recording_partitioner(compile_spec):
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
            from .report import operator_rows

            self.operator_rows = operator_rows(result.tagged_exported_program.graph_module, reasons)
            return result

    return RecordingPartitioner(compile_spec)


@contextlib.contextmanager
def _vela_per_partition(work: Path, clock: _Stopwatch):
    """Give each NPU partition its own folder: every partition's TOSA and Vela run
    write the same file names into the intermediates folder, so move them away
    right after each Vela run."""
    from executorch.backends.arm.ethosu.backend import EthosUBackend

    original = EthosUBackend.__dict__["_compile_tosa_flatbuffer"]
    partitions: list[dict] = []

    def compile_and_keep(tosa_flatbuffer, compile_spec):
        index = len(partitions)
        with clock("vela", f"partition {index + 1}"):
            try:
                result = original.__func__(tosa_flatbuffer, compile_spec)
            except SystemExit as e:
                raise VelaError(f"Vela exited with status {e.code} on NPU partition {index + 1}; "
                                "see compile.log for its message.") from None
            except Exception as e:
                raise VelaError(_vela_message(e, index)) from e
        dest = work / f"partition_{index}"
        dest.mkdir()
        for item in list(work.iterdir()):
            if not item.name.startswith("partition_") and item.name != "model.pte":
                shutil.move(str(item), dest / item.name)
        tosa_dump = next(iter(sorted(dest.glob("output_tag*.tosa"))), None)
        tag = re.search(r"output_(tag\d+)_", tosa_dump.name).group(1) if tosa_dump else None
        partitions.append({"index": index, "tag": tag, "dir": dest, "tosa": tosa_dump,
                           "processed": result.processed_bytes, "compile_specs": compile_spec._to_list()})
        return result

    EthosUBackend._compile_tosa_flatbuffer = staticmethod(compile_and_keep)
    try:
        yield partitions
    finally:
        EthosUBackend._compile_tosa_flatbuffer = original


def _vela_message(e: Exception, index: int) -> str:
    text = _first_line(e)
    hint = "Try another memory mode or a larger NPU configuration."
    if re.search(r"(?i)out of (memory|space)|does not fit|exceeds|too large|allocation", text):
        hint = ("The model does not fit the memory this memory mode provides: pick a memory mode with more "
                "SRAM (e.g. Dedicated_Sram or Sram_Only on a system with DRAM) or a smaller model.")
    return f"Vela failed on NPU partition {index + 1}: {type(e).__name__}: {text}. {hint}"


@contextlib.contextmanager
def _tool_output_to(log_path: Path, capture_fds: bool):
    """Send the tools' chatter (Vela's tables, ExecuTorch warnings) to a log file,
    with ``capture_fds`` at the file-descriptor level so native code is captured too."""
    sys.stdout.flush()
    sys.stderr.flush()
    with open(log_path, "w") as log:
        if not capture_fds:
            with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                yield
            return
        saved = os.dup(1), os.dup(2)
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def _first_line(e: BaseException) -> str:
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    return lines[0] if lines else type(e).__name__


def _user_frame(text: str) -> str | None:
    """The last 'File "x.py", line N' in an error text that is not torch's own code."""
    frames = re.findall(r'File "([^"]+)", line (\d+)', text)
    frames = [f for f in frames if "/torch/" not in f[0] and "/torchao/" not in f[0]]
    return f"{frames[-1][0]}:{frames[-1][1]}" if frames else None



def warm_up() -> None:
    """Import the heavy toolchain modules (what the first compile would otherwise wait for)."""
    import executorch.backends.arm.ethosu  # noqa: F401
    import executorch.backends.arm.quantizer  # noqa: F401
    import executorch.exir  # noqa: F401
    import torchao.quantization.pt2e.quantize_pt2e  # noqa: F401
