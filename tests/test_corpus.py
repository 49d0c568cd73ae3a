"""The synthetic corpus's text side: the number speller, particles, clean-up, the sentence sources, the label
table builder and the seeded plan. No audio is made here (see test_corpus_synthesis.py)."""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
from collections import Counter

import pytest
from support import ROOT

from corpus import build_labels
from corpus.hangul import attach
from corpus.konlpy_text import paragraphs, read_konlpy_corpus, sentences_of
from corpus.korean_text import clean, is_allowed, read_sentences
from corpus.numbers_ko import clock, counted, month, native, phone_digits, sino, spell_digits
from corpus.plan import NO_NOISE, PlanSettings, plan_dataset
from corpus.templates_ko import PER_TEMPLATE, TEMPLATES, fill, templated_sentences
from corpus.text_sources import HANDWRITTEN_FILES, SOURCES, Sentence, count_by_source, load_corpus
from corpus.voices import TEST_ONLY_VARIANTS, TRAIN_VARIANTS, VARIANTS
from label_loader import EOS_CHAR, PAD_CHAR, SOS_CHAR, Vocab

# An independent reader of Hangul numerals, so the speller is checked against values derived another way.
DIGITS = dict(zip("일이삼사오육칠팔구", range(1, 10), strict=True))
SMALL = {"십": 10, "백": 100, "천": 1000}
LARGE = {"만": 10 ** 4, "억": 10 ** 8, "조": 10 ** 12}
NATIVE_TENS = dict(zip("열 스물 서른 마흔 쉰 예순 일흔 여든 아흔".split(), range(10, 100, 10), strict=True))
NATIVE_ONES = dict(zip("하나 둘 셋 넷 다섯 여섯 일곱 여덟 아홉".split(), range(1, 10), strict=True))


def read_sino(text: str) -> int:
    """``이천십구`` -> 2019: digits multiply the unit after them; a unit alone counts once."""
    if text == "영":
        return 0
    total, group, digit = 0, 0, 0
    for char in text.replace(" ", ""):
        if char in DIGITS:
            digit = DIGITS[char]
        elif char in SMALL:
            group += (digit or 1) * SMALL[char]
            digit = 0
        else:
            total += ((group + digit) or 1) * LARGE[char]
            group = digit = 0
    return total + group + digit


def read_native(text: str) -> int:
    tens = next((v for k, v in NATIVE_TENS.items() if text.startswith(k)), 0)
    rest = text[len(next((k for k in NATIVE_TENS if text.startswith(k)), "")):]
    return tens + NATIVE_ONES.get(rest, 0)


def test_sino_korean_numbers_read_back_to_their_value():
    examples = {0: "영", 10: "십", 11: "십일", 100: "백", 110: "백십", 2019: "이천십구", 10000: "만",
                15000: "만 오천", 35000: "삼만 오천", 100000000: "일억",
                123456789: "일억 이천삼백사십오만 육천칠백팔십구"}
    for value, words in examples.items():
        assert sino(value) == words
    for value in [*range(0, 20000, 7), *range(10 ** 4, 10 ** 9, 98765431), 10 ** 12 + 1]:
        assert read_sino(sino(value)) == value
    with pytest.raises(ValueError, match="negative"):
        sino(-1)


def test_native_numbers_and_counters():
    for value in range(1, 100):
        assert read_native(native(value)) == value
    assert [native(n, attributive=True) for n in (1, 2, 3, 4, 20, 21, 24, 30)] == \
        ["한", "두", "세", "네", "스무", "스물한", "스물네", "서른"]
    assert counted(3, "개") == "세 개" and counted(20, "살") == "스무 살" and counted(120, "명") == "백이십 명"
    assert counted(3500, "원") == "삼천오백 원" and counted(3, "층") == "삼 층"
    assert (month(3), month(6), month(10)) == ("삼월", "유월", "시월")
    assert clock(2, 30) == "두 시 삼십 분" and clock(12) == "열두 시"
    assert phone_digits("01012345678") == "공일공일이삼사오육칠팔"
    with pytest.raises(ValueError):
        native(100)


def test_digits_in_running_text_are_read_by_their_counter():
    assert spell_digits("1948년 7월 12일에") == "천구백사십팔년 칠월 십이일에"
    assert spell_digits("24시간 3개월 3명이 제3장 6월 10월") == "스물네시간 삼개월 세명이 제삼장 유월 시월"
    assert spell_digits("1,500원의 2.5배") == "천오백원의 이점오배"
    assert spell_digits("숫자 없음") == "숫자 없음"


