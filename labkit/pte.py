"""ExecuTorch programs (.pte): which Ethos-U delegate holds which NPU partition,
and a .pte for another accelerator of the same TOSA profile without lowering
again (only the delegates' Vela output and compile specs differ)."""

from __future__ import annotations

from pathlib import Path


def command_stream(vela_dir: Path) -> bytes | None:
    """Vela's NPU command stream for a partition (embedded unchanged in its delegate)."""
    import numpy as np

    npz = Path(vela_dir) / "out_vela.npz"
    if not npz.is_file():
        return None
    with np.load(npz, allow_pickle=False) as data:
        return data["cmd_data"].tobytes()


def delegate_payload(program, delegate) -> bytes | None:
    if delegate.processed.location.name != "INLINE":
        return None
    return program.backend_delegate_data[delegate.processed.index].data


def delegate_partitions(program, plan, streams: list[bytes | None]) -> list[int | None]:
    """For each delegate of ``plan``, the index of the partition whose command stream
    its payload contains; by position when that is not unique (None past the end)."""
    found = []
    for position, delegate in enumerate(plan.delegates):
        payload = delegate_payload(program, delegate)
        hits = [i for i, cmd in enumerate(streams) if payload is not None and cmd and cmd in payload]
        found.append(hits[0] if len(hits) == 1 else (position if position < len(streams) else None))
    return found


def read(pte: Path):
    from executorch.exir._serialize._program import deserialize_pte_binary

    return deserialize_pte_binary(Path(pte).read_bytes())


def retarget(source_pte: Path, source_vela_dirs: list[Path], partitions: list[dict], dest: Path) -> Path:
    """Write ``dest``: ``source_pte`` with each Ethos-U delegate's payload and compile
    specs replaced by those of the same partition in ``partitions`` (this target's
    Vela output). Everything else (memory plan, CPU kernels, constants) is the same
    for every target of the profile, so this equals a fresh ``to_executorch()``."""
    from executorch.exir._serialize._program import serialize_pte_binary
    from executorch.exir.capture._config import ExecutorchBackendConfig

    pte_file = read(source_pte)
    program = pte_file.program
    streams = [command_stream(d) for d in source_vela_dirs]
    for plan in program.execution_plan:
        for delegate, index in zip(plan.delegates, delegate_partitions(program, plan, streams)):
            if "EthosU" not in delegate.id or index is None:
                raise ValueError(f"delegate {delegate.id} of {source_pte} matches no NPU partition")
            program.backend_delegate_data[delegate.processed.index].data = partitions[index]["processed"]
            # This target's specs; keep the ones lowering added (e.g. transform_pipeline_config).
            new = {spec.key: spec for spec in partitions[index]["compile_specs"]}
            delegate.compile_specs = [new.pop(spec.key, spec) for spec in delegate.compile_specs] + list(new.values())
    config = ExecutorchBackendConfig()  # what to_executorch() uses by default, as the pipeline does
    data = serialize_pte_binary(pte_file, extract_delegate_segments=config.extract_delegate_segments,
                                segment_alignment=config.segment_alignment,
                                constant_tensor_alignment=config.constant_tensor_alignment,
                                delegate_alignment=config.delegate_alignment)
    Path(dest).write_bytes(bytes(data))
    return Path(dest)
