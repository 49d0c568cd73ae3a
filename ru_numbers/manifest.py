"""The CSV that lists a spoken-numbers dataset: what each file says, who says it and under which conditions.

The first four columns are the task's format (``filename,transcription,gender,spk_id``; the filename relative to
the CSV, the transcription in digits). The condition columns after them let an evaluation break accuracy down by
speaking rate, pitch, noise and level without a side file that could drift out of step with the CSV.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from speech_kit.synth.manifest import ManifestError, read_table, write_table

__all__ = ["COLUMNS", "CONDITION_COLUMNS", "GENDERS", "REQUIRED_COLUMNS", "ManifestError", "audio_path",
           "read_manifest", "write_manifest"]

REQUIRED_COLUMNS: tuple[str, ...] = ("filename", "transcription", "gender", "spk_id")
CONDITION_COLUMNS: tuple[str, ...] = (
    "variant",  # espeak-ng voice variant (-v ru+VARIANT), or festival
    "rate",  # words per minute (-s)
    "pitch",  # espeak-ng pitch 0-99 (-p)
    "lead_s",  # silence before the speech, seconds
    "trail_s",  # silence after the speech, seconds
    "level_db",  # peak level of the file, dB relative to full scale
    "noise",  # none, white, pink or brown
    "snr_db",  # speech-to-noise power ratio in dB; empty without noise
    "seconds",  # duration of the file
    "text",  # the words the voice was given
    "source",  # espeak (an espeak-ng variant) or festival (Festival's voice, shifted)
    "shift",  # the Festival shift's kind (ru_numbers.natural); empty for espeak-ng
    "tempo",  # the Festival shift's rate factor (sox tempo)
    "f0_ratio",  # the Festival shift's F0 factor
    "formant_ratio",  # the Festival shift's vocal-tract factor (> 1: shorter, a woman's)
    "channel",  # none, or the telephone codec: ulaw, alaw, gsm
    "reverb",  # empty, or sox reverb's reverberance/room scale
)
COLUMNS: tuple[str, ...] = REQUIRED_COLUMNS + CONDITION_COLUMNS
GENDERS: tuple[str, ...] = ("male", "female")


def write_manifest(path: str | os.PathLike, rows: Iterable[Mapping[str, object]]) -> None:
    """Write ``rows`` (dicts with every column of ``COLUMNS``) with a header line, atomically."""
    write_table(path, COLUMNS, rows)


def read_manifest(path: str | os.PathLike) -> list[dict[str, str]]:
    """Rows of a manifest as dicts; only the four required columns must be present (extra ones are kept).
    A ``ManifestError`` names the file and line of one that is not a manifest."""
    return read_table(path, REQUIRED_COLUMNS)


def audio_path(manifest: str | os.PathLike, row: Mapping[str, str]) -> Path:
    """The audio file of ``row``: its filename is relative to the folder of the manifest."""
    return Path(manifest).parent / row["filename"]
