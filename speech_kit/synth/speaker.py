"""The voice seam: a ``Speaker`` turns a text into speech samples, and renders never ask which program spoke.

A voice is one module with one class implementing ``speak(text) -> float64 samples at 16 kHz, edge silence
trimmed`` (``speech_kit.synth.espeak.EspeakVoice`` today; Festival's Russian voice, which keeps one ``text2wave``
or ``festival`` process for many utterances, is the next). ``trim_edges`` is the shared last step of every voice:
synthesisers pad their output with silence of their own, and the planned silences must be the only ones.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


class Speaker(Protocol):
    """Anything that speaks: ``speak`` returns float64 samples in [-1, 1) at ``speech_kit.audio.SAMPLE_RATE``,
    trimmed so that the first and last samples are speech, and raises ``ToolError`` when it cannot."""

    def speak(self, text: str) -> np.ndarray: ...


def trim_edges(samples: np.ndarray, relative: float) -> np.ndarray | None:
    """``samples`` without the leading and trailing ones at or below ``relative`` times the peak magnitude
    (``relative=0``: only exact zeros are cut); None when nothing is left, i.e. the voice produced only silence."""
    if samples.shape[0] == 0:
        return None
    magnitude = np.abs(samples)
    loud = np.flatnonzero(magnitude > relative * np.max(magnitude))
    if loud.size == 0:
        return None
    return samples[loud[0]:loud[-1] + 1]