def test_particles_follow_the_last_syllable():
    assert [attach(w, "를") for w in ("주문", "택배")] == ["주문을", "택배를"]
    assert [attach(w, "가") for w in ("배송", "기사")] == ["배송이", "기사가"]
    assert [attach(w, "로") for w in ("서울", "부산", "제주")] == ["서울로", "부산으로", "제주로"]
    assert [attach(w, "이에요") for w in ("세 시", "삼천 원")] == ["세 시예요", "삼천 원이에요"]
    assert [attach(w, "아") for w in ("민준", "지우")] == ["민준아", "지우야"]
    with pytest.raises(ValueError):
        attach("abc", "를")


def test_clean_keeps_hangul_and_final_marks_only(tmp_path):
    assert clean("  3500원 ,  감사합니다 .") == "삼천오백원 감사합니다."
    assert clean("네, 알겠습니다!") == "네 알겠습니다!"
    for bad in ("영수증 abc", "大韓民國", "정말요?!", "가·나", "무엇? 이것", "_밑줄", ""):
        assert clean(bad) is None, bad
    assert is_allowed("정말이에요?") and not is_allowed("정말이에요 ?") and not is_allowed("두  칸")
    extra = tmp_path / "extra.txt"
    extra.write_text("\ufeff안녕 하세요\n\n3500원\n영수증 abc\n아주 아주 아주 긴 문장입니다\n", encoding="utf-8")
    assert read_sentences(extra) == ["안녕 하세요", "삼천오백원", "아주 아주 아주 긴 문장입니다"]
    assert read_sentences(extra, min_chars=6, max_chars=6) == ["안녕 하세요"]


def test_sentence_pool_has_5000_distinct_clean_sentences_from_every_source():
    pool = load_corpus()
    texts = [s.text for s in pool]
    assert len(texts) == len(set(texts)) >= 5000
    assert all(is_allowed(t) and 4 <= len(t) <= 40 for t in texts)
    counts = count_by_source(pool)
    assert set(counts) == set(SOURCES) and min(counts.values()) >= 10
    assert counts["handwritten"] >= 700 and counts["templates"] <= 0.9 * len(pool)
    assert any(t.endswith("?") for t in texts) and any(t.endswith(".") for t in texts)
    assert load_corpus() == pool  # the order is part of the contract: the plan shuffles it with its seed
    short = load_corpus(["handwritten"], max_chars=10)
    assert short and all(len(s.text) <= 10 and s.source == "handwritten" for s in short)
    with pytest.raises(ValueError, match="unknown text source"):
        load_corpus(["wikipedia"])


def test_handwritten_files_are_already_clean():
    for path in HANDWRITTEN_FILES:
        lines = path.read_text(encoding="utf-8").splitlines()
        assert len(set(lines)) == len(lines) >= 100, path
        assert read_sentences(path) == [" ".join(line.replace(",", " ").split()) for line in lines], path


def test_konlpy_text_is_split_into_whole_sentences():
    kolaw = read_konlpy_corpus("kolaw")
    assert "대한민국은 민주공화국이다." in kolaw  # article 1 of the constitution, once its markers are stripped
    assert len(read_konlpy_corpus("kobill")) >= 10
    for sentence in kolaw:
        assert is_allowed(sentence) and sentence[-1] in ".?!" and " " in sentence
    typeset = ("제안이유\n\n  초등학교 저학년의 경우에도 부모의 따뜻한 사랑과 보살핌이 필요\n\n"
               "한 나이이나 육아휴직을 할 수 있는 자녀의 나이는 만 6세 이하로 되어 있어 \n\n"
               "문제임. 따라서 개정함.\n제1조 ① 모든 국민은 법 앞에 평등하다.\n")
    joined = "  초등학교 저학년의 경우에도 부모의 따뜻한 사랑과 보살핌이 필요한 나이이나"  # a word cut by wrapping
    assert paragraphs(typeset)[1].startswith(joined)
    assert sentences_of(typeset)[-2:] == ["따라서 개정함.", "모든 국민은 법 앞에 평등하다."]
    assert "만 육세 이하로 되어 있어 문제임." in sentences_of(typeset)[0]


def test_missing_konlpy_is_one_line_with_the_install_command():
    # -S leaves site-packages (and so konlpy) off the path: a real interpreter without the package.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run([sys.executable, "-S", "-m", "corpus.text_sources", "--sources", "kolaw"], cwd=ROOT,
                            env=env, capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "python -m corpus.text_sources: error: the kolaw sentences come from the konlpy package, which is not "
        "installed; install it with: pip install konlpy==0.6.0"]


def test_templates_fill_every_slot_with_fitting_particles():
    sentences = templated_sentences()
    assert sentences == templated_sentences() and len(sentences) == len(set(sentences))
    assert len(TEMPLATES) * 40 < len(sentences) <= len(TEMPLATES) * PER_TEMPLATE
    assert all(is_allowed(s) and "{" not in s for s in sentences)
    rng = random.Random(1)
    for template in TEMPLATES:
        assert is_allowed(fill(template, rng)), template
    for _ in range(50):
        origin, target = fill("{station}에서 {station2}까지", rng).split("에서 ")
        assert origin != target.removesuffix("까지")


