"""The error analysis of one submission: its utterances filtered, worst first, each aligned against its reference.

A 2019 score of 0 came with no reason. ``nsml submit show`` prints the alignment in a terminal; the board shows the
same alignment (``speech_kit.scoring.align``: spaces removed, as scored, so the marked cells are exactly the edits
behind the CER) as coloured cells, one per aligned position, and lets the reader narrow the list: only utterances
with errors (the default), only correct ones, or a text that the key, the reference or the hypothesis contains.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from nsml.entities import ScoredUtterance
from speech_kit.scoring import align

SHOW = ("errors", "all", "correct")
ORDERS = ("worst", "test")
GAP = "·"


@dataclass(frozen=True)
class Cell:
    """One aligned position: ``op`` is equal, sub, ins or del; a missing side is shown as ``GAP``."""

    op: str
    ref: str
    hyp: str


@dataclass(frozen=True)
class Row:
    utterance: ScoredUtterance
    cells: list[Cell]
    counts: dict[str, int]


@dataclass(frozen=True)
class Selection:
    rows: list[Row]
    matched: int  # utterances passing the filter, before paging
    total: int
    with_errors: int


def aligned(utterance: ScoredUtterance) -> Row:
    cells = [Cell(op, ref or GAP, hyp or GAP) for op, ref, hyp in align(utterance.reference, utterance.hypothesis)]
    counts = {op: sum(1 for cell in cells if cell.op == op) for op in ("sub", "ins", "del")}
    return Row(utterance, cells, counts)


def worst_first(utterances: Sequence[ScoredUtterance]) -> list[ScoredUtterance]:
    """Highest error rate first, then most errors, then by key (the order of ``submit show --worst``)."""
    return sorted(utterances, key=lambda u: (-u.rate, -u.errors, u.key))


def select(utterances: Sequence[ScoredUtterance], show: str = "errors", text: str = "", order: str = "worst",
           offset: int = 0, limit: int = 100) -> Selection:
    """The utterances to show on one page, aligned; the counts say how many there are in all."""
    needle = text.casefold()
    kept = [u for u in utterances
            if (show == "all" or (show == "errors") == (u.errors > 0))
            and (not needle or any(needle in field.casefold() for field in (u.key, u.reference, u.hypothesis)))]
    if order == "worst":
        kept = worst_first(kept)
    return Selection([aligned(u) for u in kept[offset:offset + limit]], len(kept), len(utterances),
                     sum(1 for u in utterances if u.errors > 0))
