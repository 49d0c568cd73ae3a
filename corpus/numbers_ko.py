"""Spell numbers in Hangul the way a Korean speaker reads them aloud.

The corpus never holds digits: espeak-ng would read ``3500`` its own way and the transcript would no longer say
what the audio says. Korean has two number systems: Sino-Korean (일, 이, 삼, ... for money, dates, minutes,
phone numbers) and native Korean (하나, 둘, 셋, ... for hours, counts of things and people, ages), and which
one a digit string is read with depends on the counter word that follows it. This module holds both and the
choice between them.

Spacing follows the Korean spelling rule for numbers written in letters: a space after every 만 (10^4) group,
none inside a group (``삼만 오천``, ``이천십구``).
"""

from __future__ import annotations

import re

SINO_DIGITS = ("영", "일", "이", "삼", "사", "오", "육", "칠", "팔", "구")
PHONE_DIGITS = ("공",) + SINO_DIGITS[1:]  # 0 is read 공 in phone and account numbers
_SMALL_UNITS = ("천", "백", "십", "")  # place values inside one group of four digits
_LARGE_UNITS = ("", "만", "억", "조", "경")  # one per group of four digits, from the right
_NATIVE_ONES = ("", "하나", "둘", "셋", "넷", "다섯", "여섯", "일곱", "여덟", "아홉")
_NATIVE_TENS = ("", "열", "스물", "서른", "마흔", "쉰", "예순", "일흔", "여든", "아흔")
# The shortened forms used right before a counter: 한 개, 두 명, 세 시, 네 살, 스무 살.
_ATTRIBUTIVE = {"하나": "한", "둘": "두", "셋": "세", "넷": "네", "스물": "스무"}
# Counters read with native numbers (below 100); every other counter, and every larger number, is Sino-Korean.
NATIVE_COUNTERS = frozenset(
    ("시", "시간", "개", "명", "살", "마리", "잔", "권", "장", "병", "벌", "그릇", "사람", "가지", "달", "켤레",
     "송이", "군데", "곳", "번째")
)
# What may follow a counter inside one written word (``명이``, ``시간에``), so that ``3개월`` or ``3시행`` are not
# mistaken for the counters 개 and 시.
_PARTICLES = frozenset(
    ("", "이", "가", "은", "는", "을", "를", "에", "의", "도", "만", "씩", "까지", "부터", "에서", "에게", "으로", "로",
     "과", "와", "이나", "나", "쯤", "째", "이다", "입니다", "이에요", "예요")
)
# Two months lose a consonant when read: 육월 -> 유월, 십월 -> 시월.
_MONTHS = {6: "유월", 10: "시월"}


def sino(n: int) -> str:
    """Sino-Korean reading of a non-negative integer: ``2019`` -> ``이천십구``, ``15000`` -> ``만 오천``.

    A leading 일 is dropped before 십, 백, 천 and 만 (``십``, ``백``, ``만``), as speakers do, but kept before
    억 and 조 (``일억``).
    """
    if n < 0:
        raise ValueError(f"cannot spell a negative number: {n}")
    if n == 0:
        return SINO_DIGITS[0]
    groups = []
    index = 0
    while n:
        n, group = divmod(n, 10000)
        if index >= len(_LARGE_UNITS):
            raise ValueError("numbers of 10^20 and above have no reading here")
        if group:
            unit = _LARGE_UNITS[index]
            words = "" if group == 1 and unit == "만" else _below_10000(group)
            groups.append(words + unit)
        index += 1
    return " ".join(reversed(groups))


def _below_10000(n: int) -> str:
    """1..9999 without spaces; a digit 1 before 천/백/십 is silent (``천``, not ``일천``)."""
    out = []
    for digit, unit in zip(f"{n:04d}", _SMALL_UNITS, strict=True):
        d = int(digit)
        if d:
            out.append(unit if d == 1 and unit else SINO_DIGITS[d] + unit)
    return "".join(out)


