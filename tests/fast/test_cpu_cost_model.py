"""The Cortex-M cost model against its calibration data (no compile)."""

import json
import math

import pytest

from labkit.cpu import calibration, cost_model, fit
from labkit.cpu.cost_model import Work


def test_the_shipped_coefficients_are_what_the_fit_writes_from_the_csvs():
    fits, dispatch = fit.fit()
    written = json.loads(json.dumps(fit.to_json(fits, dispatch)))
    shipped = cost_model.model()
    assert written["classes"].keys() == shipped["classes"].keys() == set(cost_model.KERNEL_CLASSES)
    for name, c in written["classes"].items():
        assert c["basis"] == shipped["classes"][name]["basis"], name
        assert c["band"] == pytest.approx(shipped["classes"][name]["band"], rel=1e-6), name
        assert _close(c["terms"], shipped["classes"][name]["terms"]), name
        assert c["fixed"] == pytest.approx(shipped["classes"][name]["fixed"], rel=1e-6), name


def _close(a, b) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    return math.isclose(a, b, rel_tol=1e-6)


def test_the_measurements_are_read_with_every_row_kept_and_the_unfitted_ones_explained():
    rows = calibration.measurements()
    assert len(rows) == 9 + 184
    fitted = [m for m in rows if m.in_fit]
    assert {m.source for m in fitted} == set(calibration.SOURCES)
    assert all(m.why_not for m in rows if not m.in_fit)
    # The Alif shapes are parsed from text and checked against the CSV's MACs (in alif()).
    assert [m.work.kernel_class for m in calibration.alif()].count("pointwise") == 4


def test_every_fitted_measurement_lies_inside_its_stated_range_and_residuals_within_the_band():
    table = calibration.table()
    fitted = table[table["fitted"]]
    assert len(fitted) == 48 and fitted["in_range"].all()
    for name, c in cost_model.model()["classes"].items():
        assert all(abs(r) <= math.log(c["band"]) + 1e-9 for r in c["residuals"]), name


def test_leave_one_source_out_predicts_most_held_out_measurements_inside_the_reduced_fits_range():
    table = fit.leave_one_source_out()
    assert set(table["held_out"]) == set(calibration.SOURCES) and len(table) == 48
    assert table["in_range"].mean() >= 0.85
    for source, rows in table.groupby("held_out"):
        assert 0.5 <= rows["ratio"].median() <= 2.0, source


@pytest.mark.parametrize("core", ["cortex-m55", "cortex-m85"])
def test_the_lower_bound_is_never_above_the_estimate(core):
    for kind in cost_model.KERNEL_CLASSES:
        for work in (Work(kind, macs=10_000, outputs=100, inputs=100, bytes=2_000, channels_in=16, taps=9,
                          out_pixels=10),
                     Work(kind, "sub", outputs=1, inputs=1, bytes=8_000, dtype="float32")):
            e = cost_model.estimate(work, core, 400e6)
            assert e["cpu_cycles_min"] <= e["cpu_cycles_low"] <= e["cpu_cycles_est"] <= e["cpu_cycles_high"]
            assert e["cpu_basis"]


def test_derived_classes_say_so_and_get_wider_ranges():
    c = cost_model.classes()
    for name in ("softmax", "layout_copy"):
        assert c[name].kind == "derived" and "derived" in c[name].basis and not c[name].points
        assert c[name].band >= 3 > c["pointwise"].band
    # An operator with no measurement of its own inside a measured class is priced wider too.
    assert c["portable_float"].band_of("gelu") >= 3 > c["portable_float"].band_of("sub")


def test_a_one_channel_stem_is_priced_by_its_vector_blocks_not_its_macs():
    """DS-CNN's stem (1 -> 64 channels, 10x4, 25x5 out: 320k MACs) against a 64 -> 64 pointwise
    layer of the same output (512k MACs): the stem's im2col rows are 40 deep, three vector blocks."""
    stem = Work("convolution", macs=320_000, outputs=8_000, channels_in=1, taps=40, out_pixels=125)
    pointwise = Work("pointwise", macs=512_000, outputs=8_000, channels_in=64, taps=1, out_pixels=125)
    ratio = cost_model.estimate(stem)["cpu_cycles_est"] / cost_model.estimate(pointwise)["cpu_cycles_est"]
    assert 1 < ratio < 2.5


def test_layout_kernels_are_priced_as_what_they_are():
    depthwise = cost_model.estimate(Work("depthwise", macs=72_000, outputs=8_000, channels_in=64, taps=9,
                                         out_pixels=125))["cpu_cycles_est"]
    pad = cost_model.estimate(Work("pad", inputs=8_000, outputs=8_000))["cpu_cycles_est"]  # arm_pad_s8
    transpose = cost_model.estimate(Work("transpose", inputs=8_000, outputs=8_000))["cpu_cycles_est"]
    assert pad < 0.05 * depthwise and transpose < 0.1 * depthwise


def test_cortex_m85_keeps_helium_work_and_speeds_up_scalar_work_with_a_wider_range():
    vector = Work("pointwise", macs=4_096_000, outputs=64_000, channels_in=64, taps=1, out_pixels=1000)
    scalar = Work("quantize", inputs=150_528, outputs=150_528)
    for work, low, high in ((vector, 0.85, 1.0), (scalar, 0.6, 0.75)):
        m55, m85 = cost_model.estimate(work, "cortex-m55"), cost_model.estimate(work, "cortex-m85")
        assert low <= m85["cpu_cycles_est"] / m55["cpu_cycles_est"] <= high
        assert m85["cpu_cycles_high"] / m85["cpu_cycles_est"] > m55["cpu_cycles_high"] / m55["cpu_cycles_est"]
        assert "Cortex-M85" in m85["cpu_basis"]


def test_the_clock_factor_is_flat_outside_the_measured_clocks():
    f = cost_model.clock_factor
    assert f(48e6) == f(96e6) == 1.0
    assert f(96e6) < f(160e6) < f(250e6) == f(480e6) == pytest.approx(1.075)
    assert f(None) == pytest.approx(1.0375)


def test_16_bit_activations_keep_the_portable_kernels():
    from labkit.cpu import kernels
    from labkit.quantization import parse

    assert kernels.effective("cmsis-nn", parse("int8")) == "cmsis-nn"
    assert kernels.effective("cmsis-nn", parse("a16w8")) == "portable"
    assert kernels.effective("cmsis-nn", parse({"default": "int8", "features.0": "a16w8"})) == "portable"
    assert kernels.effective("portable", parse("int8")) == "portable"
