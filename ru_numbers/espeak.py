"""The Russian voice of the numbers generator: espeak-ng's ``ru`` voice and its variants, on the kit's synthesis
toolkit (``speech_kit.synth``), which runs espeak-ng and sox for both languages.

The numbers data sets were made with sox resampling espeak-ng's output straight to 16-bit integers and with only
exact zeros trimmed off its ends, so ``lead_s`` / ``trail_s`` are exactly the silence before the first and after
the last non-zero sample of speech. ``espeak_voice`` keeps those choices, so a seed still gives the same files.
"""

from __future__ import annotations

import numpy as np

from speech_kit.synth.espeak import EspeakVoice, speak_native

LANGUAGE = "ru"


def espeak_voice(variant: str, rate: int, pitch: int) -> EspeakVoice:
    """``ru+variant`` at ``rate`` words/minute and ``pitch`` 0-99, resampled to 16-bit, exact zeros trimmed."""
    return EspeakVoice(LANGUAGE, variant, rate, pitch, sample_format="int16", trim_relative=0.0)


def speak_samples(text: str, variant: str, rate: int, pitch: int) -> tuple[np.ndarray, int]:
    """``text`` spoken by ``ru+variant`` as float32 samples at espeak-ng's own rate, and that rate, without touching
    the disk (the voice audit measures thousands of short clips)."""
    return speak_native(text, LANGUAGE, variant, rate, pitch)
