"""The Russian number words from one to nine hundred and ninety-nine thousand, with what each one contributes.

One table serves both directions: the normaliser reads words through it and spells numbers from it, and the unit
tables of the recogniser list its canonical forms. Keeping the words in a single place means a word the speller
can write is always a word the reader understands.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Kind(Enum):
    """Where a word may stand inside a three-digit group: hundreds, tens, a teen (tens and units at once), units."""

    HUNDREDS = "hundreds"
    TENS = "tens"
    TEENS = "teens"
    UNITS = "units"
    THOUSAND = "thousand"


class Form(Enum):
    """The grammatical form of a word whose shape depends on the noun it counts.

    ``один``/``два`` count masculine nouns and a bare number; ``одна``/``две`` count the feminine ``тысяча``;
    ``одну`` and ``тысячу`` are the accusative a speaker uses after a verb ("получил одну тысячу").
    """

    PLAIN = "plain"
    MASCULINE = "masculine"
    FEMININE = "feminine"
    ACCUSATIVE = "accusative"


@dataclass(frozen=True)
class Word:
    text: str
    kind: Kind
    value: int
    form: Form = Form.PLAIN
    canonical: bool = True  # written by number_to_words; the accusative forms are only read


_UNITS = ("один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять")
_TEENS = ("десять", "одиннадцать", "двенадцать", "тринадцать", "четырнадцать", "пятнадцать", "шестнадцать",
          "семнадцать", "восемнадцать", "девятнадцать")
_TENS = ("двадцать", "тридцать", "сорок", "пятьдесят", "шестьдесят", "семьдесят", "восемьдесят", "девяносто")
_HUNDREDS = ("сто", "двести", "триста", "четыреста", "пятьсот", "шестьсот", "семьсот", "восемьсот", "девятьсот")


def _build() -> tuple[Word, ...]:
    words = [Word(t, Kind.UNITS, v, Form.MASCULINE if v <= 2 else Form.PLAIN) for v, t in enumerate(_UNITS, 1)]
    words += [Word("одна", Kind.UNITS, 1, Form.FEMININE), Word("две", Kind.UNITS, 2, Form.FEMININE),
              Word("одну", Kind.UNITS, 1, Form.ACCUSATIVE, canonical=False)]
    words += [Word(t, Kind.TEENS, v) for v, t in enumerate(_TEENS, 10)]
    words += [Word(t, Kind.TENS, v) for v, t in zip(range(20, 100, 10), _TENS, strict=True)]
    words += [Word(t, Kind.HUNDREDS, v) for v, t in zip(range(100, 1000, 100), _HUNDREDS, strict=True)]
    # The form of "thousand" follows the last word before it: одна тысяча, две/три/четыре тысячи, пять тысяч.
    words += [Word("тысяча", Kind.THOUSAND, 1000, Form.PLAIN), Word("тысячи", Kind.THOUSAND, 1000, Form.PLAIN),
              Word("тысяч", Kind.THOUSAND, 1000, Form.PLAIN),
              Word("тысячу", Kind.THOUSAND, 1000, Form.ACCUSATIVE, canonical=False)]
    return tuple(words)


WORDS: tuple[Word, ...] = _build()
BY_TEXT: dict[str, Word] = {w.text: w for w in WORDS}
CANONICAL_WORDS: tuple[str, ...] = tuple(w.text for w in WORDS if w.canonical)


def group_word(kind: Kind, value: int, feminine: bool = False) -> str:
    """The canonical word for ``value`` at ``kind``; ``feminine`` picks одна/две for the units before тысяча."""
    for w in WORDS:
        if w.kind is kind and w.value == value and w.canonical:
            if w.form in (Form.MASCULINE, Form.FEMININE) and (w.form is Form.FEMININE) != feminine:
                continue
            return w.text
    raise KeyError(f"no {kind.value} word for {value}")


def thousand_word(multiplier: int) -> str:
    """тысяча / тысячи / тысяч: the nominative form that agrees with a thousands multiplier 1..999."""
    last_two = multiplier % 100
    if 11 <= last_two <= 14:
        return "тысяч"
    last = multiplier % 10
    if last == 1:
        return "тысяча"
    if 2 <= last <= 4:
        return "тысячи"
    return "тысяч"
