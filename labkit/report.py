"""Report: what one compile produced, as a value: pandas tables, the Target, and
the artifacts' paths (small dataclasses). Saved to and loaded from a folder (the
cache entry) with a checksum manifest. Every view (figures, the Lab, the CLI)
reads a Report; the code that builds one is toolchain/assemble.py. What works on a
Report's own data is a method here; what needs the compiler or the app is a function
above it (``labkit.advise(report)``, ``labkit.simulate(report, inputs)``,
``labkit.to_html(report, path)``, ``labkit.explore(report)``)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pandas as pd

from . import hardware, insights
from . import formats as fmt
from .errors import CorruptReportError
from .targets import Target

_FILES = ("summary.json", "operators.json", "layers.json", "delegation.json", "buffers.json", "meta.json")
BUFFER_COLUMNS = ["item", "kind", "bytes", "partition", "source"]
TOOLS = {"torch": "torch", "executorch": "executorch", "vela": "ethos-u-vela", "tosa_tools": "tosa-tools"}


@dataclass(frozen=True)
class Partition:
    """One NPU partition's files. ``folder`` holds the TOSA graph Vela read (``tosa``),
    ExecuTorch's debug JSON and Vela's output folder."""

    index: int
    tag: str | None
    folder: Path
    tosa: Path | None

    @property
    def vela_dir(self) -> Path:
        return self.folder / "output"

    @property
    def debug_json(self) -> Path:
        return self.folder / "debug.json"


@dataclass(frozen=True)
class Artifacts:
    """The files of a compile: the program, the tools' log, the partitioner's operator
    rows (what a compile for another target of the profile reuses) and the partitions."""

    pte: Path
    log: Path
    operator_rows: Path
    partitions: tuple[Partition, ...] = ()
    fake_quant: Path | None = None  # the quantized graph with float weights (toolchain.graph_file)

    def to_json(self, base: Path) -> dict:
        def rel(p):
            return None if p is None else str(Path(p).resolve().relative_to(base.resolve()))

        return {"pte": rel(self.pte), "log": rel(self.log), "operator_rows": rel(self.operator_rows),
                "partitions": [{"index": p.index, "tag": p.tag, "folder": rel(p.folder), "tosa": rel(p.tosa)}
                               for p in self.partitions], "fake_quant": rel(self.fake_quant)}

    @classmethod
    def from_json(cls, data: dict, base: Path) -> "Artifacts":
        def path(rel):
            return None if rel is None else base / rel

        return cls(path(data["pte"]), path(data["log"]), path(data["operator_rows"]),
                   tuple(Partition(p["index"], p["tag"], path(p["folder"]), path(p["tosa"]))
                         for p in data["partitions"]), path(data.get("fake_quant")))


def tool_versions() -> dict[str, str]:
    out = {}
    for key, dist in TOOLS.items():
        try:
            out[f"{key}_version"] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[f"{key}_version"] = "not installed"
    return out


class Report:
    """The result of compiling one model for one target.

    model      the model's name as asked for
    target     the Target it was compiled for: the one place its accelerator, system config,
               memory mode, clocks and CPU are kept
    results    pandas Series: what the compile produced (cycles, time, memory, op counts,
               versions, ``source``), saved as summary.json
    summary    one row: the model and the target's facts, then ``results`` (derived, read-only)
    buffers    what a deployment of the program needs, one row per buffer (item, kind, bytes, partition,
               source): the .pte's parts, each NPU partition's scratch, ExecuTorch's planned buffers, ...
    operators  one row per operator of the exported graph the partitioner saw, in the order the
               program runs them (each NPU partition's rows together, where its delegate is called)
    layers     Vela's per-layer table, all partitions (``partition`` column) in the order they run
    delegation ExecuTorch's own get_delegation_info table for the lowered graph
    artifacts  Artifacts: ``pte``, ``log``, ``operator_rows``, ``partitions`` (Partition each)
    """

    def __init__(self, results: pd.Series, operators: pd.DataFrame, layers: pd.DataFrame,
                 delegation: pd.DataFrame, artifacts: Artifacts, warnings: list[str] | None = None,
                 directory: Path | None = None, *, target: Target, model: str, buffers: pd.DataFrame | None = None):
        self.model = model
        self.buffers = buffers if buffers is not None else pd.DataFrame(columns=BUFFER_COLUMNS)
        self.target = target
        self.results = results
        self.operators = operators
        self.layers = layers
        self.delegation = delegation
        self.artifacts = artifacts
        self.warnings = list(warnings or [])
        self.directory = directory
        self.from_cache = False
        self.compiled_from = None  # jobs.CompiledFrom, set by compile() / cached() in this session

    @property
    def summary(self) -> pd.Series:
        """One row: the model, the target's facts (from ``target``), then ``results``."""
        t = self.target
        facts = {"model": self.model, "accelerator": t.accelerator, "system_config": t.system_config,
                 "memory_mode": t.memory_mode, "preset": t.preset or "", "clock_hz": t.clock_hz,
                 "cpu_core": t.cpu_core, "cpu_clock_hz": t.cpu_clock_hz}
        return pd.concat([pd.Series(facts, dtype=object), self.results])

    # ------------------------------------------------------------ persistence
    def save(self, directory: Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "summary.json").write_text(self.results.to_json(indent=1))
        for name in ("operators", "layers", "delegation", "buffers"):
            getattr(self, name).to_json(directory / f"{name}.json", orient="table", index=False, indent=1)
        meta = {"artifacts": self.artifacts.to_json(directory), "warnings": self.warnings,
                "target": self.target.to_json(), "model": self.model}
        (directory / "meta.json").write_text(json.dumps(meta, indent=1))
        # The manifest is written last: an entry without a matching one is incomplete.
        manifest = {str(p.relative_to(directory)): _sha256(p) for p in sorted(directory.rglob("*"))
                    if p.is_file() and p.name != "manifest.json"}
        (directory / "manifest.json").write_text(json.dumps(manifest, indent=1))
        self.directory = directory

    @classmethod
    def load(cls, directory: Path) -> "Report":
        directory = Path(directory)
        try:
            manifest = json.loads((directory / "manifest.json").read_text())
            for rel, digest in manifest.items():
                if _sha256(directory / rel) != digest:
                    raise CorruptReportError(f"{rel} does not match its checksum")
            if not set(_FILES) <= set(manifest):
                raise CorruptReportError("files missing from the manifest")
            results = pd.read_json(directory / "summary.json", typ="series")
            frames = {n: pd.read_json(directory / f"{n}.json", orient="table")
                      for n in ("operators", "layers", "delegation", "buffers")}
            meta = json.loads((directory / "meta.json").read_text())
            artifacts = Artifacts.from_json(meta["artifacts"], directory)
            target, model = _target(meta["target"]), meta["model"]
        except CorruptReportError:
            raise
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise CorruptReportError(f"{type(e).__name__}: {e}") from None
        return cls(results, frames["operators"], frames["layers"], frames["delegation"], artifacts,
                   meta.get("warnings"), directory, target=target, model=model, buffers=frames["buffers"])

    # ------------------------------------------------------------ analysis
    def by_module(self, depth: int = 1) -> pd.DataFrame:
        """Cycles, MACs and access cycles per nn.Module path at ``depth`` (sums to the total)."""
        return insights.by_module(self.operators, depth)

    @property
    def board(self):
        """The hardware.Board this report was compiled for, or None."""
        return self.target.board

    @property
    def deployment(self) -> pd.DataFrame:
        """Every buffer of the deployment in the memory region it occupies (item, region,
        bytes, source, kind, counted): on the board, or in the memory mode's own areas."""
        return hardware.deployment(self.buffers, self.target)

    @property
    def regions(self) -> pd.DataFrame:
        """Per memory region the deployment uses: size, used, margin, fits."""
        return hardware.regions(self.deployment, self.target, self.results.get("sram_limit_kib"))

    @property
    def fits(self) -> bool:
        """On a board: whether every memory region holds what the deployment puts there.
        Otherwise: False when Vela's SRAM use exceeds what the memory mode provides."""
        if self.board is not None:
            return bool(self.regions["fits"].all())
        limit = self.results.get("sram_limit_kib")
        return limit is None or pd.isna(limit) or not self.results["sram_kib"] > limit

    @property
    def memory(self) -> pd.DataFrame:
        """Vela's SRAM staging use per layer; ``.attrs`` has the totals against the limit."""
        df = insights.memory(self.layers)
        df.attrs.update({k: self.results.get(k) for k in ("sram_kib", "sram_limit_kib", "flash_kib", "dram_kib")})
        return df

    @property
    def cpu_work(self) -> pd.DataFrame:
        """CPU operators and the tensors they convert at NPU partition boundaries."""
        return insights.cpu_work(self.operators)

    def hotspots(self, top: int = 5) -> pd.DataFrame:
        """The rows that dominate cycles, each with a hint where a user can act on it."""
        return insights.hotspots(self.operators, float(self.results["total_cycles"]), self.target.macs, top)

    @property
    def sram_need_kib(self) -> float:
        """What the configuration needs in SRAM: Vela's SRAM use, plus the weights when the
        memory mode keeps them in SRAM (Vela books them as on-chip flash there)."""
        r = self.results
        return float(r["sram_kib"]) + (float(r["flash_kib"]) if self.target.weights_in_sram else 0.0)

    # ------------------------------------------------------------ display
    def __repr__(self) -> str:
        s, t = self.results, self.target
        return (f"<labkit.Report {self.model} on {t.accelerator} ({t.system_config}, {t.memory_mode}): "
                f"{fmt.cycles(s['total_cycles'])} NPU cycles, {fmt.ms(s['inference_ms'])} ms, "
                f"{s['npu_ops']} NPU / {s['cpu_ops']} CPU ops, {s['partitions']} partition(s) [{s['source']}]>")

    def _cpu_lines(self) -> list[str]:
        """The CPU side and the whole inference, apart from Vela's NPU figure (reports made
        before labkit estimated the CPU have neither)."""
        s, t = self.results, self.target
        if "cpu_cycles_est" not in s:
            return []
        return [
            f"  CPU            {fmt.ms_range(s['cpu_ms_low'], s['cpu_ms_high'])} ms  ({fmt.cycles(s['cpu_cycles_low'])}"
            f"–{fmt.cycles(s['cpu_cycles_high'])} cycles on {t.cpu_core} at {fmt.mhz(t.cpu_clock_hz)} MHz, "
            f"{s['cpu_kernels']} kernels; cortex-m-estimate)",
            f"  whole          {fmt.ms_range(s['total_ms_low'], s['total_ms_high'])} ms  (NPU + CPU, one after "
            "the other)",
        ]

    def summary_text(self) -> str:
        s, t = self.results, self.target
        lines = [
            f"{self.model} on {t.label}",
            f"  numbers: NPU {s['source']} (Vela's compiler estimate, not a measurement)"
            + ("; CPU cortex-m-estimate (a cost model, a range)" if "cpu_cycles_est" in s else ""),
            f"  NPU            {fmt.ms(s['inference_ms'])} ms  ({fmt.rate(s['inferences_per_s'])} inferences/s at "
            f"{fmt.mhz(t.clock_hz)} MHz; vela-estimate)" if s["partitions"] else
            "  NPU            none: " + ("a CPU-only target" if not t.has_npu else "no operator runs on it"),
            *self._cpu_lines(),
            f"  NPU cycles     {fmt.cycles(s['total_cycles'])}, of which {fmt.cycles(s['npu_cycles'])} MAC compute "
            "(vela-estimate)",
            f"  MACs           {fmt.cycles(s['macs'])}",
            f"  memory         SRAM {fmt.kib(s['sram_kib'])} KiB · flash {fmt.kib(s['flash_kib'])} KiB · "
            f"DRAM {fmt.kib(s['dram_kib'])} KiB",
            f"  operators      {s['npu_ops']} on the NPU, {s['cpu_ops']} on the CPU, "
            f"{s['partitions']} NPU partition(s)",
            f"  quantization   {s.get('quantization', 'int8')}, calibrated on {s.get('calibration_samples', '?')} "
            "sample(s)",
            f"  .pte           {fmt.cycles(s['pte_bytes'])} bytes · weights: {s['weights']}",
            f"  tools          torch {s['torch_version']}, executorch {s['executorch_version']}, "
            f"vela {s['vela_version']}",
        ]
        return "\n".join(lines + [f"  warning: {w}" for w in self.warnings])


def _target(data: dict) -> Target:
    board = data.get("board")
    return Target(**{**data, "board": hardware.board(board) if board else None})


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
