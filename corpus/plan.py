"""Decide, before any audio exists, what every utterance of a synthetic dataset says and with which voice.

All random draws happen here, in one seeded ``random.Random``, so the dataset depends on the seed only and not
on how many workers synthesise it or in which order they finish.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Sequence

from corpus.synthesize import VARIANTS

# Voices never heard in training: the test split measures how well a model copes with a new speaker.
TEST_ONLY_VARIANTS: tuple[str, ...] = ("m7", "f5")
TRAIN_VARIANTS: tuple[str, ...] = tuple(v for v in VARIANTS if v not in TEST_ONLY_VARIANTS)
SPEED_RANGE = (130, 190)  # espeak-ng words per minute; its default is 175
PITCH_RANGE = (30, 70)  # espeak-ng pitch adjustment, 0-99; its default is 50


@dataclass(frozen=True)
class Utterance:
    """One planned recording: ``name`` is the file stem (``train_0001``), ``split`` is ``train`` or ``test``."""

    name: str
    split: str
    text: str
    variant: str
    speed: int
    pitch: int


def plan_dataset(sentences: Sequence[str], n_train: int, n_test: int, seed: int) -> list[Utterance]:
    """Train utterances then test utterances; the test split is held out by sentence and partly by voice.

    Test sentences never occur in train. Train voices come from ``TRAIN_VARIANTS``; test voices from all
    variants, with each of ``TEST_ONLY_VARIANTS`` used at least once. When ``n_train`` exceeds the sentences
    left after the test split, train sentences repeat (each pass in the same shuffled order) with fresh voices.
    """
    if n_train < 1:
        raise ValueError(f"n_train must be at least 1, got {n_train}")
    if n_test < len(TEST_ONLY_VARIANTS):
        raise ValueError(f"n_test must be at least {len(TEST_ONLY_VARIANTS)} (one per test-only voice), got {n_test}")
    pool = list(dict.fromkeys(sentences))
    if n_test >= len(pool):
        raise ValueError(
            f"{len(pool)} distinct sentences cannot give {n_test} held-out test sentences and still leave one for train"
        )
    rng = random.Random(seed)
    rng.shuffle(pool)
    test_texts, train_pool = pool[:n_test], pool[n_test:]
    train_texts = [train_pool[i % len(train_pool)] for i in range(n_train)]

    train_voices = [rng.choice(TRAIN_VARIANTS) for _ in range(n_train)]
    test_voices = list(TEST_ONLY_VARIANTS) + [rng.choice(tuple(VARIANTS)) for _ in range(n_test - len(TEST_ONLY_VARIANTS))]
    rng.shuffle(test_voices)

    width = max(4, len(str(max(n_train, n_test))))
    utterances = []
    for split, texts, voices in (("train", train_texts, train_voices), ("test", test_texts, test_voices)):
        for i, (text, variant) in enumerate(zip(texts, voices), 1):
            speed, pitch = rng.randint(*SPEED_RANGE), rng.randint(*PITCH_RANGE)
            utterances.append(Utterance(f"{split}_{i:0{width}d}", split, text, variant, speed, pitch))
    return utterances
