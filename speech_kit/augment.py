"""SpecAugment for training features: random frequency bands and time spans set to zero.

Zero is the mean of a per-utterance normalised log-mel feature, so a mask removes information without adding an
unusual value. Masks are drawn from the object's own generator, under a lock (loader threads share it): a seed
fixes the set of masks drawn, though not which utterance gets which when several threads read at once.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class SpecAugmentConfig:
    freq_masks: int = 2
    freq_width: int = 15  # widest frequency mask, in bins
    time_masks: int = 2
    time_width: int = 40  # widest time mask, in frames (10 ms)
    max_time_ratio: float = 0.2  # no time mask covers more than this share of the utterance


class SpecAugment:
    """Callable ``(T, F) -> (T, F)`` masking a copy of the features."""

    def __init__(self, config: SpecAugmentConfig = SpecAugmentConfig(), seed: int = 0):
        self.config = config
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def _spans(self, count: int, widest: int, size: int) -> list[tuple[int, int]]:
        spans = []
        for _ in range(count):
            width = self._rng.randint(0, max(0, min(widest, size)))
            start = self._rng.randint(0, size - width)
            spans.append((start, start + width))
        return spans

    def __call__(self, feat: torch.Tensor) -> torch.Tensor:
        frames, bins = feat.shape
        c = self.config
        with self._lock:
            bands = self._spans(c.freq_masks, c.freq_width, bins)
            spans = self._spans(c.time_masks, min(c.time_width, int(frames * c.max_time_ratio)), frames)
        out = feat.clone()
        for start, stop in bands:
            out[:, start:stop] = 0
        for start, stop in spans:
            out[start:stop] = 0
        return out
