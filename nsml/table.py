"""Plain-text formatting for the ``nsml`` command's tables and figures."""

from __future__ import annotations

import math
import time
from typing import Iterable, Mapping, Sequence


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Left-aligned columns separated by two spaces; the last column is not padded."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row[:-1], widths)) + "  " + row[-1]
             if len(row) > 1 else row[0] for row in cells]
    return "\n".join(line.rstrip() for line in lines)


def size(count: float) -> str:
    if count < 1024:
        return f"{count:.0f} B"
    for unit in ("KiB", "MiB", "GiB"):
        count /= 1024
        if count < 1024:
            break
    return f"{count:.1f} {unit}"


def duration(seconds: float) -> str:
    whole = int(max(seconds, 0))
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def when(timestamp: float | None) -> str:
    return "-" if timestamp is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))


def number(value: float) -> str:
    return "nan" if math.isnan(value) else f"{value:.4g}"


def metrics(values: Mapping[str, float]) -> str:
    return " ".join(f"{key}={number(value)}" for key, value in sorted(values.items())) or "-"
