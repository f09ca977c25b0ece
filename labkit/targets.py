"""Ethos-U targets: accelerator config + Vela system config + memory mode.

The lists of system configs and memory modes are read from the Vela ``.ini``
that is installed (or one the user supplies), and a combination is validated
with Vela's own ``ArchitectureFeatures`` before anything is compiled.
"""

from __future__ import annotations

import configparser
import contextlib
import io
import os
import re
import dataclasses
from dataclasses import dataclass, replace
from functools import lru_cache

from .errors import TargetError

# Defaults per NPU family, as ExecuTorch's EthosUCompileSpec picks them
# (tests/test_targets.py checks they still agree with the installed ExecuTorch).
FAMILY_DEFAULTS = {
    "ethos-u55": ("Ethos_U55_High_End_Embedded", "Shared_Sram"),
    "ethos-u65": ("Ethos_U65_High_End", "Dedicated_Sram_384KB"),
    "ethos-u85": ("Ethos_U85_SYS_DRAM_Mid", "Sram_Only"),
}

PRESETS = {
    "corstone-300": ("ethos-u55-128", "Ethos_U55_High_End_Embedded", "Shared_Sram",
                     "Arm Corstone-300: Cortex-M55 + Ethos-U55-128"),
    "corstone-320": ("ethos-u85-256", "Ethos_U85_SYS_DRAM_Mid", "Sram_Only",
                     "Arm Corstone-320: Cortex-M85 + Ethos-U85-256"),
}

# The Cortex-M core next to each NPU family, as in Arm's reference designs: Corstone-300
# pairs a Cortex-M55 with an Ethos-U55 or U65, Corstone-320 a Cortex-M85 with an Ethos-U85.
FAMILY_CPU = {"ethos-u55": "cortex-m55", "ethos-u65": "cortex-m55", "ethos-u85": "cortex-m85"}
CPUS = ("cortex-m55", "cortex-m85")
# CPU-only targets (no NPU: every operator on CMSIS-NN or portable kernels) and the NPU family
# of the Corstone design they come from, whose default system config gives their clock.
CPU_ONLY = {"cortex-m55": "ethos-u55", "cortex-m85": "ethos-u85"}

_FAMILY_IN_NAME = re.compile(r"(?i)ethos_?u(55|65|85)")
_ACCELERATOR = re.compile(r"^(ethos-u\d+)(?:-(\d+))?$")


def family_of(accelerator: str) -> str:
    """'ethos-u85' for 'ethos-u85-256' (or for 'ethos-u85' itself)."""
    m = _ACCELERATOR.match(str(accelerator).strip().lower())
    if not m or m.group(1) not in FAMILY_DEFAULTS:
        raise TargetError(f"{accelerator!r} is not an Ethos-U55/U65/U85 accelerator; use e.g. 'ethos-u55-128' or "
                          f"'ethos-u85-256' (see `labkit targets`).")
    return m.group(1)


def family_or_none(accelerator: str) -> str | None:
    """family_of, or None for anything that is not an Ethos-U accelerator (an FVP log's
    unstated target, a CPU-only target)."""
    try:
        return family_of(accelerator)
    except TargetError:
        return None


def macs_of(accelerator: str) -> int:
    """The MACs per cycle of an accelerator string: 256 for 'ethos-u85-256'."""
    m = _ACCELERATOR.match(str(accelerator).strip().lower())
    if not m or m.group(2) is None:
        raise TargetError(f"{accelerator!r} names no MAC count; use e.g. 'ethos-u85-256'.")
    return int(m.group(2))


def family_label(family: str) -> str:
    """'Ethos-U85' for 'ethos-u85'."""
    return family.replace("ethos-u", "Ethos-U")


