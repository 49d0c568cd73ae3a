"""espeak-ng as a voice: its variants, and a ``Speaker`` that says a text in any of its languages.

espeak-ng is a formant synthesiser: robotic, but packaged everywhere and deterministic, so a seed reproduces a
dataset byte for byte. It accepts any ``-v LANG+NAME`` and silently falls back to its plain voice for an unknown
NAME, so the variants are read from ``espeak-ng --voices=variant`` rather than trusted by name. It writes
22 050 Hz audio, which sox resamples to the kit's 16 kHz.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import soundfile as sf

from speech_kit.audio import SAMPLE_RATE
from speech_kit.synth.sox import resample
from speech_kit.synth.speaker import trim_edges
from speech_kit.synth.tools import ToolError, require, run, run_bytes

# " 5  variant   70/F   female1   !v/f1   (en-us 5)": age/gender, voice name, file name (which may hold spaces).
_VARIANT_LINE = re.compile(r"^\s*\d+\s+variant\s+\S*/([MF-])\s+(\S+)\s+!v/(.+?)\s*(?:\(.*\))?\s*$")


@dataclass(frozen=True)
class Variant:
    """A voice variant as espeak-ng lists it: ``file`` is what ``-v LANG+FILE`` takes, ``declared`` M, F or -."""

    file: str
    name: str
    declared: str


def list_variants() -> list[Variant]:
    """Every voice variant this espeak-ng installation offers, in its listing order."""
    out = run([require("espeak-ng"), "--voices=variant"])
    variants = []
    for line in out.splitlines()[1:]:
        match = _VARIANT_LINE.match(line)
        if match:
            declared, name, file = match.groups()
            variants.append(Variant(file=file, name=name, declared=declared))
    if not variants:
        raise ToolError("espeak-ng --voices=variant listed no voice variants; is espeak-ng-data installed?")
    return variants


def require_variants(names: Iterable[str]) -> None:
    """Refuse variants this espeak-ng lacks, rather than let it speak them all with its base voice."""
    missing = sorted(set(names) - {v.file for v in list_variants()})
    if missing:
        raise ToolError(f"espeak-ng has no voice variant(s) {', '.join(missing)} (see: espeak-ng --voices=variant)")


def _voice_args(language: str, variant: str, rate: int, pitch: int) -> list[str]:
    # -b 1: the text argument is UTF-8 whatever the locale says.
    return [require("espeak-ng"), "-b", "1", "-v", f"{language}+{variant}", "-s", str(rate), "-p", str(pitch)]


@dataclass(frozen=True)
class EspeakVoice:
    """``language+variant`` at ``rate`` words/minute and ``pitch`` 0-99: a ``Speaker``.

    ``sample_format`` is what sox resamples espeak-ng's output to before trimming, ``trim_relative`` the fraction of
    the peak at or below which edge samples count as espeak-ng's own silence (about 0.3 s after every utterance).
    The Korean corpus resamples to ``float32`` and trims below -60 dB (1e-3); the Russian numbers resample to
    ``int16`` and trim exact zeros (0.0). Each keeps its pair so that old seeds give the same files.
    """

    language: str
    variant: str
    rate: int
    pitch: int
    sample_format: str = "float32"
    trim_relative: float = 1e-3

    def speak(self, text: str) -> np.ndarray:
        """``text`` as float64 samples at 16 kHz, espeak-ng's edge silence cut off."""
        with tempfile.TemporaryDirectory(prefix="espeak-") as tmp:
            raw, converted = os.path.join(tmp, "raw.wav"), os.path.join(tmp, "16k.wav")
            run([*_voice_args(self.language, self.variant, self.rate, self.pitch), "-w", raw, text])
            resample(raw, converted, SAMPLE_RATE, self.sample_format)
            samples, _ = sf.read(converted, dtype="float64")
        speech = trim_edges(samples, self.trim_relative)
        if speech is None:
            raise ToolError(f"espeak-ng produced only silence for {text!r} with voice {self.language}+{self.variant}")
        return speech


def speak_native(text: str, language: str, variant: str, rate: int, pitch: int) -> tuple[np.ndarray, int]:
    """``text`` spoken as by ``EspeakVoice``, untrimmed, as float32 samples at espeak-ng's own rate and that rate,
    without touching the disk: for measurements that synthesise thousands of short clips."""
    audio = run_bytes([*_voice_args(language, variant, rate, pitch), "--stdout", text])
    samples, rate_hz = sf.read(io.BytesIO(audio), dtype="float32")
    return samples, rate_hz
