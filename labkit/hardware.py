"""Boards: the hardware people buy, as targets. A Board names its CPU core and clock, its
NPU configuration and clock, its memory regions with their sizes, where a deployment
puts each buffer (the .pte, the NPU's scratch, ExecuTorch's pools), and the Vela system
config and memory mode that model it. The presets live in ``data/boards/boards.toml``,
every fact with its source; a user's own board comes from a small dict or TOML file.

``boards()`` lists them; ``board(x)`` gives one (an id, a dict, a TOML path or a Board);
``Board.target()`` is the Target a compile for it uses (``compile(model, board=...)``).
Where a compiled program's buffers land on a board, and whether they fit, is
``deployment`` (``report.deployment``).
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd

from . import formats as fmt
from . import shipped
from .errors import TargetError
from .targets import CPUS, Target, resolve_target

PRESETS_FILE = shipped.data("boards", "boards.toml")
LABKIT_INI = "labkit_vela.ini"  # the boards' own Vela sections, beside boards.toml
KINDS = ("tcm", "sram", "mram", "flash", "psram", "dram", "ospi-flash")
# What a deployment places (Board.placement's keys): the .pte (weights and command streams are used
# in place from it), the Ethos-U scratch (ExecuTorch's temp allocator pool), Vela's fast scratch
# (Dedicated_Sram memory modes) and the method allocator pool (planned buffers, runtime structures).
PLACED = ("pte", "npu_scratch", "npu_fast_storage", "method_allocator_pool")
# Where each kind of deployment buffer goes (Board.placement's key). Whether it adds to its
# region is deployment()'s: the temp pool holds one partition's scratch at a time, and the
# inputs and outputs live in the planned buffers.
_WHERE = {"program": "pte", "scratch": "npu_scratch", "kernel_temp": "npu_scratch",
          "fast_scratch": "npu_fast_storage", "planned": "method_allocator_pool", "runtime": "method_allocator_pool",
          "io": "method_allocator_pool"}


@dataclass(frozen=True)
class Region:
    name: str
    kind: str
    bytes: int
    on_chip: bool = True


@dataclass(frozen=True)
class Board:
    """One board. ``placement``: (what, region name) pairs for PLACED; ``sources``: (fact,
    source) pairs, every fact's provenance ('user-supplied' for a board of your own)."""

    id: str
    name: str
    cpu_core: str
    cpu_clock_hz: float
    accelerator: str
    npu_clock_hz: float
    system_config: str
    memory_mode: str
    regions: tuple[Region, ...]
    placement: tuple[tuple[str, str], ...]
    config_ini: str | None = None  # None: Vela's bundled Arm/vela.ini
    vendor: str = ""
    sources: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    def region(self, name: str) -> Region:
        return next(r for r in self.regions if r.name == name)

    def placed(self, what: str) -> str | None:
        return dict(self.placement).get(what)

    def region_of(self, kind: str) -> str:
        """The region a deployment buffer of ``kind`` occupies (fast scratch without a place of
        its own shares the scratch's)."""
        return self.placed(_WHERE.get(kind, "method_allocator_pool")) or self.placed("npu_scratch")

    def target(self) -> Target:
        """The Target a compile for this board uses: its NPU, Vela config and core."""
        t = resolve_target(self.accelerator, self.system_config, self.memory_mode, self.config_ini)
        return dataclasses.replace(t, preset=None, cpu=self.cpu_core, board=self)

    def to_dict(self) -> dict:
        """A plain dict (JSON and TOML can hold it) that ``board()`` takes back."""
        out = dataclasses.asdict(self)
        out["regions"] = [dataclasses.asdict(r) for r in self.regions]
        out["placement"] = dict(self.placement)
        out["sources"] = dict(self.sources)
        return out


def _ini_path(name: str | None, base: Path) -> str | None:
    if name in (None, "", "Arm/vela.ini"):
        return None
    path = Path(name)
    return str(path if path.is_absolute() else (base / path).resolve())


