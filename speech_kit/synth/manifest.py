"""The table that lists a synthetic dataset (one row per file: what it says and how it was rendered), written and
read with the ``csv`` module so that a field can hold any text, and with errors that name the file and line.

The Korean corpus writes ``manifest.tsv`` (tab-separated), the Russian numbers ``train.csv``/``test.csv``; each
caller states its columns, and a reader states the ones it cannot do without (extra columns are kept).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from speech_kit.atomic import atomic_write
from speech_kit.layout import DatasetError, read_text

_KINDS = {",": "CSV", "\t": "tab-separated"}


class ManifestError(ValueError):
    """A file that is not the expected manifest; the message names the file and, where it helps, the line."""


def write_table(path: str | os.PathLike, columns: Sequence[str], rows: Iterable[Mapping[str, object]],
                delimiter: str = ",") -> None:
    """Write ``rows`` (mappings holding every one of ``columns``) under a header line, atomically."""
    with atomic_write(path, newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, delimiter=delimiter, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row[k] for k in columns})


def read_table(path: str | os.PathLike, required: Sequence[str], delimiter: str = ",") -> list[dict[str, str]]:
    """The rows of a manifest as dicts keyed by its header; every column of ``required`` must be there."""
    path = Path(path)
    try:
        f = open(path, encoding="utf-8-sig", newline="")
    except OSError as err:
        raise ManifestError(f"cannot read {path}: {err.strerror}") from None
    try:
        with f:
            reader = csv.DictReader(f, delimiter=delimiter)
            missing = [c for c in required if c not in (reader.fieldnames or [])]
            if missing:
                raise ManifestError(f"{path}:1: header lacks column(s) {', '.join(missing)}; "
                                    f"expected at least {_header(required, delimiter)}")
            rows = []
            for row in reader:
                if None in row or any(row[c] is None for c in required):
                    raise ManifestError(f"{path}:{reader.line_num}: expected {len(reader.fieldnames)} fields")
                rows.append(row)
    except (UnicodeDecodeError, csv.Error) as err:  # not UTF-8 (cp1251, cp949), or audio given instead of a table
        raise ManifestError(_not_text(path, err, required, delimiter)) from None
    return rows


def _not_text(path: Path, err: Exception, required: Sequence[str], delimiter: str) -> str:
    """The message of ``speech_kit.layout``'s text reader: what the file is instead, or the iconv command."""
    kind = _KINDS.get(delimiter, f"{delimiter!r}-separated")
    try:
        read_text(path, f"a {kind} manifest with the header line {_header(required, delimiter)}")
    except DatasetError as problem:
        return str(problem)
    return f"{path}: {err}"


def _header(columns: Sequence[str], delimiter: str) -> str:
    """A header line for a message: a tab shown as a space, so the message stays one readable line."""
    return (" " if delimiter == "\t" else delimiter).join(columns)
