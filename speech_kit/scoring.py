"""Scoring as the 2019 leaderboard did it, and the prediction files it reads.

Spaces are removed from reference and hypothesis, the Levenshtein distance and the reference length are summed over
the whole set, and CER = sum(distance) / sum(length), CRR = (1 - CER) * 100: long utterances weigh more than short
ones, as on the board. A CRR can be negative: insertions count as errors, so a hypothesis longer than its reference
(an untrained model decoding up to ``--max_len``) can have more edits than the reference has characters.

This lives in the shared core, not in ``evaluation/``, because a 2019 entry ships its own ``evaluation`` package in
the user's snapshot: the platform must score with code the user cannot shadow.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import IO, Literal

import Levenshtein

from speech_kit.atomic import atomic_write
from speech_kit.layout import DatasetError, key_of, read_pairs, read_text

Op = Literal["equal", "sub", "ins", "del"]

_OPCODE_NAMES: dict[str, Op] = {"equal": "equal", "replace": "sub", "insert": "ins", "delete": "del"}


class ScoringError(DatasetError):
    """Input that cannot be scored (e.g. references with no characters at all: CER is undefined)."""


def _strip_spaces(text: str) -> str:
    return text.replace(" ", "")


def char_distance(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edit distance, reference length), both counted on the text with spaces removed."""
    ref, hyp = _strip_spaces(reference), _strip_spaces(hypothesis)
    return Levenshtein.distance(hyp, ref), len(ref)


def align(reference: str, hypothesis: str) -> list[tuple[Op, str, str]]:
    """One ``(op, reference char, hypothesis char)`` per aligned position, for showing where the errors are.

    Computed on the text with spaces removed, like the metric, so the number of non-``equal`` entries is exactly
    ``char_distance``'s distance. ``ins`` has an empty reference char, ``del`` an empty hypothesis char.
    """
    ref, hyp = _strip_spaces(reference), _strip_spaces(hypothesis)
    out: list[tuple[Op, str, str]] = []
    for tag, r1, r2, h1, h2 in Levenshtein.opcodes(ref, hyp):
        op = _OPCODE_NAMES[tag]
        ref_part, hyp_part = ref[r1:r2], hyp[h1:h2]
        if op in ("equal", "sub"):
            out.extend((op, r, h) for r, h in zip(ref_part, hyp_part, strict=False))
            # A replace block is square in practice; any overhang is reported as the deletes/inserts it is.
            out.extend(("del", r, "") for r in ref_part[len(hyp_part):])
            out.extend(("ins", "", h) for h in hyp_part[len(ref_part):])
        elif op == "del":
            out.extend(("del", r, "") for r in ref_part)
        else:
            out.extend(("ins", "", h) for h in hyp_part)
    return out


@dataclass(frozen=True)
class Score:
    """A corpus-level score; ``length`` is the number of reference characters (spaces removed)."""

    distance: int
    length: int
    utterances: int

    @property
    def cer(self) -> float:
        if not self.length:
            raise ScoringError("the references have no characters: CER is undefined")
        return self.distance / self.length

    @property
    def crr(self) -> float:
        return (1.0 - self.cer) * 100.0


@dataclass(frozen=True)
class UtteranceScore:
    key: str
    reference: str
    hypothesis: str
    distance: int
    length: int

    @property
    def cer(self) -> float:
        """Per-utterance CER; an empty reference counts 1.0 if anything was predicted for it, else 0.0."""
        return self.distance / self.length if self.length else float(self.distance > 0)


def per_utterance(references: Mapping[str, str], hypotheses: Mapping[str, str]) -> list[UtteranceScore]:
    """One entry per reference key; a missing hypothesis counts as an empty prediction."""
    rows = []
    for key, ref in references.items():
        hyp = hypotheses.get(key, "")
        dist, length = char_distance(ref, hyp)
        rows.append(UtteranceScore(key, ref, hyp, dist, length))
    return rows


def worst(rows: list[UtteranceScore], count: int) -> list[UtteranceScore]:
    """The ``count`` utterances with the highest CER (then the most edits) that have any error at all."""
    wrong = [row for row in rows if row.distance > 0]
    return sorted(wrong, key=lambda row: (-row.cer, -row.distance, row.key))[:count]


