"""The normaliser against num2words (an independent speller) and against Russian grammar written out by hand."""

from __future__ import annotations

import random

import pytest
from num2words import num2words

from ru_numbers.lexicon import CANONICAL_WORDS, WORDS, Form, Kind, thousand_word
from ru_numbers.normalize import (
    MAX_NUMBER,
    MIN_NUMBER,
    NumberWordsError,
    check_range,
    number_to_words,
    parse_transcription,
    split_words,
    words_to_number,
)
from ru_numbers.sampling import BOUNDARY_NUMBERS


def oracle(n: int) -> str:
    return num2words(n, lang="ru")


@pytest.mark.parametrize("n", sorted(set(BOUNDARY_NUMBERS) | {MIN_NUMBER, MAX_NUMBER, 1002, 1011, 2001, 4000,
                                                             11000, 12000, 14000, 111000, 112000, 999001}))
def test_boundaries_round_trip_and_match_num2words(n: int) -> None:
    assert number_to_words(n) == oracle(n)
    assert words_to_number(oracle(n)) == n


def test_seeded_sample_matches_num2words_both_ways() -> None:
    rng = random.Random(20190901)
    sample = rng.sample(range(MIN_NUMBER, MAX_NUMBER + 1), 2500)
    sample += [rng.randint(1, 999) * 1000 for _ in range(300)]  # whole thousands exercise тысяча/тысячи/тысяч
    sample += [rng.randint(1, 99) for _ in range(200)]
    wrong_spelling = [n for n in sample if number_to_words(n) != oracle(n)]
    wrong_reading = [n for n in sample if words_to_number(oracle(n)) != n]
    assert not wrong_spelling, [(n, number_to_words(n), oracle(n)) for n in wrong_spelling[:5]]
    assert not wrong_reading, wrong_reading[:5]


def test_every_number_below_two_thousand_round_trips() -> None:
    """All of 1..1999 covers each unit, teen, ten and hundred word alone and after одна тысяча."""
    for n in range(1, 2000):
        assert words_to_number(number_to_words(n)) == n


def test_num2words_agrees_on_the_gender_of_thousands() -> None:
    """num2words writes feminine одна/две before тысяча, as we do; 1000 is "одна тысяча", never bare."""
    assert oracle(1000).split() == ["одна", "тысяча"]
    assert oracle(2000).split() == ["две", "тысячи"]
    assert oracle(21000).split() == ["двадцать", "одна", "тысяча"]
    assert oracle(22002).split() == ["двадцать", "две", "тысячи", "два"]


def test_canonical_words_are_exactly_those_the_speller_writes() -> None:
    written = set()
    for hundreds in range(0, 1000, 100):
        for rest in range(1, 100):
            written.update(number_to_words(hundreds + rest).split())
            written.update(number_to_words((hundreds + rest) * 1000).split())
    assert written == set(CANONICAL_WORDS)
    assert len(CANONICAL_WORDS) == 41


@pytest.mark.parametrize("text, value", [
    ("один", 1), ("два", 2), ("одна тысяча", 1000), ("тысяча", 1000), ("одну тысячу", 1000), ("тысячу", 1000),
    ("две тысячи", 2000), ("три тысячи", 3000), ("четыре тысячи", 4000), ("пять тысяч", 5000),
    ("двадцать одна тысяча", 21000), ("двадцать одну тысячу", 21000), ("двадцать две тысячи два", 22002),
    ("одиннадцать тысяч", 11000), ("двенадцать тысяч", 12000), ("сто тысяч", 100000),
    ("сто одна тысяча один", 101001), ("тысяча двести", 1200), ("тысячу один", 1001),
    ("десять", 10), ("одиннадцать", 11), ("девятнадцать", 19), ("двадцать", 20), ("девяносто девять", 99),
    ("сто", 100), ("двести", 200), ("триста", 300), ("четыреста", 400), ("пятьсот", 500), ("шестьсот", 600),
    ("семьсот", 700), ("восемьсот", 800), ("девятьсот", 900), ("сорок", 40),
    ("девятьсот девяносто девять тысяч девятьсот девяносто девять", 999999),
])
def test_word_forms(text: str, value: int) -> None:
    assert words_to_number(text) == value
    assert words_to_number(text, strict=False) == value


