"""Part of rendered manifests, drawn by their condition columns: ``python -m ru_numbers.subset IN.csv... OUT.csv``.

An augmentation is worth measuring only against the same data without it, and rendering a Festival set once per
configuration would cost most of the budget in synthesis. So the comparisons in ``recipes/russian_augment.sh`` draw
their training sets from one rendered pool: each ``--where COLUMN=VALUE[,VALUE...]`` keeps the rows whose column
holds one of the values (an empty value matches an empty cell), ``--count`` draws that many of what is left with
``--seed``, and the file names are rewritten relative to OUT's folder, so no audio is copied. Several input
manifests are read in order as one (``recipes/russian.sh`` joins its rendered sets into one training manifest).

    python -m ru_numbers.subset data/ru_natural/train.csv data/ablate/espeak.csv \\
        --where source=espeak --where channel=none --where reverb= --count 2400
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from collections.abc import Sequence
from pathlib import Path

from ru_numbers.manifest import COLUMNS, ManifestError, audio_path, read_manifest, write_manifest
from speech_kit.cli import fail

PROG = "python -m ru_numbers.subset"


def parse_condition(text: str) -> tuple[str, frozenset[str]]:
    """``COLUMN=V1,V2`` -> (column, {V1, V2}); ``COLUMN=`` matches empty cells."""
    column, sep, values = text.partition("=")
    if not sep or not column:
        raise argparse.ArgumentTypeError(f"{text!r}: expected COLUMN=VALUE[,VALUE...], e.g. source=espeak")
    return column, frozenset(values.split(","))


def select(rows: Sequence[dict[str, str]], where: Sequence[tuple[str, frozenset[str]]], count: int | None,
           seed: int) -> list[dict[str, str]]:
    """Rows meeting every condition, in file order; ``count`` of them drawn with ``seed`` when given."""
    kept = [row for row in rows if all(row.get(column, "") in values for column, values in where)]
    if count is not None:
        if count > len(kept):
            raise ValueError(f"{count} rows asked for, {len(kept)} meet the conditions")
        chosen = set(random.Random(seed).sample(range(len(kept)), count))
        kept = [row for index, row in enumerate(kept) if index in chosen]
    return kept


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("manifests", nargs="+", metavar="manifest",
                        help="the rendered manifest(s) to draw from, read in order as one")
    parser.add_argument("out", help="the CSV to write (its folder is created; file names are made relative to it)")
    parser.add_argument("--where", type=parse_condition, action="append", default=[], metavar="COLUMN=VALUES",
                        help="keep rows whose COLUMN is one of the comma-separated VALUES (repeatable: all must hold)")
    parser.add_argument("--count", type=int, help="draw this many of the kept rows (default: all of them)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the draw")
    args = parser.parse_args(argv)
    if args.count is not None and args.count < 1:
        return fail(PROG, f"--count must be at least 1, got {args.count}")
    out = Path(args.out)
    rows: list[dict[str, str]] = []
    try:
        for manifest in args.manifests:
            read = read_manifest(manifest)
            unknown = sorted({column for column, _ in args.where} - set(COLUMNS) - set(read[0] if read else ()))
            if unknown:
                return fail(PROG, f"{manifest}: no column {', '.join(unknown)} (it has {', '.join(read[0])})")
            # Each file name made relative to OUT's folder while its own manifest is known.
            rows += [{**row, "filename": os.path.relpath(audio_path(manifest, row), out.parent)}
                     for row in read]
        kept = select(rows, args.where, args.count, args.seed)
    except (ManifestError, ValueError) as err:
        return fail(PROG, f"{' + '.join(args.manifests)}: {err}" if isinstance(err, ValueError) else err)
    out.parent.mkdir(parents=True, exist_ok=True)
    blank = dict.fromkeys(COLUMNS, "")
    write_manifest(out, [{**blank, **row} for row in kept])
    print(f"{out}: {len(kept)} of {len(rows)} rows of {' + '.join(args.manifests)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
