"""Reading Vela's output files into pandas objects: the summary CSV, the per-layer
CSV, the debug-database XML and the .npz the Ethos-U delegate embeds. Each reader
takes Vela's output folder. Nothing here runs Vela."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pandas as pd


def read_summary(vela_dir: Path) -> pd.Series:
    """Vela's one-row network summary (``out_summary_<system_config>.csv``)."""
    files = sorted(Path(vela_dir).glob("out_summary_*.csv"))
    if not files:
        raise FileNotFoundError(f"no Vela summary CSV in {vela_dir}")
    return pd.read_csv(files[0]).iloc[0]


def read_per_layer(vela_dir: Path) -> pd.DataFrame:
    """Vela's per-layer table (``out_per-layer.csv``, needs --verbose-performance)."""
    path = Path(vela_dir) / "out_per-layer.csv"
    if not path.exists():
        return pd.DataFrame()
    return pd.read_csv(path)


def read_debug_db(vela_dir: Path) -> dict[str, pd.DataFrame]:
    """Every table of ``out_debug.xml`` (needs --enable-debug-db), by table name."""
    path = Path(vela_dir) / "out_debug.xml"
    if not path.exists():
        return {}
    tables = {}
    for table in ET.parse(path).getroot():
        text = (table.text or "").strip()
        if text:
            tables[table.get("name")] = pd.read_csv(io.StringIO(text))
    return tables


@dataclass(frozen=True)
class CommandStream:
    """From ``out_vela.npz``: the NPU command stream (embedded unchanged in the
    partition's delegate) and the element sizes of its inputs and outputs (which
    the Ethos-U runtime checks the program's tensors against)."""

    cmd_data: bytes
    input_elem_sizes: tuple[int, ...] | None
    output_elem_sizes: tuple[int, ...] | None


def read_command_stream(vela_dir: Path) -> CommandStream | None:
    import numpy as np

    npz = Path(vela_dir) / "out_vela.npz"
    if not npz.is_file():
        return None
    with np.load(npz, allow_pickle=False) as data:
        sizes = {k: tuple(int(v) for v in data[f"{k}_elem_size"]) if f"{k}_elem_size" in data.files else None
                 for k in ("input", "output")}
        return CommandStream(data["cmd_data"].tobytes(), sizes["input"], sizes["output"])
