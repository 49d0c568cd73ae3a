"""Which numbers a data set says: the boundary numbers, every magnitude in fair measure, and a train/test split.

Uniform draws from 1..999 999 would be 90 % six-digit numbers and would almost never say "семь" alone or
"пять тысяч" with nothing after it, so a draw first picks the number of digits (weights below), then a number of
that length, and sometimes a whole number of thousands.

The split between train and test numbers must be the same in the command that makes the training set and in the
one that makes the test set, whatever their seeds, so it is a fixed hash of the number, not a random draw: a
number is a test number when its hash falls below ``holdout_fraction``. The boundary numbers and 1..9 are shared
by both splits: a recogniser must be trained on them, and a test set without them would not test them.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field

BOUNDARY_NUMBERS: tuple[int, ...] = (
    1, 2, 9, 10, 11, 12, 19, 20, 21, 99, 100, 101, 110, 200, 999,
    1000, 1001, 2000, 5000, 10000, 11000, 21000, 22000, 100000, 101000, 999000, 999999,
)
SHARED_BELOW = 10  # 1..9: too few to hold any out
# Relative weight of each number length (digits): longer numbers have more word combinations to learn.
MAGNITUDE_WEIGHTS: dict[int, int] = {1: 1, 2: 2, 3: 3, 4: 3, 5: 3, 6: 4}
ROUND_FRACTION = 0.15  # of the draws of four digits or more: a whole number of thousands ("пять тысяч")
SMALL_STRATUM = 1000  # strata this size or smaller are listed; larger ones are sampled by rejection
SPLITS: tuple[str, ...] = ("train", "test")
_PARTITION_KEY = b"ru_numbers number split v1"


def _hash_fraction(n: int) -> float:
    """A fixed pseudo-random number in [0, 1) for ``n``, the same on every machine and Python version."""
    digest = hashlib.blake2b(str(n).encode(), digest_size=8, key=_PARTITION_KEY).digest()
    return int.from_bytes(digest, "big") / 2 ** 64


def number_split(n: int, holdout_fraction: float) -> str:
    """``shared`` (boundary numbers and 1..9), ``test`` (held out of training) or ``train``."""
    if n < SHARED_BELOW or n in BOUNDARY_NUMBERS:
        return "shared"
    return "test" if _hash_fraction(n) < holdout_fraction else "train"


def allowed(n: int, split: str, holdout_fraction: float) -> bool:
    """Whether ``split`` may say ``n``."""
    return number_split(n, holdout_fraction) in ("shared", split)


@dataclass(frozen=True)
class Stratum:
    """Numbers of one length; ``round`` ones are whole thousands (k * 1000)."""

    digits: int
    round: bool

    def bounds(self) -> tuple[int, int]:
        if self.round:
            return 10 ** (self.digits - 4), 10 ** (self.digits - 3) - 1  # the thousands multiplier k
        return 10 ** (self.digits - 1), 10 ** self.digits - 1

    def value(self, k: int) -> int:
        return k * 1000 if self.round else k

    def size(self) -> int:
        low, high = self.bounds()
        return high - low + 1


@dataclass(frozen=True)
class NumberSampler:
    """Draws numbers of one split. Holds only lookup lists built from its arguments; the randomness is the
    caller's ``random.Random``, so a plan stays a function of its seed."""

    split: str
    holdout_fraction: float
    listed: dict[Stratum, list[int]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.split not in SPLITS:
            raise ValueError(f"unknown split {self.split!r}; choose one of {', '.join(SPLITS)}")
        if not 0.0 < self.holdout_fraction < 1.0:
            raise ValueError(f"the held-out fraction of numbers must be between 0 and 1, got {self.holdout_fraction}")
        listed: dict[Stratum, list[int]] = {}
        for digits in MAGNITUDE_WEIGHTS:
            for round_ in (False, True):
                stratum = Stratum(digits, round_)
                if (round_ and digits < 4) or stratum.size() > SMALL_STRATUM:
                    continue
                low, high = stratum.bounds()
                listed[stratum] = [stratum.value(k) for k in range(low, high + 1)
                                   if allowed(stratum.value(k), self.split, self.holdout_fraction)]
        object.__setattr__(self, "listed", listed)

    def draw(self, rng: random.Random) -> int:
        """One number: a length by ``MAGNITUDE_WEIGHTS``, sometimes whole thousands, uniform within that."""
        while True:
            digits = rng.choices(tuple(MAGNITUDE_WEIGHTS), weights=tuple(MAGNITUDE_WEIGHTS.values()))[0]
            stratum = Stratum(digits, digits >= 4 and rng.random() < ROUND_FRACTION)
            if stratum in self.listed:
                if self.listed[stratum]:  # empty e.g. when no whole thousand 1000..9000 is a test number
                    return rng.choice(self.listed[stratum])
                continue
            low, high = stratum.bounds()
            while True:  # a large stratum holds numbers of both splits in proportion to holdout_fraction
                n = stratum.value(rng.randint(low, high))
                if allowed(n, self.split, self.holdout_fraction):
                    return n

    def plan_numbers(self, count: int, rng: random.Random) -> list[int]:
        """``count`` numbers in random order: every boundary number once, the rest drawn."""
        if count < len(BOUNDARY_NUMBERS):
            raise ValueError(f"--count must be at least {len(BOUNDARY_NUMBERS)} so that every boundary number "
                             f"({', '.join(map(str, BOUNDARY_NUMBERS))}) is said once; got {count}")
        numbers = list(BOUNDARY_NUMBERS) + [self.draw(rng) for _ in range(count - len(BOUNDARY_NUMBERS))]
        rng.shuffle(numbers)
        return numbers
