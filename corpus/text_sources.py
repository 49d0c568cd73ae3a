"""The sentence pool of the synthetic corpus: every source, cleaned, filtered by length, deduplicated, in a fixed
order, each sentence tagged with the source it came from.

Sources, in the order they are read (a sentence found in two keeps the first source's tag):

``handwritten``  the sentences we wrote: ``sentences_ko.txt``, ``sentences_ko_calls.txt``, ``sentences_ko_daily.txt``
``everyday``     the broad everyday text we wrote in ``text_ko/*.txt``: food and cafés, transport and directions,
                 shopping, weather, health, phone calls and customer service, work, school, home, hobbies, small
                 talk
``templates``    ``templates_ko``: names, places, times, dates, amounts and counts spelled out in Hangul
``kolaw``        konlpy's copy of the Constitution of the Republic of Korea
``kobill``       konlpy's ten bills of the National Assembly
``file:NAME``    any ``--text`` file, one sentence per line

A fixed order matters: the dataset plan shuffles this list with its seed, so the same sources give the same
dataset on every machine.

Run ``python -m corpus.text_sources`` to see how many sentences each source gives, or to write the pool out.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from corpus.konlpy_text import TextSourceError, read_konlpy_corpus
from corpus.korean_text import DEFAULT_MAX_CHARS, DEFAULT_MIN_CHARS, fits, read_sentences
from corpus.templates_ko import templated_sentences
from speech_kit.atomic import atomic_write
from speech_kit.cli import fail

HERE = Path(__file__).resolve().parent
HANDWRITTEN_FILES = (HERE / "sentences_ko.txt", HERE / "sentences_ko_calls.txt", HERE / "sentences_ko_daily.txt")
EVERYDAY_FOLDER = HERE / "text_ko"
# Test-only text: never a source, so no dataset or LM built from SOURCES can train on it (make_dataset --test_text).
HELDOUT_FILE = HERE / "heldout_ko_everyday.txt"
DEV_FILE = HERE / "dev_ko_everyday.txt"  # the same for the text decoding settings are tuned on


def _handwritten() -> list[str]:
    return [text for path in HANDWRITTEN_FILES for text in read_sentences(path)]


def _everyday() -> list[str]:
    return [text for path in sorted(EVERYDAY_FOLDER.glob("*.txt")) for text in read_sentences(path)]


SOURCES: dict[str, Callable[[], list[str]]] = {
    "handwritten": _handwritten,
    "everyday": _everyday,
    "templates": templated_sentences,
    "kolaw": lambda: read_konlpy_corpus("kolaw"),
    "kobill": lambda: read_konlpy_corpus("kobill"),
}


@dataclass(frozen=True)
class Sentence:
    """One transcript of the pool and where it came from (a ``SOURCES`` name or ``file:NAME``)."""

    text: str
    source: str


def load_corpus(
    sources: Iterable[str] = tuple(SOURCES),
    extra_files: Iterable[str | os.PathLike] = (),
    min_chars: int | None = DEFAULT_MIN_CHARS,
    max_chars: int | None = DEFAULT_MAX_CHARS,
) -> list[Sentence]:
    """The deduplicated sentence pool of ``sources`` (in ``SOURCES`` order) then ``extra_files`` (in given order).

    Only sentences of ``min_chars`` to ``max_chars`` characters are kept. No built-in source gives a sentence of
    the test-only ``HELDOUT_FILE`` or ``DEV_FILE``, even one that it also holds by chance (a short phrase). Raises
    ``ValueError`` for an unknown source and ``TextSourceError`` when a source's package (konlpy) is missing.
    """
    wanted = set(sources)
    unknown = sorted(wanted - set(SOURCES))
    if unknown:
        raise ValueError(f"unknown text source(s) {', '.join(unknown)}; choose from {', '.join(SOURCES)}")
    held = set()  # test and tuning text: no built-in source may give one of its sentences
    for path in (HELDOUT_FILE, DEV_FILE) if wanted else ():
        held.update(read_sentences(path) if path.is_file() else ())
    batches: list[tuple[str, list[str]]] = [(name, [t for t in read() if t not in held])
                                            for name, read in SOURCES.items() if name in wanted]
    batches += [(f"file:{Path(path).name}", read_sentences(path)) for path in extra_files]
    pool: dict[str, Sentence] = {}
    for source, texts in batches:
        for text in texts:
            if text not in pool and fits(text, min_chars, max_chars):
                pool[text] = Sentence(text, source)
    return list(pool.values())


def count_by_source(sentences: Sequence[Sentence]) -> Counter:
    """How many sentences of the pool each source contributed."""
    return Counter(s.source for s in sentences)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m corpus.text_sources",
        description="Count the sentences each text source gives after cleaning, length filtering and "
                    "deduplication; optionally write the pool as 'source,text' lines.",
    )
    parser.add_argument("--sources", nargs="+", default=list(SOURCES), choices=list(SOURCES), metavar="SOURCE",
                        help=f"sources to read, from: {', '.join(SOURCES)} (default: all)")
    parser.add_argument("--text", nargs="+", default=[], metavar="FILE", help="extra sentence files, one per line")
    parser.add_argument("--min_chars", type=int, default=DEFAULT_MIN_CHARS,
                        help=f"shortest sentence kept, in characters (default: {DEFAULT_MIN_CHARS})")
    parser.add_argument("--max_chars", type=int, default=DEFAULT_MAX_CHARS,
                        help=f"longest sentence kept, in characters (default: {DEFAULT_MAX_CHARS})")
    parser.add_argument("--out", type=Path, default=None,
                        help="write the pool here, one 'source,text' line per sentence (readable by "
                             "python -m corpus.build_labels --csv)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        pool = load_corpus(args.sources, args.text, args.min_chars, args.max_chars)
        if args.out is not None:
            with atomic_write(args.out) as f:
                f.writelines(f"{s.source},{s.text}\n" for s in pool)
    except (TextSourceError, ValueError, OSError) as err:
        return fail(parser.prog, err)
    for source, n in count_by_source(pool).items():
        print(f"{source}\t{n}")
    print(f"total\t{len(pool)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
