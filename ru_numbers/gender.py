"""Speaker gender from the voice's pitch, with the network's gender head as the fallback.

On the held-out voices the gender head on the shared encoder scored well below a median-F0 threshold
(``docs/ru_numbers.md``): the head learns the training voices' timbre (few of them female) and carries it to unseen
ones badly, calling a held-out voice whose F0 is plainly a woman's male half the time. Pitch is what a listener goes
by, and it is what the generator's gender column is audited against (``ru_numbers.voice_audit``). So the decision is
the pitch's, and the head decides only where no pitch is found (fewer than five voiced frames: a whisper, a very
short word under noise).

The threshold is fitted on training utterances (``fit``: the midpoint that classifies them best on a log-F0
scale), stored in the checkpoint's ``task.json``; ``python -m ru_numbers.gender TRAIN.csv CHECKPOINT`` adds it to
a checkpoint trained without it.
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
from speech_kit.atomic import atomic_write
from speech_kit.audio import SAMPLE_RATE, AudioError, read_audio
from speech_kit.cli import fail

PROG = "python -m ru_numbers.gender"
FIT_UTTERANCES = 2000


@dataclass(frozen=True)
class PitchGender:
    """``male`` below ``threshold_hz`` of median F0, ``female`` at or above it."""

    threshold_hz: float

    def __call__(self, f0: float | None) -> str | None:
        """The gender that pitch ``f0`` says, or None without a pitch."""
        if f0 is None:
            return None
        return GENDERS[0] if f0 < self.threshold_hz else GENDERS[1]

    def to_dict(self) -> dict:
        return {"method": "pitch", "threshold_hz": round(self.threshold_hz, 2)}

    @classmethod
    def from_dict(cls, data: dict | None) -> PitchGender | None:
        return cls(float(data["threshold_hz"])) if data and data.get("method") == "pitch" else None


def utterance_f0(path: str) -> float | None:
    """Median F0 in Hz of one file (any rate or channel count: read as 16 kHz mono), None when unvoiced."""
    return median_f0(read_audio(path), SAMPLE_RATE)


def fit(f0s: Sequence[float | None], genders: Sequence[str]) -> PitchGender:
    """The threshold with the fewest training errors, at the geometric midpoint between the two F0s it separates.

    ``GENDERS[0]`` (male) is expected below; utterances without a pitch are left out.
    """
    pairs = sorted((f0, gender == GENDERS[1]) for f0, gender in zip(f0s, genders) if f0 is not None)
    if not pairs or all(high for _, high in pairs) or not any(high for _, high in pairs):
        raise ValueError("fitting a pitch threshold needs voiced utterances of both genders")
    # errors(k) when the first k utterances are called male: females among them + males after them.
    errors = sum(not high for _, high in pairs)
    best, best_k = errors, 0
    for k, (_, high) in enumerate(pairs, 1):
        errors += 1 if high else -1
        if errors < best:
            best, best_k = errors, k
    low = pairs[best_k - 1][0] if best_k else pairs[0][0] / 2
    high = pairs[best_k][0] if best_k < len(pairs) else pairs[-1][0] * 2
    return PitchGender(math.sqrt(low * high))


def fit_manifest(manifest: str, limit: int = FIT_UTTERANCES, seed: int = 1, progress: bool = True
                 ) -> tuple[PitchGender, float]:
    """Fit on up to ``limit`` rows of ``manifest`` drawn with ``seed``; returns the rule and its training accuracy."""
    rows = read_manifest(manifest)
    rows = random.Random(seed).sample(rows, min(limit, len(rows)))
    f0s = [utterance_f0(str(audio_path(manifest, row))) for row in tqdm(
        rows, desc="pitch", unit="utt", disable=not progress)]
    genders = [row["gender"] for row in rows]
    rule = fit(f0s, genders)
    voiced = [(f0, g) for f0, g in zip(f0s, genders) if f0 is not None]
    accuracy = sum(rule(f0) == g for f0, g in voiced) / len(voiced)
    return rule, accuracy


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
    args = parser.parse_args(argv)
    task_file = Path(args.checkpoint) / "task.json"
    if not task_file.is_file():
        return fail(PROG, f"{args.checkpoint}: no task.json (not a ru_numbers checkpoint)")
    try:
        rule, accuracy = fit_manifest(args.manifest, args.limit, progress=sys.stderr.isatty())
    except (ManifestError, AudioError, ValueError) as err:
        return fail(PROG, err)
    write_rule(task_file, rule)
    print(f"{task_file}: gender by pitch, threshold {rule.threshold_hz:.1f} Hz "
          f"({100 * accuracy:.2f} % of the measured training utterances)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
