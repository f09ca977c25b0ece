"""Per-operator numerics: fake-quant and the TOSA reference model against float,
operator by operator, on real compiles and real reference-model runs."""

import math

import pytest
import torch
from torch import nn

import labkit
from labkit.errors import InputValueError, QuantizationError

U85 = "ethos-u85-256"


@pytest.fixture(scope="module")
def digits_numerics():
    return labkit.numerics("digits_cnn", U85)


def test_one_row_per_operator_of_the_report(digits_numerics, compiled):
    report = compiled("digits_cnn", U85)
    model_rows = report.operators[report.operators["origin"] == "model"]
    assert digits_numerics["node"].tolist() == model_rows["node"].tolist()
    assert digits_numerics.attrs["samples"] == 16 and digits_numerics.attrs["quantization"] == "int8"
    assert digits_numerics.attrs["float_graph_max_abs_diff"] < 1e-4  # the float graph is the nn.Module
    compute = digits_numerics[~digits_numerics["op"].str.startswith("quantized_decomposed.")]
    assert compute["sqnr_fake_quant_db"].between(20, 80).all(), compute


def test_the_graph_the_compile_kept_is_the_graph_quantized_again(compiled):
    """numerics and evaluate run the fake-quant graph the compile kept; quantizing the
    model again in the kernel (their fallback) gives the same graph and the same values."""
    from labkit.models import resolve
    from labkit.quantization import Quantization
    from labkit.toolchain import graph_file
    from labkit.toolchain.export import export_module
    from labkit.toolchain.quantize import calibrated, compile_spec, fake_quant_graph

    kept = compiled("digits_cnn", U85).artifacts.fake_quant
    assert kept is not None and kept.exists()
    m = resolve("digits_cnn")
    ep = export_module(m.float_module(), m.example())
    again = fake_quant_graph(calibrated(ep, m.own_calibration(), compile_spec(labkit.resolve_target(U85)),
                                        Quantization()), m.example())
    loaded = graph_file.load(kept)
    assert [n.name for n in loaded.graph.nodes] == [n.name for n in again.graph.nodes]
    for x in m.evaluation()[0][:4]:
        assert torch.equal(loaded(x[None]), again(x[None]))


def test_every_npu_operator_is_within_one_step_of_fake_quant(digits_numerics):
    npu = digits_numerics[digits_numerics["sqnr_tosa_db"].notna()]
    assert set(npu["op"]) >= {"aten.convolution", "aten.linear"} and (npu["placement"] == "NPU").all()
    assert (npu["tosa_vs_fake_quant_lsb"] <= 1).all(), npu
    # The two int8 models agree, so they are equally far from float.
    assert ((npu["sqnr_tosa_db"] - npu["sqnr_fake_quant_db"]).abs() < 0.5).all()


class _Scale(nn.Module):
    def __init__(self):
        super().__init__()
        s = torch.ones(1, 8, 1, 1)
        s[0, 0] = 1000.0  # one channel a thousand times larger than the others
        self.register_buffer("s", s)

    def forward(self, x):
        return x * self.s


class MisScaled(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.scale = _Scale()
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        with torch.no_grad():
            self.conv2.weight[:, 0] = 0  # ... which the next layer ignores

    def forward(self, x):
        return self.conv2(self.scale(torch.relu(self.conv1(x))))


def test_a_mis_scaled_channel_shows_where_the_error_enters():
    data = torch.rand(8, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1
    table = labkit.numerics(MisScaled(), U85, data=data, example_inputs=(data[:1],))
    worst = table.loc[table["sqnr_drop_db"].idxmax()]
    # The mis-scaled channel dominates the per-tensor range of the multiply's output, so
    # the other channels keep only a few steps; the convolution that drops the big
    # channel is left with that coarse signal: its SQNR collapses there.
    assert worst["module"] == "conv2" and worst["op"] == "aten.convolution"
    assert worst["sqnr_drop_db"] > 20 and worst["sqnr_fake_quant_db"] < 10
    before = table[(table["module"] == "conv1") & (table["op"] == "aten.convolution")]
    assert (before["sqnr_fake_quant_db"] > 30).all()
    assert worst["tosa_vs_fake_quant_lsb"] <= 1  # the NPU computes what fake-quant predicts


def test_a16w8_is_closer_to_float_than_int8(digits_numerics):
    wide = labkit.numerics("digits_cnn", U85, quantization="a16w8")
    convs = digits_numerics[digits_numerics["op"] == "aten.convolution"]["sqnr_fake_quant_db"].to_numpy()
    wide_convs = wide[wide["op"] == "aten.convolution"]["sqnr_fake_quant_db"].to_numpy()
    assert (wide_convs > convs).all()
    assert wide.attrs["quantization"] == "a16w8"


def test_by_module_and_the_figure(digits_numerics):
    from labkit.runtime.numerics import by_module

    modules = by_module(digits_numerics)
    assert set(modules["module"]) == {"conv1", "conv2", "fc", "relu"}
    fc = modules.set_index("module").loc["fc"]
    assert math.isclose(fc["worst_sqnr_fake_quant_db"], digits_numerics[digits_numerics["module"] == "fc"]
                        ["sqnr_fake_quant_db"].min())
    fig = labkit.plots.numerics(digits_numerics)
    assert "SQNR along the graph" in fig.layout.title.text and "int8" in fig.layout.title.text
    assert len(fig.data[0].x) == (~digits_numerics["op"].str.startswith("quantized_decomposed.")).sum()


def test_data_of_the_wrong_shape_is_one_clear_error():
    with pytest.raises(InputValueError, match=r"takes \(1, 1, 8, 8\)"):
        labkit.numerics("digits_cnn", U85, data=torch.zeros(4, 1, 9, 9))


def test_an_unknown_scheme_is_refused():
    with pytest.raises(QuantizationError, match="Unknown quantization scheme"):
        labkit.numerics("digits_cnn", U85, quantization="int7")
