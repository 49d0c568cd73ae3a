"""Background noise: white, pink and brown noise beds made by sox, excerpts of them, and mixing at an SNR.

sox's noise generator has no seed option; in repeatable mode (``-R``) it always produces the same samples. So each
colour is generated once per dataset as a long bed, and every noisy utterance takes its own stretch of it from an
offset its plan drew: the noise differs from one utterance to the next, and the dataset still depends on the seed
alone.

The SNR is measured, not assumed: ``mix_at_snr`` scales the noise so that the mean power of the speech over its
span, divided by the mean power of the noise over a stated span, is exactly the requested ratio.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile as sf

from speech_kit.audio import SAMPLE_RATE
from speech_kit.synth.sox import synth_noise

NO_NOISE = "none"
NOISE_COLOURS: tuple[str, ...] = ("white", "pink", "brown")
BED_SECONDS = 60.0  # longer than any planned utterance, so an excerpt never repeats itself


def make_noise_beds(folder: str | os.PathLike, seconds: float = BED_SECONDS,
                    sample_format: str = "float32") -> dict[str, Path]:
    """Write one bed of ``seconds`` per colour as ``folder/<colour>.wav``; returns colour -> path."""
    beds = {}
    for colour in NOISE_COLOURS:
        path = Path(folder) / f"{colour}.wav"
        synth_noise(colour, seconds, path, SAMPLE_RATE, sample_format)
        beds[colour] = path
    return beds


def noise_segment(bed: str | os.PathLike, n: int, offset_fraction: float, repeat: bool = True) -> np.ndarray:
    """``n`` samples of ``bed`` starting ``offset_fraction`` (0..1) of the way into the room it leaves, mean removed.

    A bed shorter than ``n`` is repeated, or refused with ``repeat=False``. The mean is removed because brown noise
    wanders far from zero, and a constant offset is inaudible power that would distort the SNR.
    """
    frames = sf.info(str(bed)).frames
    if n <= frames:
        start = int(offset_fraction * (frames - n))
        segment, _ = sf.read(str(bed), start=start, frames=n, dtype="float64")
    elif repeat:
        whole, _ = sf.read(str(bed), dtype="float64")
        segment = np.resize(whole, n)
    else:
        raise ValueError(f"an utterance of {n / SAMPLE_RATE:.1f} s is longer than the noise bed {bed} "
                         f"({frames / SAMPLE_RATE:.1f} s); make the beds longer")
    return segment - segment.mean()


def power(x: np.ndarray) -> float:
    """Mean square of ``x``."""
    return float(np.mean(np.square(x, dtype=np.float64)))


def mix_at_snr(signal: np.ndarray, noise: np.ndarray, snr_db: float, speech_span: slice,
               noise_span: slice | None = None) -> np.ndarray:
    """``signal + g * noise`` with ``g`` such that power(signal[speech_span]) / power(g * noise[noise_span]) is
    ``snr_db``; ``noise_span`` defaults to ``speech_span`` (pass ``slice(None)`` for the noise of the whole file)."""
    if signal.shape != noise.shape:
        raise ValueError(f"the signal has {signal.shape[0]} samples but the noise {noise.shape[0]}")
    speech_power = power(signal[speech_span])
    noise_power = power(noise[speech_span if noise_span is None else noise_span])
    if speech_power == 0 or noise_power == 0:
        raise ValueError("cannot set an SNR when the speech or the noise is silent")
    gain = np.sqrt(speech_power / (noise_power * 10 ** (snr_db / 10)))
    return signal + gain * noise
