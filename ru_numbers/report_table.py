"""Several runs side by side on the held-out sets: ``python -m ru_numbers.report_table DATA RUN [RUN ...]``.

A run is a folder holding ``evaluate``'s predictions for each held-out set of ``DATA`` (``espeak.csv`` for
``DATA/test_espeak/test.csv`` and so on) and, when it trained, ``wall.txt`` (``...: training wall time N s``). The
table prints one markdown row per run: exact match on espeak-ng speech, on Festival's voice overall and by its
test-side kinds (as recorded, a deeper man, a far woman), gender on Festival's voice and on espeak-ng with pitch
drawn whatever the gender. The recipes that compare configurations (``recipes/russian_augment.sh``,
``recipes/russian.sh``) print it.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from ru_numbers.manifest import ManifestError, read_manifest
from ru_numbers.report import Result, Tally, read_predictions, score
from speech_kit.cli import fail

PROG = "python -m ru_numbers.report_table"
SETS = ("espeak", "festival", "pitch_free")
FESTIVAL_KINDS = ("natural", "male_deep", "female_far")
HEADER = ("| run | train s | espeak exact | Festival exact | natural | male_deep | female_far | Festival gender "
          "| pitch-free gender |\n|---|---|---|---|---|---|---|---|---|")


def percent(tally: Tally | None, field: str) -> str:
    if tally is None or not tally.utterances:
        return "–"
    return f"{100 * getattr(tally, field) / tally.utterances:.2f}"


def wall_seconds(run: Path) -> str:
    found = re.search(r"wall time (\d+) s", (run / "wall.txt").read_text()) if (run / "wall.txt").is_file() else None
    return found.group(1) if found else "–"


def row(data: Path, run: Path) -> str:
    results: dict[str, Result] = {}
    for name in SETS:
        predictions = run / f"{name}.csv"
        if predictions.is_file():
            results[name] = score(read_manifest(data / f"test_{name}" / "test.csv"), read_predictions(predictions),
                                  str(predictions))
    festival = results.get("festival")
    kinds = [festival.groups["part"].get(f"festival {kind}") if festival else None for kind in FESTIVAL_KINDS]
    espeak, pitch_free = results.get("espeak"), results.get("pitch_free")
    cells = [run.name, wall_seconds(run), percent(espeak and espeak.total, "exact"),
             percent(festival and festival.total, "exact"), *(percent(k, "exact") for k in kinds),
             percent(festival and festival.total, "gender"), percent(pitch_free and pitch_free.total, "gender")]
    return "| " + " | ".join(cells) + " |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("data", help="the folder with test_espeak/, test_festival/, test_pitch_free/")
    parser.add_argument("runs", nargs="+", help="folders with a run's predictions (espeak.csv, festival.csv, ...)")
    args = parser.parse_args(argv)
    try:
        rows = [row(Path(args.data), Path(run)) for run in args.runs]
    except (ManifestError, OSError, KeyError, ValueError) as err:
        return fail(PROG, err)
    print(HEADER)
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
