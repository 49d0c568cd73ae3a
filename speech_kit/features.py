"""Acoustic features: samples (16 kHz, 16-bit scale) -> ``(frames, bins)`` float tensors.

The seed's feature is the raw STFT magnitude (``kind="stft"``, the default, bit-exact with the 2019 baseline).
A ``FeatureConfig`` travels inside every checkpoint, so a model is always fed the feature it was trained on.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields

import numpy as np
import torch

from speech_kit.audio import SAMPLE_RATE, read_audio

N_FFT = 512
HOP_LENGTH = int(0.010 * SAMPLE_RATE)  # 10 ms
WIN_LENGTH = int(0.030 * SAMPLE_RATE)  # 30 ms
N_FREQ = N_FFT // 2 + 1  # 257 one-sided bins

FEATURE_KINDS = ("stft",)


@dataclass(frozen=True)
class FeatureConfig:
    """Which feature a model consumes; ``size`` is the number of bins per frame."""

    kind: str = "stft"

    def __post_init__(self) -> None:
        if self.kind not in FEATURE_KINDS:
            raise ValueError(f"unknown feature kind {self.kind!r}; known: {', '.join(FEATURE_KINDS)}")

    @property
    def size(self) -> int:
        return N_FREQ

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


class Featurizer:
    """Callable ``path or samples -> (frames, size)``; ``samples`` are float32 on the 16-bit scale at 16 kHz."""

    def __init__(self, config: FeatureConfig | None = None):
        self.config = config or FeatureConfig()

    @property
    def size(self) -> int:
        return self.config.size

    def __call__(self, source: str | os.PathLike | np.ndarray | torch.Tensor) -> torch.Tensor:
        if isinstance(source, (str, os.PathLike)):
            source = read_audio(source)
        signal = torch.as_tensor(source, dtype=torch.float32)
        return stft_magnitude(signal)
