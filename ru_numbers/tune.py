"""How a checkpoint should hear its input, chosen on development sets:
``python -m ru_numbers.tune CHECKPOINT DEV.csv [DEV.csv ...]``.

Decodes each development manifest with the features stretched in time by each ``--stretch`` factor (1.1: the
speech heard 10 % slower, its spectrum kept; ``speech_kit.features.stretch``), prints the share of numbers
recognised exactly per set and over all of them, and records the best factor (ties: the one nearest 1; 1 unless
another gains at least ``--min_gain`` points) in the
checkpoint's ``decoding.json``, the recommended decoding that ``ru_numbers.evaluate``, ``nsml submit`` and the
benchmarks follow. Why a model may need it: training hears Festival's voice only sped up or slowed down (tempo
0.75-0.9 and 1.1-1.3, so that its natural pace stays a held-out condition), and a model that misses the short
words of fast speech hears them in slower input.

Development sets must come from the training side (``ru_numbers.generate --split train`` with seeds of their own):
a manifest holding a held-out voice (``ru_numbers.voices.HELDOUT_VOICES``) or a held-out Festival shift is refused,
since a factor chosen on it would leave its figures held out no more.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from models import CheckpointError
from models.recommended import describe, write_recommended
from ru_numbers.manifest import ManifestError, audio_path, read_manifest
from ru_numbers.natural import KINDS
from ru_numbers.recognizer import Recognizer
from ru_numbers.voices import HELDOUT_VOICES
from speech_kit.cli import fail

PROG = "python -m ru_numbers.tune"
STRETCHES = (1.0, 1.05, 1.1, 1.15)
MIN_GAIN = 0.5  # points over all development utterances: 4-5 of 900, more than the one or two that noise moves
HELDOUT_SHIFTS = frozenset(kind.name for kind in KINDS["test"])


def check_development(manifest: str | Path, rows: list[dict[str, str]]) -> None:
    """A ManifestError naming the first row (file:line) that a held-out set would hold."""
    for line, row in enumerate(rows, start=2):
        voice, shift = row.get("variant", ""), row.get("shift", "")
        if voice in HELDOUT_VOICES or shift in HELDOUT_SHIFTS:
            what = f"the held-out voice {voice}" if voice in HELDOUT_VOICES else f"the held-out Festival shift {shift}"
            raise ManifestError(f"{manifest}:{line}: {what}: tune on development sets of training-side voices "
                                f"(ru_numbers.generate --split train --seed N), never on a held-out set")


def exact(recognizer: Recognizer, sets: dict[str, tuple[list[str], list[str]]], factor: float) -> dict[str, float]:
    """Per-set share (%) of numbers recognised exactly with the features stretched ``factor`` times."""
    decoding = replace(recognizer.decoding, stretch=factor)
    scores = {}
    for name, (paths, numbers) in sets.items():
        results = recognizer(paths, decoding=decoding)
        scores[name] = 100 * sum(r.transcription == n for r, n in zip(results, numbers)) / len(numbers)
    return scores


def choose(overall: dict[float, float], min_gain: float = MIN_GAIN) -> float:
    """The factor that read the development sets best (ties: the one nearest 1); the input as it is (1) unless
    that factor beats it by at least ``min_gain`` points, since a gain of an utterance or two is noise that a
    held-out set need not repeat."""
    best = max(overall, key=lambda f: (round(overall[f], 6), -abs(f - 1.0)))
    if 1.0 in overall and overall[best] - overall[1.0] < min_gain:
        return 1.0
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("checkpoint", help="ru_numbers checkpoint folder (model.pt, task.json)")
    parser.add_argument("dev", nargs="+", metavar="DEV.csv", help="development manifests of training-side voices")
    parser.add_argument("--stretch", nargs="+", type=float, default=list(STRETCHES), metavar="FACTOR",
                        help="factors tried (default: %(default)s)")
    parser.add_argument("--min_gain", type=float, default=MIN_GAIN, metavar="POINTS",
                        help="how many points of exact match over all the sets a factor must gain over 1 to be "
                             "chosen (default %(default)s: a gain of one utterance in 900 is noise)")
    parser.add_argument("--dry_run", action="store_true", help="measure and print, record nothing")
    args = parser.parse_args(argv)
    if args.min_gain < 0:
        parser.error(f"--min_gain must be 0 or more points, got {args.min_gain}")
    if any(not 0.5 <= f <= 2.0 for f in args.stretch):
        parser.error(f"--stretch factors must be within [0.5, 2], got {' '.join(map(str, args.stretch))}")
    try:
        sets = {}
        for manifest in args.dev:
            rows = read_manifest(manifest)
            check_development(manifest, rows)
            sets[manifest] = ([str(audio_path(manifest, r)) for r in rows], [r["transcription"] for r in rows])
        recognizer = Recognizer.load(args.checkpoint)
    except (ManifestError, CheckpointError, FileNotFoundError, ValueError) as err:
        return fail(PROG, err)
    recognizer.pitch = None  # the numbers alone decide; no pitch is measured once per factor for a gender unused
    total = sum(len(numbers) for _, numbers in sets.values())
    overall = {}
    print("stretch | " + " | ".join(Path(m).parent.name or m for m in sets) + " | all")
    for factor in args.stretch:
        scores = exact(recognizer, sets, factor)
        overall[factor] = sum(scores[m] * len(sets[m][1]) for m in sets) / total
        print(f"{factor:g} | " + " | ".join(f"{scores[m]:.2f}" for m in sets) + f" | {overall[factor]:.2f}",
              flush=True)
    best = choose(overall, args.min_gain)
    chosen = replace(recognizer.decoding, stretch=best)
    if args.dry_run:
        print(f"best: stretch {best:g} ({overall[best]:.2f} % exact over {total} utterances); nothing recorded")
        return 0
    note = f"{PROG} {' '.join(argv if argv is not None else sys.argv[1:])}: {overall[best]:.2f} % exact"
    path = write_recommended(args.checkpoint, chosen, note=note)
    print(f"{path}: {describe(chosen)} ({overall[best]:.2f} % exact over {total} development utterances)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
