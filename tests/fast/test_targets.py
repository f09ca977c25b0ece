import pytest

from labkit import targets
from labkit.errors import TargetError


def test_all_accelerators_from_vela():
    accs = targets.accelerators()
    assert len(accs) == 11
    assert accs[0] == "ethos-u55-32" and accs[-1] == "ethos-u85-2048"


def test_presets():
    t300 = targets.resolve_target("corstone-300")
    assert (t300.accelerator, t300.system_config, t300.memory_mode) == (
        "ethos-u55-128", "Ethos_U55_High_End_Embedded", "Shared_Sram")
    t320 = targets.resolve_target("Corstone-320")
    assert (t320.accelerator, t320.system_config, t320.memory_mode) == (
        "ethos-u85-256", "Ethos_U85_SYS_DRAM_Mid", "Sram_Only")
    assert t320.clock_hz == 1e9


@pytest.mark.parametrize("acc", ["ethos-u55-64", "ethos-u65-512", "ethos-u85-1024"])
def test_family_defaults_match_executorch(acc):
    from executorch.backends.arm.ethosu import EthosUCompileSpec

    expected = EthosUCompileSpec._default_system_config_and_memory_mode(acc, None, None)
    t = targets.resolve_target(acc)
    assert (t.system_config, t.memory_mode) == expected


def test_system_configs_read_from_ini():
    u85 = targets.valid_system_configs("ethos-u85-256")
    assert "Ethos_U85_SYS_DRAM_Mid" in u85 and not any("U55" in s for s in u85)


@pytest.mark.parametrize("acc", ["ethos-u55-128", "ethos-u65-256", "ethos-u85-256"])
def test_a_system_config_alone_gets_a_memory_mode_that_works_with_it(acc):
    """Ethos_U65_Embedded has no Dedicated_Sram (the U65 default): the first mode that works is taken."""
    for sc in targets.valid_system_configs(acc):
        t = targets.resolve_target(acc, system_config=sc)
        assert t.memory_mode in targets.valid_memory_modes(acc, sc)
        if targets.FAMILY_DEFAULTS[t.family][1] in targets.valid_memory_modes(acc, sc):
            assert t.memory_mode == targets.FAMILY_DEFAULTS[t.family][1]


def test_wrong_family_system_config_lists_valid_choices():
    with pytest.raises(TargetError) as e:
        targets.resolve_target("ethos-u55-128", system_config="Ethos_U85_SYS_DRAM_Mid")
    assert "another NPU family" in str(e.value)
    assert "Ethos_U55_High_End_Embedded" in str(e.value)


def test_memory_mode_rejected_by_vela_lists_valid_choices():
    with pytest.raises(TargetError) as e:
        targets.resolve_target("ethos-u55-128", memory_mode="Dedicated_Sram")
    assert "Shared_Sram" in str(e.value) and "Sram_Only" in str(e.value)


@pytest.mark.parametrize("bad", ["ethos-u99-128", "u55", ""])
def test_unknown_accelerator(bad):
    with pytest.raises(TargetError, match="ethos-u55-32"):
        targets.resolve_target(bad)


def test_unknown_memory_mode():
    with pytest.raises(TargetError, match="Unknown memory mode 'Nope'"):
        targets.resolve_target("ethos-u85-256", memory_mode="Nope")


def test_custom_ini(tmp_path):
    ini = tmp_path / "my.ini"
    ini.write_text(open(targets.bundled_vela_ini()).read() + """
[System_Config.My_U85_Board]
core_clock=400e6
axi0_port=Sram
axi1_port=Sram
Sram_clock_scale=1.0
Sram_burst_length=32
Sram_read_latency=32
Sram_write_latency=32
Sram_max_reads=8
Sram_max_writes=8
""")
    t = targets.resolve_target("ethos-u85-256", system_config="My_U85_Board", config_ini=str(ini))
    assert t.clock_hz == 400e6
    assert "My_U85_Board" in targets.valid_system_configs("ethos-u85-256", str(ini))


def test_malformed_ini(tmp_path):
    ini = tmp_path / "bad.ini"
    ini.write_text("this is not = an ini\n[unclosed\n")
    with pytest.raises(TargetError, match="malformed"):
        targets.resolve_target("ethos-u85-256", config_ini=str(ini))


def test_missing_ini(tmp_path):
    with pytest.raises(TargetError, match="does not exist"):
        targets.resolve_target("ethos-u85-256", config_ini=str(tmp_path / "none.ini"))
