"""Refusals that help, on real compiles of small models: control flow ExecuTorch cannot
lower, an operator it fails on, the TOSA reference model rejecting a graph, dynamic
shapes, each one LabkitError (or report warning) naming the operator, the source line
and the fix, in the API, the CLI and the Lab. Also the CPU kernel labels of views."""

import importlib.util
import inspect
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import torch
from torch import nn

import labkit
from labkit import errors
from labkit.report import Report
from tests.fast.test_cli import labkit as labkit_cli
from tests.models_for_tests import TinyConv
from tests.test_execution_order import pte_calls, row_calls

U55 = "ethos-u55-128"


class Cond(nn.Module):
    """torch.cond on a 0-d predicate: it exports, but ExecuTorch 1.5.1's Arm backend fails to lower it."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        y = self.conv(x)
        positive = y.sum() > 0
        return torch.cond(positive, lambda y: y + 1, lambda y: y - 1, (y,))


class SumAll(nn.Module):
    """A sum to a 0-d tensor, no control flow: the same lowering failure."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        return self.conv(x).sum()


def _line(cls, text: str) -> str:
    """'/path/tests/file.py:NN' of the line of cls.forward that holds ``text``."""
    lines, first = inspect.getsourcelines(cls.forward)
    return f"{inspect.getsourcefile(cls)}:{first + next(i for i, line in enumerate(lines) if text in line)}"


def _example():
    return (torch.randn(1, 3, 8, 8, generator=torch.Generator().manual_seed(0)),)


# ---------------------------------------------------------------- control flow and lowering failures

def test_control_flow_that_does_not_lower_names_the_construct_the_line_and_the_fix():
    with pytest.raises(errors.CompileError) as e:
        labkit.compile(Cond(), U55, example_inputs=_example(), progress=False, in_process=True)
    message = str(e.value)
    assert f"torch.cond at {_line(Cond, 'torch.cond')}" in message
    assert f"tosa.CONST_SHAPE from {_line(Cond, 'y.sum()')}" in message  # the operator it failed on
    assert "InternalError: While executing %tosa_const_shape_default" in message  # ExecuTorch's own first line
    assert "torch.where(condition, a, b)" in message and "keep a dimension" in message
    assert "\n" not in message


def test_an_operator_the_backend_fails_on_is_named_with_its_line():
    with pytest.raises(errors.CompileError) as e:
        labkit.compile(SumAll(), U55, example_inputs=_example(), progress=False, in_process=True)
    message = str(e.value)
    assert f"lowering to TOSA, on tosa.CONST_SHAPE from {_line(SumAll, '.sum()')}" in message
    assert "0-d (scalar) tensor" in message and "control flow" not in message


def test_the_cli_prints_the_control_flow_refusal_on_one_line(tmp_path):
    path = tmp_path / "cond.pt2"
    torch.export.save(torch.export.export(Cond().eval(), _example()), path)
    out = labkit_cli("compile", str(path), "--target", U55)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    refusal = [line for line in out.stderr.splitlines() if line.startswith("labkit: error:")]
    assert len(refusal) == 1 and "torch.cond at" in refusal[0] and "torch.where" in refusal[0], out.stderr
    assert _line(Cond, "torch.cond").rsplit(":", 1)[1] in refusal[0]


def test_the_lab_shows_the_control_flow_refusal():
    from labkit.app import Lab

    lab = Lab(models={"cond": (Cond(), _example())}, warm=False)
    assert lab.compile() is None
    status = lab.status.value
    assert "Could not compile" in status and "Traceback" not in status
    assert f"torch.cond at {_line(Cond, 'torch.cond')}" in status and "torch.where" in status


# ---------------------------------------------------------------- dynamic shapes

@pytest.fixture(scope="module")
def dynamic_report(tmp_path_factory):
    """TinyConv from a .pt2 exported with a dynamic batch (the TOSA tests break copies of its report)."""
    path = tmp_path_factory.mktemp("dynamic") / "tiny.pt2"
    batch = torch.export.Dim("b", min=1, max=8)
    torch.export.save(torch.export.export(TinyConv().eval(), (torch.randn(2, 3, 8, 8),),
                                          dynamic_shapes={"x": {0: batch}}), path)
    return labkit.compile(str(path), U55, progress=False, in_process=True)


def test_a_dynamic_dimension_compiles_for_the_example_and_says_so(dynamic_report):
    assert dynamic_report.operators.loc[dynamic_report.operators["op"] == "aten.convolution", "shape"].item() \
        == "2x4x6x6"
    warning = next(w for w in dynamic_report.warnings if w.startswith("dynamic shapes:"))
    assert "input x was exported with dimension 0 (1 to 8) dynamic, fixed to the example's 2x3x8x8" in warning


