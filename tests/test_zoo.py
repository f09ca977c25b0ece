"""The model zoo (tests/zoo.py): user-style models labkit was not written for, through
every part a user reaches (tests/whole_path.py), with cycles equal to ExecuTorch's own
hand-written flow (tests/reference_flow.py).

The main run takes each zoo model through the whole path on one target, the three
families in turn (so every family of NPU meets recurrent, attention, 1-D, U-Net ...
models), and checks its cycles against ExecuTorch's flow on that target for the
models that lower fast. ``--zoo-full`` (marked ``zoo_full``) adds the other two
targets of every model and every cycle check: run once per change of the toolchain,
its table is in the issue's note.
"""

import pytest
import torch

from labkit.inputs import random_like
from tests import reference_flow, whole_path, zoo
from tests.test_execution_order import execution_order_ok

TARGETS = ("ethos-u55-128", "ethos-u65-256", "ethos-u85-256")
# The target each model takes the whole path on in the main run: the families in turn.
MAIN_TARGET = {name: TARGETS[i % len(TARGETS)] for i, name in enumerate(zoo.names())}
# Models whose ExecuTorch flow lowers in seconds: their cycles are checked in the main run too.
QUICK_REFERENCE = ("kws_conv1d", "tiny_unet", "residual_cnn", "two_inputs", "token_classifier", "dict_input")
FAMILIES = {"recurrent", "attention", "audio-1d", "u-net", "mobilenet-v3", "norm", "activations", "upsampling",
            "multi-io", "embedding", "pytree"}


def _walk(name: str, target: str, folder, **kw) -> dict:
    z = zoo.get(name)
    model, args = z.build(), z.example()
    # evaluate on a few samples drawn as labkit draws them (numerics keeps its default 16)
    g = torch.Generator().manual_seed(0)
    done = whole_path.walk(model, args, target, folder, evaluate_data=[random_like(args, g) for _ in range(4)], **kw)
    whole_path.check(done)
    report = done["compile"]
    assert execution_order_ok(report), report.operators[["node", "op", "placement", "partition"]].to_string()
    return done


def test_the_zoo_covers_the_families_users_bring():
    assert len(zoo.ZOO) >= 20
    assert FAMILIES <= {m.family for m in zoo.ZOO}
    integer = [m.name for m in zoo.ZOO if any(not t.is_floating_point() for t in whole_path.leaves(m.example()))]
    nested = [m.name for m in zoo.ZOO if any(not isinstance(a, torch.Tensor) for a in m.example())]
    assert {"token_classifier", "masked_mean_pool"} <= set(integer)
    assert {"gru_state", "lstm_state", "executorch_lstm", "dict_input", "list_input"} <= set(nested)
    assert set(MAIN_TARGET.values()) == set(TARGETS)


@pytest.mark.parametrize("name", zoo.names())
def test_whole_path(name, tmp_path):
    _walk(name, MAIN_TARGET[name], tmp_path)


@pytest.mark.parametrize("name", QUICK_REFERENCE)
def test_cycles_equal_executorch_flow(name):
    _same_cycles_as_executorch(name, MAIN_TARGET[name])


@pytest.mark.zoo_full
@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", zoo.names())
def test_whole_path_on_every_family(name, target, tmp_path):
    if target == MAIN_TARGET[name]:
        pytest.skip("the main run's test_whole_path covers this target")
    _walk(name, target, tmp_path, advise_budget=1)


@pytest.mark.zoo_full
@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", zoo.names())
def test_cycles_equal_executorch_flow_everywhere(name, target):
    if name in QUICK_REFERENCE and target == MAIN_TARGET[name]:
        pytest.skip("the main run checks this one")
    _same_cycles_as_executorch(name, target)


def _same_cycles_as_executorch(name: str, target: str) -> None:
    import labkit

    z = zoo.get(name)
    report = labkit.compile(z.build(), target, example_inputs=z.example(), progress=False)
    theirs = reference_flow.executorch_cycles(z.build(), z.example(), target)
    assert (report.summary["partitions"], report.summary["total_cycles"]) == \
        (theirs["partitions"], theirs["cycles"]), (name, target, theirs)
