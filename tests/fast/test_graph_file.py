"""The fake-quant graph file (toolchain.graph_file): an exported graph comes back with
the same node names and the same outputs, in the model's output structure."""

import pytest
import torch
from torch import nn

from labkit.toolchain import graph_file


class TwoOutputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.register_buffer("offset", torch.arange(4.0).reshape(1, 4, 1, 1))

    def forward(self, x):
        y = self.conv(x) + self.offset
        a, b = y.split(2, dim=1)
        return {"a": a.relu(), "b": b.mean(dim=(2, 3))}


def test_round_trip_keeps_names_and_outputs(tmp_path):
    x = torch.randn(1, 3, 8, 8)
    graph = torch.export.export(TwoOutputs().eval(), (x,)).module(check_guards=False)
    graph_file.save(graph, tmp_path / "g.graph")
    assert [p.name for p in tmp_path.iterdir()] == ["g.graph"]  # no partial file left
    loaded = graph_file.load(tmp_path / "g.graph")
    assert [n.name for n in loaded.graph.nodes] == [n.name for n in graph.graph.nodes]
    want, got = graph(x), loaded(x)
    assert set(got) == {"a", "b"} and all(torch.equal(want[k], got[k]) for k in want)


def test_a_graph_it_cannot_store_is_refused_before_anything_is_written(tmp_path):
    traced = torch.fx.symbolic_trace(nn.Sequential(nn.Linear(2, 2)))  # calls a submodule
    with pytest.raises(ValueError, match="submodule"):
        graph_file.save(traced, tmp_path / "g.graph")
    assert not list(tmp_path.iterdir())
