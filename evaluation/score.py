"""Score a prediction file against ``test_label``: ``python -m evaluation.score PREDICTIONS TEST_LABEL``."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Iterable

from speech_kit.layout import DatasetError, key_of, read_pairs
from evaluation.metrics import Score, per_utterance, score, worst


def read_predictions(path: str | os.PathLike) -> dict[str, str]:
    """``<wav-path>,<text>`` lines -> {key: text}; a key predicted twice is an error naming both lines."""
    return _read_keyed(path, "<wav-file>,<prediction>")


def write_predictions(path: str | os.PathLike, rows: Iterable[tuple[str, str]]) -> int:
    """Write ``<wav>,<text>`` lines from ``rows`` (consumed lazily) to a temporary name, then rename.

    A process killed or an ``infer`` raising half way leaves no prediction file a scorer would trust.
    Returns the number of lines written.
    """
    tmp = f"{path}.tmp-{os.getpid()}"
    count = 0
    try:
        with open(tmp, "w", encoding="utf-8") as out:
            for wav, text in rows:
                out.write(f"{wav},{text.replace(chr(10), ' ')}\n")
                count += 1
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return count


def read_test_labels(path: str | os.PathLike) -> dict[str, str]:
    """``<key>,<transcript>`` lines of ``test/test_label`` -> {key: text}."""
    return _read_keyed(path, "<key>,<transcript>")


def _read_keyed(path: str | os.PathLike, what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    lines: dict[str, int] = {}
    for pair in read_pairs(path, what):
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
    """
    hyps = read_predictions(predictions_path)
    refs = read_test_labels(labels_path)
    unknown = sorted(set(hyps) - set(refs))
    if unknown:
        raise DatasetError(f"{predictions_path}: {len(unknown)} predicted keys are not in {labels_path}, "
                           f"e.g. {unknown[0]!r}")
    if only_predicted:
        refs = {k: v for k, v in refs.items() if k in hyps}
    return refs, hyps


def score_files(predictions_path: str | os.PathLike, labels_path: str | os.PathLike,
                only_predicted: bool = False) -> Score:
    """Corpus score of a prediction file against ``test_label``."""
    return score(*paired_files(predictions_path, labels_path, only_predicted))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m evaluation.score",
        description="Score predictions as the 2019 leaderboard did: spaces removed, Levenshtein distance and "
                    "reference length summed over the set, CRR = (1 - CER) * 100. A reference with no prediction "
                    "counts as an empty prediction.")
    parser.add_argument("predictions", help="file of '<wav-file>,<prediction>' lines (from feed_infer or transcribe)")
    parser.add_argument("labels", help="test_label file of '<key>,<transcript>' lines")
    parser.add_argument("--worst", type=int, default=5, metavar="N", help="show the N worst utterances (default 5)")
    args = parser.parse_args(argv)
    try:
        refs, hyps = paired_files(args.predictions, args.labels)
    except DatasetError as err:
        print(f"evaluation.score: {err}", file=sys.stderr)
        return 2
    result = score(refs, hyps)
    for row in worst(per_utterance(refs, hyps), args.worst):
        print(f"  {row.key}: CER {row.cer:.3f}\n    ref: {row.reference}\n    hyp: {row.hypothesis}")
    print(f"utterances {result.utterances}  distance {result.distance}  length {result.length}  "
          f"CER {result.cer:.4f}  CRR {result.crr:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