def _sources(entry: dict, prefix: str = "") -> dict[str, str]:
    """Every fact's source in a preset entry: each table's ``source`` (and ``<field>_source``)."""
    out = {}
    for key, value in entry.items():
        if isinstance(value, dict):
            out.update(_sources(value, f"{prefix}{key}."))
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for item in value:
                out.update(_sources(item, f"{prefix}{key}.{item.get('name', '')}."))
        elif key == "source" or key.endswith("_source"):
            out[f"{prefix}{key}"] = "; ".join(value) if isinstance(value, list) else str(value)
    return out


def _regions(items: list[dict]) -> tuple[Region, ...]:
    return tuple(Region(m["name"], m["kind"], int(m["bytes"]), bool(m.get("on_chip", True))) for m in items)


def _from_preset(board_id: str, entry: dict, base: Path) -> Board:
    cpu, npu, vela = entry["cpu"], entry["npu"], entry["vela"]
    placement = {k: v for k, v in entry.get("placement", {}).items() if k in PLACED}
    return Board(
        id=board_id, name=entry["name"], vendor=entry.get("vendor", ""), cpu_core=cpu["core"],
        cpu_clock_hz=float(cpu["clock_hz"]), accelerator=npu["accelerator"], npu_clock_hz=float(npu["clock_hz"]),
        system_config=vela["system_config"], memory_mode=vela["memory_mode"],
        config_ini=_ini_path(vela.get("config_ini"), base),
        regions=_regions(entry["memory"]),
        placement=tuple(placement.items()), sources=tuple(_sources(entry).items()))


@lru_cache(maxsize=1)
def presets() -> dict[str, Board]:
    """The board presets of data/boards/boards.toml, by id."""
    data = tomllib.loads(PRESETS_FILE.read_text())
    return {k: _from_preset(k, v, PRESETS_FILE.parent) for k, v in data["boards"].items()}


def board(value) -> Board:
    """A Board from a preset id, a dict (``Board.to_dict()``'s form, or a preset's TOML form),
    the path of a TOML file holding one board, or a Board."""
    if isinstance(value, Board):
        return _checked(value)
    if isinstance(value, str) and value in presets():
        return presets()[value]
    if isinstance(value, (str, os.PathLike)) and str(value).endswith(".toml"):
        path = Path(value)
        if not path.is_file():
            raise TargetError(f"Board file {str(path)!r} does not exist.")
        data = tomllib.loads(path.read_text())
        entries = data.get("boards", {"": data}) if "boards" in data else {"": data}
        if len(entries) != 1:
            raise TargetError(f"{str(path)!r} holds {len(entries)} boards; give a file with one.")
        ((key, entry),) = entries.items()
        return board({"id": entry.get("id", key or path.stem), **entry} | {"_base": str(path.parent)})
    if isinstance(value, dict):
        return _checked(_from_dict(value))
    raise TargetError(f"Unknown board {value!r}. Boards: {', '.join(presets())} (see labkit.boards()), or give "
                      "your own as a dict or a .toml file (see docs/boards.md).")


def _from_dict(d: dict) -> Board:
    base = Path(d.get("_base", "."))
    if "cpu" in d and isinstance(d["cpu"], dict):  # the presets' TOML form
        entry = {"name": d.get("name", d.get("id", "my board")), "memory": d.get("memory", d.get("regions", [])),
                 **{k: v for k, v in d.items() if k not in ("id", "_base", "regions")}}
        return _from_preset(d.get("id", "my-board"), entry, base)
    try:
        return Board(
            id=d["id"], name=d.get("name", d["id"]), vendor=d.get("vendor", ""), cpu_core=d["cpu_core"],
            cpu_clock_hz=float(d["cpu_clock_hz"]), accelerator=d["accelerator"],
            npu_clock_hz=float(d["npu_clock_hz"]), system_config=d["system_config"], memory_mode=d["memory_mode"],
            config_ini=_ini_path(d.get("config_ini"), base),
            regions=_regions(d["regions"]),
            placement=tuple(dict(d["placement"]).items()),
            sources=tuple((d.get("sources") or {"board": "user-supplied"}).items()))
    except KeyError as e:
        raise TargetError(f"A board needs {e.args[0]!r}: give id, cpu_core, cpu_clock_hz, accelerator, "
                          "npu_clock_hz, system_config, memory_mode, regions [{name, kind, bytes}] and placement "
                          f"{{{', '.join(PLACED[:2])}, {PLACED[3]}: region name}}.") from None


