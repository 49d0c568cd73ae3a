"""CSV downloads: a submission's per-utterance results and a session's reported metrics, for a spreadsheet or pandas.

Both are UTF-8 with a header row, written by the ``csv`` module (quotes, commas and line breaks inside a transcript
are quoted, never split). A text cell that a spreadsheet would take for a formula (starting with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return) gets a leading ``'``, so a hostile transcript or metric name opened in
a spreadsheet is text, never a formula; numbers are written as numbers.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Sequence

from nsml.entities import Metric, ScoredUtterance

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
UTTERANCE_COLUMNS = ("position", "key", "reference", "hypothesis", "errors", "size", "error_rate")
METRIC_COLUMNS = ("step", "key", "value", "wall_time", "seconds_since_start", "summary")


def text_cell(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def number_cell(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "nan"
    return repr(int(value)) if float(value).is_integer() and abs(value) < 2 ** 53 else repr(float(value))


def _write(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def utterances_csv(utterances: Sequence[ScoredUtterance]) -> str:
    """Every utterance of a submission in test-list order."""
    return _write(UTTERANCE_COLUMNS, (
        (str(u.position), text_cell(u.key), text_cell(u.reference), text_cell(u.hypothesis), number_cell(u.errors),
         number_cell(u.size), number_cell(u.rate)) for u in sorted(utterances, key=lambda u: u.position)))


def metrics_csv(metrics: Sequence[Metric], start: float) -> str:
    """Every reported value in report order; ``start`` (the session's start) gives the relative time."""
    return _write(METRIC_COLUMNS, (
        ("" if m.step is None else number_cell(m.step), text_cell(m.key), number_cell(m.value), f"{m.wall:.3f}",
         f"{m.wall - start:.3f}", str(m.summary)) for m in metrics))


def filename(*parts: str) -> str:
    """A download's file name from a session name and the like: letters, digits, ``-``, ``_`` and ``.`` only."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", "-".join(parts)).strip("-.") + ".csv"
