"""From spoken samples to a dataset file: effects, silence, noise at an SNR, peak level, 16-bit WAV.

The steps, on float64 samples so that the SNR and the level are exact rather than subject to clipping:

1. ``speech_effects`` (the augmentation seam: tempo, pitch, vocal-tract length, reverberation) change the voice;
2. the planned silences are added before and after it;
3. noise from a bed is mixed in at the planned SNR (``speech_kit.synth.noise``);
4. ``channel_effects`` (the seam for what the line does to speech and noise alike: a telephone band) apply;
5. the whole is scaled to the planned peak level, and only then rounded to 16 bits and written atomically.

An effect is any ``samples -> samples`` function at 16 kHz; a sox effect chain is one that pipes the samples
through ``sox`` (``speech_kit.synth.sox``). ``Conventions`` holds what the two corpora define differently, so that
every seed keeps giving the files it gave.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import soundfile as sf

from speech_kit.atomic import atomic_write
from speech_kit.audio import SAMPLE_RATE
from speech_kit.synth.noise import NO_NOISE, mix_at_snr, noise_segment
from speech_kit.synth.speaker import Speaker

Effect = Callable[[np.ndarray], np.ndarray]
INT16_MAX = 32767


class Conditions(Protocol):
    """How one planned utterance sounds: the fields both corpora's ``Utterance`` share."""

    @property
    def lead_s(self) -> float: ...  # seconds of silence before the speech
    @property
    def trail_s(self) -> float: ...  # seconds of silence after it
    @property
    def level_db(self) -> float: ...  # peak of the file, dB relative to full scale
    @property
    def noise(self) -> str: ...  # NO_NOISE or a colour of NOISE_COLOURS
    @property
    def snr_db(self) -> float | None: ...  # speech-to-noise power ratio; None without noise
    @property
    def noise_offset(self) -> float: ...  # where in the bed (0..1 of the room left) the noise starts


@dataclass(frozen=True)
class Conventions:
    """The definitions a corpus's manifest columns were made with.

    ``noise_over_file``: the noise power of the SNR is measured over the whole file (Russian numbers) rather than
    over the span of the speech (Korean corpus); the speech power is always over the speech alone.
    ``repeat_noise``: a bed shorter than the file is repeated rather than refused.
    ``full_scale``: the 16-bit code of 1.0. 32767: rounded here, symmetric; 32768: converted by libsndfile after
    clipping to 32767/32768, so that a 0 dB peak stays inside the format instead of wrapping.
    """

    noise_over_file: bool = False
    repeat_noise: bool = True
    full_scale: int = INT16_MAX


def render(speech: np.ndarray, conditions: Conditions, noise_beds: Mapping[str, str | os.PathLike],
           conventions: Conventions = Conventions(), speech_effects: Sequence[Effect] = (),
           channel_effects: Sequence[Effect] = ()) -> np.ndarray:
    """``speech`` with its effects, planned silences, noise and peak level, as float64 (full scale = 1.0)."""
    for effect in speech_effects:
        speech = effect(speech)
    lead, trail = round(conditions.lead_s * SAMPLE_RATE), round(conditions.trail_s * SAMPLE_RATE)
    signal = np.concatenate([np.zeros(lead), speech, np.zeros(trail)])
    if conditions.noise != NO_NOISE:
        if conditions.snr_db is None:
            raise ValueError(f"noise {conditions.noise!r} is planned without an SNR")
        noise = noise_segment(noise_beds[conditions.noise], signal.shape[0], conditions.noise_offset,
                              repeat=conventions.repeat_noise)
        signal = mix_at_snr(signal, noise, conditions.snr_db, slice(lead, lead + speech.shape[0]),
                            slice(None) if conventions.noise_over_file else None)
    for effect in channel_effects:
        signal = effect(signal)
    return signal * (10 ** (conditions.level_db / 20) / np.max(np.abs(signal)))


def write_pcm16(path: str | os.PathLike, signal: np.ndarray, full_scale: int = INT16_MAX) -> None:
    """Write ``signal`` (full scale = 1.0) as a 16 kHz 16-bit mono WAV, atomically; see ``Conventions.full_scale``."""
    if full_scale == INT16_MAX:
        samples = np.clip(np.round(signal * INT16_MAX), -INT16_MAX - 1, INT16_MAX).astype(np.int16)
    elif full_scale == INT16_MAX + 1:
        samples = np.clip(signal, -1.0, INT16_MAX / (INT16_MAX + 1))
    else:
        raise ValueError(f"full_scale must be {INT16_MAX} or {INT16_MAX + 1}, got {full_scale}")
    with atomic_write(path, "wb") as f:
        sf.write(f, samples, SAMPLE_RATE, format="WAV", subtype="PCM_16")


def synthesize(speaker: Speaker, text: str, conditions: Conditions, path: str | os.PathLike,
               noise_beds: Mapping[str, str | os.PathLike], conventions: Conventions = Conventions(),
               speech_effects: Sequence[Effect] = (), channel_effects: Sequence[Effect] = ()) -> float:
    """Speak ``text``, render it under ``conditions`` and write it to ``path``; returns its duration in seconds.

    A top-level function of picklable arguments, so a process pool can run it.
    """
    signal = render(speaker.speak(text), conditions, noise_beds, conventions, speech_effects, channel_effects)
    write_pcm16(path, signal, conventions.full_scale)
    return signal.shape[0] / SAMPLE_RATE
