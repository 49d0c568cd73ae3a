"""Korean particles that change with the word before them (을/를, 이/가, 은/는, 으로/로, ...).

A template that drops a name or a number into a sentence must pick the particle form that fits the last
syllable of that word: ``주문이`` but ``배송가`` would be wrong, ``배송이``/``택배가`` right. The rule depends only
on whether the last Hangul syllable ends in a consonant (batchim), and for 으로/로 on whether that consonant is ㄹ.
"""

from __future__ import annotations

_FIRST_SYLLABLE = 0xAC00
_LAST_SYLLABLE = 0xD7A3
_FINALS = 28  # final-consonant slots per syllable block; slot 0 means none
_RIEUL = 8  # slot of ㄹ

# (form after a final consonant, form after a vowel) of each particle that has two forms.
_PAIRS = (("을", "를"), ("이", "가"), ("은", "는"), ("과", "와"), ("으로", "로"), ("이에요", "예요"), ("아", "야"),
          ("이랑", "랑"), ("이나", "나"), ("이라고", "라고"), ("이지만", "지만"))
_PARTICLES: dict[str, tuple[str, str]] = {form: pair for pair in _PAIRS for form in pair}


def final_consonant(word: str) -> int:
    """Final-consonant slot (0 = none, 8 = ㄹ) of the last syllable of ``word``; ValueError if it is not Hangul."""
    if not word or not _FIRST_SYLLABLE <= ord(word[-1]) <= _LAST_SYLLABLE:
        raise ValueError(f"{word!r} does not end in a Hangul syllable")
    return (ord(word[-1]) - _FIRST_SYLLABLE) % _FINALS


def attach(word: str, particle: str) -> str:
    """``word`` followed by the right form of ``particle`` (either spelling may be given): ``("주문", "를")`` ->
    ``주문을``, ``("서울", "으로")`` -> ``서울로``, ``("민준", "야")`` -> ``민준아``."""
    if particle not in _PARTICLES:
        raise ValueError(f"no variable particle {particle!r}; known: {', '.join(sorted(_PARTICLES))}")
    after_consonant, after_vowel = _PARTICLES[particle]
    final = final_consonant(word)
    if after_consonant == "으로":
        return word + ("로" if final in (0, _RIEUL) else "으로")
    return word + (after_consonant if final else after_vowel)