def _checked(b: Board) -> Board:
    names = {r.name for r in b.regions}
    bad = {what: where for what, where in b.placement if where not in names}
    if bad:
        raise TargetError(f"Board {b.id!r} places {', '.join(bad)} in {', '.join(set(bad.values()))}, which is not "
                          f"one of its memory regions ({', '.join(sorted(names))}).")
    unknown = [r.kind for r in b.regions if r.kind not in KINDS]
    if unknown:
        raise TargetError(f"Board {b.id!r} has memory of kind {unknown[0]!r}; use one of {', '.join(KINDS)}.")
    for what in ("pte", "npu_scratch", "method_allocator_pool"):
        if b.placed(what) is None:
            raise TargetError(f"Board {b.id!r} does not say where the {what.replace('_', ' ')} goes (placement).")
    b.target()  # Vela accepts the accelerator, system config and memory mode
    return b


def boards() -> pd.DataFrame:
    """Every board preset, one row each, indexed by id: CPU and NPU with their clocks, the
    Vela system config and memory mode, and the memory by kind."""
    rows = []
    for b in presets().values():
        by_kind = {}
        for r in b.regions:
            by_kind[r.kind] = by_kind.get(r.kind, 0) + r.bytes
        rows.append({"id": b.id, "name": b.name, "cpu": b.cpu_core, "cpu_mhz": b.cpu_clock_hz / 1e6,
                     "npu": b.accelerator, "npu_mhz": b.npu_clock_hz / 1e6, "system_config": b.system_config,
                     "memory_mode": b.memory_mode,
                     **{f"{kind}_kib": by_kind.get(kind, 0) / 1024 for kind in KINDS if kind in by_kind},
                     "cpu_estimate": b.cpu_core in CPUS})
    return pd.DataFrame(rows).set_index("id")


def region_label(b: Board, name: str) -> str:
    r = b.region(name)
    return f"{name} ({r.kind}, {fmt.kib(r.bytes / 1024)} KiB)"


# ---------------------------------------------------------------------------- a deployment on a board

DEPLOYMENT_COLUMNS = ["item", "region", "bytes", "source", "kind", "counted"]


def deployment(buffers: pd.DataFrame, target: Target) -> pd.DataFrame:
    """Every buffer of a compiled program in the memory region it occupies: the board's
    regions (its placement), or without a board the memory mode's own areas ('NPU SRAM',
    'model storage', 'CPU memory'). ``counted`` is False for a buffer already held by
    another row (a partition's scratch beside the largest, which sizes the shared temp pool;
    the inputs and outputs, inside the planned buffers)."""
    if buffers is None or buffers.empty:
        return pd.DataFrame(columns=DEPLOYMENT_COLUMNS)
    rows = buffers.copy()
    rows["counted"] = rows["kind"] != "io"
    for kinds in (("scratch", "kernel_temp"), ("fast_scratch",)):  # one pool each: its largest need
        pool = rows["kind"].isin(kinds)
        if pool.any():
            rows.loc[pool, "counted"] = False
            rows.loc[rows[pool]["bytes"].idxmax(), "counted"] = True
    b = target.board
    rows["region"] = [_region_of(kind, b, target) for kind in rows["kind"]]
    return rows.reindex(columns=DEPLOYMENT_COLUMNS).reset_index(drop=True)


