"""The espeak-ng voice variants the generator speaks Russian numbers with, their genders and their pitch ranges.

The table is a measurement, not a copy of the genders the variant files declare: ``ru_numbers.voice_audit``
speaks every variant at a grid of ``-p`` values and keeps the pitch range over which its F0 stays in its gender's
band (``python -m ru_numbers.voice_audit --python`` prints this table). It is written down rather than measured on
every run so that a data set depends only on the seed and the installed espeak-ng, and so that the held-out test
voices are fixed by name.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Voice:
    """``-v ru+variant`` heard as ``gender`` for every ``-p`` in ``pitch_min..pitch_max``."""

    variant: str
    gender: str
    pitch_min: int
    pitch_max: int


VOICES: tuple[Voice, ...] = (
    Voice("Alicia", "female", 40, 80),
    Voice("Andrea", "female", 35, 80),
    Voice("anika", "female", 25, 70),
    Voice("anikaRobot", "female", 25, 70),
    Voice("Annie", "female", 0, 95),
    Voice("aunty", "female", 55, 95),
    Voice("belinda", "female", 40, 85),
    Voice("f1", "female", 65, 99),
    Voice("f2", "female", 55, 99),
    Voice("f3", "female", 45, 99),
    Voice("f4", "female", 60, 99),
    Voice("f5", "female", 50, 99),
    Voice("grandma", "female", 40, 99),
    Voice("linda", "female", 40, 85),
    Voice("steph", "female", 55, 99),
    Voice("steph2", "female", 55, 99),
    Voice("steph3", "female", 55, 99),
    Voice("adam", "male", 15, 85),
    Voice("Alex", "male", 15, 75),
    Voice("Andy", "male", 20, 85),
    Voice("announcer", "male", 60, 99),
    Voice("antonio", "male", 0, 75),
    Voice("AnxiousAndy", "male", 15, 75),
    Voice("benjamin", "male", 15, 85),
    Voice("boris", "male", 15, 85),
    Voice("caleb", "male", 10, 85),
    Voice("croak", "male", 0, 85),
    Voice("david", "male", 45, 99),
    Voice("Demonic", "male", 0, 99),
    Voice("Denis", "male", 15, 85),
    Voice("Diogo", "male", 0, 80),
    Voice("ed", "male", 0, 65),
    Voice("edward", "male", 0, 85),
    Voice("edward2", "male", 15, 85),
    Voice("fast", "male", 15, 85),
    Voice("Gene", "male", 25, 90),
    Voice("Gene2", "male", 5, 70),
    Voice("grandpa", "male", 10, 85),
    Voice("gustave", "male", 10, 75),
    Voice("Henrique", "male", 0, 85),
    Voice("Hugo", "male", 0, 85),
    Voice("iven", "male", 0, 85),
    Voice("iven2", "male", 0, 85),
    Voice("iven3", "male", 10, 90),
    Voice("iven4", "male", 10, 90),
    Voice("Jacky", "male", 0, 75),
    Voice("john", "male", 15, 85),
    Voice("kaukovalta", "male", 0, 60),
    Voice("klatt", "male", 10, 85),
    Voice("klatt2", "male", 0, 85),
    Voice("klatt3", "male", 5, 85),
    Voice("klatt4", "male", 0, 85),
    Voice("klatt5", "male", 0, 85),
    Voice("klatt6", "male", 10, 85),
    Voice("Lee", "male", 20, 85),
    Voice("m1", "male", 30, 65),
    Voice("m2", "male", 5, 80),
    Voice("m3", "male", 25, 85),
    Voice("m4", "male", 5, 95),
    Voice("m5", "male", 5, 85),
    Voice("m6", "male", 0, 85),
    Voice("m7", "male", 0, 85),
    Voice("m8", "male", 30, 99),
    Voice("marcelo", "male", 10, 90),
    Voice("Marco", "male", 0, 60),
    Voice("Mario", "male", 0, 80),
    Voice("max", "male", 15, 85),
    Voice("Michael", "male", 20, 80),
    Voice("michel", "male", 0, 80),
    Voice("miguel", "male", 0, 80),
    Voice("Mike", "male", 25, 99),
    Voice("Mr serious", "male", 15, 85),
    Voice("Nguyen", "male", 0, 45),
    Voice("norbert", "male", 15, 85),
    Voice("pablo", "male", 0, 75),
    Voice("paul", "male", 30, 99),
    Voice("pedro", "male", 10, 85),
    Voice("quincy", "male", 35, 99),
    Voice("RicishayMax", "male", 25, 85),
    Voice("RicishayMax2", "male", 10, 55),
    Voice("RicishayMax3", "male", 10, 90),
    Voice("rob", "male", 5, 45),
    Voice("robert", "male", 0, 95),
    Voice("robosoft", "male", 45, 99),
    Voice("robosoft2", "male", 0, 75),
    Voice("robosoft3", "male", 0, 90),
    Voice("robosoft4", "male", 0, 90),
    Voice("robosoft5", "male", 0, 90),
    Voice("robosoft6", "male", 0, 50),
    Voice("robosoft7", "male", 0, 90),
    Voice("robosoft8", "male", 0, 50),
    Voice("sandro", "male", 15, 85),
    Voice("Storm", "male", 30, 99),
    Voice("travis", "male", 10, 85),
    Voice("Tweaky", "male", 15, 85),
    Voice("UniRobot", "male", 0, 55),
    Voice("victor", "male", 20, 90),
)

# Variants espeak-ng offers that the generator leaves out, with the measurement that rules them out.
EXCLUDED: dict[str, str] = {
    "zac": "F0 237-441 Hz over -p 0-99, never in the male band (60-150 Hz)",
    "whisperf": "no F0 at 21 of 21 pitches (whispered): its gender cannot be heard from F0",
    "shelby": "F0 76-276 Hz over -p 0-99, in the male band (60-150 Hz) only at -p 0-10",
    "whisper": "no F0 at 19 of 21 pitches (whispered): its gender cannot be heard from F0",
}

# Held out of training by default: distinct-sounding families, so "unseen voice" is not a near copy of a seen one.
HELDOUT_VOICES: tuple[str, ...] = ("f5", "Annie", "grandma", "m7", "Storm", "Jacky")


def voice(variant: str) -> Voice:
    """The table entry of ``variant``; a ValueError naming the usable variants otherwise."""
    for v in VOICES:
        if v.variant == variant:
            return v
    reason = f" ({EXCLUDED[variant]})" if variant in EXCLUDED else ""
    raise ValueError(f"{variant!r} is not a usable voice variant{reason}; the {len(VOICES)} usable ones are "
                     f"listed in ru_numbers/voices.py and docs/ru_numbers.md")