def test_a_dynamic_pt2_without_its_example_is_one_clear_error(tmp_path):
    ep = torch.export.export(TinyConv().eval(), (torch.randn(2, 3, 8, 8),),
                             dynamic_shapes={"x": {0: torch.export.Dim("b", min=1, max=8)}})
    ep.example_inputs = None
    torch.export.save(ep, tmp_path / "no_example.pt2")
    with pytest.raises(errors.ExampleInputError, match="input x's dimension 0 is dynamic.*Pass example_inputs="):
        labkit.compile(str(tmp_path / "no_example.pt2"), U55, progress=False, in_process=True)


# ---------------------------------------------------------------- the TOSA reference model rejecting a graph

def _corrupted(report, tmp_path, change) -> Report:
    """A copy of the report whose NPU partition's TOSA graph ``change`` (on its JSON block) broke."""
    folder = shutil.copytree(report.artifacts.pte.parent.parent, tmp_path / "report")
    copy = Report.load(folder)
    tosa = copy.artifacts.partitions[0].tosa
    tools = Path(importlib.util.find_spec("tosa").origin).parent.parent / "bin"
    flatc = [str(tools / "flatc"), "--strict-json", "-o", str(tosa.parent), str(tools / "tosa.fbs")]
    subprocess.run([flatc[0], "--json", "--raw-binary", *flatc[1:], "--", str(tosa)], check=True)
    doc = json.loads(tosa.with_suffix(".json").read_text())
    change(doc["regions"][0]["blocks"][0])
    tosa.with_suffix(".json").write_text(json.dumps(doc))
    subprocess.run([flatc[0], "-b", *flatc[1:], str(tosa.with_suffix(".json"))], check=True)
    return copy


def _shift_out_of_range(block):  # the reference model stops while running RESCALE: TOSA_UNPREDICTABLE
    for tensor in block["tensors"]:
        if tensor["name"].endswith("_shifts"):
            tensor["data"] = [70] * len(tensor["data"])


def _stride_zero(block):  # it refuses the graph before running it
    next(op for op in block["operators"] if op["op"] == "CONV2D")["attribute"]["stride"] = [0, 0]


@pytest.mark.parametrize("change, tosa_op, reason", [
    (_shift_out_of_range, "RESCALE", "shift value should stay within [2, 62] but is 70 (TOSA_UNPREDICTABLE)"),
    (_stride_zero, "CONV2D", "At least one stride dimension is smaller than one (Invalid TOSA graph)"),
])
def test_a_graph_the_reference_model_rejects_names_the_operator_and_its_line(dynamic_report, tmp_path, capfd,
                                                                             change, tosa_op, reason):
    broken = _corrupted(dynamic_report, tmp_path, change)
    with pytest.raises(errors.SimulationError) as e:
        labkit.simulate(broken, (torch.randn(2, 3, 8, 8),))
    message = str(e.value)
    assert f", {tosa_op} (output " in message and reason in message
    assert f"which came from aten.convolution at {_line(TinyConv, 'self.conv')}" in message
    assert "the FVP runs the real program" in message and "\n" not in message
    assert "gdb" not in capfd.readouterr().err  # no debugger attached, no native noise


# ---------------------------------------------------------------- CPU kernel labels

def test_view_operators_that_are_kernel_calls_are_priced_and_labelled_as_kernels():
    kws = nn.Sequential(nn.Conv1d(40, 64, 3, padding=1), nn.BatchNorm1d(64), nn.ReLU(),
                        nn.Conv1d(64, 64, 3, stride=2, padding=1), nn.BatchNorm1d(64), nn.ReLU(),
                        nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(64, 12))
    report = labkit.compile(kws.eval(), U55, example_inputs=(torch.randn(1, 40, 49),), progress=False,
                            in_process=True)
    cpu = report.operators[report.operators["placement"] == "CPU"].set_index("op")
    for op in ("aten.unsqueeze_copy", "aten.squeeze_copy.dims"):  # kernel calls in the .pte, priced as copies
        assert cpu.loc[op, "kernel"] == f"{op} · portable float32"
        assert cpu.loc[op, "cpu_cycles_est"] > 0 and "index arithmetic" in cpu.loc[op, "cpu_basis"]
    assert cpu.loc["aten.mean.dim", "kernel"] == "aten.mean.dim · portable float32"  # in the portable library
    assert row_calls(report) == pte_calls(report)  # a row's kernel for each of the .pte's kernel calls


def test_a_missing_batch_dimension_is_named_with_the_fix():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(4 * 14 * 14, 2))
    with pytest.raises(errors.ExampleInputError, match=r"batch dimension added: pass x\.unsqueeze\(0\)"):
        labkit.compile(model, "ethos-u55-128", example_inputs=(torch.rand(3, 16, 16),), progress=False)
    with pytest.raises(errors.ExampleInputError) as wrong:  # another wrong shape: no batch-dimension hint
        labkit.compile(model, "ethos-u55-128", example_inputs=(torch.rand(1, 3, 20, 20),), progress=False)
    assert "unsqueeze" not in str(wrong.value)
