"""The Cortex-M side on real compiles: which kernel each CPU operator runs on, that the
host runner runs CMSIS-NN kernels like fake-quant, and that every CPU figure is a
labelled cortex-m-estimate range."""

import pytest
import torch

import labkit
from labkit.cpu import calibration
from labkit.errors import InputValueError, TargetError
from labkit.runtime import evaluate
from tests.models_for_tests import ConvSortConv

U55 = "ethos-u55-128"


def _cpu(report):
    return report.operators[report.operators["placement"] == "CPU"]


def test_the_rejected_avg_pool_runs_on_cmsis_nn_or_portable_as_asked(compiled):
    cmsis, portable = compiled("ds_cnn", U55), compiled("ds_cnn", U55, cpu_kernels="portable")
    pool = lambda r: _cpu(r)[_cpu(r)["op"] == "aten.avg_pool2d"]["kernel"].item()  # noqa: E731
    assert pool(cmsis) == "cortex_m.quantized_avg_pool2d · CMSIS-NN (MVE)"
    assert pool(portable) == "aten.avg_pool2d · portable float32"
    # With CMSIS-NN the pool's dequantize/quantize round trip through float is gone.
    folded = _cpu(cmsis)["kernel"].str.startswith("no kernel of its own")
    assert folded.sum() == 2 and not _cpu(portable)["kernel"].str.startswith("no kernel").any()
    assert cmsis.summary["cpu_kernels"] == "cmsis-nn" and portable.summary["cpu_kernels"] == "portable"
    assert cmsis.summary["cpu_cycles_est"] < portable.summary["cpu_cycles_est"]


def test_sort_stays_on_a_portable_kernel():
    report = labkit.compile(ConvSortConv(), U55, example_inputs=(torch.randn(1, 3, 16, 16),), progress=False)
    sort = _cpu(report)[_cpu(report)["op"] == "aten.sort"]["kernel"].item()
    assert sort.startswith("aten.sort · portable float32")
    assert report.operators.loc[report.operators["op"] == "aten.sort", "cpu_cycles_est"].item() > 0


def test_simulate_of_a_cmsis_nn_compile_is_within_one_step_of_fake_quant():
    samples = [(torch.randn(1, 1, 49, 10),) for _ in range(4)]
    table = evaluate.outputs("ds_cnn", U55, data=samples)
    step = table.attrs["output_scale"]
    diff = (table.loc["tosa-reference"].to_numpy() - table.loc["fake-quant-int8"].to_numpy())
    assert abs(diff).max() <= step * 1.001


def test_every_cpu_figure_is_a_labelled_range(compiled):
    for report in (compiled("ds_cnn", U55), compiled("ds_cnn", U55, cpu_kernels="portable")):
        ops = report.operators
        estimated = ops[ops["cpu_cycles_est"].notna()]
        assert len(estimated) and (estimated["placement"] == "CPU").all()
        assert (estimated["cpu_cycles_min"] <= estimated["cpu_cycles_low"]).all()
        assert (estimated["cpu_cycles_low"] <= estimated["cpu_cycles_est"]).all()
        assert (estimated["cpu_cycles_est"] <= estimated["cpu_cycles_high"]).all()
        assert (estimated["cpu_basis"] != "").all()
        s = report.summary
        assert s["cpu_source"].startswith("cortex-m-estimate") and s["cpu_core"] == "cortex-m55"
        assert s["total_ms_low"] == pytest.approx(s["npu_ms"] + s["cpu_ms_low"])
        assert s["npu_ms"] == s["inference_ms"]  # Vela's figure stays the NPU's alone
        text = report.summary_text()
        assert "cortex-m-estimate" in text and "vela-estimate" in text


def test_the_cpu_core_is_a_choice(compiled):
    m85 = compiled("ds_cnn", U55, cpu="cortex-m85")
    assert m85.summary["cpu_core"] == "cortex-m85" and m85.target.cpu_core == "cortex-m85"
    assert set(_cpu(m85)["cpu"]) == {"cortex-m85"} and set(_cpu(compiled("ds_cnn", U55))["cpu"]) == {"cortex-m55"}
    assert labkit.resolve_target("corstone-320").cpu_core == "cortex-m85"


def test_bad_cpu_choices_are_one_clear_error_each():
    with pytest.raises(InputValueError, match="'cmsis-nn'.*'portable'"):
        labkit.compile("ds_cnn", U55, cpu_kernels="fast")
    with pytest.raises(TargetError, match="cortex-m55, cortex-m85"):
        labkit.compile("ds_cnn", U55, cpu="cortex-m4")


