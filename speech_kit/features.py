"""Acoustic features: samples (16 kHz, 16-bit scale) -> ``(frames, bins)`` float tensors.

``kind="stft"`` (the default) is the seed's raw STFT magnitude, bit-exact with the 2019 baseline; its values
follow the recording level and reach ~1.25e6. ``kind="logmel"`` is the log of a mel filterbank over the same
frames, normalised per utterance (zero mean, unit variance per bin), so level and microphone gain drop out and
the values suit bf16 and small models. A ``FeatureConfig`` travels inside every checkpoint, so a model is always
fed the feature it was trained on.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields

import numpy as np
import torch

from speech_kit.audio import SAMPLE_RATE, probe, read_audio

N_FFT = 512
HOP_LENGTH = int(0.010 * SAMPLE_RATE)  # 10 ms
WIN_LENGTH = int(0.030 * SAMPLE_RATE)  # 30 ms
N_FREQ = N_FFT // 2 + 1  # 257 one-sided bins

FEATURE_KINDS = ("stft", "logmel")
NORMALIZATIONS = ("band", "utterance")
LOG_FLOOR = 1e-3  # on the 16-bit scale: far below any real signal's mel energy, keeps log() finite on silence


@dataclass(frozen=True)
class FeatureConfig:
    """Which feature a model consumes; ``size`` is the number of bins per frame."""

    kind: str = "stft"
    n_mels: int = 80
    normalize: str = "band"  # log-mel: "band" (each band to zero mean, unit variance) or "utterance" (one shift
    # and scale for all bands: the gain drops out, the average spectral shape, which tells voices apart, stays)

    def __post_init__(self) -> None:
        if self.kind not in FEATURE_KINDS:
            raise ValueError(f"unknown feature kind {self.kind!r}; known: {', '.join(FEATURE_KINDS)}")
        if self.normalize not in NORMALIZATIONS:
            raise ValueError(f"unknown normalisation {self.normalize!r}; known: {', '.join(NORMALIZATIONS)}")
        if not 1 <= self.n_mels <= N_FREQ:
            raise ValueError(f"n_mels must be within 1..{N_FREQ}, got {self.n_mels}")

    @property
    def size(self) -> int:
        return N_FREQ if self.kind == "stft" else self.n_mels

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> FeatureConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown feature configuration keys {unknown}")
        return cls(**values)


def stft_magnitude(signal: torch.Tensor) -> torch.Tensor:
    """The seed's feature: STFT magnitude, Hamming window, no centring; ``(samples,)`` -> ``(frames, 257)``."""
    stft = torch.stft(signal, N_FFT, hop_length=HOP_LENGTH, win_length=WIN_LENGTH,
                      window=torch.hamming_window(WIN_LENGTH), center=False, normalized=False,
                      onesided=True, return_complex=True)
    return stft.abs().transpose(0, 1).contiguous()


def get_spectrogram_feature(filepath: str) -> torch.Tensor:
    """The seed's feature: STFT magnitude, Hamming window, no centring; shape ``(frames, 257)``."""
    return stft_magnitude(torch.from_numpy(read_audio(filepath)))


def to_mel(hz: np.ndarray) -> np.ndarray:
    """Hertz to mels (the HTK formula)."""
    return 2595.0 * np.log10(1.0 + hz / 700.0)


def to_hz(mel: np.ndarray) -> np.ndarray:
    """Mels (the HTK formula) to hertz."""
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def mel_edges_hz(n_mels: int, rate: int = SAMPLE_RATE) -> np.ndarray:
    """The ``n_mels + 2`` edges of the mel filters in Hz, evenly spaced in mels from 0 to Nyquist; filter ``i``
    rises from edge ``i``, peaks at edge ``i + 1`` and falls to edge ``i + 2``."""
    return to_hz(np.linspace(0.0, to_mel(np.array(rate / 2)), n_mels + 2))


def bin_centres_hz(config: FeatureConfig) -> np.ndarray:
    """The frequency (Hz) at which each of the feature's bins is centred: the STFT's bins, or the mel filters'
    peaks."""
    if config.kind == "stft":
        return np.linspace(0.0, SAMPLE_RATE / 2, N_FREQ)
    return mel_edges_hz(config.n_mels)[1:-1]


def mel_filterbank(n_mels: int, n_fft: int = N_FFT, rate: int = SAMPLE_RATE) -> torch.Tensor:
    """Triangular filters ``(n_fft // 2 + 1, n_mels)`` evenly spaced on the mel scale (HTK formula) up to Nyquist."""
    bins = np.linspace(0.0, rate / 2, n_fft // 2 + 1)
    edges = mel_edges_hz(n_mels, rate)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins[None, :] - lower) / (centre - lower)
    falling = (upper - bins[None, :]) / (upper - centre)
    return torch.from_numpy(np.clip(np.minimum(rising, falling), 0.0, None).T.astype(np.float32))


def log_mel(signal: torch.Tensor, filters: torch.Tensor, normalize: str = "band") -> torch.Tensor:
    """``(samples,)`` -> ``(frames, n_mels)``: log mel power over the seed's frames, normalised per utterance
    (per band, or with one mean and deviation over all bands)."""
    power = stft_magnitude(signal).pow(2)
    feat = torch.log(power @ filters + LOG_FLOOR)
    if normalize == "band":
        return (feat - feat.mean(dim=0)) / (feat.std(dim=0, unbiased=False) + 1e-5)
    return (feat - feat.mean()) / (feat.std(unbiased=False) + 1e-5)


class Featurizer:
    """Callable ``path or samples -> (frames, size)``; ``samples`` are float32 on the 16-bit scale at 16 kHz."""

    def __init__(self, config: FeatureConfig | None = None):
        self.config = config or FeatureConfig()
        self.filters = mel_filterbank(self.config.n_mels) if self.config.kind == "logmel" else None

    @property
    def size(self) -> int:
        return self.config.size

    def __call__(self, source: str | os.PathLike | np.ndarray | torch.Tensor) -> torch.Tensor:
        if isinstance(source, (str, os.PathLike)):
            source = read_audio(source)
        signal = torch.as_tensor(source, dtype=torch.float32)
        if self.filters is None:
            return stft_magnitude(signal)
        return log_mel(signal, self.filters, self.config.normalize)


def stretch(feats: torch.Tensor, factor: float) -> torch.Tensor:
    """``(frames, bins)`` -> ``(round(frames * factor), bins)``: each bin's track resampled linearly in time, so the
    speech runs ``factor`` times longer (slower) with the spectrum of every moment kept; 1 returns ``feats``."""
    if factor == 1.0:
        return feats
    frames = max(1, round(feats.size(0) * factor))
    track = feats.transpose(0, 1).unsqueeze(0).float()
    out = torch.nn.functional.interpolate(track, size=frames, mode="linear", align_corners=True)
    return out.squeeze(0).transpose(0, 1).to(feats.dtype).contiguous()


def feature_frames(paths: Sequence[str]) -> list[int]:
    """Spectrogram frames of each file from its header alone: one frame per 10 ms hop after the first window."""
    frames = []
    for path in paths:
        info = probe(path)
        samples = info.frames * SAMPLE_RATE // info.rate
        frames.append(max(1, 1 + (samples - N_FFT) // HOP_LENGTH))
    return frames