def score(references: Mapping[str, str], hypotheses: Mapping[str, str]) -> Score:
    """Corpus-level score of ``hypotheses`` against ``references`` (both keyed by utterance).

    References without a single character are refused (``ScoringError``): CER would divide by zero, and the
    seed's fallback of CRR 100 put an empty test set at the top of the board.
    """
    rows = per_utterance(references, hypotheses)
    result = Score(sum(r.distance for r in rows), sum(r.length for r in rows), len(rows))
    if not result.length:
        raise ScoringError(f"the {len(rows)} reference text(s) have no characters: CER is undefined")
    return result


def read_predictions(path: str | os.PathLike) -> dict[str, str]:
    """``<wav-path>,<text>`` lines -> {key: text}; a key predicted twice is an error naming both lines.

    Lines are CSV (a path or text holding a comma or quote is quoted, as ``write_predictions`` does); an unquoted
    2019 line whose text itself holds commas still reads as ``path`` and the whole rest of the line.
    """
    text = read_text(path, "lines '<wav-file>,<prediction>'")
    reader = csv.reader(io.StringIO(text, newline=""))
    out: dict[str, str] = {}
    lines: dict[str, int] = {}
    start = 1
    try:
        for row in reader:
            lineno, start = start, reader.line_num + 1
            if not row or not "".join(row).strip():
                continue
            if len(row) < 2 or not row[0].strip():
                raise DatasetError(f"{path}:{lineno}: expected '<wav-file>,<prediction>', got {','.join(row)!r}")
            key = key_of(row[0].strip())
            if key in out:
                raise DatasetError(f"{path}:{lineno}: key {key!r} already given on line {lines[key]}")
            out[key], lines[key] = ",".join(row[1:]).strip(), lineno
    except csv.Error as err:
        raise DatasetError(f"{path}:{reader.line_num}: {err}") from None
    return out


def write_predictions(path: str | os.PathLike, rows: Iterable[tuple[str, str]]) -> int:
    """Write ``<wav>,<text>`` CSV lines from ``rows`` (consumed lazily), atomically.

    A process killed or an ``infer`` raising half way leaves no prediction file a scorer would trust. Ordinary
    lines are byte-identical to the 2019 ``path,text`` form; only a field holding a comma or a quote is quoted.
    A newline inside a transcript becomes a space (one utterance, one line). Returns the number of lines written.
    """
    with atomic_write(path, "w", newline="") as out:
        return write_predictions_to(out, rows)


def write_predictions_to(stream: IO[str], rows: Iterable[tuple[str, str]]) -> int:
    """The lines of ``write_predictions`` on an open text stream (stdout, say); returns the number written."""
    writer = csv.writer(stream, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    count = 0
    for wav, text in rows:
        writer.writerow([str(wav), " ".join(str(text).splitlines())])
        count += 1
    return count


def read_test_labels(path: str | os.PathLike) -> dict[str, str]:
    """``<key>,<transcript>`` lines of ``test/test_label`` -> {key: text} (2019 form: the text runs to line end)."""
    out: dict[str, str] = {}
    lines: dict[str, int] = {}
    for pair in read_pairs(path, "<key>,<transcript>"):
        key = key_of(pair.first)
        if key in out:
            raise DatasetError(f"{path}:{pair.lineno}: key {key!r} already given on line {lines[key]}")
        out[key], lines[key] = pair.second, pair.lineno
    return out


def paired_files(predictions_path: str | os.PathLike, labels_path: str | os.PathLike,
                 only_predicted: bool = False) -> tuple[dict[str, str], dict[str, str]]:
    """(references, hypotheses) of a prediction file and a ``test_label`` file.

    A predicted key that has no reference is an error; with ``only_predicted`` the references are cut to the
    predicted keys (quick checks on a few files), otherwise a missing prediction scores as an empty one.
    References with no characters at all are refused here already, naming the label file.
    """
    hyps = read_predictions(predictions_path)
    refs = read_test_labels(labels_path)
    unknown = sorted(set(hyps) - set(refs))
    if unknown:
        raise DatasetError(f"{predictions_path}: {len(unknown)} predicted keys are not in {labels_path}, "
                           f"e.g. {unknown[0]!r}")
    if only_predicted:
        refs = {k: v for k, v in refs.items() if k in hyps}
    if not any(_strip_spaces(text) for text in refs.values()):
        raise ScoringError(f"{labels_path}: the {len(refs)} reference transcript(s) scored are all empty: "
                           f"CER is undefined")
    return refs, hyps


def score_files(predictions_path: str | os.PathLike, labels_path: str | os.PathLike,
                only_predicted: bool = False) -> Score:
    """Corpus score of a prediction file against ``test_label``."""
    return score(*paired_files(predictions_path, labels_path, only_predicted))
