"""Festival as a voice: unit selection over a real speaker's recordings (Russian: ``msu_ru_nsh_clunits``, a male
speaker, from Debian's ``festvox-ru``), the kit's first natural voice beside espeak-ng's formant synthesis.

Starting Festival and loading a unit-selection voice costs most of a second; synthesising a short utterance then
costs a few tens of milliseconds. So ``speak_many`` says many texts in one ``festival -b`` process, driven by a
Scheme script that saves each utterance as a WAV file; ``FestivalVoice.speak`` (the ``Speaker`` call) is the
one-text case. The texts go into the script as Scheme string literals, so quotes and backslashes are escaped,
never interpreted. A text the voice cannot pronounce (a Latin letter or a backslash for the Russian voice) stops
the whole script: the error names the first text left without audio and what Festival printed.

The voice has no rate of its own to vary: a unit-selection voice speaks at its recordings' durations, and
Festival's ``Duration_Stretch`` left ``msu_ru_nsh_clunits`` unchanged (the same 0.971 s for "сто пять" at 0.6, 1.0,
1.5 and 2.0). Rate, like pitch and vocal-tract length, is therefore an effect applied after speaking, the same for
every voice.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import soundfile as sf

from speech_kit.audio import SAMPLE_RATE
from speech_kit.synth.sox import resample
from speech_kit.synth.speaker import trim_edges
from speech_kit.synth.tools import ToolError, require

RUSSIAN_VOICE = "msu_ru_nsh_clunits"
VOICE_PACKAGES = {RUSSIAN_VOICE: "festvox-ru"}


def _scheme_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _script(voice: str, texts: Sequence[str], folder: str) -> str:
    lines = [f"(voice_{voice})"]
    for index, text in enumerate(texts):
        lines.append(f"(set! utt (Utterance Text {_scheme_string(text)}))")
        lines.append("(utt.synth utt)")
        lines.append(f"(utt.save.wave utt {_scheme_string(os.path.join(folder, f'{index}.wav'))} 'riff)")
    return "\n".join(lines) + "\n"


def speak_many(texts: Sequence[str], voice: str = RUSSIAN_VOICE, trim_relative: float = 0.0) -> list[np.ndarray]:
    """Each text spoken by Festival's ``voice``, all in one Festival process: float64 samples at 16 kHz, edge
    silence at or below ``trim_relative`` of the peak cut off."""
    if not texts:
        return []
    festival = require("festival")
    with tempfile.TemporaryDirectory(prefix="festival-") as tmp:
        script = os.path.join(tmp, "say.scm")
        with open(script, "w", encoding="utf-8") as f:
            f.write(_script(voice, texts, tmp))
        try:
            result = subprocess.run([festival, "-b", script], capture_output=True, text=True)
        except OSError as err:
            raise ToolError(f"cannot run {festival}: {err.strerror}") from None
        printed = " | ".join(line.strip() for line in result.stderr.splitlines() if line.strip())
        if f"voice_{voice}" in printed and "unbound" in printed:
            raise ToolError(f"Festival has no voice {voice}; install it with: apt-get install -y "
                            f"{VOICE_PACKAGES.get(voice, 'the package that ships it')}")
        return [_read(os.path.join(tmp, f"{i}.wav"), text, voice, trim_relative, printed)
                for i, text in enumerate(texts)]


def _read(path: str, text: str, voice: str, trim_relative: float, printed: str) -> np.ndarray:
    if not os.path.isfile(path):
        raise ToolError(f"festival wrote no audio for {text!r} with voice {voice}"
                        + (f": {printed}" if printed else ""))
    if sf.info(path).samplerate != SAMPLE_RATE:
        converted = path + ".16k.wav"
        resample(path, converted, SAMPLE_RATE, "float32")
        path = converted
    samples, _ = sf.read(path, dtype="float64")
    speech = trim_edges(samples, trim_relative)
    if speech is None:
        raise ToolError(f"festival produced only silence for {text!r} with voice {voice}")
    return speech


@dataclass(frozen=True)
class FestivalVoice:
    """Festival's ``voice``: a ``Speaker``. For many utterances call ``speak_many`` once rather than ``speak`` per
    text: each call starts Festival and loads the voice anew."""

    voice: str = RUSSIAN_VOICE
    trim_relative: float = 0.0

    def speak(self, text: str) -> np.ndarray:
        return speak_many([text], self.voice, self.trim_relative)[0]
