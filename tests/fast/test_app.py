"""The Lab without compiling: its dropdowns offer only valid targets, presets set
them, and a Report (a committed fixture) renders in every tab, with figures in the
theme (normal or presentation) and the app's tables."""

import pytest

from labkit import plots, targets
from labkit.app import TABS, Lab
from labkit.app.common import PLOTLY_MIME, one_line
from labkit.errors import TargetError


def _figures(output):
    return [o["data"][PLOTLY_MIME] for o in output.outputs if PLOTLY_MIME in o["data"]]


def test_accelerator_restricts_system_configs_and_memory_modes():
    lab = Lab(warm=False)
    lab.accelerator.value = "ethos-u55-128"
    assert lab.system_config.options and all("U55" in c for c in lab.system_config.options)
    assert lab.system_config.value == "Ethos_U55_High_End_Embedded"  # the family default
    assert set(lab.memory_mode.options) == set(
        targets.valid_memory_modes("ethos-u55-128", lab.system_config.value))
    assert "Dedicated_Sram" not in lab.memory_mode.options  # Vela rejects it on a U55
    lab.accelerator.value = "ethos-u85-1024"
    assert all("U85" in c for c in lab.system_config.options)
    assert lab.selection()[1:] == ("ethos-u85-1024", "Ethos_U85_SYS_DRAM_Mid", "Sram_Only", "int8", "cmsis-nn", "")


@pytest.mark.parametrize("preset", list(targets.PRESETS))
def test_preset_buttons_set_the_three_dropdowns(preset):
    lab = Lab(warm=False)
    lab.accelerator.value = "ethos-u65-512"
    lab.presets[preset].click()
    assert lab.selection()[1:4] == targets.PRESETS[preset][:3]


def test_a_report_renders_in_every_tab(ds_cnn_u55):
    lab = Lab(warm=False)
    lab._show(ds_cnn_u55, "from a fixture")
    assert lab.report is ds_cnn_u55 and tuple(lab.tabs.titles) == TABS
    card, timeline = _figures(lab.outputs["Summary"])
    assert "ds_cnn" in card["layout"]["title"]["text"] and "Vela estimate" in card["layout"]["title"]["text"]
    lanes = {y for t in timeline["data"] for y in t["y"]}
    assert lanes == {"NPU · vela-estimate", "CPU · cortex-m-estimate"}  # ds_cnn: its avg_pool runs on the CPU
    (placement,) = _figures(lab.outputs["Placement"])
    cpu = next(t for t in placement["data"] if t["name"].startswith("CPU"))
    assert cpu["marker"]["color"] == plots.CPU_COLOR
    assert "avg_pool2d" in lab.outputs["Placement"].outputs[1]["data"]["text/html"]
    assert len(_figures(lab.outputs["Cycles"])) == 2 and len(_figures(lab.outputs["Memory"])) == 2
    memory = lab.outputs["Memory"].outputs[-1]["data"]["text/html"]
    assert "ET_ARM_BAREMETAL_METHOD_ALLOCATOR_POOL_SIZE" in memory and "ET_ARM_BAREMETAL_SCRATCH" in memory
    artifacts = lab.outputs["Artifacts"].outputs[0]["data"]["text/html"]
    assert "model.pte" in artifacts and "partition 1 Vela output" in artifacts
    assert "ethos-u55-128" in lab.status.value and "from a fixture" in lab.status.value
    assert not lab.export_button.disabled


def test_presentation_figures_use_the_presentation_template(ds_cnn_u85):
    normal, large = Lab(warm=False), Lab(warm=False, presentation=True)
    for lab in (normal, large):
        lab._show(ds_cnn_u85, "from a fixture")
    small, _ = _figures(normal.outputs["Summary"])
    big, _ = _figures(large.outputs["Summary"])
    assert small["layout"]["template"]["layout"]["font"]["size"] == 12
    assert big["layout"]["template"]["layout"]["font"]["size"] == 18
    assert big["layout"]["height"] == round(small["layout"]["height"] * 1.5)
    assert all(t["number"]["font"]["size"] == 45 for t in big["data"])


def test_errors_show_as_one_line():
    assert one_line(TargetError("Unknown target 'x'. Use a preset.")) == "Unknown target 'x'. Use a preset."
    assert one_line(RuntimeError("first line\nsecond line")) == "RuntimeError: first line"


def test_a_cpu_only_target_has_no_memory_system_to_choose():
    lab = Lab(warm=False)
    lab.accelerator.value = "cortex-m55"
    assert lab.selection()[1:4] == ("cortex-m55", "", "")
    lab.accelerator.value = "ethos-u85-256"  # back to an NPU: its family's defaults again
    assert lab.selection()[2:4] == targets.FAMILY_DEFAULTS["ethos-u85"]


def test_save_html_writes_into_its_own_folder_not_among_the_notebooks(ds_cnn_u85, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    lab = Lab(warm=False)
    lab._show(ds_cnn_u85, "from a fixture")
    path = lab.export_html()
    assert path.parent == tmp_path / "labkit-reports" and path.is_file() and not list(tmp_path.glob("*.html"))
    assert "labkit-reports" in lab.status.value


def test_the_presets_sit_with_the_npu_and_compile_with_its_progress():
    lab = Lab(warm=False)
    rows = [w for w in lab.children if hasattr(w, "children")]
    npu_row = next(r for r in rows if lab.accelerator in r.children)
    assert all(b in npu_row.children for b in lab.presets.values())
    action_row = next(r for r in rows if lab.compile_button in r.children)
    assert lab.cancel_button in action_row.children and lab.progress in action_row.children
    assert not any(b in action_row.children for b in lab.presets.values())
    assert lab.model.value == "digits_mobilenet"  # a trained model by default


def test_a_board_fixes_the_npu_and_gives_it_back():
    lab = Lab(warm=False, board="alif-e8-hp")
    assert lab.selection()[1:4] == ("ethos-u85-256", "Labkit_Alif_U85_SRAM_MRAM", "Labkit_Shared_Sram")
    assert lab.selection()[-1] == "alif-e8-hp" and lab.accelerator.disabled and lab.memory_mode.disabled
    assert all(b.disabled for b in lab.presets.values())
    lab.board.value = ""  # no board: the NPU is the user's to choose again
    assert not lab.accelerator.disabled and lab.selection()[-1] == ""
    assert lab.system_config.value in targets.valid_system_configs("ethos-u85-256")