def test_every_lexicon_word_is_read_with_its_value() -> None:
    for word in WORDS:
        if word.kind is Kind.THOUSAND:  # after a multiplier it agrees with: одна/одну, две, пять
            m = 1 if word.form is Form.ACCUSATIVE else next(m for m in (1, 2, 5) if thousand_word(m) == word.text)
            before = "одну" if word.form is Form.ACCUSATIVE else number_to_words(m * 1000).split()[0]
            assert words_to_number(f"{before} {word.text}") == m * 1000
        elif word.form is Form.ACCUSATIVE:  # одну: only before тысячу
            assert words_to_number(f"{word.text} тысячу") == word.value * 1000
        elif word.form is Form.FEMININE:  # одна, две: only before тысяча/тысячи
            assert words_to_number(f"{word.text} {thousand_word(word.value)}") == word.value * 1000
        else:
            assert words_to_number(word.text) == word.value


def test_case_and_spacing_are_ignored() -> None:
    assert words_to_number("  Сто   ДВАДЦАТЬ\tпять ") == 125
    assert split_words("ТЫСЯЧА") == ["тысяча"]


@pytest.mark.parametrize("text, word, position", [
    ("сто сто", "сто", 2),
    ("двадцать сто", "сто", 2),
    ("пять двадцать", "двадцать", 2),
    ("двадцать десять", "десять", 2),
    ("одиннадцать один", "один", 2),
    ("один два", "два", 2),
    ("тысяча тысяча", "тысяча", 2),
    ("пять тысяч две тысячи", "тысячи", 4),
    ("сто пять миллионов", "миллионов", 3),
    ("ноль", "ноль", 1),
    ("двадцать-один", "двадцать-один", 1),
    ("12", "12", 1),
])
def test_ill_formed_input_names_word_and_position(text: str, word: str, position: int) -> None:
    for strict in (True, False):
        with pytest.raises(NumberWordsError) as caught:
            words_to_number(text, strict=strict)
        assert (caught.value.word, caught.value.position) == (word, position)
        assert repr(word) in str(caught.value) and f"word {position}" in str(caught.value)


@pytest.mark.parametrize("text, word, position, lenient", [
    ("два тысяча", "тысяча", 2, 2000),
    ("пять тысяча", "тысяча", 2, 5000),
    ("одиннадцать тысяча", "тысяча", 2, 11000),
    ("один тысяча", "один", 1, 1000),
    ("два тысячи", "два", 1, 2000),
    ("одну тысяча", "одну", 1, 1000),
    ("одна", "одна", 1, 1),
    ("двадцать две", "две", 2, 22),
    ("тысячи", "тысячи", 1, 1000),
    ("тысяч пять", "тысяч", 1, 1005),
])
def test_agreement_is_checked_only_when_strict(text: str, word: str, position: int, lenient: int) -> None:
    with pytest.raises(NumberWordsError) as caught:
        words_to_number(text)
    assert (caught.value.word, caught.value.position) == (word, position)
    assert words_to_number(text, strict=False) == lenient


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_text_is_an_error(text: str) -> None:
    with pytest.raises(ValueError, match="no number words"):
        words_to_number(text)


@pytest.mark.parametrize("bad", [0, -5, MAX_NUMBER + 1, 10 ** 7, True, 1.0, "5"])
def test_number_to_words_rejects_out_of_range_and_non_int(bad: object) -> None:
    with pytest.raises(ValueError):
        number_to_words(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        check_range(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["", "0", "007", "1000000", "-3", "12a", "1 000", "١٢"])
def test_parse_transcription_rejects_what_is_not_a_number_in_digits(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_transcription(bad)


def test_parse_transcription_reads_digits() -> None:
    assert [parse_transcription(t) for t in ("1", "999999", " 42\n")] == [1, 999999, 42]
