"""The synthetic corpus: our sentences, the label table builder, the seeded plan and real espeak-ng/sox output."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import soundfile as sf

from conftest import ROOT
from corpus import build_labels, make_dataset
from corpus.korean_text import BUNDLED_SENTENCES, is_allowed, load_sentences, read_sentences
from corpus.plan import TEST_ONLY_VARIANTS, TRAIN_VARIANTS, plan_dataset
from corpus.synthesize import SynthesisError, synthesize
from label_loader import EOS_CHAR, PAD_CHAR, SOS_CHAR, Vocab

needs_tts = pytest.mark.skipif(
    shutil.which("espeak-ng") is None or shutil.which("sox") is None,
    reason="espeak-ng and sox are not installed (apt-get install -y espeak-ng sox)",
)


def read_pairs(path: Path) -> dict[str, str]:
    with open(path, encoding="utf-8") as f:
        return dict(line.rstrip("\n").split(",", 1) for line in f)


def read_manifest(root: Path) -> list[dict[str, str]]:
    lines = (root / "manifest.tsv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"))) for line in lines[1:]]


def test_bundled_sentences_are_clean_and_covered_by_the_label_table():
    lines = BUNDLED_SENTENCES.read_text(encoding="utf-8").splitlines()
    assert len(set(lines)) == len(lines) >= 400
    assert all(4 <= len(s) <= 30 and is_allowed(s) and " ".join(s.split()) == s for s in lines)
    vocab = Vocab.from_file(ROOT / "hackathon.labels")
    for sentence in lines:
        assert vocab.decode(vocab.encode(sentence)) == sentence


def test_sentence_files_are_normalised_and_filtered(tmp_path):
    extra = tmp_path / "extra.txt"
    extra.write_text("  안녕   하세요 \n\n삼천오백 원\n3500원\n영수증 abc\n아주 아주 아주 긴 문장입니다\n안녕 하세요\n",
                     encoding="utf-8")
    assert read_sentences(extra) == ["안녕 하세요", "삼천오백 원", "아주 아주 아주 긴 문장입니다", "안녕 하세요"]
    assert load_sentences([extra], max_chars=6, bundled=False) == ["안녕 하세요", "삼천오백 원"]
    assert len(load_sentences([extra])) == len(load_sentences()) + 3


def test_label_table_is_ordered_by_frequency_and_round_trips(tmp_path):
    text = tmp_path / "text.txt"
    text.write_text("가나 가\n다가 나\n\n", encoding="utf-8")
    out = tmp_path / "t.labels"
    build_labels.main(["--out", str(out), str(text)])
    vocab = Vocab.from_file(out)
    assert vocab.chars == (PAD_CHAR, "가", " ", "나", "다", SOS_CHAR, EOS_CHAR)  # ties by code point: " " < "나"
    assert vocab.freqs == (0, 3, 2, 2, 1, 0, 0)
    assert out.read_text(encoding="utf-8").startswith("#id\tchar\tfreq\n0\t_\t0\n1\t가\t3\n2\t \t2\n")

    csv = tmp_path / "test_label"
    csv.write_text("a,네, 좋아요\nb,좋아\n", encoding="utf-8")
    build_labels.main(["--csv", "--out", str(out), str(csv)])
    assert Vocab.from_file(out).chars == (PAD_CHAR, "아", "좋", " ", ",", "네", "요", SOS_CHAR, EOS_CHAR)
    with pytest.raises(SystemExit, match=r"text\.txt:1: expected '<key>,<text>'"):
        build_labels.main(["--csv", "--out", str(out), str(text)])


def test_plan_holds_out_sentences_and_voices_and_follows_the_seed():
    sentences = [f"문장 {c}" for c in "가나다라마바사아자차카타파하"]
    plan = plan_dataset(sentences, n_train=30, n_test=4, seed=3)
    train = [u for u in plan if u.split == "train"]
    test = [u for u in plan if u.split == "test"]
    assert [u.name for u in train[:2]] == ["train_0001", "train_0002"] and test[-1].name == "test_0004"
    assert not {u.text for u in train} & {u.text for u in test}
    assert len({u.text for u in train}) == len(sentences) - 4  # 30 train utterances reuse the 10 train sentences
    assert {u.variant for u in train} <= set(TRAIN_VARIANTS)
    assert set(TEST_ONLY_VARIANTS) <= {u.variant for u in test}
    assert plan == plan_dataset(sentences, 30, 4, seed=3) != plan_dataset(sentences, 30, 4, seed=4)
    with pytest.raises(ValueError, match="held-out"):
        plan_dataset(sentences[:4], 1, 4, seed=0)


@needs_tts
def test_dataset_layout_audio_labels_and_determinism(tmp_path):
    args = ["--train", "4", "--test", "2", "--seed", "11", "--max_chars", "8"]
    first, second = tmp_path / "a", tmp_path / "b"
    make_dataset.main(["--out", str(first), "--jobs", "2", *args])
    make_dataset.main(["--out", str(second), "--jobs", "1", *args])

    vocab = Vocab.from_file(ROOT / "hackathon.labels")
    manifest = {row["name"]: row for row in read_manifest(first)}
    for split, listing in (("train", "data_list.csv"), ("test", "test_list.csv")):
        data = first / split / f"{split}_data"
        names = [f"{split}_{i:04d}" for i in range(1, (4 if split == "train" else 2) + 1)]
        assert (data / listing).read_text(encoding="utf-8") == "".join(f"{n}.wav,{n}.label\n" for n in names)
        assert sorted(p.name for p in data.glob("*.wav")) == [f"{n}.wav" for n in names]
        for name in names:
            info = sf.info(str(data / f"{name}.wav"))
            assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
            assert 0.3 < info.duration < 5.0
        labels = read_pairs(first / split / f"{split}_label")
        assert list(labels) == names
        for name, label in labels.items():
            text = vocab.decode(map(int, label.split())) if split == "train" else label
            assert text == manifest[name]["text"]

    train = [r for r in manifest.values() if r["split"] == "train"]
    test = [r for r in manifest.values() if r["split"] == "test"]
    assert not {r["text"] for r in train} & {r["text"] for r in test}
    assert {r["voice"] for r in test} == set(TEST_ONLY_VARIANTS)  # two test utterances: one per test-only voice
    assert not {r["voice"] for r in train} & set(TEST_ONLY_VARIANTS)

    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file() and p.name != "README")
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file() and p.name != "README")
    assert all((first / f).read_bytes() == (second / f).read_bytes() for f in files)


@needs_tts
def test_unknown_character_fails_before_any_audio_and_existing_output_is_kept(tmp_path):
    text = tmp_path / "small.txt"
    text.write_text("네 알겠습니다\n", encoding="utf-8")
    table = tmp_path / "small.labels"
    build_labels.main(["--out", str(table), str(text)])
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as err:
        make_dataset.main(["--out", str(out), "--train", "2", "--test", "2", "--labels", str(table)])
    assert "is not in the label table" in str(err.value.code) and "sentence '" in str(err.value.code)
    assert not out.exists() and [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []

    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(SystemExit):
        make_dataset.main(["--out", str(out), "--train", "2", "--test", "2", "--overwrite"])
    assert (out / "keep.txt").read_text() == "mine"


@needs_tts
def test_synthesis_errors_name_the_command(tmp_path, monkeypatch):
    seconds = synthesize("네 맞습니다.", tmp_path / "ok.wav", "f1", 160, 50)
    assert 0.5 < seconds < 3 and [p.name for p in tmp_path.iterdir()] == ["ok.wav"]
    with pytest.raises(SynthesisError, match=r"(?s)command failed .*sox .*missing"):
        synthesize("네", tmp_path / "missing" / "x.wav", "f1", 160, 50)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SynthesisError, match="espeak-ng is not installed"):
        synthesize("네", tmp_path / "y.wav", "f1", 160, 50)
