"""Russian cardinal numbers 1..999 999 between words and integers: "двадцать одна тысяча пять" <-> 21005.

The recogniser may hear words and the task scores digits, so both directions are needed and must agree exactly:
``words_to_number(number_to_words(n)) == n`` for every n in range. Reading is strict by default: a word out of
place ("сто двести"), a second "тысяча", or a form that does not agree ("два тысячи", "пять тысяча") is an error
that names the word and its position, because silently guessing would hide a recogniser's mistakes. With
``strict=False`` only agreement is relaxed (the value of "две тысяч" is still unambiguous), never word order.
"""

from __future__ import annotations

from ru_numbers.lexicon import BY_TEXT, Form, Kind, Word, group_word, thousand_word

MIN_NUMBER = 1
MAX_NUMBER = 999_999

# Within a three-digit group words come in falling order: hundreds, then tens or a teen, then units.
_RANK = {Kind.HUNDREDS: 2, Kind.TENS: 1, Kind.TEENS: 1, Kind.UNITS: 0}
_NEXT_RANK = {Kind.HUNDREDS: 1, Kind.TENS: 0, Kind.TEENS: -1, Kind.UNITS: -1}


class NumberWordsError(ValueError):
    """Text that is not a well-formed Russian number; ``position`` is the 1-based index of ``word`` (0: none)."""

    def __init__(self, message: str, word: str = "", position: int = 0):
        super().__init__(message)
        self.word = word
        self.position = position


def check_range(n: int) -> int:
    """``n`` itself when it is an int in 1..999 999; a ValueError that says why otherwise."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise ValueError(f"expected an int in {MIN_NUMBER}..{MAX_NUMBER}, got {n!r} ({type(n).__name__})")
    if not MIN_NUMBER <= n <= MAX_NUMBER:
        raise ValueError(f"{n} is outside the supported range {MIN_NUMBER}..{MAX_NUMBER}")
    return n


def parse_transcription(transcription: str) -> int:
    """The number a transcription (plain decimal digits, no sign or leading zero) stands for, range-checked."""
    text = transcription.strip()
    if not (text.isascii() and text.isdigit()) or text.startswith("0"):
        raise ValueError(f"transcription {transcription!r} is not a number written in digits 1..{MAX_NUMBER}")
    return check_range(int(text))


def _group_words(value: int, feminine: bool) -> list[str]:
    """The words of one group 1..999; ``feminine`` when the group counts thousands (одна, две)."""
    words = []
    hundreds, rest = divmod(value, 100)
    if hundreds:
        words.append(group_word(Kind.HUNDREDS, hundreds * 100))
    if 10 <= rest <= 19:
        words.append(group_word(Kind.TEENS, rest))
    else:
        tens, units = divmod(rest, 10)
        if tens:
            words.append(group_word(Kind.TENS, tens * 10))
        if units:
            words.append(group_word(Kind.UNITS, units, feminine=feminine))
    return words


def number_to_words(n: int) -> str:
    """The nominative spelling of ``n``, as a speaker counts: 1000 is "одна тысяча", 2000 "две тысячи"."""
    thousands, rest = divmod(check_range(n), 1000)
    words = []
    if thousands:
        words += _group_words(thousands, feminine=True) + [thousand_word(thousands)]
    if rest:
        words += _group_words(rest, feminine=False)
    return " ".join(words)


def split_words(text: str) -> list[str]:
    """The words of ``text``, lower-cased; every one must be a number word."""
    tokens = text.lower().split()
    if not tokens:
        raise NumberWordsError(f"no number words in {text!r}")
    for position, token in enumerate(tokens, 1):
        if token not in BY_TEXT:
            raise NumberWordsError(f"word {position} {token!r} of {text!r} is not a Russian number word",
                                   token, position)
    return tokens


def _describe(word: Word) -> str:
    return {Kind.HUNDREDS: "hundreds", Kind.TENS: "tens", Kind.TEENS: "10..19", Kind.UNITS: "units",
            Kind.THOUSAND: "thousand"}[word.kind]


def _check_thousand(group: list[tuple[int, Word]], thousand: Word, position: int, text: str) -> None:
    """Strict agreement of a thousands multiplier with the form of "тысяча" that follows it."""
    multiplier = sum(w.value for _, w in group)
    accusative = thousand.form is Form.ACCUSATIVE
    expected = thousand_word(multiplier)
    if accusative and expected == "тысяча":
        expected = "тысячу"
    if thousand.text != expected:
        raise NumberWordsError(f"word {position} {thousand.text!r} of {text!r} does not agree with the "
                               f"{multiplier} before it; expected {expected!r}", thousand.text, position)
    last_position, last = group[-1]
    if last.kind is Kind.UNITS and last.value <= 2:
        wanted = Form.ACCUSATIVE if accusative and last.value == 1 else Form.FEMININE
        if last.form is not wanted:
            right = group_word(Kind.UNITS, last.value, feminine=True) if wanted is Form.FEMININE else "одну"
            raise NumberWordsError(f"word {last_position} {last.text!r} of {text!r} does not agree with "
                                   f"{thousand.text!r}; expected {right!r}", last.text, last_position)


def _check_bare_thousand(thousand: Word, text: str) -> None:
    if thousand.text not in ("тысяча", "тысячу"):
        raise NumberWordsError(f"word 1 {thousand.text!r} of {text!r} needs a number before it; "
                               f"a thousand alone is 'тысяча'", thousand.text, 1)


def _check_last_units(group: list[tuple[int, Word]], text: str) -> None:
    """A counted number ends in один/два; одна/одну/две belong before тысяча."""
    position, last = group[-1]
    if last.kind is Kind.UNITS and last.form in (Form.FEMININE, Form.ACCUSATIVE):
        right = group_word(Kind.UNITS, last.value)
        raise NumberWordsError(f"word {position} {last.text!r} of {text!r} is the form used before 'тысяча'; "
                               f"a number ends in {right!r}", last.text, position)


def words_to_number(text: str, strict: bool = True) -> int:
    """The value of a spoken number such as "сто двадцать одна тысяча триста" (121300).

    Accepts a bare "тысяча" for 1000, the feminine одна/две before тысяча and the accusative "одну тысячу".
    Raises ``NumberWordsError`` (a ValueError) naming the first offending word and its position.
    """
    tokens = split_words(text)
    thousands = 0
    seen_thousand = False
    group: list[tuple[int, Word]] = []
    allowed_rank = 2
    for position, token in enumerate(tokens, 1):
        word = BY_TEXT[token]
        if word.kind is Kind.THOUSAND:
            if seen_thousand:
                raise NumberWordsError(f"word {position} {token!r} of {text!r} is a second 'тысяча'; "
                                       f"the range ends at {MAX_NUMBER}", token, position)
            if group:
                if strict:
                    _check_thousand(group, word, position, text)
                thousands = sum(w.value for _, w in group)
            else:
                if strict:
                    _check_bare_thousand(word, text)
                thousands = 1
            seen_thousand = True
            group, allowed_rank = [], 2
            continue
        if _RANK[word.kind] > allowed_rank:
            previous = group[-1][1]
            raise NumberWordsError(f"word {position} {token!r} ({_describe(word)}) of {text!r} cannot follow "
                                   f"{previous.text!r} ({_describe(previous)})", token, position)
        group.append((position, word))
        allowed_rank = _NEXT_RANK[word.kind]
    if group and strict:
        _check_last_units(group, text)
    return thousands * 1000 + sum(w.value for _, w in group)
