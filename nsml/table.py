"""Plain-text formatting for the ``nsml`` command's tables and figures.

Tables are measured in display columns and, given a width, shrink their free-text columns (arguments, memos,
summaries) until each line fits, so ``nsml ps`` stays one line per session in a narrow terminal.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence

from nsml import text

GAP = "  "
MIN_SHRUNK = 8  # a shrinkable column keeps at least this many display columns (or its heading's width)


def _fit(widths: list[int], headers: Sequence[str], shrink: Sequence[int], limit: int) -> list[int]:
    """Narrow the ``shrink`` columns, widest first, until the line is at most ``limit`` columns (if it can be)."""
    widths = list(widths)
    floors = {i: min(widths[i], max(MIN_SHRUNK, text.width(headers[i]))) for i in shrink}
    excess = sum(widths) + len(GAP) * (len(widths) - 1) - limit
    while excess > 0:
        candidates = [i for i in shrink if widths[i] > floors[i]]
        if not candidates:
            break
        widest = max(candidates, key=lambda i: widths[i])
        step = min(excess, widths[widest] - floors[widest],
                   max(1, widths[widest] - max((widths[i] for i in candidates if i != widest), default=0)))
        widths[widest] -= step
        excess -= step
    return widths


def table(headers: Sequence[str], rows: Iterable[Sequence[object]], width: int | None = None,
          shrink: Sequence[int] = ()) -> str:
    """Left-aligned columns separated by two spaces; control characters escaped; the last column is not padded.

    With ``width``, the columns listed in ``shrink`` are cut (ending in ``…``) so that lines fit in ``width``.
    """
    cells = [[str(h) for h in headers]] + [[text.escape("" if c is None else str(c)) for c in row] for row in rows]
    widths = [max(text.width(row[i]) for row in cells) for i in range(len(headers))]
    if width is not None:
        widths = _fit(widths, headers, [i % len(headers) for i in shrink], width)
    lines = []
    for row in cells:
        shown = [text.cut(cell, widths[i]) for i, cell in enumerate(row)]
        line = GAP.join(text.pad(cell, widths[i]) for i, cell in enumerate(shown[:-1]))
        lines.append((line + GAP + shown[-1] if len(shown) > 1 else shown[0]).rstrip())
    return "\n".join(lines)


def size(count: float) -> str:
    if count < 1024:
        return f"{count:.0f} B"
    value, unit = count / 1024, "KiB"
    for bigger in ("MiB", "GiB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{value:.1f} {unit}"


def duration(seconds: float) -> str:
    whole = int(max(seconds, 0))
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def when(timestamp: float | None) -> str:
    return "-" if timestamp is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))


def number(value: float) -> str:
    return "nan" if math.isnan(value) else f"{value:.4g}"


def metrics(values: Mapping[str, float]) -> str:
    return " ".join(f"{key}={number(value)}" for key, value in sorted(values.items())) or "-"
