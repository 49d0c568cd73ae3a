"""The CSV that lists a spoken-numbers dataset: what each file says, who says it and under which conditions.

The first four columns are the task's format (``filename,transcription,gender,spk_id``; the filename relative to
the CSV, the transcription in digits). The condition columns after them let an evaluation break accuracy down by
speaking rate, pitch, noise and level without a side file that could drift out of step with the CSV.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from speech_kit.atomic import atomic_write
from speech_kit.layout import DatasetError, read_text

REQUIRED_COLUMNS: tuple[str, ...] = ("filename", "transcription", "gender", "spk_id")
CONDITION_COLUMNS: tuple[str, ...] = (
    "variant",  # espeak-ng voice variant (-v ru+VARIANT)
    "rate",  # words per minute (-s)
    "pitch",  # espeak-ng pitch 0-99 (-p)
    "lead_s",  # silence before the speech, seconds
    "trail_s",  # silence after the speech, seconds
    "level_db",  # peak level of the file, dB relative to full scale
    "noise",  # none, white, pink or brown
    "snr_db",  # speech-to-noise power ratio in dB; empty without noise
    "seconds",  # duration of the file
    "text",  # the words espeak-ng was given
)
COLUMNS: tuple[str, ...] = REQUIRED_COLUMNS + CONDITION_COLUMNS
GENDERS: tuple[str, ...] = ("male", "female")


class ManifestError(ValueError):
    """A CSV that is not a spoken-numbers manifest; the message names the file and line."""


def write_manifest(path: str | os.PathLike, rows: Iterable[Mapping[str, object]]) -> None:
    """Write ``rows`` (dicts with every column of ``COLUMNS``) with a header line, atomically."""
    with atomic_write(path, newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row[k] for k in COLUMNS})


def read_manifest(path: str | os.PathLike) -> list[dict[str, str]]:
    """Rows of a manifest as dicts; only the four required columns must be present (extra ones are kept)."""
    path = Path(path)
    try:
        f = open(path, encoding="utf-8-sig", newline="")
    except OSError as err:
        raise ManifestError(f"cannot read {path}: {err.strerror}") from None
    try:
        with f:
            reader = csv.DictReader(f)
            missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise ManifestError(f"{path}:1: header lacks column(s) {', '.join(missing)}; "
                                    f"expected at least {','.join(REQUIRED_COLUMNS)}")
            rows = []
            for row in reader:
                if None in row or any(row[c] is None for c in REQUIRED_COLUMNS):
                    raise ManifestError(f"{path}:{reader.line_num}: expected {len(reader.fieldnames)} fields")
                rows.append(row)
    except (UnicodeDecodeError, csv.Error) as err:  # not UTF-8 (cp1251, cp949), or audio given instead of a CSV
        raise ManifestError(_not_text(path, err)) from None
    return rows


def _not_text(path: Path, err: Exception) -> str:
    """The message of ``speech_kit.layout``'s text reader: what the file is instead, or the iconv command."""
    try:
        read_text(path, f"a CSV manifest with the header line {','.join(REQUIRED_COLUMNS)}")
    except DatasetError as problem:
        return str(problem)
    return f"{path}: {err}"


def audio_path(manifest: str | os.PathLike, row: Mapping[str, str]) -> Path:
    """The audio file of ``row``: its filename is relative to the folder of the manifest."""
    return Path(manifest).parent / row["filename"]
