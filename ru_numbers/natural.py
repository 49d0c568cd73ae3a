"""Festival's Russian voice, and the shifts that turn its one real (male) speaker into many, split so that the
test side hears versions of the voice that training never does.

A Festival utterance is said by ``msu_ru_nsh_clunits`` and then changed by a ``Shift``: a speaking-rate factor
(sox ``tempo``; the unit-selection voice has no rate of its own), an F0 ratio and a vocal-tract-length ratio
(WORLD: ``speech_kit.synth.augment.voice_shift``, pitch and formants apart). Its gender label follows the vocal
tract, not the pitch: a shift that moves the formants up by at least ``FEMALE_FORMANT`` makes a female voice, and
training also hears a man spoken high and a woman spoken low, so that a classifier cannot decide by F0 alone.

The ranges of each kind are disjoint between the splits:

* **train** hears the voice only changed: rate and pitch a little away from natural (``male``), the man spoken
  high (``male_high``), women made of him (``female``, ``female_low``);
* **test** hears the voice as recorded (``natural``: rate and pitch within a few per cent of the original, which
  training never gets) and women made of him with higher pitch and shorter tracts than any in training
  (``female_far``), plus a man with a longer tract (``male_deep``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

FEMALE_FORMANT = 1.1  # a formant ratio at or above this is a woman's vocal tract made of the male speaker's


@dataclass(frozen=True)
class ShiftKind:
    """Uniform ranges of one kind of shift: rate (tempo factor), F0 ratio and formant ratio."""

    name: str
    tempo: tuple[tuple[float, float], ...]  # one range is drawn with equal chance, then a value within it
    f0: tuple[tuple[float, float], ...]
    formant: tuple[tuple[float, float], ...]

    @property
    def gender(self) -> str:
        return "female" if min(low for low, _ in self.formant) >= FEMALE_FORMANT else "male"


_OFF_NATURAL_TEMPO = ((0.75, 0.9), (1.1, 1.3))
KINDS: dict[str, tuple[ShiftKind, ...]] = {
    "train": (
        ShiftKind("male", _OFF_NATURAL_TEMPO, ((0.8, 0.93), (1.07, 1.25)), ((0.93, 1.05),)),
        ShiftKind("male_high", _OFF_NATURAL_TEMPO, ((1.4, 1.65),), ((0.95, 1.04),)),
        ShiftKind("female", _OFF_NATURAL_TEMPO, ((1.5, 1.75),), ((1.11, 1.17),)),
        ShiftKind("female_low", _OFF_NATURAL_TEMPO, ((1.05, 1.3),), ((1.11, 1.17),)),
    ),
    "test": (
        ShiftKind("natural", ((0.95, 1.05),), ((0.96, 1.04),), ((1.0, 1.0),)),
        ShiftKind("male_deep", ((0.92, 1.08),), ((0.85, 0.95),), ((0.86, 0.91),)),
        ShiftKind("female_far", ((0.92, 1.08),), ((1.8, 2.0),), ((1.19, 1.24),)),
    ),
}


@dataclass(frozen=True)
class Shift:
    """What one Festival utterance gets: its kind's name, and the drawn factors."""

    kind: str
    tempo: float
    f0_ratio: float
    formant_ratio: float


def _draw(ranges: tuple[tuple[float, float], ...], rng: random.Random) -> float:
    low, high = rng.choice(ranges)
    return round(rng.uniform(low, high), 3)


def draw_shift(split: str, gender: str, rng: random.Random) -> Shift:
    """A shift of ``split`` whose voice is heard as ``gender``."""
    kinds = [k for k in KINDS[split] if k.gender == gender]
    if not kinds:
        raise ValueError(f"the {split} split has no Festival shift heard as {gender}")
    kind = rng.choice(kinds)
    return Shift(kind.name, _draw(kind.tempo, rng), _draw(kind.f0, rng), _draw(kind.formant, rng))
