"""What a dataset's board measures: a small registry of scorers, chosen per dataset (``dataset add --scorer``).

A scorer turns references and hypotheses (both ``{key: text}``, read from ``test/test_label`` and the predictions
by ``speech_kit.scoring``) into named metrics, one of them primary with a direction, and per-utterance errors for
``submit show``. ``crr`` is the 2019 hackathon's character recognition rate and the default; ``exact`` counts whole
transcripts that match exactly (a number-reading or label task, where a near miss is still wrong). Another task
adds its scorer to ``SCORERS``; the store keeps metrics by name, so the board needs no change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from nsml.errors import UsageError
from speech_kit import scoring


@dataclass(frozen=True)
class Column:
    """How a metric is shown in tables: its metric name, its heading and its format."""

    metric: str
    heading: str
    fmt: str


@dataclass(frozen=True)
class Utterance:
    key: str
    reference: str
    hypothesis: str
    errors: float
    size: float


@dataclass(frozen=True)
class Result:
    metrics: dict[str, float]
    utterances: list[Utterance]


@dataclass(frozen=True)
class Scorer:
    name: str
    description: str
    primary: str
    higher_is_better: bool
    columns: tuple[Column, ...]  # the board's metric columns, primary first
    score: Callable[[Mapping[str, str], Mapping[str, str]], Result]
    summary: Callable[[Mapping[str, float], int], str]  # one line: the metrics and what they were counted on

    def format(self, metrics: Mapping[str, float], column: Column) -> str:
        value = metrics.get(column.metric)
        return "-" if value is None else format(value, column.fmt)


def _crr(references: Mapping[str, str], hypotheses: Mapping[str, str]) -> Result:
    rows = scoring.per_utterance(references, hypotheses)
    total = scoring.score(references, hypotheses)
    metrics = {"crr": total.crr, "cer": total.cer, "distance": float(total.distance), "length": float(total.length)}
    return Result(metrics, [Utterance(r.key, r.reference, r.hypothesis, r.distance, r.length) for r in rows])


def _crr_summary(metrics: Mapping[str, float], utterances: int) -> str:
    return (f"CRR {metrics['crr']:.2f}  CER {metrics['cer']:.4f}  ({utterances} utterances, edit distance "
            f"{metrics['distance']:.0f} over {metrics['length']:.0f} characters)")


def _normal(text: str) -> str:
    return " ".join(text.split())


def _exact(references: Mapping[str, str], hypotheses: Mapping[str, str]) -> Result:
    rows = [Utterance(key, ref, hypotheses.get(key, ""), float(_normal(ref) != _normal(hypotheses.get(key, ""))), 1.0)
            for key, ref in references.items()]
    wrong = sum(row.errors for row in rows)
    accuracy = 100.0 * (1 - wrong / len(rows)) if rows else 0.0
    return Result({"accuracy": accuracy, "wrong": wrong}, rows)


def _exact_summary(metrics: Mapping[str, float], utterances: int) -> str:
    return f"accuracy {metrics['accuracy']:.2f}%  ({utterances} utterances, {metrics['wrong']:.0f} not exactly right)"


DEFAULT = "crr"

SCORERS: Mapping[str, Scorer] = MappingProxyType({
    "crr": Scorer("crr", "character recognition rate, spaces removed, as the 2019 board", "crr", True,
                  (Column("crr", "CRR", ".2f"), Column("cer", "CER", ".4f")), _crr, _crr_summary),
    "exact": Scorer("exact", "whole transcripts that match exactly (whitespace normalised)", "accuracy", True,
                    (Column("accuracy", "ACCURACY", ".2f"), Column("wrong", "WRONG", ".0f")), _exact,
                    _exact_summary),
})


def get(name: str) -> Scorer:
    if name not in SCORERS:
        raise UsageError(f"no scorer {name!r}; scorers: {', '.join(SCORERS)}")
    return SCORERS[name]
