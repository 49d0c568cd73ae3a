"""Background noise for the synthetic corpus: white, pink and brown noise beds made by sox, and mixing at an SNR.

sox's noise generator has no seed option; in repeatable mode (``-R``) it always produces the same samples. So
each colour is generated once per dataset as a long bed, and every noisy utterance takes its own stretch of it
from an offset the plan drew: the noise differs from one utterance to the next, and the dataset still depends
on the seed alone.

The SNR is measured, not assumed: ``mix_at_snr`` scales the noise so that the mean power of the speech over its
span, divided by the mean power of the noise over the same span, is exactly the requested ratio.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile as sf

from corpus.commands import require, run
from speech_kit.audio import SAMPLE_RATE

NOISE_COLOURS = ("white", "pink", "brown")
BED_SECONDS = 60.0


def make_noise_beds(folder: str | os.PathLike, seconds: float = BED_SECONDS) -> dict[str, Path]:
    """Write one float WAV bed of ``seconds`` per colour into ``folder``; returns colour -> path."""
    sox = require("sox")
    beds = {}
    for colour in NOISE_COLOURS:
        path = Path(folder) / f"{colour}.wav"
        cmd = [sox, "-R", "-n", "-r", str(SAMPLE_RATE), "-c", "1", "-b", "32", "-e", "floating-point", str(path),
               "synth", str(seconds), f"{colour}noise"]
        run(cmd)
        beds[colour] = path
    return beds


def noise_segment(bed: str | os.PathLike, n: int, offset_fraction: float) -> np.ndarray:
    """``n`` samples of ``bed`` starting ``offset_fraction`` of the way into the room it leaves, mean removed.

    A bed shorter than ``n`` is repeated. The mean is removed because brown noise wanders far from zero, and a
    constant offset is inaudible power that would distort the SNR.
    """
    frames = sf.info(str(bed)).frames
    if n <= frames:
        start = int(offset_fraction * (frames - n))
        segment, _ = sf.read(str(bed), start=start, frames=n, dtype="float64")
    else:
        whole, _ = sf.read(str(bed), dtype="float64")
        segment = np.resize(whole, n)
    return segment - segment.mean()


def power(x: np.ndarray) -> float:
    """Mean square of ``x``."""
    return float(np.mean(np.square(x, dtype=np.float64)))


def mix_at_snr(speech: np.ndarray, noise: np.ndarray, snr_db: float, span: slice) -> np.ndarray:
    """``speech + g * noise`` with ``g`` such that power(speech[span]) / power(g * noise[span]) is ``snr_db``."""
    if speech.shape != noise.shape:
        raise ValueError(f"speech has {speech.shape[0]} samples but noise {noise.shape[0]}")
    speech_power, noise_power = power(speech[span]), power(noise[span])
    if speech_power == 0 or noise_power == 0:
        raise ValueError("cannot set an SNR when the speech or the noise is silent")
    gain = np.sqrt(speech_power / (noise_power * 10 ** (snr_db / 10)))
    return speech + gain * noise
