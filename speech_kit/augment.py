"""Augmentations of training features, applied on the fly: each utterance changed afresh every epoch.

``SpecAugment``: random frequency bands and time spans set to zero. Zero is the mean of a per-utterance normalised
log-mel feature, so a mask removes information without adding an unusual value.

``FrequencyWarp``: vocal tract length perturbation (VTLP, Jaitly and Hinton 2013) on the features themselves: every
frequency scaled by one factor drawn per utterance, so one speaker's formants move up or down as a shorter or
longer vocal tract would move them, the length and the words kept. (``speech_kit.synth.augment`` changes the audio
itself, once, before training; this costs an interpolation per utterance and reaches every utterance every epoch.)

Random draws come from each object's own generator, under a lock (loader threads share it): a seed fixes the set
of draws, though not which utterance gets which when several threads read at once.
"""

from __future__ import annotations

import argparse
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from speech_kit.features import FeatureConfig, bin_centres_hz


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


def warp_frequencies(feat: torch.Tensor, centres_hz: np.ndarray, factor: float) -> torch.Tensor:
    """``(frames, bins)`` -> the same shape, every frequency scaled by ``factor``: bin ``i`` (centred at
    ``centres_hz[i]``) takes the input's value at ``centres_hz[i] / factor``, interpolated linearly between the
    neighbouring bins (and the edge bin's value beyond the edges). ``factor`` > 1 moves formants up (a shorter
    vocal tract, towards a woman's or a child's), < 1 down; 1 returns ``feat``."""
    if factor == 1.0:
        return feat
    position = np.interp(centres_hz / factor, centres_hz, np.arange(len(centres_hz), dtype=np.float64))
    below = np.floor(position).astype(np.int64)
    above = np.minimum(below + 1, len(centres_hz) - 1)
    weight = torch.from_numpy(position - below).to(feat.dtype)
    return feat[:, below] * (1 - weight) + feat[:, above] * weight


MAX_WARP_WIDTH = 0.5


def warp_width(text: str) -> float:
    """``--vtlp``'s ``type``: a width in [0, 0.5) (0: no warp), else an argparse error saying what is allowed."""
    try:
        width = float(text)
    except ValueError:
        width = float("nan")
    if not 0 <= width < MAX_WARP_WIDTH:
        raise argparse.ArgumentTypeError(f"must be within [0, {MAX_WARP_WIDTH:g}) (0: off; 0.1: factors 0.9-1.1), "
                                         f"got {text}")
    return width


class FrequencyWarp:
    """Callable ``(T, F) -> (T, F)``: the features' frequencies scaled by a factor drawn uniformly from
    ``[1 - width, 1 + width]`` for each utterance (``warp_frequencies``); ``features`` says where each bin lies."""

    def __init__(self, features: FeatureConfig, width: float, seed: int = 0):
        if not 0 < width < MAX_WARP_WIDTH:
            raise ValueError(f"a frequency warp's width must be within (0, {MAX_WARP_WIDTH:g}), got {width}")
        self.width = width
        self.centres_hz = bin_centres_hz(features)
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def __call__(self, feat: torch.Tensor) -> torch.Tensor:
        with self._lock:
            factor = self._rng.uniform(1 - self.width, 1 + self.width)
        return warp_frequencies(feat, self.centres_hz, factor)


def chain(*steps: Callable[[torch.Tensor], torch.Tensor] | None) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """One augmentation applying ``steps`` in order (those that are None left out); None when none is left."""
    chosen = [step for step in steps if step is not None]
    if not chosen:
        return None
    if len(chosen) == 1:
        return chosen[0]

    def apply(feat: torch.Tensor) -> torch.Tensor:
        for step in chosen:
            feat = step(feat)
        return feat
    return apply
