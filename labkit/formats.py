"""One number format per kind of quantity, for every figure, table, card and line of
text labkit shows: the same value reads the same wherever it appears.

    cycles     3,779,803            integers with thousands separators
    ms         7.56 · 0.963 · 12.3  three significant figures, never scientific
    rate       4,623                inferences per second, whole
    kib        1,234.5              KiB with one decimal
    db         -3.2 · 0.0           one decimal (never "-0.0")
    pct        12.5                 one decimal
    mhz        500                  whole MHz

Each returns the number alone (the caller says its unit); NaN and None read as "—".
"""

from __future__ import annotations

import math

MISSING = "—"


def _missing(v) -> bool:
    try:
        return v is None or math.isnan(float(v))
    except (TypeError, ValueError):
        return True


def cycles(v) -> str:
    return MISSING if _missing(v) else f"{round(float(v)):,}"


def decimals_for(v: float, significant: int = 3, most: int = 4) -> int:
    """Decimal places that show ``significant`` figures of ``v`` (at most ``most``)."""
    v = abs(float(v))
    if v == 0:
        return 0
    return max(0, min(most, significant - 1 - math.floor(math.log10(v))))


def ms(v) -> str:
    if _missing(v):
        return MISSING
    return f"{float(v):,.{decimals_for(v)}f}"


def ms_range(low, high) -> str:
    """'4.24–7.91': a range at the precision of its lower end."""
    if _missing(low) or _missing(high):
        return MISSING
    places = decimals_for(low) if float(low) else decimals_for(high)
    return f"{float(low):,.{places}f}–{float(high):,.{places}f}"


def rate(v) -> str:
    return MISSING if _missing(v) else f"{float(v):,.0f}"


def kib(v) -> str:
    return MISSING if _missing(v) else f"{float(v):,.1f}"


def db(v) -> str:
    if _missing(v):
        return MISSING
    return f"{float(v) + 0.0:.1f}".replace("-0.0", "0.0")


def pct(v) -> str:
    return MISSING if _missing(v) else f"{float(v):.1f}".replace("-0.0", "0.0")


def mhz(hz) -> str:
    return MISSING if _missing(hz) else f"{float(hz) / 1e6:,.0f}"
