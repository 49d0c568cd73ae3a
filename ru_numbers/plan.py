"""Decide, before any audio exists, everything about every utterance of a spoken-numbers data set.

All random draws happen here, from one ``random.Random`` seeded with the seed and the split, so a data set is a
function of its options alone: not of the number of worker processes, nor of the order they finish in.
Rendering (``ru_numbers.render``) only carries the plan out.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from num2words import num2words

from ru_numbers.manifest import GENDERS
from ru_numbers.natural import Shift, draw_shift
from ru_numbers.sampling import NumberSampler
from ru_numbers.voices import HELDOUT_VOICES, VOICES, Voice, voice
from speech_kit.synth.noise import NO_NOISE, NOISE_COLOURS

ESPEAK, FESTIVAL = "espeak", "festival"
NO_CHANNEL = "none"
TELEPHONE_CODECS = ("ulaw", "alaw", "gsm")
PITCH_BUCKET = 20  # spk_id tells apart one variant's -p 0-19, 20-39, ...: a different pitch is a different speaker


@dataclass(frozen=True)
class PlanOptions:
    """What a data set should contain; the defaults are the ranges documented in docs/ru_numbers.md."""

    count: int
    seed: int
    split: str = "train"
    holdout_voices: tuple[str, ...] = HELDOUT_VOICES
    holdout_fraction: float = 0.1  # of the numbers (other than the shared ones) kept for the test split
    rate_min: int = 80  # espeak-ng words per minute
    rate_max: int = 300
    silence_max: float = 1.0  # seconds of silence before and after, each drawn from 0..silence_max
    level_min: float = -25.0  # peak level, dB relative to full scale
    level_max: float = 0.0
    noise_fraction: float = 0.5  # of the utterances that get white, pink or brown noise
    snr_min: float = 5.0  # dB
    snr_max: float = 30.0
    bare_thousand_fraction: float = 0.3  # of 1000..1999 spoken "тысяча ..." rather than "одна тысяча ..."
    # The draws below happen only when their option is set, so a seed without them gives the files it always gave.
    pitch_free: bool = False  # espeak-ng's -p drawn from 0..99 whatever the voice's gender (a gender test)
    festival_fraction: float = 0.0  # of the utterances said by Festival's voice, shifted (ru_numbers.natural)
    telephone_fraction: float = 0.0  # of the utterances sent through a telephone channel (mu-law, A-law, GSM)
    reverb_fraction: float = 0.0  # of the utterances given room reverberation

    def check(self) -> None:
        """A ValueError naming the first option out of range."""
        checks = [
            (self.count >= 1, f"--count must be at least 1, got {self.count}"),
            (80 <= self.rate_min <= self.rate_max <= 450,
             f"speaking rates must satisfy 80 <= min <= max <= 450 (espeak-ng's range), "
             f"got {self.rate_min}..{self.rate_max}"),
            (0.0 <= self.silence_max <= 5.0, f"--silence_max must be in 0..5 seconds, got {self.silence_max}"),
            (-60.0 <= self.level_min <= self.level_max <= 0.0,
             f"levels must satisfy -60 <= min <= max <= 0 dB, got {self.level_min}..{self.level_max}"),
            (0.0 <= self.noise_fraction <= 1.0, f"--noise_fraction must be in 0..1, got {self.noise_fraction}"),
            (-10.0 <= self.snr_min <= self.snr_max <= 60.0,
             f"SNRs must satisfy -10 <= min <= max <= 60 dB, got {self.snr_min}..{self.snr_max}"),
            (0.0 <= self.bare_thousand_fraction <= 1.0,
             f"--bare_thousand_fraction must be in 0..1, got {self.bare_thousand_fraction}"),
            *((0.0 <= value <= 1.0, f"--{name} must be in 0..1, got {value}")
              for name, value in (("festival_fraction", self.festival_fraction),
                                  ("telephone_fraction", self.telephone_fraction),
                                  ("reverb_fraction", self.reverb_fraction))),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)


@dataclass(frozen=True)
class Utterance:
    """One planned file. ``noise`` is ``none`` or a colour; ``noise_offset`` (0..1) picks the noise excerpt."""

    filename: str
    number: int
    text: str
    variant: str
    gender: str
    rate: int
    pitch: int
    lead_s: float
    trail_s: float
    level_db: float
    noise: str
    snr_db: float | None
    noise_offset: float
    source: str = ESPEAK  # the voice: espeak-ng's variant, or Festival's voice changed by ``shift``
    shift: Shift | None = None
    channel: str = NO_CHANNEL  # NO_CHANNEL or a telephone codec of TELEPHONE_CODECS
    reverb: tuple[float, float] | None = None  # sox reverb's reverberance and room scale (0..100)

    @property
    def transcription(self) -> str:
        return str(self.number)

    @property
    def spk_id(self) -> str:
        if self.shift is not None:
            return f"festival-{self.shift.kind}-f{round(self.shift.f0_ratio, 1)}-v{round(self.shift.formant_ratio, 2)}"
        return f"{self.variant.replace(' ', '_')}-p{self.pitch // PITCH_BUCKET}"


def split_voices(split: str, holdout: tuple[str, ...]) -> dict[str, list[Voice]]:
    """The voices of ``split`` by gender: the held-out ones for test, all others for train."""
    held = [voice(name) for name in dict.fromkeys(holdout)]  # raises for a name that is not a usable voice
    held_names = {v.variant for v in held}
    pool = held if split == "test" else [v for v in VOICES if v.variant not in held_names]
    by_gender = {g: [v for v in pool if v.gender == g] for g in GENDERS}
    for gender, voices in by_gender.items():
        if not voices:
            raise ValueError(f"the {split} split has no {gender} voice: the held-out voices "
                             f"({', '.join(held_names) or 'none'}) must include " +
                             ("one of each gender" if split == "test" else f"not every {gender} voice"))
    return by_gender


def spoken_text(n: int, rng: random.Random, bare_thousand_fraction: float) -> str:
    """The words espeak-ng says: num2words' spelling, sometimes "тысяча" for "одна тысяча" as people say it."""
    text = num2words(n, lang="ru")
    if 1000 <= n < 2000 and rng.random() < bare_thousand_fraction:
        text = text.removeprefix("одна ")
    return text


