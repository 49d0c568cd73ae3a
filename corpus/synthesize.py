"""Render one planned utterance as the hackathon's audio format (16 kHz, 16-bit, mono WAV).

espeak-ng is a formant synthesiser: robotic, but installable everywhere from Debian and deterministic, so a seed
reproduces a dataset byte for byte. It speaks the text with a voice variant, rate and pitch; sox resamples its
22 050 Hz output to 16 kHz (as 32-bit float, so nothing is dithered or clipped yet); then the signal is padded
with silence, mixed with noise at the planned SNR, scaled to the planned peak level, and only then rounded to
16 bits. Doing the mixing on floats keeps the SNR and level exact rather than subject to sox's clipping.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import soundfile as sf

from corpus.commands import ToolError, require, run
from corpus.noise import SAMPLE_RATE, mix_at_snr, noise_segment
from corpus.plan import NO_NOISE, Utterance
from speech_kit.atomic import atomic_write

INT16_MAX = 32767
# espeak-ng ends every utterance with about 0.3 s of its own silence; samples below this fraction of the peak
# (-60 dB) at either end are cut, so that the planned silences are the only ones.
TRIM_RELATIVE = 1e-3


def speak(text: str, variant: str, speed: int, pitch: int) -> np.ndarray:
    """``text`` spoken by ``ko+variant`` at ``speed`` words/minute and ``pitch`` (0-99): float64 samples at 16 kHz,
    with espeak-ng's own leading and trailing silence cut off."""
    espeak, sox = require("espeak-ng"), require("sox")
    with tempfile.TemporaryDirectory(prefix="espeak-") as tmp:
        raw, resampled = os.path.join(tmp, "raw.wav"), os.path.join(tmp, "16k.wav")
        # -b 1: the text argument is UTF-8 whatever the locale says.
        run([espeak, "-b", "1", "-v", f"ko+{variant}", "-s", str(speed), "-p", str(pitch), "-w", raw, text])
        run([sox, "-R", raw, "-r", str(SAMPLE_RATE), "-c", "1", "-b", "32", "-e", "floating-point", resampled])
        speech, _ = sf.read(resampled, dtype="float64")
    loud = np.flatnonzero(np.abs(speech) > TRIM_RELATIVE * np.max(np.abs(speech)))
    if loud.size == 0:
        raise ToolError(f"espeak-ng produced only silence for {text!r} with voice ko+{variant}")
    return speech[loud[0]:loud[-1] + 1]


def render(speech: np.ndarray, utt: Utterance, noise_beds: Mapping[str, str | os.PathLike]) -> np.ndarray:
    """Pad ``speech`` with the planned silences, mix in the planned noise, scale to the planned peak level."""
    lead, trail = round(utt.lead_s * SAMPLE_RATE), round(utt.trail_s * SAMPLE_RATE)
    signal = np.concatenate([np.zeros(lead), speech, np.zeros(trail)])
    if utt.noise != NO_NOISE:
        if utt.snr_db is None:
            raise ValueError(f"{utt.name}: noise {utt.noise!r} without an SNR")
        noise = noise_segment(noise_beds[utt.noise], signal.shape[0], utt.noise_offset)
        signal = mix_at_snr(signal, noise, utt.snr_db, slice(lead, lead + speech.shape[0]))
    return signal * (10 ** (utt.level_db / 20) / np.max(np.abs(signal)))


def write_pcm16(path: str | os.PathLike, signal: np.ndarray) -> None:
    """Write ``signal`` (full scale = 1.0) as a 16 kHz 16-bit mono WAV, atomically."""
    samples = np.clip(np.round(signal * INT16_MAX), -INT16_MAX - 1, INT16_MAX).astype(np.int16)
    with atomic_write(path, "wb") as f:
        sf.write(f, samples, SAMPLE_RATE, format="WAV", subtype="PCM_16")


def synthesize_utterance(utt: Utterance, folder: str | os.PathLike,
                         noise_beds: Mapping[str, str | os.PathLike]) -> float:
    """Render ``utt`` to ``folder/<name>.wav``; returns its duration in seconds.

    A top-level function of plain arguments, so a process pool can run it.
    """
    speech = speak(utt.text, utt.variant, utt.speed, utt.pitch)
    signal = render(speech, utt, noise_beds)
    write_pcm16(Path(folder) / f"{utt.name}.wav", signal)
    return signal.shape[0] / SAMPLE_RATE
