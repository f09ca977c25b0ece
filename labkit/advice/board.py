"""The ``board`` lever, for a report compiled for a board: the other boards, each compiled
(the lowering is reused per TOSA profile, so each costs Vela and a patched .pte). On the
ranking's side (rank.py) a board that fits where the report's does not comes first, the
smallest (by the memory regions the deployment uses) first of those, and says so."""

from __future__ import annotations

from .. import formats as fmt
from .. import hardware
from ..jobs import retarget
from .candidate import Candidate, base_kwargs


def candidates(report, origin, evaluation) -> list:
    here = report.board
    if here is None:
        return []
    over = report.regions[~report.regions["fits"]]
    why = ("the deployment does not fit " + here.id + ": " + ", ".join(
        f"{r.region} over by {fmt.kib(-r.margin / 1024)} KiB" for r in over.itertuples())) if len(over) else \
        f"a board with less memory than {here.id} may run it as well"
    base = base_kwargs(report, origin)
    return [Candidate("board", f"the {b.id} board ({b.name})", why, retarget(origin.job, b.target()),
                      {**base, "board": b.id}) for b in hardware.presets().values() if b.id != here.id]


def memory_used(report) -> int:
    """The size of the memory regions a deployment uses on its board: what 'a smaller board'
    means here (a board whose program and buffers sit in 2 GB of DRAM is not a small one)."""
    return int(report.regions["size"].sum())
