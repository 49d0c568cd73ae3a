"""Measure which espeak-ng variants sound like the gender they declare, and over which ``-p`` range.

espeak-ng's ``-p`` scales a variant's pitch roughly from half to double, so a "male" variant at ``-p 99`` can
speak at 200 Hz and a "female" one at ``-p 0`` at 110 Hz. The gender column is a training target, so each
variant is spoken at a grid of ``-p`` values and its median F0 measured; the variant keeps the longest run of
``-p`` values whose F0 lies in its gender's band for both audit texts, and is left out when that run is short or
empty (whispered variants have no F0 at all, a few "male" variants are child-like). The result is the table in
``ru_numbers.voices``; ``python -m ru_numbers.voice_audit`` re-measures and reports any difference from it, which
is how the table is kept true when espeak-ng changes.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from ru_numbers.espeak import speak_samples
from ru_numbers.pitch import median_f0
from ru_numbers.voices import EXCLUDED, VOICES, Voice
from speech_kit.cli import fail
from speech_kit.synth.espeak import Variant, list_variants
from speech_kit.synth.tools import ToolError

# A lone one-syllable word ends on a falling contour and comes out 10-25 % lower than a long number, so a pitch
# counts only if both texts stay in the band ("сто" is among the lowest; when too short to measure it is skipped).
AUDIT_TEXTS: tuple[str, ...] = ("двести тридцать четыре тысячи пятьсот шестьдесят семь", "сто")
AUDIT_RATE = 175  # espeak-ng's default speed
PITCH_GRID: tuple[int, ...] = (*range(0, 99, 5), 99)
MALE_BAND = (60.0, 150.0)  # Hz: below 60 is creak, above 150 starts to be heard as a woman's or a boy's voice
FEMALE_BAND = (180.0, 350.0)  # Hz: below 180 overlaps high men's voices, above 350 sounds like a child
MIN_PITCH_SPAN = 20  # a variant must keep its gender over at least this many -p steps to be worth using


@dataclass(frozen=True)
class Audit:
    """F0 (Hz, None when unvoiced) of ``variant`` at each ``PITCH_GRID`` value (one per audit text), and the
    verdict drawn from it."""

    variant: Variant
    f0: tuple[tuple[float | None, ...], ...]
    voice: Voice | None
    reason: str


def measure(variant: str, pitch: int, text: str = AUDIT_TEXTS[0], rate: int = AUDIT_RATE) -> float | None:
    """Median F0 of ``text`` spoken by ``ru+variant`` at ``pitch``."""
    signal, sr = speak_samples(text, variant, rate, pitch)
    return median_f0(signal, sr)


def verdict(variant: Variant, f0: Sequence[Sequence[float | None]]) -> tuple[Voice | None, str]:
    """The usable ``-p`` range of ``variant`` given its measured F0 (``f0[i][t]``: at ``PITCH_GRID[i]`` for audit
    text ``t``, the first text being the long one that must be measurable), or None and the reason to leave it
    out."""
    if variant.declared not in ("M", "F"):
        return None, "declares no gender"
    gender = "male" if variant.declared == "M" else "female"
    measured = [v for at_pitch in f0 for v in at_pitch if v is not None]
    unvoiced = sum(at_pitch[0] is None for at_pitch in f0)
    if unvoiced * 2 > len(f0):  # a few frames of whispered noise can pass for voicing; most cannot
        return None, f"no F0 at {unvoiced} of {len(f0)} pitches (whispered): its gender cannot be heard from F0"
    low, high = MALE_BAND if gender == "male" else FEMALE_BAND

    def inside(at_pitch: Sequence[float | None]) -> bool:
        return at_pitch[0] is not None and all(v is None or low <= v <= high for v in at_pitch)

    best: tuple[int, int] | None = None
    start = None
    for i, at_pitch in enumerate([*f0, (None,)]):
        if inside(at_pitch) and start is None:
            start = i
        if not inside(at_pitch) and start is not None:
            if best is None or i - 1 - start > best[1] - best[0]:
                best = (start, i - 1)
            start = None
    span = f"F0 {min(measured):.0f}-{max(measured):.0f} Hz over -p 0-99"
    band = f"the {gender} band ({low:.0f}-{high:.0f} Hz)"
    if best is None:
        return None, f"{span}, never in {band}"
    if PITCH_GRID[best[1]] - PITCH_GRID[best[0]] < MIN_PITCH_SPAN:
        return None, f"{span}, in {band} only at -p {PITCH_GRID[best[0]]}-{PITCH_GRID[best[1]]}"
    voice = Voice(variant.file, gender, PITCH_GRID[best[0]], PITCH_GRID[best[1]])
    return voice, f"{span}; {gender} band at -p {voice.pitch_min}-{voice.pitch_max}"


def audit_variant(variant: Variant) -> Audit:
    f0 = tuple(tuple(measure(variant.file, p, text) for text in AUDIT_TEXTS) for p in PITCH_GRID)
    voice, reason = verdict(variant, f0)
    return Audit(variant, f0, voice, reason)


def differences(audits: Sequence[Audit]) -> list[str]:
    """How the measured verdicts differ from the table in ``ru_numbers.voices`` (empty when they agree)."""
    table = {v.variant: v for v in VOICES}
    out = []
    for a in audits:
        name = a.variant.file
        if a.voice is None and name in table:
            out.append(f"{name}: the table uses it, the audit leaves it out ({a.reason})")
        elif a.voice is not None and name not in table:
            out.append(f"{name}: the audit keeps it ({a.reason}), the table "
                       + ("excludes it" if name in EXCLUDED else "does not list it"))
        elif a.voice is not None and a.voice != table[name]:
            out.append(f"{name}: table {table[name]}, audit {a.voice}")
    listed = {a.variant.file for a in audits}
    out += [f"{name}: in the table but not installed" for name in table if name not in listed]
    return out


def table_source(audits: Sequence[Audit]) -> str:
    """``VOICES`` and ``EXCLUDED`` as Python source for ``ru_numbers/voices.py`` (female voices first)."""
    kept = sorted((a.voice for a in audits if a.voice), key=lambda v: (v.gender != "female", v.variant.lower()))
    lines = ["VOICES: tuple[Voice, ...] = ("]
    lines += [f'    Voice("{v.variant}", "{v.gender}", {v.pitch_min}, {v.pitch_max}),' for v in kept]
    lines += [")", "", "EXCLUDED: dict[str, str] = {"]
    lines += [f'    "{a.variant.file}": "{a.reason}",' for a in audits if a.voice is None]
    lines += ["}"]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    prog = "python -m ru_numbers.voice_audit"
    parser = argparse.ArgumentParser(prog=prog, description="Measure the F0 of every espeak-ng variant speaking "
                                     "Russian and compare the usable voices with ru_numbers.voices.")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes")
    parser.add_argument("--python", action="store_true",
                        help="also print the measured table as Python source for ru_numbers/voices.py")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        return fail(prog, f"--jobs must be at least 1, got {args.jobs}")
    try:
        variants = list_variants()
        with ProcessPoolExecutor(args.jobs) as pool:
            audits = list(pool.map(audit_variant, variants))
    except ToolError as err:
        return fail(prog, err)
    for a in audits:
        mark = "keep" if a.voice else "drop"
        print(f"{mark}  {a.variant.file:16s} {a.variant.declared}  {a.reason}")
    diff = differences(audits)
    kept = sum(a.voice is not None for a in audits)
    print(f"{kept} of {len(audits)} variants usable")
    for line in diff:
        print(f"differs: {line}")
    print("the table in ru_numbers/voices.py matches the measurement" if not diff else
          f"{len(diff)} difference(s) from ru_numbers/voices.py")
    if args.python:
        print(table_source(audits))
    return 0 if not diff else 1


if __name__ == "__main__":
    sys.exit(main())