@dataclass(frozen=True)
class Target:
    """One NPU configuration. Build it with :func:`resolve_target`."""

    accelerator: str
    system_config: str
    memory_mode: str
    config_ini: str | None = None  # None: Vela's bundled Arm/vela.ini
    preset: str | None = None
    cpu: str | None = None  # the Cortex-M core; None: the family's (FAMILY_CPU)
    board: object = None  # the hardware.Board this target models, if it came from one

    @property
    def label_prefix(self) -> str:
        return f"{self.board.id}: " if self.board is not None else ""

    @property
    def has_npu(self) -> bool:
        """False for a CPU-only target ('cortex-m55', 'cortex-m85')."""
        return self.accelerator not in CPU_ONLY

    @property
    def family(self) -> str:
        return family_of(self.accelerator) if self.has_npu else "cortex-m"

    @property
    def macs(self) -> int:
        return macs_of(self.accelerator) if self.has_npu else 0

    @property
    def tosa_profile(self) -> str:
        """U55 and U65 share the ``+u55`` TOSA profile; U85 has ``+cf``; a CPU-only target
        lowers on its own (no TOSA)."""
        if not self.has_npu:
            return self.accelerator
        return "u85" if self.family == "ethos-u85" else "u55"

    @property
    def cpu_core(self) -> str:
        """The Cortex-M core that runs the operators outside the NPU."""
        return self.cpu or FAMILY_CPU[self.family]

    @property
    def cpu_clock_hz(self) -> float:
        """The CPU's clock: the board's; else assumed to be the system config's core clock
        (the NPU's), as the Corstone reference designs clock both from one source."""
        return float(self.board.cpu_clock_hz) if self.board is not None else self.clock_hz

    @property
    def label(self) -> str:
        if not self.has_npu:
            return f"{self.accelerator} · CPU only"
        return f"{self.label_prefix}{self.accelerator} · {self.system_config} · {self.memory_mode}"

    @property
    def vela_config_path(self) -> str:
        return self.config_ini or bundled_vela_ini()

    @property
    def clock_hz(self) -> float:
        """The system config's core clock; for a CPU-only target, that of its Corstone
        design's default system config (so 'with an NPU' and 'CPU only' share one clock)."""
        system = self.system_config if self.has_npu else FAMILY_DEFAULTS[CPU_ONLY[self.accelerator]][0]
        section = read_vela_ini(self.vela_config_path)["system_configs"][system]
        return float(section.get("core_clock", "nan"))

    @property
    def weights_in_sram(self) -> bool:
        """Whether the memory mode keeps the weights in the NPU's SRAM: its constant,
        arena and cache areas are one AXI port and that port is SRAM (Vela then books
        the weights as 'on-chip flash', with SRAM's characteristics)."""
        if not self.has_npu:
            return False
        ini = read_vela_ini(self.vela_config_path)
        mode, system = ini["memory_modes"][self.memory_mode], ini["system_configs"][self.system_config]
        areas = {mode.get(k, "").lower() for k in ("const_mem_area", "arena_mem_area", "cache_mem_area")}
        return len(areas) == 1 and system.get(f"{areas.pop()}_port", "").lower() == "sram"

    def key(self) -> dict:
        """What identifies this target in a cache key (the .ini by content)."""
        if not self.has_npu:
            return {"accelerator": self.accelerator, "cpu": self.cpu_core}
        with open(self.vela_config_path, "rb") as f:
            ini_bytes = f.read()
        import hashlib

        key = {
            "accelerator": self.accelerator,
            "system_config": self.system_config,
            "memory_mode": self.memory_mode,
            "vela_ini_sha256": hashlib.sha256(ini_bytes).hexdigest(),
            "cpu": self.cpu_core,
        }
        if self.board is not None:  # the CPU's time in the results is at the board's own CPU clock
            key["cpu_clock_hz"] = self.cpu_clock_hz
        return key

    def to_json(self) -> dict:
        """The fields as JSON holds them (a board as its dict); report.Report.load reads it back."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["board"] = self.board.to_dict() if self.board is not None else None
        return out

    def vela_ini_argument(self) -> str:
        """The value for ExecuTorch's ``config_ini``: Vela resolves 'Arm/vela.ini'."""
        return self.config_ini or "Arm/vela.ini"


@lru_cache(maxsize=1)
def accelerators() -> tuple[str, ...]:
    """Every accelerator config the installed Vela accepts."""
    from ethosu.vela.architecture_features import Accelerator

    return tuple(a.value for a in Accelerator)


def bundled_vela_ini() -> str:
    from ethosu.vela import architecture_features

    return os.path.join(architecture_features.CONFIG_FILES_PATH, "Arm", "vela.ini")


