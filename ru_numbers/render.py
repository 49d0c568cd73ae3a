"""Carry out one planned utterance: speak it, add silence and noise, set its level, write the WAV.

Signal definitions, so that the condition columns mean something measurable:

* espeak-ng's own leading and trailing digital silence is trimmed (``ru_numbers.espeak``), so ``lead_s`` /
  ``trail_s`` are exactly the silence before and after the first and last non-zero sample of speech;
* the SNR is the mean power of that trimmed speech over the mean power of the noise, which runs through the
  whole file, silences included;
* the level is the peak of the final file in dB relative to full scale (scaling speech and noise together,
  which leaves the SNR unchanged), where full scale is 32768 (a 0 dB peak is kept at 32767).

The steps themselves are the kit's synthesis toolkit (``speech_kit.synth.render``) under these ``RUSSIAN``
conventions.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from ru_numbers.espeak import espeak_voice
from ru_numbers.plan import Utterance
from speech_kit.synth.noise import make_noise_beds
from speech_kit.synth.render import Conventions, synthesize

NOISE_BANK_SECONDS = 60.0  # longer than any utterance: 6 words at 80 words/minute plus 2 s of silence is ~8 s
RUSSIAN = Conventions(noise_over_file=True, repeat_noise=False, full_scale=32768)


def noise_bank(folder: str | os.PathLike) -> dict[str, Path]:
    """One long 16-bit recording per noise colour in ``folder``; utterances take excerpts at planned offsets."""
    return make_noise_beds(folder, NOISE_BANK_SECONDS, sample_format="int16")


def render(utt: Utterance, out_dir: str | os.PathLike, bank: Mapping[str, str | os.PathLike]) -> float:
    """Write ``utt`` under ``out_dir`` as 16 kHz 16-bit mono WAV (atomically); returns its duration in seconds."""
    path = Path(out_dir) / utt.filename
    path.parent.mkdir(parents=True, exist_ok=True)
    return synthesize(espeak_voice(utt.variant, utt.rate, utt.pitch), utt.text, utt, path, bank, RUSSIAN)
