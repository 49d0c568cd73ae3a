"""Speaker gender from the voice's pitch and the network's gender head.

On the held-out voices the gender head on the shared encoder scored well below a median-F0 threshold
(``docs/ru_numbers.md``): the head learns the training voices' timbre and carries it badly to unseen espeak-ng
variants, some of which are female by their pitch alone. Pitch is what a listener goes by first, and it is what the
generator's gender column is audited against (``ru_numbers.voice_audit``). So where the pitch is clear the decision
is the pitch's; the head decides where it is not (below) and where no pitch is found (fewer than five voiced
frames: a whisper, a very short word under noise).

The threshold is fitted on training utterances (``fit``: the midpoint that classifies them best on a log-F0
scale), stored in the checkpoint's ``task.json``; ``python -m ru_numbers.gender TRAIN.csv CHECKPOINT`` adds it to
a checkpoint trained without it.

Pitch alone calls a woman speaking low a man, and a man speaking high a woman. Between the voice audit's bands
(men up to 150 Hz, women from 180 Hz: ``ru_numbers.voice_audit``) pitch says little, so there the gender head
decides: trained where pitch and gender part ways (Festival's man spoken high, women made of him spoken low,
espeak-ng at any pitch), it hears more than F0. Outside the band the pitch decides, since the head carries badly to
unseen espeak-ng variants whose only female trait is their pitch (``docs/ru_numbers.md``).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from ru_numbers.manifest import GENDERS, ManifestError, audio_path, read_manifest
from ru_numbers.pitch import median_f0
from ru_numbers.voice_audit import FEMALE_BAND, MALE_BAND
from speech_kit.atomic import atomic_write
from speech_kit.audio import SAMPLE_RATE, AudioError, read_audio
from speech_kit.cli import fail

PROG = "python -m ru_numbers.gender"
FIT_UTTERANCES = 2000


UNDECIDED_HZ = (MALE_BAND[1], FEMALE_BAND[0])  # median F0s that the head decides, the gap between the audit's bands


@dataclass(frozen=True)
class PitchGender:
    """``male`` below ``threshold_hz`` of median F0, ``female`` at or above it; with ``undecided_hz``, the gender
    head's answer for a median F0 within that band."""

    threshold_hz: float
    undecided_hz: tuple[float, float] | None = None

    def __call__(self, f0: float | None) -> str | None:
        """The gender that pitch ``f0`` says, or None without a pitch."""
        if f0 is None:
            return None
        return GENDERS[0] if f0 < self.threshold_hz else GENDERS[1]

    def decide(self, f0: float | None, head: str) -> str:
        """The decision: the pitch's, or the head's where there is no pitch or it lies in the undecided band."""
        if f0 is not None and self.undecided_hz is not None and self.undecided_hz[0] <= f0 <= self.undecided_hz[1]:
            return head
        return self(f0) or head

    def to_dict(self) -> dict:
        out = {"method": "pitch", "threshold_hz": round(self.threshold_hz, 2)}
        if self.undecided_hz is not None:
            out["undecided_hz"] = list(self.undecided_hz)
        return out

    @classmethod
    def from_dict(cls, data: dict | None) -> PitchGender | None:
        if not data or data.get("method") != "pitch":
            return None
        band = data.get("undecided_hz")
        return cls(float(data["threshold_hz"]), None if band is None else (float(band[0]), float(band[1])))


def utterance_f0(path: str) -> float | None:
    """Median F0 in Hz of one file (any rate or channel count: read as 16 kHz mono), None when unvoiced."""
    return median_f0(read_audio(path), SAMPLE_RATE)