def _region_of(kind: str, b: Board | None, target: Target) -> str:
    if b is not None:
        return b.region_of(kind)
    # No board: the areas of the memory mode (Vela's names), the CPU's memory apart.
    where = _WHERE.get(kind, "method_allocator_pool")
    if where == "method_allocator_pool":
        return "CPU memory"
    if where == "pte":
        return "NPU SRAM" if target.weights_in_sram else "model storage"
    return "NPU SRAM" if where == "npu_fast_storage" or not target.memory_mode.startswith("Dedicated") else "DRAM"


def regions(deployment_table: pd.DataFrame, target: Target, sram_limit_kib: float | None = None) -> pd.DataFrame:
    """Per memory region: its kind and size, the bytes the deployment uses there, what is left
    (``margin``, negative when it overflows) and ``fits``. Without a board the only known size
    is the SRAM the memory mode gives Vela."""
    used = deployment_table.loc[deployment_table["counted"].astype(bool)].groupby("region", sort=False)["bytes"].sum()
    b = target.board
    if b is not None:
        rows = [{"region": r.name, "kind": r.kind, "size": r.bytes, "used": int(used.get(r.name, 0))}
                for r in b.regions if r.name in used.index]
    else:
        limit = None if sram_limit_kib is None or pd.isna(sram_limit_kib) else int(sram_limit_kib * 1024)
        rows = [{"region": name, "kind": "sram" if name == "NPU SRAM" else "", "used": int(n),
                 "size": limit if name == "NPU SRAM" else None} for name, n in used.items()]
    out = pd.DataFrame(rows, columns=["region", "kind", "size", "used"])
    out["size"] = pd.to_numeric(out["size"], errors="coerce")
    out["margin"] = out["size"] - out["used"]
    out["fits"] = out["margin"].isna() | (out["margin"] >= 0)
    return out


def overflow_message(model: str, target: Target, table: pd.DataFrame, deployment_table: pd.DataFrame) -> str:
    """What does not fit where, by how much, and what would make room: a memory mode, a board,
    a quantization."""
    b = target.board
    over = table[~table["fits"]]
    parts = []
    for r in over.itertuples():
        biggest = deployment_table[(deployment_table["region"] == r.region) & deployment_table["counted"].astype(bool)] \
            .sort_values("bytes", ascending=False).iloc[0]
        parts.append(f"{r.region} ({r.kind}) needs {fmt.kib(r.used / 1024)} KiB of its {fmt.kib(r.size / 1024)} KiB, "
                     f"over by {fmt.kib(-r.margin / 1024)} KiB (the largest: {biggest['item']}, "
                     f"{fmt.kib(biggest['bytes'] / 1024)} KiB)")
    ways = _ways_to_fit(b, over, deployment_table)
    return (f"{model} does not fit {b.id} ({b.name}): " + "; ".join(parts) + ". " + " ".join(ways)
            + " compile(..., allow_overflow=True) returns the report anyway; report.deployment lists every buffer.")


def _ways_to_fit(b: Board, over: pd.DataFrame, deployment_table: pd.DataFrame) -> list[str]:
    ways = []
    counted = deployment_table.loc[deployment_table["counted"].astype(bool)]
    need = counted.groupby("kind")["bytes"].sum()
    inputs = deployment_table[deployment_table["item"].str.startswith("the program's inputs")]["bytes"].sum()
    if inputs and need.get("planned", 0) and inputs > 0.25 * need["planned"] and \
            any(r == b.placed("method_allocator_pool") for r in over["region"]):
        ways.append(f"The program's inputs take {fmt.kib(inputs / 1024)} KiB of the planned buffers: a float "
                    "input; feeding it as int8 (ExecuTorch's Arm quantizer can quantize the model's I/O) takes a "
                    "quarter of that.")
    roomy = []
    for other in presets().values():
        if other.id == b.id:
            continue
        room = {}
        for kind in need.index.intersection(list(_WHERE)):
            name = other.region_of(kind)
            room[name] = room.get(name, 0) + int(need[kind])
        if all(other.region(name).bytes >= n for name, n in room.items()):
            roomy.append((sum(r.bytes for r in other.regions if r.on_chip), other.id))
    if roomy:
        ways.append("Boards with room for these buffers, smallest first (Vela's figures for their NPUs differ a "
                    f"little): {', '.join(i for _, i in sorted(roomy)[:4])} (labkit.sweep(model, boards='all') "
                    "compiles them all).")
    if any(b.placed("pte") == r for r in over["region"]):
        ways.append("For a smaller .pte: 4-bit weights (quantization='a8w4') cut the weights by about 40 %.")
    if any(b.placed(w) == r for r in over["region"] for w in ("npu_scratch", "npu_fast_storage")):
        ways.append("For less NPU scratch: a memory mode that keeps the scratch in larger memory, if the board "
                    "has some (see `labkit targets`), or a smaller input.")
    return ways


