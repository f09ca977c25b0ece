"""Reading a TOSA flatbuffer (the graph ExecuTorch lowered a partition to, and Vela
compiled) with tosa-tools' generated bindings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class TosaGraph:
    """What labkit needs of one TOSA file: its bytes (for the reference model), each
    operator's type and output tensor name by operator index (Vela's ``ext_key``),
    and the shapes of the graph's inputs and outputs."""

    path: Path
    data: bytes
    op_types: tuple[str, ...]       # 'CONV2D', 'TRANSPOSE', ...
    output_names: tuple[str, ...]   # each operator's first output tensor ('' if none)
    input_shapes: tuple[tuple[int, ...], ...]
    output_shapes: tuple[tuple[int, ...], ...]


def read(path: Path) -> TosaGraph:
    from tosa.Op import Op
    from tosa.TosaGraph import TosaGraph as Flatbuffer

    data = Path(path).read_bytes()
    block = Flatbuffer.GetRootAs(data, 0).Regions(0).Blocks(0)
    op_names = {v: k for k, v in vars(Op).items() if not k.startswith("_")}
    operators = [block.Operators(i) for i in range(block.OperatorsLength())]
    tensors = {block.Tensors(i).Name().decode(): block.Tensors(i) for i in range(block.TensorsLength())}

    def shape(name: bytes) -> tuple[int, ...]:
        return tuple(int(d) for d in tensors[name.decode()].ShapeAsNumpy())

    return TosaGraph(
        Path(path), data,
        tuple(op_names.get(op.Op(), "?") for op in operators),
        tuple(op.Outputs(0).decode() if op.OutputsLength() else "" for op in operators),
        tuple(shape(block.Inputs(i)) for i in range(block.InputsLength())),
        tuple(shape(block.Outputs(i)) for i in range(block.OutputsLength())),
    )
