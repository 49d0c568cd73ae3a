"""Build a character label table (the hackathon's ``id<TAB>char<TAB>freq`` file) from transcripts.

The repository's ``hackathon.labels`` was made from the first hand-written sentence file with::

    python -m corpus.build_labels --corpus --sources handwritten templates kolaw kobill --out hackathon.labels

(every sentence the generator can draw, from every built-in source; ``docs/dataset.md``).

Any corpus works: plain files hold one transcript per line; with ``--csv`` each line is ``key,text`` (the text
is everything after the first comma, so transcripts may contain commas), the format of ``test/test_label``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from corpus.konlpy_text import TextSourceError
from corpus.text_sources import SOURCES, load_corpus
from speech_kit.cli import fail
from speech_kit.layout import DatasetError, read_pairs
from speech_kit.vocab import PAD_CHAR, LabelTableError, Vocab

PROG = "python -m corpus.build_labels"


def _numbered_lines(path: str | os.PathLike, csv: bool) -> list[tuple[int, str]]:
    """(line number, transcript) pairs; ``csv`` lines are read like ``test_label`` (text after the first comma)."""
    if csv:
        return [(pair.lineno, pair.second) for pair in read_pairs(path, "<key>,<text>")]
    try:
        with open(path, encoding="utf-8") as f:
            return [(lineno, line.rstrip("\r\n")) for lineno, line in enumerate(f, 1)]
    except OSError as err:
        raise OSError(f"cannot read transcript file {path}: {err.strerror}") from None
    except UnicodeDecodeError as err:
        raise LabelTableError(f"{path} is not UTF-8 text: {err.reason} at byte {err.start}") from None


def read_transcripts(path: str | os.PathLike, csv: bool = False) -> list[str]:
    """Transcripts of one file, trimmed of surrounding whitespace; blank lines are skipped."""
    transcripts = []
    for lineno, line in _numbered_lines(path, csv):
        text = line.strip()
        if "\t" in text:
            raise LabelTableError(f"{path}:{lineno}: a tab cannot be a label (the table is tab-separated)")
        if PAD_CHAR in text:
            raise LabelTableError(f"{path}:{lineno}: {PAD_CHAR!r} is reserved for padding, found in {text!r}")
        if text:
            transcripts.append(text)
    return transcripts


def count_chars(paths: Iterable[str | os.PathLike], csv: bool = False) -> Counter:
    """How often each character occurs over all transcripts of ``paths``."""
    counts: Counter = Counter()
    for path in paths:
        for text in read_transcripts(path, csv):
            counts.update(text)
    return counts


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Count the characters of transcript files and write a label table: '_' (padding) as id 0, then "
            "characters by falling frequency (ties by code point), then '<s>' and '</s>'. Lines are "
            "'id<TAB>char<TAB>freq' after a '#id<TAB>char<TAB>freq' header; the space is a character like any other."
        ),
    )
    parser.add_argument("files", nargs="*", type=Path, metavar="FILE", help="UTF-8 transcript files")
    parser.add_argument("--out", required=True, type=Path, help="label table to write (replaced atomically)")
    parser.add_argument("--csv", action="store_true",
                        help="each line is 'key,text' (as in test_label); the text after the first comma is counted")
    parser.add_argument("--corpus", action="store_true",
                        help="also count every sentence of the generator's built-in sources (corpus.text_sources, "
                             "default length range), so the table covers any dataset python -m corpus.make_dataset "
                             "makes from them")
    parser.add_argument("--sources", nargs="+", default=list(SOURCES), choices=list(SOURCES), metavar="SOURCE",
                        help=f"the built-in sources --corpus counts, from: {', '.join(SOURCES)} (default: all; the "
                             "committed hackathon.labels counts all but everyday, which came after it)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.files and not args.corpus:
        parser.error("give transcript FILEs, --corpus, or both")
    try:
        counts = count_chars(args.files, csv=args.csv)
        if args.corpus:
            counts.update(char for sentence in load_corpus(args.sources) for char in sentence.text)
        if not counts:
            raise LabelTableError(f"no transcripts found in {', '.join(map(str, args.files))}")
        vocab = Vocab.from_counts(counts, source=str(args.out))
        vocab.write(args.out)
    except (LabelTableError, DatasetError, TextSourceError, OSError) as err:
        return fail(PROG, err)
    print(f"wrote {len(vocab)} labels ({len(vocab) - 3} characters, {sum(counts.values())} occurrences) to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
