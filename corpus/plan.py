"""Decide, before any audio exists, what every utterance of a synthetic dataset says and how it sounds.

All random draws happen here, in one seeded ``random.Random``, so the dataset depends on the seed only and not
on how many processes synthesise it or in which order they finish. Values are rounded to the precision the
manifest records (milliseconds, tenths of a decibel), so the manifest states exactly what was rendered.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from corpus.text_sources import Sentence
from corpus.voices import GENDERS, TEST_ONLY_VARIANTS, TRAIN_VARIANTS, VARIANTS, variants_of
from speech_kit.synth.noise import NO_NOISE, NOISE_COLOURS

NO_CHANNEL = "none"
CODECS = ("ulaw", "alaw", "gsm")


@dataclass(frozen=True)
class PlanSettings:
    """The ranges every utterance's parameters are drawn from (uniformly, bounds included)."""

    speed_range: tuple[int, int] = (120, 200)  # espeak-ng words per minute; its default is 175
    pitch_range: tuple[int, int] = (25, 75)  # espeak-ng pitch, 0-99; its default is 50
    silence_range: tuple[float, float] = (0.0, 0.5)  # seconds of silence before and (drawn again) after speech
    level_range: tuple[float, float] = (-20.0, 0.0)  # peak level of the file, dB relative to full scale
    test_noise_fraction: float = 0.5
    train_noise_fraction: float = 0.0
    test_snr_range: tuple[float, float] = (10.0, 30.0)  # dB
    train_snr_range: tuple[float, float] = (10.0, 30.0)
    # Augmentation of the train split (``Augmentation``), each an exact share of it, drawn independently:
    train_shift_fraction: float = 0.0  # another speaker: tempo, F0 and vocal-tract length
    train_reverb_fraction: float = 0.0  # a room
    train_telephone_fraction: float = 0.0  # a telephone line
    tempo_range: tuple[float, float] = (0.85, 1.15)
    f0_ratio_range: tuple[float, float] = (0.75, 1.35)
    formant_ratio_range: tuple[float, float] = (0.88, 1.15)
    reverberance_range: tuple[float, float] = (20.0, 80.0)  # sox's reverberance and room scale, percent
    wet_db_range: tuple[float, float] = (-6.0, 0.0)

    def __post_init__(self) -> None:
        for name in ("speed_range", "pitch_range", "silence_range", "level_range", "test_snr_range",
                     "train_snr_range"):
            low, high = getattr(self, name)
            if low > high:
                raise ValueError(f"{name}: the low end {low} is above the high end {high}")
        for name in ("test_noise_fraction", "train_noise_fraction", "train_shift_fraction", "train_reverb_fraction",
                     "train_telephone_fraction"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must lie between 0 and 1, got {getattr(self, name)}")
        if self.silence_range[0] < 0 or self.level_range[1] > 0:
            raise ValueError("silence cannot be negative and the peak level cannot exceed 0 dB full scale")


@dataclass(frozen=True)
class Augmentation:
    """What makes an espeak-ng voice another speaker, in a room or on a line (``speech_kit.synth.augment``)."""

    shift: tuple[float, float, float] | None = None  # tempo, F0 ratio, formant ratio
    reverb: tuple[float, float, float] | None = None  # reverberance %, room scale %, wet gain dB
    channel: str = NO_CHANNEL  # or a telephone codec: ulaw, alaw, gsm

    def __bool__(self) -> bool:
        return self.shift is not None or self.reverb is not None or self.channel != NO_CHANNEL

    def describe(self) -> str:
        """``tempo=0.93 f0=1.21 formant=1.05 room=55/40/-3.0 phone=gsm``: what the manifest's effects column holds."""
        parts = []
        if self.shift is not None:
            parts.append("tempo={:.2f} f0={:.2f} formant={:.2f}".format(*self.shift))
        if self.reverb is not None:
            parts.append("room={:.0f}/{:.0f}/{:.1f}".format(*self.reverb))
        if self.channel != NO_CHANNEL:
            parts.append(f"phone={self.channel}")
        return " ".join(parts)


@dataclass(frozen=True)
class Utterance:
    """One planned recording: ``name`` is the file stem (``train_0001``), ``split`` is ``train`` or ``test``.

    ``noise`` is ``"none"`` or a colour of ``NOISE_COLOURS`` mixed in at ``snr_db``, taken from the noise bed at
    ``noise_offset`` (a fraction of the room left in the bed, so it holds whatever the speech length turns out).
    """

    name: str
    split: str
    text: str
    source: str
    variant: str
    speed: int
    pitch: int
    lead_s: float
    trail_s: float
    level_db: float
    noise: str = NO_NOISE
    snr_db: float | None = None
    noise_offset: float = 0.0
    augment: Augmentation = field(default_factory=Augmentation)

    @property
    def gender(self) -> str:
        return VARIANTS[self.variant]


def _voices(rng: random.Random, n: int, pool: tuple[str, ...]) -> list[str]:
    """``n`` variants from ``pool``, each a gender drawn evenly and then a variant of that gender."""
    by_gender = {g: variants_of(g, pool) for g in GENDERS}
    return [rng.choice(by_gender[rng.choice(GENDERS)]) for _ in range(n)]


def _noisy(rng: random.Random, n: int, fraction: float) -> set[int]:
    """Indices of the ``round(n * fraction)`` utterances that get noise: an exact share, not a coin flip each."""
    return set(rng.sample(range(n), round(n * fraction)))


def plan_dataset(
    sentences: Sequence[Sentence], n_train: int, n_test: int, seed: int, settings: PlanSettings = PlanSettings(),
    test_sentences: Sequence[Sentence] | None = None,
) -> list[Utterance]:
    """Train utterances then test utterances; the test split is held out by sentence and partly by voice.

    Test sentences never occur in train. Train voices come from ``TRAIN_VARIANTS``; test voices from all
    variants, with each of ``TEST_ONLY_VARIANTS`` used at least once. When ``n_train`` exceeds the sentences
    left after the test split, train sentences repeat (each pass in the same shuffled order) with fresh voices.

    With ``test_sentences`` the test split is held out by source: its sentences come only from there, and any of
    them that ``sentences`` also holds is dropped from train; ``n_train`` may then be 0 (a test-only dataset).
    """
    if n_train < (0 if test_sentences is not None else 1):
        raise ValueError(f"n_train must be at least 1, got {n_train}")
    if n_test < len(TEST_ONLY_VARIANTS):
        raise ValueError(f"n_test must be at least {len(TEST_ONLY_VARIANTS)} (one per test-only voice), got {n_test}")
    pool = list({s.text: s for s in sentences}.values())
    rng = random.Random(seed)
    if test_sentences is None:
        if n_test >= len(pool):
            raise ValueError(f"{len(pool)} distinct sentences cannot give {n_test} held-out test sentences and still "
                             "leave one for train")
        rng.shuffle(pool)
        test_sentences, train_pool = pool[:n_test], pool[n_test:]
    else:
        held = list({s.text: s for s in test_sentences}.values())
        if n_test > len(held):
            raise ValueError(f"the test text has {len(held)} distinct sentences, fewer than --test {n_test}")
        rng.shuffle(held)
        test_sentences = held[:n_test]
        kept = {s.text for s in held}  # the whole test text stays out of train, used or not
        train_pool = [s for s in pool if s.text not in kept]
        rng.shuffle(train_pool)
        if n_train and not train_pool:
            raise ValueError("no train sentence is left once the test text is taken out")
    train_sentences = [train_pool[i % len(train_pool)] for i in range(n_train)]

    train_voices = _voices(rng, n_train, TRAIN_VARIANTS)
    test_voices = list(TEST_ONLY_VARIANTS) + _voices(rng, n_test - len(TEST_ONLY_VARIANTS), tuple(VARIANTS))
    rng.shuffle(test_voices)

    width = max(4, len(str(max(n_train, n_test))))
    utterances = []
    for split, chosen, voices, fraction, snr_range in (
        ("train", train_sentences, train_voices, settings.train_noise_fraction, settings.train_snr_range),
        ("test", test_sentences, test_voices, settings.test_noise_fraction, settings.test_snr_range),
    ):
        noisy = _noisy(rng, len(chosen), fraction)
        for i, (sentence, variant) in enumerate(zip(chosen, voices, strict=True)):
            noise, snr, offset = NO_NOISE, None, 0.0
            if i in noisy:
                noise = rng.choice(NOISE_COLOURS)
                snr = round(rng.uniform(*snr_range), 1)
                offset = round(rng.random(), 6)
            utterances.append(Utterance(
                name=f"{split}_{i + 1:0{width}d}",
                split=split,
                text=sentence.text,
                source=sentence.source,
                variant=variant,
                speed=rng.randint(*settings.speed_range),
                pitch=rng.randint(*settings.pitch_range),
                lead_s=round(rng.uniform(*settings.silence_range), 3),
                trail_s=round(rng.uniform(*settings.silence_range), 3),
                level_db=round(rng.uniform(*settings.level_range), 1),
                noise=noise,
                snr_db=snr,
                noise_offset=offset,
            ))
    return augmented(utterances, seed, settings)


def augmented(utterances: list[Utterance], seed: int, settings: PlanSettings) -> list[Utterance]:
    """The train utterances' augmentations, drawn from a generator of their own: without any, a seed gives the
    dataset it gave before augmentation existed."""
    fractions = (settings.train_shift_fraction, settings.train_reverb_fraction, settings.train_telephone_fraction)
    if not any(fractions):
        return utterances
    rng = random.Random(f"{seed}:augment")
    train = [i for i, u in enumerate(utterances) if u.split == "train"]
    chosen = [{train[j] for j in _noisy(rng, len(train), fraction)} for fraction in fractions]
    out = list(utterances)
    for i in train:
        shift = reverb = None
        channel = NO_CHANNEL
        if i in chosen[0]:
            shift = (round(rng.uniform(*settings.tempo_range), 2), round(rng.uniform(*settings.f0_ratio_range), 2),
                     round(rng.uniform(*settings.formant_ratio_range), 2))
        if i in chosen[1]:
            room, wet = settings.reverberance_range, settings.wet_db_range
            reverb = (round(rng.uniform(*room)), round(rng.uniform(*room)), round(rng.uniform(*wet), 1))
        if i in chosen[2]:
            channel = rng.choice(CODECS)
        if shift or reverb or channel != NO_CHANNEL:
            out[i] = replace(out[i], augment=Augmentation(shift, reverb, channel))
    return out
