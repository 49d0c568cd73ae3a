from collections import Counter

import pytest
from format_support import ROOT

from label_loader import EOS_CHAR, PAD_CHAR, SOS_CHAR, LabelTableError, Vocab, load_label


def test_seed_api_reads_the_shipped_table():
    char2index, index2char = load_label(ROOT / "hackathon.labels")
    assert index2char[0] == PAD_CHAR
    assert char2index[SOS_CHAR] == len(index2char) - 2 and char2index[EOS_CHAR] == len(index2char) - 1
    assert " " in char2index
    assert all(index2char[i] == c for c, i in char2index.items())


def test_korean_round_trip_stops_at_eos(vocab):
    text = "네 괜찮습니다."
    ids = vocab.encode(text)
    assert vocab.decode(ids) == text
    assert vocab.decode([vocab.sos_id, *ids, vocab.eos_id, *vocab.encode("안녕")]) == text
    assert vocab.decode([*ids, vocab.pad_id, vocab.pad_id]) == text


def test_unknown_character_is_named(vocab):
    with pytest.raises(LabelTableError, match="'Q'"):
        vocab.encode("네Q")


def test_file_format_comments_blank_space_and_errors(tmp_path):
    table = tmp_path / "t.labels"
    table.write_text("#id\tchar\tfreq\n0\t_\t0\n1\t\t9\n2\t가\t5\n3\t<s>\t0\n4\t</s>\t0\n", encoding="utf-8")
    char2index, index2char = load_label(table)
    assert index2char[1] == " " and char2index["가"] == 2
    table.write_text("0\t_\t0\n1\t가\n", encoding="utf-8")
    with pytest.raises(LabelTableError, match=r"t\.labels:2"):
        Vocab.from_file(table)
    table.write_text("0\t_\t0\n1\t가\t1\n", encoding="utf-8")
    with pytest.raises(LabelTableError, match="<s>"):
        Vocab.from_file(table)


def test_from_counts_orders_by_frequency_and_round_trips(tmp_path):
    vocab = Vocab.from_counts(Counter("가가가나나다"))
    assert vocab.chars == ("_", "가", "나", "다", "<s>", "</s>")
    vocab.write(tmp_path / "x.labels")
    again = Vocab.from_file(tmp_path / "x.labels")
    assert again.chars == vocab.chars and again.freqs == (0, 3, 2, 1, 0, 0)
    assert Vocab.from_rows(vocab.to_rows()).chars == vocab.chars