def make_plan(options: PlanOptions) -> list[Utterance]:
    """The utterances of one split, in file order; genders alternate evenly before shuffling."""
    options.check()
    rng = random.Random(f"ru_numbers/{options.split}/{options.seed}")
    voices = split_voices(options.split, options.holdout_voices)
    numbers = NumberSampler(options.split, options.holdout_fraction).plan_numbers(options.count, rng)
    genders = [GENDERS[i % 2] for i in range(options.count)]
    rng.shuffle(genders)
    width = max(6, len(str(options.count)))
    plan = []
    for index, (number, gender) in enumerate(zip(numbers, genders, strict=True), 1):
        v = rng.choice(voices[gender])
        noisy = rng.random() < options.noise_fraction
        plan.append(Utterance(
            filename=f"{options.split}/{options.split}_{index:0{width}d}.wav",
            number=number,
            text=spoken_text(number, rng, options.bare_thousand_fraction),
            variant=v.variant,
            gender=gender,
            rate=rng.randint(options.rate_min, options.rate_max),
            pitch=rng.randint(0, 99) if options.pitch_free else rng.randint(v.pitch_min, v.pitch_max),
            lead_s=round(rng.uniform(0.0, options.silence_max), 3),
            trail_s=round(rng.uniform(0.0, options.silence_max), 3),
            level_db=round(rng.uniform(options.level_min, options.level_max), 1),
            noise=rng.choice(NOISE_COLOURS) if noisy else NO_NOISE,
            snr_db=round(rng.uniform(options.snr_min, options.snr_max), 1) if noisy else None,
            noise_offset=rng.random() if noisy else 0.0,
        ))
        if options.festival_fraction or options.telephone_fraction or options.reverb_fraction:
            plan[-1] = _natural_conditions(plan[-1], options, rng)
    return plan


def _natural_conditions(utt: Utterance, options: PlanOptions, rng: random.Random) -> Utterance:
    """``utt`` said by Festival (shifted to keep its gender), sent through a telephone, or in a room: drawn after
    the espeak-ng conditions, so the options that are off draw nothing."""
    festival = options.festival_fraction and rng.random() < options.festival_fraction
    telephone = options.telephone_fraction and rng.random() < options.telephone_fraction
    room = options.reverb_fraction and rng.random() < options.reverb_fraction
    return replace(
        utt,
        source=FESTIVAL if festival else ESPEAK,
        variant="festival" if festival else utt.variant,
        shift=draw_shift(options.split, utt.gender, rng) if festival else None,
        channel=rng.choice(TELEPHONE_CODECS) if telephone else NO_CHANNEL,
        reverb=(round(rng.uniform(10, 70), 1), round(rng.uniform(10, 80), 1)) if room else None)
