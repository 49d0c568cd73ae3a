"""Unit tables of the spoken-numbers recogniser: conversions both ways, and tables the kit's Vocab reads as written."""

from __future__ import annotations

import csv
import random
from collections import Counter
from pathlib import Path

import pytest
from num2words import num2words
from ru_support import assert_one_line_error, run_module

from label_loader import EOS_CHAR, PAD_CHAR, SOS_CHAR, LabelTableError, Vocab
from ru_numbers.normalize import MAX_NUMBER, number_to_words
from ru_numbers.units import DIGITS, WORDS, table, units_to_text, words_to_units

SAMPLE = [str(n) for n in random.Random(7).sample(range(1, MAX_NUMBER + 1), 500)] + ["1", "1000", "999999", "21000"]


@pytest.mark.parametrize("units", [DIGITS, WORDS], ids=["digits", "words"])
def test_transcription_round_trips_through_units_and_label_text(units) -> None:
    for t in SAMPLE:
        assert units.from_units(units.to_units(t)) == t
        text = units.to_text(t)
        assert len(text) == len(units.to_units(t))  # one label character per unit
        assert units.from_text(text) == t


def test_digit_units_are_the_digits_and_word_units_the_spelling() -> None:
    for t in SAMPLE:
        assert DIGITS.to_units(t) == list(t)
        assert WORDS.to_units(t) == num2words(int(t), lang="ru").split()


def test_word_characters_are_private_use_and_distinct() -> None:
    assert len(set(WORDS.chars)) == len(WORDS.chars) == len(WORDS.units)
    assert all(0xE000 <= ord(c) <= 0xF8FF for c in WORDS.chars)


@pytest.mark.parametrize("kind", ["digits", "words"])
def test_written_table_is_read_back_by_vocab_with_the_same_ids(tmp_path: Path, kind: str) -> None:
    units = table(kind)
    sequences = [units.to_units(t) for t in SAMPLE]
    written = units.write(tmp_path / f"{kind}.labels", sequences)
    read = Vocab.from_file(tmp_path / f"{kind}.labels")
    assert (read.chars, read.freqs) == (written.chars, written.freqs)
    assert read.chars[0] == PAD_CHAR and read.chars[-2:] == (SOS_CHAR, EOS_CHAR)
    assert len(read) == len(units.units) + 3
    expected = Counter(u for seq in sequences for u in seq)
    assert {u: read.freqs[read.char2index[c]] for u, c in zip(units.units, units.chars, strict=True)} == {
        u: expected[u] for u in units.units}
    units.check(read)
    for t in SAMPLE[:50]:
        ids = read.encode(units.to_text(t))
        assert units.from_text(read.decode([read.sos_id, *ids, read.eos_id, read.pad_id])) == t


def test_ids_do_not_depend_on_the_data(tmp_path: Path) -> None:
    a = WORDS.vocab([WORDS.to_units("5")])
    b = WORDS.vocab([WORDS.to_units(t) for t in SAMPLE])
    assert a.chars == b.chars and a.freqs != b.freqs


def test_word_table_file_names_each_word(tmp_path: Path) -> None:
    WORDS.write(tmp_path / "w.labels")
    text = (tmp_path / "w.labels").read_text(encoding="utf-8")
    for word in WORDS.units:
        assert f"# {word} (U+" in text


def test_a_table_of_the_other_kind_is_refused(tmp_path: Path) -> None:
    DIGITS.write(tmp_path / "d.labels")
    with pytest.raises(LabelTableError, match="not a words unit table"):
        WORDS.check(Vocab.from_file(tmp_path / "d.labels"))


def test_spoken_words_keep_a_bare_thousand() -> None:
    assert words_to_units("тысяча двести") == ["тысяча", "двести"]
    assert WORDS.from_units(words_to_units("тысяча двести")) == "1200"
    assert DIGITS.units_of_speech("тысяча двести") == list("1200")
    assert units_to_text(["двадцать", "одна", "тысяча"]) == "двадцать одна тысяча"


def test_forms_outside_the_table_and_bad_sequences_raise() -> None:
    with pytest.raises(ValueError, match="одну"):
        words_to_units("одну тысячу")  # grammatical, but the generator never says the accusative
    with pytest.raises(ValueError, match="сто"):
        units_to_text(["сто", "сто"])
    with pytest.raises(ValueError, match="not a unit"):
        DIGITS.from_units(["1", "x"])
    with pytest.raises(ValueError, match="U\\+0041"):
        WORDS.from_text("A")
    with pytest.raises(ValueError):
        DIGITS.from_text("0012")  # a leading zero is not a transcription
    with pytest.raises(ValueError):
        DIGITS.from_text("")


def test_recogniser_agreement_slips_still_decode_unless_strict() -> None:
    slip = WORDS.char_of_unit["две"] + WORDS.char_of_unit["тысяч"]
    assert WORDS.from_text(slip) == "2000"
    with pytest.raises(ValueError, match="тысяч"):
        WORDS.from_text(slip, strict=True)


def _manifest(path: Path, rows: list[tuple[str, str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["filename", "transcription", "gender", "spk_id", "text"])
        for i, (transcription, text) in enumerate(rows):
            writer.writerow([f"{i}.wav", transcription, "male", "m3-p2", text])
    return path


def test_units_command_counts_the_words_as_said(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path / "a.csv", [("1200", "тысяча двести"), ("1200", number_to_words(1200))])
    done = run_module("ru_numbers.units", "--kind", "words", "--out", str(tmp_path / "w.labels"), str(manifest))
    assert done.returncode == 0, done.stderr
    vocab = Vocab.from_file(tmp_path / "w.labels")
    freq = {u: vocab.freqs[vocab.char2index[c]] for u, c in zip(WORDS.units, WORDS.chars, strict=True)}
    assert (freq["тысяча"], freq["двести"], freq["одна"]) == (2, 2, 1)


def test_units_command_reports_a_bad_row_in_one_line(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path / "bad.csv", [("5", "пять"), ("12", "двадцать")])
    done = run_module("ru_numbers.units", "--kind", "digits", "--out", str(tmp_path / "d.labels"), str(manifest))
    assert_one_line_error(done, "python -m ru_numbers.units", "bad.csv:3", "двадцать")
    assert not (tmp_path / "d.labels").exists()
