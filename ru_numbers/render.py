"""Carry out one planned utterance: speak it, add silence and noise, set its level, write the WAV.

Signal definitions, so that the condition columns mean something measurable:

* espeak-ng's own leading and trailing digital silence is trimmed (``ru_numbers.espeak``), so ``lead_s`` /
  ``trail_s`` are exactly the silence before and after the first and last non-zero sample of speech;
* the SNR is the mean power of that trimmed speech over the mean power of the noise, which runs through the
  whole file, silences included;
* the level is the peak of the final file in dB relative to full scale (scaling speech and noise together,
  which leaves the SNR unchanged), where full scale is 32768 (a 0 dB peak is kept at 32767).

The steps themselves are the kit's synthesis toolkit (``speech_kit.synth.render``) under these ``RUSSIAN``
conventions. An utterance said by Festival is first changed by its shift (tempo, then F0 and vocal tract with
WORLD), a room adds reverberation to the speech before the noise, and a telephone channel takes the mixed signal.
Festival utterances are rendered in batches (``render_batch``): one Festival process says a whole batch.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from ru_numbers.espeak import espeak_voice
from ru_numbers.plan import FESTIVAL, NO_CHANNEL, Utterance
from speech_kit.audio import SAMPLE_RATE
from speech_kit.synth import augment
from speech_kit.synth.festival import speak_many
from speech_kit.synth.noise import make_noise_beds
from speech_kit.synth.render import Conventions, Effect, synthesize, write_pcm16
from speech_kit.synth.render import render as render_signal

NOISE_BANK_SECONDS = 60.0  # longer than any utterance: 6 words at 80 words/minute plus 2 s of silence is ~8 s
RUSSIAN = Conventions(noise_over_file=True, repeat_noise=False, full_scale=32768)


def noise_bank(folder: str | os.PathLike) -> dict[str, Path]:
    """One long 16-bit recording per noise colour in ``folder``; utterances take excerpts at planned offsets."""
    return make_noise_beds(folder, NOISE_BANK_SECONDS, sample_format="int16")


def effects(utt: Utterance) -> tuple[list[Effect], list[Effect]]:
    """The speech effects (the Festival shift, a room) and the channel effects (a telephone) of ``utt``."""
    speech: list[Effect] = []
    if utt.shift is not None:
        speech += [augment.tempo(utt.shift.tempo), augment.voice_shift(utt.shift.f0_ratio, utt.shift.formant_ratio)]
    if utt.reverb is not None:
        speech.append(augment.reverb(*utt.reverb))
    channel = [augment.telephone(utt.channel)] if utt.channel != NO_CHANNEL else []
    return speech, channel


def _path(utt: Utterance, out_dir: str | os.PathLike) -> Path:
    path = Path(out_dir) / utt.filename
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def render(utt: Utterance, out_dir: str | os.PathLike, bank: Mapping[str, str | os.PathLike]) -> float:
    """Write ``utt`` under ``out_dir`` as 16 kHz 16-bit mono WAV (atomically); returns its duration in seconds."""
    if utt.source == FESTIVAL:
        return render_batch([utt], out_dir, bank)[0]
    speech, channel = effects(utt)
    return synthesize(espeak_voice(utt.variant, utt.rate, utt.pitch), utt.text, utt, _path(utt, out_dir), bank,
                      RUSSIAN, speech, channel)


def render_batch(batch: Sequence[Utterance], out_dir: str | os.PathLike,
                 bank: Mapping[str, str | os.PathLike]) -> list[float]:
    """Render ``batch``; the durations. Festival utterances are said by one Festival process, then each rendered
    as ``render`` does; a process pool runs it (a top-level function of picklable arguments)."""
    if any(utt.source != FESTIVAL for utt in batch):
        return [render(utt, out_dir, bank) for utt in batch]
    seconds = []
    for utt, speech in zip(batch, speak_many([u.text for u in batch]), strict=True):
        speech_effects, channel = effects(utt)
        signal = render_signal(speech, utt, bank, RUSSIAN, speech_effects, channel)
        write_pcm16(_path(utt, out_dir), signal, RUSSIAN.full_scale)
        seconds.append(signal.shape[0] / SAMPLE_RATE)
    return seconds