def test_label_table_is_ordered_by_frequency_and_round_trips(tmp_path, capsys):
    text = tmp_path / "text.txt"
    text.write_text("가나 가\n다가 나\n\n", encoding="utf-8")
    out = tmp_path / "t.labels"
    assert build_labels.main(["--out", str(out), str(text)]) == 0
    vocab = Vocab.from_file(out)
    assert vocab.chars == (PAD_CHAR, "가", " ", "나", "다", SOS_CHAR, EOS_CHAR)  # ties by code point: " " < "나"
    assert vocab.freqs == (0, 3, 2, 2, 1, 0, 0)
    assert out.read_text(encoding="utf-8").startswith("#id\tchar\tfreq\n0\t_\t0\n1\t가\t3\n2\t \t2\n")

    csv = tmp_path / "test_label"
    csv.write_text("a,네, 좋아요\nb,좋아\n", encoding="utf-8")
    assert build_labels.main(["--csv", "--out", str(out), str(csv)]) == 0
    assert Vocab.from_file(out).chars == (PAD_CHAR, "아", "좋", " ", ",", "네", "요", SOS_CHAR, EOS_CHAR)
    capsys.readouterr()
    assert build_labels.main(["--csv", "--out", str(out), str(text)]) == 2
    assert re.fullmatch(r"python -m corpus\.build_labels: error: \S*text\.txt:1: expected '<key>,<text>'.*\n",
                        capsys.readouterr().err)


def test_corpus_label_table_covers_every_pool_sentence(tmp_path):
    out = tmp_path / "corpus.labels"
    assert build_labels.main(["--corpus", "--out", str(out)]) == 0
    vocab = Vocab.from_file(out)
    for sentence in load_corpus():
        assert vocab.decode(vocab.encode(sentence.text)) == sentence.text


def pool(n: int) -> list[Sentence]:
    return [Sentence(f"문장 {sino(i)}", "test") for i in range(1, n + 1)]


def test_plan_holds_out_sentences_and_voices_and_follows_the_seed():
    sentences = pool(14)
    plan = plan_dataset(sentences, n_train=30, n_test=6, seed=3)
    train = [u for u in plan if u.split == "train"]
    test = [u for u in plan if u.split == "test"]
    assert [u.name for u in train[:2]] == ["train_0001", "train_0002"] and test[-1].name == "test_0006"
    assert not {u.text for u in train} & {u.text for u in test}
    assert len({u.text for u in train}) == len(sentences) - 6  # 30 train utterances reuse the 8 train sentences
    assert {u.variant for u in train} <= set(TRAIN_VARIANTS)
    assert set(TEST_ONLY_VARIANTS) <= {u.variant for u in test}
    assert {u.source for u in plan} == {"test"}
    assert plan == plan_dataset(sentences, 30, 6, seed=3) != plan_dataset(sentences, 30, 6, seed=4)
    with pytest.raises(ValueError, match="held-out"):
        plan_dataset(sentences[:6], 1, 6, seed=0)
    with pytest.raises(ValueError, match="one per test-only voice"):
        plan_dataset(sentences, 1, len(TEST_ONLY_VARIANTS) - 1, seed=0)


def test_plan_draws_every_parameter_from_its_range():
    settings = PlanSettings(train_noise_fraction=0.25, test_noise_fraction=0.5, train_snr_range=(0.0, 5.0),
                            test_snr_range=(10.0, 30.0))
    plan = plan_dataset(pool(600), n_train=2000, n_test=400, seed=7, settings=settings)
    for split, fraction, (low, high) in (("train", 0.25, (0.0, 5.0)), ("test", 0.5, (10.0, 30.0))):
        utts = [u for u in plan if u.split == split]
        noisy = [u for u in utts if u.noise != NO_NOISE]
        assert len(noisy) == round(fraction * len(utts))
        assert {u.noise for u in noisy} == {"white", "pink", "brown"}
        snrs = [u.snr_db for u in noisy]
        assert low <= min(snrs) < low + 1 and high - 1 < max(snrs) <= high
        assert all(u.snr_db is None for u in utts if u.noise == NO_NOISE)
    for field, (low, high) in (("speed", settings.speed_range), ("pitch", settings.pitch_range),
                               ("lead_s", settings.silence_range), ("trail_s", settings.silence_range),
                               ("level_db", settings.level_range)):
        values = [getattr(u, field) for u in plan]
        span = high - low
        assert low <= min(values) < low + span / 20 and high - span / 20 < max(values) <= high, field
    genders = Counter(u.gender for u in plan if u.split == "train")
    assert abs(genders["female"] - genders["male"]) < 200  # about even, though male variants outnumber female
    assert len({u.variant for u in plan}) == len(VARIANTS)
    with pytest.raises(ValueError, match="between 0 and 1"):
        PlanSettings(test_noise_fraction=1.5)
