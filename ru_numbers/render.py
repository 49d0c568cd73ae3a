"""Carry out one planned utterance: speak it, resample it, add silence and noise, set its level, write the WAV.

Signal definitions, so that the condition columns mean something measurable:

* espeak-ng's own leading and trailing digital silence is trimmed, so ``lead_s`` / ``trail_s`` are exactly the
  silence before and after the first and last non-zero sample of speech;
* the SNR is the mean power of that trimmed speech over the mean power of the noise, which runs through the
  whole file, silences included;
* the level is the peak of the final file in dB relative to full scale (scaling speech and noise together,
  which leaves the SNR unchanged).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from ru_numbers.espeak import NOISE_COLOURS, resample, speak, synth_noise
from ru_numbers.plan import Utterance
from speech_kit.atomic import atomic_write
from speech_kit.audio import SAMPLE_RATE

NOISE_BANK_SECONDS = 60.0  # longer than any utterance: 6 words at 80 words/minute plus 2 s of silence is ~8 s


def noise_bank(folder: str | os.PathLike) -> dict[str, str]:
    """One long recording per noise colour in ``folder``; utterances take excerpts at planned offsets."""
    bank = {}
    for colour in NOISE_COLOURS:
        path = os.path.join(folder, f"{colour}.wav")
        synth_noise(colour, NOISE_BANK_SECONDS, path, SAMPLE_RATE)
        bank[colour] = path
    return bank


def synthesize_speech(utt: Utterance) -> np.ndarray:
    """The words of ``utt`` at 16 kHz as float64 in [-1, 1), espeak-ng's edge silence trimmed."""
    with tempfile.TemporaryDirectory(prefix="ru-numbers-") as tmp:
        raw, converted = os.path.join(tmp, "espeak.wav"), os.path.join(tmp, "16k.wav")
        speak(utt.text, raw, utt.variant, utt.rate, utt.pitch)
        resample(raw, converted, SAMPLE_RATE)
        speech, _ = sf.read(converted, dtype="float64")
    voiced = np.flatnonzero(speech)
    if voiced.shape[0] == 0:
        raise RuntimeError(f"espeak-ng produced only silence for {utt.text!r} with voice {utt.variant!r}")
    return speech[voiced[0]:voiced[-1] + 1]


def noise_excerpt(bank_path: str, frames: int, offset: float) -> np.ndarray:
    """``frames`` samples of a bank recording, starting ``offset`` (0..1) of the way into the room left."""
    total = sf.info(bank_path).frames
    if frames > total:
        raise ValueError(f"an utterance of {frames / SAMPLE_RATE:.1f} s is longer than the noise bank")
    start = int(offset * (total - frames))
    noise, _ = sf.read(bank_path, start=start, frames=frames, dtype="float64")
    return noise - noise.mean()


def mix(speech: np.ndarray, utt: Utterance, bank: dict[str, str]) -> np.ndarray:
    """Speech with its silences, noise at ``utt.snr_db`` and the peak at ``utt.level_db``."""
    lead, trail = round(utt.lead_s * SAMPLE_RATE), round(utt.trail_s * SAMPLE_RATE)
    signal = np.concatenate([np.zeros(lead), speech, np.zeros(trail)])
    if utt.noise != "none":
        noise = noise_excerpt(bank[utt.noise], signal.shape[0], utt.noise_offset)
        speech_power = np.mean(speech ** 2)
        gain = np.sqrt(speech_power / (np.mean(noise ** 2) * 10 ** (utt.snr_db / 10)))
        signal = signal + gain * noise
    peak = np.max(np.abs(signal))
    return signal * (10 ** (utt.level_db / 20) / peak)


def render(utt: Utterance, out_dir: str | os.PathLike, bank: dict[str, str]) -> float:
    """Write ``utt`` under ``out_dir`` as 16 kHz 16-bit mono WAV (atomically); returns its duration in seconds."""
    signal = mix(synthesize_speech(utt), utt, bank)
    path = Path(out_dir) / utt.filename
    path.parent.mkdir(parents=True, exist_ok=True)
    # Full scale is 32767/32768: keep a 0 dB peak inside it rather than let the conversion clip it.
    signal = np.clip(signal, -1.0, 32767 / 32768)
    with atomic_write(path, "wb") as f:
        sf.write(f, signal, SAMPLE_RATE, subtype="PCM_16", format="WAV")
    return signal.shape[0] / SAMPLE_RATE