def fit(f0s: Sequence[float | None], genders: Sequence[str]) -> PitchGender:
    """The threshold with the fewest training errors, at the geometric midpoint between the two F0s it separates;
    where several cuts make as few errors, the one with the widest gap (on a log scale) between its two F0s.

    The widest gap matters: synthetic voices leave an empty band between the genders (150-180 Hz after the voice
    audit), and any cut inside it is error-free on them; its middle is the one that carries best to other voices.
    ``GENDERS[0]`` (male) is expected below; utterances without a pitch are left out.
    """
    pairs = sorted((f0, gender == GENDERS[1]) for f0, gender in zip(f0s, genders) if f0 is not None)
    if not pairs or all(high for _, high in pairs) or not any(high for _, high in pairs):
        raise ValueError("fitting a pitch threshold needs voiced utterances of both genders")

    def bounds(k: int) -> tuple[float, float]:  # the F0s either side of the cut after the first k utterances
        return (pairs[k - 1][0] if k else pairs[0][0] / 2), (pairs[k][0] if k < len(pairs) else pairs[-1][0] * 2)

    def gap(k: int) -> float:
        low, high = bounds(k)
        return high / low

    # errors(k) when the first k utterances are called male: females among them + males after them.
    errors = sum(not high for _, high in pairs)
    best, best_k = errors, 0
    for k, (_, high) in enumerate(pairs, 1):
        errors += 1 if high else -1
        if errors < best or (errors == best and gap(k) > gap(best_k)):
            best, best_k = errors, k
    low, high = bounds(best_k)
    return PitchGender(math.sqrt(low * high))


def fit_manifest(manifest: str, limit: int = FIT_UTTERANCES, seed: int = 1, progress: bool = True,
                 undecided: tuple[float, float] | None = UNDECIDED_HZ) -> tuple[PitchGender, float]:
    """Fit on up to ``limit`` rows of ``manifest`` drawn with ``seed``; returns the rule (with the head deciding
    within ``undecided``) and the threshold's accuracy on those rows."""
    rows = read_manifest(manifest)
    rows = random.Random(seed).sample(rows, min(limit, len(rows)))
    f0s = [utterance_f0(str(audio_path(manifest, row))) for row in tqdm(
        rows, desc="pitch", unit="utt", disable=not progress)]
    genders = [row["gender"] for row in rows]
    rule = fit(f0s, genders)
    voiced = [(f0, g) for f0, g in zip(f0s, genders) if f0 is not None]
    accuracy = sum(rule(f0) == g for f0, g in voiced) / len(voiced)
    return PitchGender(rule.threshold_hz, undecided), accuracy


def write_rule(task_file: Path, rule: PitchGender) -> None:
    """Add ``rule`` to a checkpoint's ``task.json``, keeping what else it says."""
    task = json.loads(task_file.read_text(encoding="utf-8"))
    task["gender"] = rule.to_dict()
    with atomic_write(task_file) as f:
        json.dump(task, f)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description="Fit the pitch threshold of the gender decision on a "
                                     "training manifest and store it in a ru_numbers checkpoint's task.json.")
    parser.add_argument("manifest", help="training CSV (filename, gender columns)")
    parser.add_argument("checkpoint", help="checkpoint folder with task.json")
    parser.add_argument("--limit", type=int, default=FIT_UTTERANCES, help="utterances measured (drawn at random)")
    parser.add_argument("--undecided", nargs=2, type=float, metavar=("LOW", "HIGH"), default=UNDECIDED_HZ,
                        help="median F0s (Hz) where the gender head decides instead of the pitch (default: the voice "
                             "audit's gap between the bands, %(default)s; 0 0: the pitch decides everywhere)")
    args = parser.parse_args(argv)
    task_file = Path(args.checkpoint) / "task.json"
    if not task_file.is_file():
        return fail(PROG, f"{args.checkpoint}: no task.json (not a ru_numbers checkpoint)")
    try:
        low, high = args.undecided
        if low > high or low < 0:
            raise ValueError(f"--undecided {low:g} {high:g}: give LOW <= HIGH, in Hz (0 0: no band)")
        rule, accuracy = fit_manifest(args.manifest, args.limit, progress=sys.stderr.isatty(),
                                      undecided=(low, high) if high > 0 else None)
    except (ManifestError, AudioError, ValueError) as err:
        return fail(PROG, err)
    write_rule(task_file, rule)
    band = f"; the head decides between {low:g} and {high:g} Hz" if rule.undecided_hz else ""
    print(f"{task_file}: gender by pitch, threshold {rule.threshold_hz:.1f} Hz "
          f"({100 * accuracy:.2f} % of the measured training utterances){band}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
