"""Score a prediction file against ``test_label``: ``python -m evaluation.score PREDICTIONS TEST_LABEL``."""

from __future__ import annotations

import argparse
import sys

from speech_kit.cli import fail
from speech_kit.layout import DatasetError
from speech_kit.scoring import (
    Score,
    ScoringError,
    align,
    paired_files,
    per_utterance,
    read_predictions,
    read_test_labels,
    score,
    score_files,
    worst,
    write_predictions,
)

__all__ = ["Score", "ScoringError", "main", "paired_files", "read_predictions", "read_test_labels", "score_files",
           "show_errors", "write_predictions"]


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
        result = score(refs, hyps)
    except DatasetError as err:
        return fail("evaluation.score", err)
    for row in worst(per_utterance(refs, hyps), args.worst):
        print(f"  {row.key}: CER {row.cer:.3f}\n    ref: {row.reference}\n    hyp: {row.hypothesis}\n"
              f"    err: {show_errors(row.reference, row.hypothesis)}")
    print(f"utterances {result.utterances}  distance {result.distance}  length {result.length}  "
          f"CER {result.cer:.4f}  CRR {result.crr:.2f}")
    return 0


def show_errors(reference: str, hypothesis: str) -> str:
    """The alignment as one line: matches as the character, ``[r>h]`` substitutions, ``[-r]`` deletions and
    ``[+h]`` insertions, so a reader sees which characters cost the CER (spaces removed, as scored)."""
    marks = {"equal": "{r}", "sub": "[{r}>{h}]", "del": "[-{r}]", "ins": "[+{h}]"}
    return "".join(marks[op].format(r=r, h=h) for op, r, h in align(reference, hypothesis))


if __name__ == "__main__":
    sys.exit(main())
