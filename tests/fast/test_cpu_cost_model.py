"""The Cortex-M cost model against its calibration data (no compile)."""

import pytest

from labkit.cpu import cost_model


def test_the_fit_reproduces_its_calibration_within_its_stated_error():
    table = cost_model.calibration()
    assert len(table) == 9 and table["in_range"].all()
    coefficients = cost_model.coefficients()
    for _, row in table.iterrows():
        stated = coefficients[row["kernel_class"]].largest_residual
        assert abs(row["error"]) <= stated + 1e-5, row  # the estimate is rounded to whole cycles
    assert coefficients["pointwise"].largest_residual < 0.05  # 4 layers, 2 coefficients


def test_the_lower_bound_is_never_above_the_estimate():
    for kind in cost_model.KERNEL_CLASSES:
        for work in (cost_model.Work(kind, macs=10_000, outputs=100, inputs=100, bytes=2_000),
                     cost_model.Work(kind, outputs=1, inputs=1, bytes=8_000, dtype="float32")):
            e = cost_model.estimate(work)
            assert e["cpu_cycles_min"] <= e["cpu_cycles_low"] <= e["cpu_cycles_est"] <= e["cpu_cycles_high"]
            assert e["cpu_basis"]


def test_derived_classes_say_so_and_get_wider_ranges():
    c = cost_model.coefficients()
    assert c["softmax"].basis.startswith("derived") and c["softmax"].largest_residual is None
    assert c["softmax"].spread > c["pointwise"].spread


@pytest.mark.parametrize("kind", ["pointwise", "depthwise"])
def test_measured_classes_name_their_fit(kind):
    assert "measured layers" in cost_model.coefficients()[kind].basis


def test_16_bit_activations_keep_the_portable_kernels():
    from labkit.cpu import kernels
    from labkit.quantization import parse

    assert kernels.effective("cmsis-nn", parse("int8")) == "cmsis-nn"
    assert kernels.effective("cmsis-nn", parse("a16w8")) == "portable"
    assert kernels.effective("cmsis-nn", parse({"default": "int8", "features.0": "a16w8"})) == "portable"
    assert kernels.effective("portable", parse("int8")) == "portable"
