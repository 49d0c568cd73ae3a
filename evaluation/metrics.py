"""Character error rate exactly as the hackathon scored it.

Spaces are removed from reference and hypothesis, the Levenshtein distance and the reference length are summed over
the whole set, and CER = sum(distance) / sum(length): long utterances weigh more than short ones, as on the board.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import Levenshtein


def char_distance(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edit distance, reference length), both counted on the text with spaces removed."""
    ref = reference.replace(" ", "")
    hyp = hypothesis.replace(" ", "")
    return Levenshtein.distance(hyp, ref), len(ref)


@dataclass(frozen=True)
class Score:
    distance: int
    length: int
    utterances: int

    @property
    def cer(self) -> float:
        # An empty reference set has nothing to get wrong; the seed divided by zero here.
        return self.distance / self.length if self.length else 0.0

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
    """Corpus-level score of ``hypotheses`` against ``references`` (both keyed by utterance)."""
    rows = per_utterance(references, hypotheses)
    return Score(sum(r.distance for r in rows), sum(r.length for r in rows), len(rows))