@lru_cache(maxsize=16)
def read_vela_ini(path: str) -> dict:
    """System configs and memory modes of a Vela .ini, with inheritance resolved."""
    if not os.path.isfile(path):
        raise TargetError(f"Vela config file {path!r} does not exist. Pass the path of a Vela .ini file.")
    parser = configparser.ConfigParser()
    try:
        parser.read(path)
    except configparser.Error as e:
        first = str(e).splitlines()[0]
        raise TargetError(
            f"Vela config file {path!r} is malformed ({first}). "
            "Fix the file: it needs [System_Config.NAME] and [Memory_Mode.NAME] sections of key=value lines."
        ) from None

    def resolved(section: str, seen=()) -> dict:
        values = dict(parser[section])
        parent = values.pop("inherit", None)
        if parent and parent in parser and parent not in seen:
            return {**resolved(parent, seen + (section,)), **values}
        return values

    out = {"system_configs": {}, "memory_modes": {}}
    for section in parser.sections():
        kind, _, name = section.partition(".")
        if kind == "System_Config":
            out["system_configs"][name] = resolved(section)
        elif kind == "Memory_Mode":
            out["memory_modes"][name] = resolved(section)
    if not out["system_configs"] or not out["memory_modes"]:
        raise TargetError(
            f"Vela config file {path!r} defines no System_Config or no Memory_Mode section. "
            "Add at least one [System_Config.NAME] and one [Memory_Mode.NAME] section."
        )
    return out


def _system_config_fits(accelerator: str, system_config: str) -> bool:
    """A config named for one NPU family (e.g. Ethos_U85_*) fits only that family."""
    m = _FAMILY_IN_NAME.search(system_config)
    return m is None or accelerator.startswith(f"ethos-u{m.group(1)}")


@lru_cache(maxsize=256)
def _vela_rejects(ini: str, accelerator: str, system_config: str, memory_mode: str) -> str | None:
    """Vela's own verdict on a combination: None if valid, else its message."""
    from ethosu.vela.architecture_features import ArchitectureFeatures

    try:
        with contextlib.redirect_stdout(io.StringIO()):
            ArchitectureFeatures([ini], accelerator, system_config, memory_mode, 3, False, None)
    except Exception as e:  # Vela's CliOptionError/ConfigOptionError
        return str(e).replace("Error: ", "").strip()
    return None


def system_configs(config_ini: str | None = None) -> list[str]:
    """Every system config of the Vela .ini (the bundled one by default)."""
    return list(read_vela_ini(config_ini or bundled_vela_ini())["system_configs"])


def memory_modes(config_ini: str | None = None) -> list[str]:
    """Every memory mode of the Vela .ini (the bundled one by default)."""
    return list(read_vela_ini(config_ini or bundled_vela_ini())["memory_modes"])


def valid_system_configs(accelerator: str, config_ini: str | None = None) -> list[str]:
    ini = config_ini or bundled_vela_ini()
    return [s for s in read_vela_ini(ini)["system_configs"] if _system_config_fits(accelerator, s)]


def valid_memory_modes(accelerator: str, system_config: str, config_ini: str | None = None) -> list[str]:
    ini = config_ini or bundled_vela_ini()
    return [
        m for m in read_vela_ini(ini)["memory_modes"]
        if _vela_rejects(ini, accelerator, system_config, m) is None
    ]