def test_a_cpu_only_target_has_no_delegate_and_costs_more_than_with_the_npu(compiled):
    cpu_only, with_npu = compiled("ds_cnn", "cortex-m55"), compiled("ds_cnn", "corstone-300")
    s = cpu_only.summary
    assert s["partitions"] == 0 and s["npu_ops"] == 0 and s["npu_cycles"] == 0 and s["cpu_core"] == "cortex-m55"
    assert (cpu_only.operators["placement"] == "CPU").all()
    assert cpu_only.delegation["occurrences_in_delegated_graphs"].sum() == 0
    kernels = cpu_only.operators["kernel"]
    assert kernels.str.contains("cortex_m.quantized_conv2d · CMSIS-NN").any()
    assert kernels.str.contains("cortex_m.quantized_linear · CMSIS-NN").any()
    assert s["total_ms_low"] > with_npu.summary["total_ms_high"]  # the NPU buys time, whatever the error
    assert "CPU only" in cpu_only.summary_text()


def test_simulate_of_a_cpu_only_compile_is_within_one_step_of_fake_quant():
    samples = [(torch.randn(1, 1, 49, 10),) for _ in range(4)]
    table = evaluate.outputs("ds_cnn", "cortex-m85", data=samples)
    diff = (table.loc["tosa-reference"].to_numpy() - table.loc["fake-quant-int8"].to_numpy())
    assert abs(diff).max() <= table.attrs["output_scale"] * 1.001


def test_npu_only_options_on_a_cpu_only_target_are_refused():
    from labkit.errors import QuantizationError

    with pytest.raises(TargetError, match="CPU-only target"):
        labkit.compile("ds_cnn", "cortex-m55", memory_mode="Shared_Sram")
    with pytest.raises(TargetError, match="CPU-only target"):
        labkit.compile("ds_cnn", "cortex-m55", system_config="Ethos_U55_High_End_Embedded")
    with pytest.raises(QuantizationError, match="symmetric int8 only"):
        labkit.compile("ds_cnn", "cortex-m55", quantization="a16w8", progress=False)


def test_a_sweep_compares_with_and_without_the_npu():
    from labkit.views import sweep_plots

    df = labkit.sweep("ds_cnn", [U55, "cortex-m55"], progress=False)
    assert list(df["error"]) == ["", ""] and set(df["family"]) == {"ethos-u55", "cortex-m"}
    table = labkit.sweep_tables.table(df)
    assert list(table["accelerator"]) == [U55, "cortex-m55"]  # ordered by the whole inference
    figure = sweep_plots.whole_inference(df)
    npu, cpu = figure.data
    assert len(cpu.x) == 2 and list(npu.x) == sorted(npu.x, reverse=True)  # CPU-only: no NPU time
    assert "CPU only" in " ".join(npu.y) and cpu.name.startswith("CPU (cortex-m-estimate")


@pytest.mark.parametrize("row", calibration.whole_models().to_dict("records"), ids=lambda r: r["model"])
def test_each_mlperf_tiny_model_on_cortex_m85_is_within_its_stated_range_of_silicon(compiled, row):
    """Held out: no whole-model figure is in the fit (data/cortex-m/whole_models.csv, MLPerf
    Tiny v1.2 on a Renesas EK-RA8D1). ExecuTorch's program is not TFLM's (it converts the
    float input and output and copies between layouts), and the estimate counts that too."""
    s = compiled(row["model"], "cortex-m85").summary
    measured = row["cycles_per_inference"]
    assert 0.67 <= s["cpu_cycles_est"] / measured <= 1.5
    assert s["cpu_cycles_low"] <= measured <= s["cpu_cycles_high"]
    assert "Cortex-M85" in s["cpu_source"]


def test_a_depthwise_convolution_of_one_input_channel_is_priced_as_the_convolution_cmsis_nn_runs(compiled):
    ops = _cpu(compiled("ds_cnn", "cortex-m55"))
    stem = ops[ops["kernel"].str.startswith("cortex_m.quantized_depthwise_conv2d")].iloc[0]
    pointwise = ops[ops["kernel"].str.startswith("cortex_m.quantized_conv2d")].iloc[0]
    assert "arm_convolve_s8" in stem["cpu_basis"]
    assert stem["cpu_cycles_est"] < 2.5 * pointwise["cpu_cycles_est"]  # 320k MACs against 512k