def resolve(target=None, board=None, system_config: str | None = None, memory_mode: str | None = None,
            config_ini: str | None = None, cpu: str | None = None) -> Target:
    """The Target of a compile asked for by target or by board (not both); with a board, a
    system config or memory mode given tries another on it (its regions and clocks stay)."""
    if board is None:
        return resolve_target("corstone-320" if target is None else target, system_config, memory_mode, config_ini,
                              cpu)
    if target is not None:
        raise TargetError("Give a target or a board, not both: a board names its NPU configuration (see "
                          "labkit.boards()); system_config= and memory_mode= try others on it.")
    b = board_of(board)
    t = b.target()
    if system_config or memory_mode or config_ini:
        t = dataclasses.replace(resolve_target(t.accelerator, system_config or t.system_config,
                                               memory_mode or t.memory_mode, config_ini or t.config_ini),
                                cpu=t.cpu, board=b)
    if cpu is not None and cpu != b.cpu_core:
        raise TargetError(f"{b.id} has a {b.cpu_core}; cpu= does not apply to a board.")
    return t


board_of = board  # the name resolve() uses: its own parameter is called board


POOL_MARGIN = 0.25  # of the runtime structures labkit estimates (the planned buffers and scratch are exact)
POOL_MARGIN_MIN = 1024


def runner_pools(buffers: pd.DataFrame) -> dict[str, tuple[int, str]]:
    """The pool sizes of ExecuTorch's arm_executor_runner for a program: {cmake option: (bytes,
    how)}. The method allocator holds the planned buffers (exact) and the runtime's structures
    (estimated, so a margin of 25 % of them, at least 1 KiB, is added); the temp allocator the
    largest Ethos-U scratch or kernel temp need (exact: the pool is reset after each
    instruction); the fast scratch pool Vela's largest fast scratch (Dedicated_Sram)."""
    def total(*kinds):
        return int(buffers[buffers["kind"].isin(kinds)]["bytes"].sum())

    def largest(*kinds):
        rows = buffers[buffers["kind"].isin(kinds)]["bytes"]
        return int(rows.max()) if len(rows) else 0

    def up16(n):
        return (n + 15) // 16 * 16

    planned, structures = total("planned"), total("runtime")
    margin = max(POOL_MARGIN_MIN, int(POOL_MARGIN * structures))
    pools = {"ET_ARM_BAREMETAL_METHOD_ALLOCATOR_POOL_SIZE": (
        up16(planned + structures + margin), f"the planned buffers ({planned:,} B, exact) + the runtime's structures "
        f"({structures:,} B, estimated) + a margin of {margin:,} B")}
    temp = largest("scratch", "kernel_temp")
    pools["ET_ARM_BAREMETAL_SCRATCH_TEMP_ALLOCATOR_POOL_SIZE"] = (
        up16(max(temp, 16)), "the largest Ethos-U scratch or CPU kernel temp need (one at a time: the pool is reset "
        "after every instruction)")
    fast = largest("fast_scratch")
    if fast:
        pools["ET_ARM_BAREMETAL_FAST_SCRATCH_TEMP_ALLOCATOR_POOL_SIZE"] = (
            up16(fast), "Vela's largest fast scratch (one array, shared by the partitions)")
    return pools