def native(n: int, attributive: bool = False) -> str:
    """Native Korean reading of 1..99: ``21`` -> ``스물하나``; before a counter (``attributive``) ``스물한``."""
    if not 1 <= n <= 99:
        raise ValueError(f"native Korean numbers run from 1 to 99, got {n}")
    tens, ones = divmod(n, 10)
    if ones:
        last = _NATIVE_ONES[ones]
        return _NATIVE_TENS[tens] + (_ATTRIBUTIVE.get(last, last) if attributive else last)
    word = _NATIVE_TENS[tens]
    return _ATTRIBUTIVE.get(word, word) if attributive else word


def phone_digits(digits: str) -> str:
    """Digit by digit, 0 as 공: ``"010"`` -> ``공일공``."""
    if not digits.isdigit():
        raise ValueError(f"not a digit string: {digits!r}")
    return "".join(PHONE_DIGITS[int(d)] for d in digits)


def month(m: int) -> str:
    """Month name: ``3`` -> ``삼월``, ``6`` -> ``유월``, ``10`` -> ``시월``."""
    if not 1 <= m <= 12:
        raise ValueError(f"no month {m}")
    return _MONTHS.get(m, sino(m) + "월")


def counted(n: int, counter: str) -> str:
    """A number with its counter, read in the system the counter takes: ``(3, "개")`` -> ``세 개``,
    ``(3500, "원")`` -> ``삼천오백 원``, ``(120, "명")`` -> ``백이십 명``."""
    if counter in NATIVE_COUNTERS and 1 <= n <= 99:
        return f"{native(n, attributive=True)} {counter}"
    return f"{sino(n)} {counter}"


def clock(hour: int, minute: int = 0) -> str:
    """A time on a 12-hour clock: hours native, minutes Sino (``(2, 30)`` -> ``두 시 삼십 분``; 30 may be ``반``)."""
    if not 1 <= hour <= 12 or not 0 <= minute <= 59:
        raise ValueError(f"no clock time {hour}:{minute:02d}")
    return counted(hour, "시") + (f" {counted(minute, '분')}" if minute else "")


# A run of digits (thousands separated by commas allowed), an optional decimal part, then what follows it.
_NUMBER = re.compile(r"(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?")
_FOLLOWING_WORD = re.compile(r"\s?([가-힣]+)")


def spell_digits(text: str) -> str:
    """Replace every number written in digits with its Hangul reading, keeping the spacing around it.

    The reading system comes from the counter right after the number (``24시간`` -> ``스물네시간``,
    ``6월`` -> ``유월``, ``1948년`` -> ``천구백사십팔년``); a decimal part is read digit by digit after ``점``.
    """
    out = []
    pos = 0
    for match in _NUMBER.finditer(text):
        out.append(text[pos:match.start()])
        whole, fraction = match.group(1), match.group(2)
        value = int(whole.replace(",", ""))
        follow = _FOLLOWING_WORD.match(text, match.end())
        word = follow.group(1) if follow else ""
        ordinal = text[max(match.start() - 1, 0):match.start()] == "제"  # 제3장, 제1조: always Sino-Korean
        if fraction is not None:
            spoken = sino(value) + "점" + "".join(SINO_DIGITS[int(d)] for d in fraction)
        elif word.startswith("월") and 1 <= value <= 12 and value in _MONTHS:
            spoken = _MONTHS[value][:-1]  # the 월 itself follows in the text
        elif not ordinal and 1 <= value <= 99 and any(_counter_ends(word, c) for c in NATIVE_COUNTERS):
            spoken = native(value, attributive=True)
        else:
            spoken = sino(value)
        out.append(spoken)
        pos = match.end()
    out.append(text[pos:])
    return "".join(out)


def _counter_ends(word: str, counter: str) -> bool:
    """True when ``word`` is ``counter`` possibly followed by a particle (``명``, ``명이``, ``시간에``), not a longer
    noun that merely starts the same way (``시행``, ``대통령``, ``장관``)."""
    return word.startswith(counter) and word[len(counter):] in _PARTICLES
