"""Reading Vela's output files (summary CSV, per-layer CSV, debug database XML)
into pandas objects. Nothing here runs Vela."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd


def output_dir(partition_dir: Path) -> Path:
    return Path(partition_dir) / "output"


def read_summary(partition_dir: Path) -> pd.Series:
    """Vela's one-row network summary (``out_summary_<system_config>.csv``)."""
    files = sorted(output_dir(partition_dir).glob("out_summary_*.csv"))
    if not files:
        raise FileNotFoundError(f"no Vela summary CSV in {output_dir(partition_dir)}")
    return pd.read_csv(files[0]).iloc[0]


def read_per_layer(partition_dir: Path) -> pd.DataFrame:
    """Vela's per-layer table (``out_per-layer.csv``, needs --verbose-performance)."""
    path = output_dir(partition_dir) / "out_per-layer.csv"
    if not path.exists():
        return pd.DataFrame()
    return pd.read_csv(path)


def read_debug_db(partition_dir: Path) -> dict[str, pd.DataFrame]:
    """Every table of ``out_debug.xml`` (needs --enable-debug-db), by table name."""
    path = output_dir(partition_dir) / "out_debug.xml"
    if not path.exists():
        return {}
    tables = {}
    for table in ET.parse(path).getroot():
        text = (table.text or "").strip()
        if text:
            tables[table.get("name")] = pd.read_csv(io.StringIO(text))
    return tables
