"""The espeak-ng voice variants that speak the corpus, their gender, and which of them are kept out of training.

espeak-ng has one Korean voice; its variants (files under ``espeak-ng-data/voices/!v/``, listed by
``espeak-ng --voices=variant``) change formants, pitch range, breathiness and even the synthesis method (the
klatt ones), which is as close to different speakers as a formant synthesiser gets. Each variant below was run
on a Korean sentence and kept only if its output was speech of ordinary loudness and pitch; the novelty ones
(whisper, croak, robots, the Half-Life announcer, ``Demonic``, echo-laden ``RicishayMax``, the speed-changing
``fast``, ``Storm`` which carries an English language tag) are left out. The gender is the one the listing
gives (``--/M``, ``--/F``); a model cannot tell who a speaker is, but a plan that balances genders keeps it from
hearing mostly the more numerous male variants. ``speech_kit.synth.espeak.require_variants`` checks that the
planned variants are installed before anything is spoken.
"""

from __future__ import annotations

FEMALE_VARIANTS: tuple[str, ...] = (
    "f1", "f2", "f3", "f4", "f5", "Alicia", "Andrea", "Annie", "aunty", "belinda", "linda", "steph", "steph2",
    "steph3", "anika", "grandma",
)
MALE_VARIANTS: tuple[str, ...] = (
    "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "adam", "Alex", "Andy", "antonio", "benjamin", "boris", "caleb",
    "david", "Denis", "Diogo", "ed", "edward", "edward2", "Gene", "Gene2", "grandpa", "gustave", "Henrique", "Hugo",
    "iven", "iven2", "iven3", "iven4", "Jacky", "john", "klatt", "klatt2", "klatt3", "klatt4", "Lee", "marcelo",
    "Marco", "Mario", "max", "Michael", "michel", "miguel", "Mike", "Nguyen", "norbert", "pablo", "paul", "pedro",
    "quincy", "rob", "robert", "sandro", "travis", "victor",
)
GENDERS = ("female", "male")
VARIANTS: dict[str, str] = {**{v: "female" for v in FEMALE_VARIANTS}, **{v: "male" for v in MALE_VARIANTS}}

# Never heard in training, so the test split measures how a model copes with new speakers: two of each gender.
TEST_ONLY_VARIANTS: tuple[str, ...] = ("m7", "travis", "f5", "belinda")
TRAIN_VARIANTS: tuple[str, ...] = tuple(v for v in VARIANTS if v not in TEST_ONLY_VARIANTS)


def variants_of(gender: str, pool: tuple[str, ...]) -> tuple[str, ...]:
    """The variants of ``pool`` whose gender is ``gender``."""
    return tuple(v for v in pool if VARIANTS[v] == gender)

