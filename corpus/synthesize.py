"""Render one planned Korean utterance as the hackathon's audio format (16 kHz, 16-bit, mono WAV).

espeak-ng's Korean voice speaks the text with the planned variant, rate and pitch; sox resamples its 22 050 Hz
output to 16 kHz as 32-bit float, so nothing is dithered or clipped yet, and what lies more than 60 dB below the
peak at either end is cut. Then ``speech_kit.synth.render`` pads it with the planned silences, mixes in noise at
the planned SNR (speech and noise power both over the span of the speech), scales it to the planned peak level
and only then rounds it to 16 bits (1.0 = 32767).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from corpus.plan import NO_CHANNEL, Augmentation, Utterance
from speech_kit.synth import augment
from speech_kit.synth.espeak import EspeakVoice
from speech_kit.synth.render import Conventions, Effect, synthesize

LANGUAGE = "ko"
# espeak-ng ends every utterance with about 0.3 s of its own silence; samples below this fraction of the peak
# (-60 dB) at either end are cut, so that the planned silences are the only ones.
TRIM_RELATIVE = 1e-3
KOREAN = Conventions(noise_over_file=False, repeat_noise=True, full_scale=32767)


def voice_of(utt: Utterance) -> EspeakVoice:
    """The espeak-ng voice ``utt`` is planned to be spoken with."""
    return EspeakVoice(LANGUAGE, utt.variant, utt.speed, utt.pitch, sample_format="float32",
                       trim_relative=TRIM_RELATIVE)


def effects_of(plan: Augmentation) -> tuple[list[Effect], list[Effect]]:
    """The speech effects (another speaker, a room) and channel effects (a telephone line) ``plan`` asks for."""
    speech: list[Effect] = []
    if plan.shift is not None:
        tempo, f0_ratio, formant_ratio = plan.shift
        speech += [augment.tempo(tempo), augment.voice_shift(f0_ratio, formant_ratio)]
    if plan.reverb is not None:
        speech.append(augment.reverb(*plan.reverb))
    return speech, ([augment.telephone(plan.channel)] if plan.channel != NO_CHANNEL else [])


def synthesize_utterance(utt: Utterance, folder: str | os.PathLike,
                         noise_beds: Mapping[str, str | os.PathLike]) -> float:
    """Render ``utt`` to ``folder/<name>.wav``; returns its duration in seconds.

    A top-level function of plain arguments, so a process pool can run it.
    """
    speech, channel = effects_of(utt.augment)
    return synthesize(voice_of(utt), utt.text, utt, Path(folder) / f"{utt.name}.wav", noise_beds, KOREAN, speech,
                      channel)