def resolve_target(target: "str | Target" = "corstone-320", system_config: str | None = None,
                   memory_mode: str | None = None, config_ini: str | None = None, cpu: str | None = None) -> Target:
    """Turn a preset name, accelerator string or Target into a validated Target
    (``cpu``: the Cortex-M core next to the NPU, default the family's)."""
    if cpu is not None:
        if cpu not in CPUS:
            raise TargetError(f"cpu={cpu!r} is not a core labkit models; use one of {', '.join(CPUS)}.")
        resolved = resolve_target(target, system_config, memory_mode, config_ini)
        if not resolved.has_npu and cpu != resolved.accelerator:
            raise TargetError(f"{resolved.accelerator} is a CPU-only target for that core; for {cpu}, use "
                              f"target={cpu!r}.")
        return replace(resolved, cpu=cpu)
    if isinstance(target, Target):
        t = target
        if system_config or memory_mode or config_ini:
            t = replace(t, system_config=system_config or t.system_config,
                        memory_mode=memory_mode or t.memory_mode,
                        config_ini=config_ini or t.config_ini, preset=None)
        return validate(t)
    if not isinstance(target, str):
        raise TargetError(f"target must be a preset name, an accelerator string or a Target, not "
                          f"{type(target).__name__}.")
    name = target.strip().lower()
    preset = None
    if name in CPU_ONLY:
        if system_config or memory_mode or config_ini:
            raise TargetError(f"{name} is a CPU-only target: it has no NPU, so system_config, memory_mode and "
                              "config_ini do not apply. Drop them, or pick an NPU target (see `labkit targets`).")
        return Target(name, "", "", None, None, cpu=name)
    if name in PRESETS:
        accelerator, sc, mm, _ = PRESETS[name]
        preset = name if not (system_config or memory_mode or config_ini) else None
    elif name in accelerators():
        accelerator = name
        sc, mm = FAMILY_DEFAULTS[family_of(accelerator)]
    else:
        raise TargetError(
            f"Unknown target {target!r}. Use a preset ({', '.join(PRESETS)}), an accelerator config "
            f"({', '.join(accelerators())}) or a CPU-only target ({', '.join(CPU_ONLY)})."
        )
    if config_ini is not None:
        config_ini = os.path.abspath(os.path.expanduser(str(config_ini)))
    if system_config and not memory_mode and system_config in valid_system_configs(accelerator, config_ini):
        # A system config without a memory mode: the default one if it works there, else the first that does.
        modes = valid_memory_modes(accelerator, system_config, config_ini)
        mm = mm if mm in modes or not modes else modes[0]
    return validate(Target(accelerator, system_config or sc, memory_mode or mm, config_ini, preset))


def validate(t: Target) -> Target:
    if not t.has_npu:
        if t.system_config or t.memory_mode or t.config_ini:
            raise TargetError(f"{t.accelerator} is a CPU-only target: system_config, memory_mode and config_ini "
                              "do not apply. Drop them, or pick an NPU target.")
        return t
    if t.accelerator not in accelerators():
        raise TargetError(f"Unknown accelerator {t.accelerator!r}. Valid: {', '.join(accelerators())}.")
    ini = t.vela_config_path
    configs = read_vela_ini(ini)
    fitting = valid_system_configs(t.accelerator, t.config_ini)
    if t.system_config not in fitting:
        why = "is not defined in the Vela config" if t.system_config not in configs["system_configs"] \
            else f"is for another NPU family than {t.accelerator}"
        raise TargetError(
            f"System config {t.system_config!r} {why}. Valid for {t.accelerator}: {', '.join(fitting)}."
        )
    if t.memory_mode not in configs["memory_modes"]:
        raise TargetError(
            f"Unknown memory mode {t.memory_mode!r}. Valid for {t.accelerator} with {t.system_config}: "
            f"{', '.join(valid_memory_modes(t.accelerator, t.system_config, t.config_ini))}."
        )
    verdict = _vela_rejects(ini, t.accelerator, t.system_config, t.memory_mode)
    if verdict is not None:
        raise TargetError(
            f"Memory mode {t.memory_mode!r} does not work with {t.system_config} ({verdict}). Valid for "
            f"{t.accelerator} with {t.system_config}: "
            f"{', '.join(valid_memory_modes(t.accelerator, t.system_config, t.config_ini))}."
        )
    return t


def targets_table(config_ini: str | None = None):
    """One row per accelerator: its family, MACs, default and valid system configs."""
    import pandas as pd

    rows = []
    for acc in accelerators():
        family = family_of(acc)
        sc, mm = FAMILY_DEFAULTS[family]
        rows.append({
            "accelerator": acc, "family": family, "macs_per_cycle": macs_of(acc),
            "default_system_config": sc, "default_memory_mode": mm,
            "system_configs": ", ".join(valid_system_configs(acc, config_ini)),
        })
    return pd.DataFrame(rows)


def presets_table():
    import pandas as pd

    return pd.DataFrame([
        {"preset": k, "accelerator": a, "system_config": s, "memory_mode": m, "description": d}
        for k, (a, s, m, d) in PRESETS.items()
    ])
