"""The n-gram LM of a checkpoint, trained on the whole text pool rather than on its training transcripts only.

A recogniser's training transcripts are a few thousand sentences; the text the corpus tools can draw on is far
broader (every source of ``corpus.text_sources``, plus any ``--text`` file). An LM over that text knows the
spelling of words the acoustic model never heard in training, which is what CTC beam search needs on new
sentences. Held-out text (``corpus/heldout_ko_everyday.txt``) is never a source here unless named with ``--text``,
and it must not be: it measures exactly this generalisation.

    python -m corpus.text_lm --checkpoint pretrained/korean --order 8 --min_count 2

writes ``lm.json`` into the checkpoint folder (``--out`` elsewhere), in the checkpoint's own units.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from corpus.konlpy_text import TextSourceError
from corpus.korean_text import DEFAULT_MAX_CHARS
from corpus.text_sources import SOURCES, load_corpus
from models.checkpoint import CheckpointError, load_checkpoint
from models.lm import LM_FILE, NgramLM
from speech_kit.cli import fail
from speech_kit.units import TextUnits

PROG = "python -m corpus.text_lm"


def train_text_lm(texts: Iterable[str], units: TextUnits, unit_set: Iterable[str], order: int,
                  min_count: int = 1) -> NgramLM:
    """An ``order``-gram LM over ``texts`` spelled in ``units``; contexts seen under ``min_count`` times pruned."""
    return NgramLM.train((units.encode(text) for text in texts), order, unit_set).pruned(min_count)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True, type=Path,
                        help="checkpoint folder (model.pt): gives the units the LM is spelled in")
    parser.add_argument("--order", type=int, default=8, help="n-gram order, in units (default: %(default)s)")
    parser.add_argument("--min_count", type=int, default=2,
                        help="drop contexts of two or more units seen fewer times than this (default: %(default)s)")
    parser.add_argument("--sources", nargs="+", default=list(SOURCES), choices=list(SOURCES), metavar="SOURCE",
                        help=f"text sources: {', '.join(SOURCES)} (default: all)")
    parser.add_argument("--text", nargs="+", default=[], metavar="FILE", help="extra sentence files, one per line")
    parser.add_argument("--max_chars", type=int, default=DEFAULT_MAX_CHARS * 2,
                        help="longest sentence used, in characters (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=None, help=f"where to write the LM (default: CHECKPOINT/{LM_FILE})")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.order < 1 or args.min_count < 1:
        return fail(PROG, f"--order and --min_count must be at least 1, got {args.order} and {args.min_count}")
    start = time.perf_counter()
    try:
        checkpoint = load_checkpoint(args.checkpoint)
        pool = load_corpus(args.sources, args.text, max_chars=args.max_chars)
    except (CheckpointError, TextSourceError, ValueError, OSError) as err:
        return fail(PROG, err)
    units = TextUnits(checkpoint.units)
    specials = {checkpoint.vocab.chars[i] for i in (checkpoint.vocab.pad_id, checkpoint.vocab.sos_id,
                                                    checkpoint.vocab.eos_id)}
    lm = train_text_lm((s.text for s in pool), units, [c for c in checkpoint.vocab.chars if c not in specials],
                       args.order, args.min_count)
    out = args.out or args.checkpoint / LM_FILE
    try:
        lm.save(out)
    except OSError as err:
        return fail(PROG, f"{out}: cannot write: {err.strerror}")
    print(f"{out}: {args.order}-gram LM over {len(pool)} sentences in {units.kind} units, {len(lm.counts)} contexts, "
          f"{out.stat().st_size / 2**20:.1f} MiB, {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
