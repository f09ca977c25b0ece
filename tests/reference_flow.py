"""An independent oracle for labkit's cycle figures: ExecuTorch's own hand-written
Ethos-U flow, with no labkit code at all, giving Vela's total cycles per model and
target. The calls are those of ExecuTorch 1.5.1's public-API test of the Ethos-U flow
(``backends/arm/test/public_api_bc/test_ethosu_flow.py``); ``aot_arm_compiler.py`` does
the same with a strict export and ``.module()`` with its guards, whose ``_guards_fn``
call_module node the quantizer's GRU/LSTM decomposition passes cannot run through:

    torch.export.export → .module(check_guards=False)
    → prepare_pt2e with EthosUQuantizer(EthosUCompileSpec(target)) and
      get_symmetric_quantization_config() (per-channel int8) as the global config
    → calibrate once on the example args → convert_pt2e
    → export again → to_edge_transform_and_lower(partitioner=[EthosUPartitioner(spec)])
    → to_executorch()

Every NPU partition is one Vela run. ExecuTorch's intermediate-artifacts dump writes
each partition's Vela output under the same file names (only the last survives), so
instead ``vela_compile`` (which the Ethos-U backend calls once per partition) is
wrapped to give each call its own output folder, and the cycles are read from that
run's summary CSV: ``cycles_total`` (Vela's total cycles of the partition, which is
what labkit's summary ``total_cycles`` sums over partitions).
"""

from __future__ import annotations

import contextlib
import csv
import tempfile
import time
from pathlib import Path

# Vela's summary CSV column summed over partitions as "cycles" (labkit: summary["total_cycles"]).
CYCLES_COLUMN = "cycles_total"
NPU_CYCLES_COLUMN = "cycles_npu"


def _read_summary(output_dir: Path) -> dict[str, str]:
    files = sorted(Path(output_dir).glob("out_summary_*.csv"))
    if not files:
        raise FileNotFoundError(f"no Vela summary CSV in {output_dir}")
    with open(files[0], newline="") as f:
        return next(csv.DictReader(f))


@contextlib.contextmanager
def _vela_runs(root: Path):
    """Wrap the vela_compile the Ethos-U backend calls: each call (one per NPU partition)
    runs in its own folder; yields the list of each run's Vela summary row, in order."""
    from executorch.backends.arm.ethosu import backend

    original = backend.vela_compile
    summaries: list[dict[str, str]] = []

    def vela_compile(tosa_flatbuffer, args, verbose=False, intermediate_path=None, block_placements=None):
        folder = root / f"partition_{len(summaries)}"  # instead of the spec's intermediate_path
        folder.mkdir(parents=True)
        result = original(tosa_flatbuffer, list(args), verbose=verbose, intermediate_path=str(folder),
                          block_placements=block_placements)
        summaries.append(_read_summary(folder / "output"))
        return result

    backend.vela_compile = vela_compile
    try:
        yield summaries
    finally:
        backend.vela_compile = original


def executorch_cycles(module, args, target: str, *, keep_dir: str | Path | None = None) -> dict:
    """Compile ``module`` with ``args`` (the positional args of forward, as for
    torch.export.export) for Ethos-U ``target`` (e.g. 'ethos-u55-128') with ExecuTorch's
    own flow and the compile spec's defaults (system config, memory mode).

    Returns {"partitions": N, "cycles": total Vela cycles over the N partitions,
    "npu_cycles": ..., "per_partition": [cycles of each], "seconds": wall time}.
    ``keep_dir``: keep each partition's Vela output there (default: a temporary folder)."""
    import torch
    from executorch.backends.arm.ethosu import EthosUCompileSpec, EthosUPartitioner
    from executorch.backends.arm.quantizer import EthosUQuantizer, get_symmetric_quantization_config
    from executorch.exir import ExecutorchBackendConfig, to_edge_transform_and_lower
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    started = time.perf_counter()
    args = tuple(args)
    module = module.eval()

    spec = EthosUCompileSpec(target)
    ep = torch.export.export(module, args)
    quantizer = EthosUQuantizer(spec)
    quantizer.set_global(get_symmetric_quantization_config())
    prepared = prepare_pt2e(ep.module(check_guards=False), quantizer)
    with torch.no_grad():
        prepared(*args)
    converted = convert_pt2e(prepared)
    ep2 = torch.export.export(converted, args)

    with contextlib.ExitStack() as stack:
        root = Path(keep_dir) if keep_dir is not None else Path(stack.enter_context(tempfile.TemporaryDirectory()))
        summaries = stack.enter_context(_vela_runs(root))
        edge = to_edge_transform_and_lower(ep2, partitioner=[EthosUPartitioner(spec)])
        edge.to_executorch(config=ExecutorchBackendConfig(extract_delegate_segments=False))
        per_partition = [int(float(s[CYCLES_COLUMN])) for s in summaries]
        npu = sum(int(float(s[NPU_CYCLES_COLUMN])) for s in summaries)

    return {"partitions": len(per_partition), "cycles": sum(per_partition), "npu_cycles": npu,
            "per_partition": per_partition, "seconds": round(time.perf_counter() - started, 3)}


if __name__ == "__main__":  # python tests/reference_flow.py NAME [TARGET ...]
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests import zoo

    name, targets = sys.argv[1], sys.argv[2:] or ["ethos-u55-128", "ethos-u65-256", "ethos-u85-256"]
    m = zoo.get(name)
    for t in targets:
        print(name, t, executorch_cycles(m.build(), m.example(), t))
