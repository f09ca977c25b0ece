"""Ranking what was measured: what each change buys in words and its sort key (only
measured improvements are shown), the table best first, and the message above it."""

from __future__ import annotations

import pandas as pd

from .. import formats as fmt
from .board import memory_used

FASTER_PCT = 1.0  # a change shorter by less than this share of the inference is noise, not advice
SMALLER_SRAM_PCT = 5.0
MORE_ACCURATE = 0.005
SMALLER_NPU_SLOWER_PCT = 2.0  # fewer MACs is advice when it costs at most this much time


def benefit(row: dict, report, measured, base_ms: float) -> tuple[str, tuple | None]:
    """What the change buys, in words, and its sort key (None: no benefit, not shown)."""
    faster = -100.0 * row["delta_ms"] / base_ms if base_ms else 0.0
    smaller = -100.0 * row["delta_sram_kib"] / report.sram_need_kib if report.sram_need_kib else 0.0
    accurate = row["delta_accuracy"] if row["delta_accuracy"] == row["delta_accuracy"] else 0.0
    fewer_macs = measured.target.macs < report.target.macs and report.board is None
    if not measured.fits and (report.fits or measured.board is not None):  # a board it does not fit: no use
        return "", None
    said = []
    if measured.fits and not report.fits:
        said.append("fits the board's memory" if measured.board is not None else "fits in the memory mode's SRAM")
    smaller_board = report.board is not None and measured.board is not None and \
        memory_used(measured) < memory_used(report)
    if smaller_board and measured.fits and report.fits and faster > -SMALLER_NPU_SLOWER_PCT:
        said.append(f"a smaller board ({fmt.kib(memory_used(measured) / 1024)} KiB in the regions it uses), "
                    + _pace(faster))
    if faster >= FASTER_PCT:
        said.append(f"{faster:.1f}% faster")
    if accurate >= MORE_ACCURATE:
        said.append(f"+{100 * accurate:.1f} points accuracy")
    if smaller >= SMALLER_SRAM_PCT and faster > -FASTER_PCT:
        said.append(f"{smaller:.1f}% less SRAM")
    if fewer_macs and faster > -SMALLER_NPU_SLOWER_PCT:
        said.append(f"a smaller NPU ({measured.target.macs} MACs), " + _pace(faster))
    if not said:
        return "", None
    costs = []
    if faster <= -FASTER_PCT and not fewer_macs:
        costs.append(f"{-faster:.1f}% slower")
    if accurate <= -MORE_ACCURATE:
        costs.append(f"{100 * accurate:.1f} points accuracy")
    text = "; ".join(said) + (f" (costs: {', '.join(costs)})" if costs else "")
    # A board that fits where the report's does not: the smallest such board first.
    room = -memory_used(measured) if measured.board is not None and not report.fits else 0
    return text, (measured.fits and not report.fits, room, max(faster, 0.0), accurate, smaller)


def _pace(faster: float) -> str:
    """'as fast', '3.2% faster' or '1.1% slower'."""
    if abs(faster) < 0.05:
        return "as fast"
    return f"{abs(faster):.1f}% " + ("faster" if faster > 0 else "slower")


def best_first(table: pd.DataFrame, report) -> pd.DataFrame:
    """The changes with a benefit, best first; for a report that does not fit its board, the
    first board that fits (the smallest, by the score) says so."""
    kept = table[table["_score"].notna()]
    order = sorted(range(len(kept)), key=lambda i: kept.iloc[i]["_score"], reverse=True)
    ranked = kept.iloc[order].drop(columns="_score").reset_index(drop=True)
    if report.board is not None and not report.fits:
        fitting = ranked.index[(ranked["lever"] == "board") & ranked["fits"].astype(bool)]
        if len(fitting):
            ranked.loc[fitting[0], "benefit"] = "the smallest board that fits; " + ranked.loc[fitting[0], "benefit"]
    return ranked


def message(table, report, tried: int, not_tried: list, failed: list) -> str:
    name, target = report.summary["model"], report.target.label
    if tried == 0 and not not_tried:
        text = f"No lever applies to {name} on {target}: nothing to try."
    elif table.empty:
        text = (f"Nothing to improve: labkit compiled {tried} candidate change(s) of {name} on {target}, and none "
                "made it faster, smaller or more accurate by a measurable margin.")
    else:
        text = f"{len(table)} of {tried} measured change(s) improve {name} on {target}, best first."
    if not_tried:
        text += (f" {len(not_tried)} more not tried (budget; attrs['not_tried'] lists them): asking again "
                 "continues, as what was compiled is cached.")
    if failed:
        text += f" {len(failed)} could not be measured (see attrs['failed'])."
    return text
