"""A small fundamental-frequency (F0) estimate, so the voice table can be checked by ear's proxy, not by name.

espeak-ng's variant files declare a gender, but several "male" variants are tuned so high, or are whispered, that
nobody would hear a man. The generator's gender column is a training target, so it must match what is audible;
the median F0 of voiced frames is the cue listeners rely on most (roughly 85-180 Hz for men, 165-255 Hz for
women). Plain frame-wise autocorrelation is enough for clean synthetic speech and needs only numpy.
"""

from __future__ import annotations

import numpy as np

FRAME_S = 0.04
HOP_S = 0.01
F0_MIN = 50.0
F0_MAX = 500.0
VOICING_THRESHOLD = 0.6  # normalised autocorrelation peak above which a frame counts as voiced
OCTAVE_TOLERANCE = 0.9
CLIP_FRACTION = 0.3  # of each frame's peak, removed by centre clipping
ENERGY_FLOOR_DB = -35.0  # frames this far below the loudest frame are pauses, not speech


def frame_f0(signal: np.ndarray, rate: int) -> np.ndarray:
    """F0 in Hz of every voiced frame of ``signal`` (float samples, any scale); empty when nothing is voiced."""
    frame = int(FRAME_S * rate)
    hop = int(HOP_S * rate)
    if signal.shape[0] < frame:
        return np.zeros(0)
    starts = np.arange(0, signal.shape[0] - frame + 1, hop)
    frames = np.stack([signal[s:s + frame] for s in starts]).astype(np.float64)
    frames -= frames.mean(axis=1, keepdims=True)
    energy = (frames ** 2).sum(axis=1)
    # Centre clipping keeps the glottal pulses and drops the formant ringing between them, which would otherwise
    # correlate at the formant's period (a narrow first formant near 400 Hz reads as a 400 Hz voice).
    threshold = CLIP_FRACTION * np.abs(frames).max(axis=1, keepdims=True)
    frames = np.sign(frames) * np.maximum(np.abs(frames) - threshold, 0.0)
    loud = energy > energy.max() * 10 ** (ENERGY_FLOOR_DB / 10) if energy.max() > 0 else np.zeros(len(energy), bool)
    lag_min, lag_max = int(rate / F0_MAX), int(rate / F0_MIN)
    spectrum = np.fft.rfft(frames, n=2 * frame, axis=1)
    autocorr = np.fft.irfft(np.abs(spectrum) ** 2, axis=1)[:, :frame]
    # Normalise each lag by the energy of the overlapping parts, so long lags are not penalised.
    cumulative = np.concatenate([np.zeros((len(frames), 1)), np.cumsum(frames ** 2, axis=1)], axis=1)
    lags = np.arange(lag_min, lag_max + 1)
    head = cumulative[:, frame - lags]
    tail = cumulative[:, -1:] - cumulative[:, lags]
    norm = autocorr[:, lags] / np.sqrt(np.maximum(head * tail, 1e-12))
    # Only true peaks count: a signal dominated by a low formant also correlates highly at the shortest lags,
    # where the curve is still falling from lag 0. A periodic frame peaks at its period and at multiples of it;
    # the shortest peak close to the best one is the period (the best alone is often an octave too low).
    is_peak = np.zeros_like(norm, dtype=bool)
    is_peak[:, 1:-1] = (norm[:, 1:-1] > norm[:, :-2]) & (norm[:, 1:-1] >= norm[:, 2:])
    peaks = np.where(is_peak, norm, -1.0)
    best = peaks.max(axis=1)
    first = (peaks >= OCTAVE_TOLERANCE * best[:, None]).argmax(axis=1)
    voiced = loud & (best > VOICING_THRESHOLD)
    return rate / lags[first[voiced]]


def median_f0(signal: np.ndarray, rate: int) -> float | None:
    """Median F0 of the voiced frames, or None when fewer than five frames are voiced (whisper, noise)."""
    f0 = frame_f0(signal, rate)
    return float(np.median(f0)) if f0.shape[0] >= 5 else None
