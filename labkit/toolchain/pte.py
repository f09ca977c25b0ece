"""ExecuTorch programs (.pte): reading one, which Ethos-U delegate holds which NPU
partition, the program's input and output tensors, and writing a .pte for another
accelerator of the same TOSA profile without lowering again (only the delegates'
Vela output and compile specs differ)."""

from __future__ import annotations

from pathlib import Path

from ..errors import SimulationError

# ExecuTorch's ScalarType codes (exir/scalar_type.py) that labkit reads.
SCALAR_TYPES = {0: "uint8", 1: "int8", 2: "int16", 3: "int32", 4: "int64", 5: "float16", 6: "float32",
                7: "float64", 11: "bool", 15: "bfloat16"}


def read(pte: Path):
    """The deserialized .pte (``.program`` is the flatbuffer's Program)."""
    from executorch.exir._serialize._program import deserialize_pte_binary

    return deserialize_pte_binary(Path(pte).read_bytes())


def torch_dtype(code: int):
    import torch

    if code not in SCALAR_TYPES:
        raise SimulationError(f"the .pte uses scalar type {code}, which labkit's host runner does not support.")
    return getattr(torch, SCALAR_TYPES[code])


def io_specs(program) -> tuple[list, list]:
    """[(sizes, torch dtype, dim_order) or None] of the first method's inputs and outputs."""
    plan = program.execution_plan[0]

    def spec(i):
        val = plan.values[i].val
        if type(val).__name__ != "Tensor":
            return None
        return tuple(int(d) for d in val.sizes), torch_dtype(val.scalar_type), [int(d) for d in val.dim_order]

    return [spec(i) for i in plan.inputs], [spec(i) for i in plan.outputs]


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


def retarget(source_pte: Path, source_streams: list[bytes | None], payloads: list[tuple[bytes, list]],
             dest: Path) -> Path:
    """Write ``dest``: ``source_pte`` with each Ethos-U delegate's payload and compile
    specs replaced by ``payloads[i]`` = (Vela's processed bytes, compile specs) of the
    same partition i for this target (partitions found by their ``source_streams``).
    Everything else (memory plan, CPU kernels, constants) is the same for every target
    of the profile, so this equals a fresh ``to_executorch()``."""
    from executorch.exir._serialize._program import serialize_pte_binary
    from executorch.exir.capture._config import ExecutorchBackendConfig

    pte_file = read(source_pte)
    program = pte_file.program
    for plan in program.execution_plan:
        for delegate, index in zip(plan.delegates, delegate_partitions(program, plan, source_streams)):
            if "EthosU" not in delegate.id or index is None:
                raise ValueError(f"delegate {delegate.id} of {source_pte} matches no NPU partition")
            processed, specs = payloads[index]
            program.backend_delegate_data[delegate.processed.index].data = processed
            # This target's specs; keep the ones lowering added (e.g. transform_pipeline_config).
            new = {spec.key: spec for spec in specs}
            delegate.compile_specs = [new.pop(spec.key, spec) for spec in delegate.compile_specs] + list(new.values())
    config = ExecutorchBackendConfig()  # what to_executorch() uses by default, as lowering does
    data = serialize_pte_binary(pte_file, extract_delegate_segments=config.extract_delegate_segments,
                                segment_alignment=config.segment_alignment,
                                constant_tensor_alignment=config.constant_tensor_alignment,
                                delegate_alignment=config.delegate_alignment)
    Path(dest).write_bytes(bytes(data))
    return Path(dest)
