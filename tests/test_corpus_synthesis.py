"""The synthetic corpus's audio side, with real espeak-ng and sox: the dataset layout as the kit's readers see
it, byte-for-byte determinism, held-out sentences and voices, and the silences, levels and SNRs of the files."""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import loader
from corpus import build_labels, make_dataset
from corpus.dataset_files import LABELS_FILE, MANIFEST_COLUMNS, read_manifest
from speech_kit.synth.noise import NOISE_COLOURS, make_noise_beds
from corpus.plan import NO_NOISE, PlanSettings, plan_dataset
from corpus.synthesize import synthesize_utterance
from corpus.korean_text import read_sentences
from corpus.text_sources import HELDOUT_FILE, load_corpus
from corpus.voices import TEST_ONLY_VARIANTS
from evaluation.score import read_test_labels
from label_loader import Vocab
from speech_kit.layout import read_wav_list

pytestmark = pytest.mark.skipif(
    shutil.which("espeak-ng") is None or shutil.which("sox") is None,
    reason="espeak-ng and sox are not installed (apt-get install -y espeak-ng sox)",
)
RATE = 16000


def wav(root: Path, name: str) -> np.ndarray:
    split = name.split("_")[0]
    samples, rate = sf.read(root / split / f"{split}_data" / f"{name}.wav", dtype="int16")
    assert rate == RATE
    return samples.astype(np.float64) / 32767


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> tuple[Path, Path]:
    """One dataset made twice with one seed, by two processes and by one (12 utterances, half of them noisy)."""
    base = tmp_path_factory.mktemp("datasets")
    args = ["--train", "8", "--test", "4", "--seed", "11", "--train_noise_fraction", "0.5", "--max_chars", "20"]
    assert make_dataset.main(["--out", str(base / "a"), "--jobs", "2", *args]) == 0
    assert make_dataset.main(["--out", str(base / "b"), "-j", "1", *args]) == 0
    return base / "a", base / "b"


def test_layout_is_the_hackathons_and_the_kits_readers_accept_it(dataset):
    root, _ = dataset
    vocab = Vocab.from_file(root / LABELS_FILE)
    manifest = {row["name"]: row for row in read_manifest(root)}
    assert list(read_manifest(root)[0]) == list(MANIFEST_COLUMNS)
    train_names = [f"train_{i:04d}" for i in range(1, 9)]
    test_names = [f"test_{i:04d}" for i in range(1, 5)]

    data = root / "train" / "train_data"
    assert (data / "data_list.csv").read_text(encoding="utf-8") == "".join(f"{n}.wav,{n}.label\n" for n in train_names)
    assert sorted(p.name for p in data.iterdir()) == ["data_list.csv", *(f"{n}.wav" for n in train_names)]
    train = loader.read_train_list(str(root), vocab)
    assert [Path(p).name for p in train.wav_paths] == [f"{n}.wav" for n in train_names]
    assert {key: vocab.decode(ids) for key, ids in train.targets.items()} == \
        {n: manifest[n]["text"] for n in train_names}

    test_data = root / "test" / "test_data"
    assert (test_data / "test_list.csv").read_text(encoding="utf-8") == "".join(f"{n}.wav\n" for n in test_names)
    assert [(e.first, e.second) for e in read_wav_list(test_data / "test_list.csv")] == \
        [(f"{n}.wav", "") for n in test_names]
    assert read_test_labels(root / "test" / "test_label") == {n: manifest[n]["text"] for n in test_names}

    for name, row in manifest.items():
        info = sf.info(str(root / row["split"] / f"{row['split']}_data" / f"{name}.wav"))
        assert (info.samplerate, info.channels, info.subtype) == (RATE, 1, "PCM_16")
        assert info.frames / RATE == pytest.approx(float(row["seconds"]), abs=0.00051)  # manifest: milliseconds
        assert 0.3 < info.duration < 10
    assert "python -m corpus.make_dataset --out" in (root / "README").read_text(encoding="utf-8")


def test_same_seed_same_bytes_whatever_the_number_of_jobs(dataset):
    first, second = dataset
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file() and p.name != "README")
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file() and p.name != "README")
    assert all((first / f).read_bytes() == (second / f).read_bytes() for f in files)


def test_test_split_is_held_out_by_sentence_and_voice(dataset):
    rows = read_manifest(dataset[0])
    train = [r for r in rows if r["split"] == "train"]
    test = [r for r in rows if r["split"] == "test"]
    assert not {r["text"] for r in train} & {r["text"] for r in test}
    assert {r["voice"] for r in test} == set(TEST_ONLY_VARIANTS)  # four test utterances: one per test-only voice
    assert not {r["voice"] for r in train} & set(TEST_ONLY_VARIANTS)
    assert sum(r["noise"] != NO_NOISE for r in test) == 2 and sum(r["noise"] != NO_NOISE for r in train) == 4


def test_files_have_the_planned_silences_and_peak_level(dataset):
    root, _ = dataset
    for row in read_manifest(root):
        samples = wav(root, row["name"])
        peak_db = 20 * np.log10(np.max(np.abs(samples)))
        assert peak_db == pytest.approx(float(row["level_db"]), abs=0.01)
        if row["noise"] == NO_NOISE:
            sounding = np.flatnonzero(samples)
            assert sounding[0] == round(float(row["lead_s"]) * RATE)
            assert samples.shape[0] - 1 - sounding[-1] == round(float(row["trail_s"]) * RATE)


def split_speech_and_noise(noisy: np.ndarray, clean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The speech part of ``noisy`` is its projection on ``clean`` (the same speech without noise, at another
    level); the noise is what is left."""
    speech = clean * (np.dot(noisy, clean) / np.dot(clean, clean))
    return speech, noisy - speech


def test_noise_is_mixed_at_the_planned_snr(tmp_path):
    settings = PlanSettings(test_noise_fraction=1.0, test_snr_range=(5.0, 30.0))
    sentences = load_corpus(["handwritten"], max_chars=12)
    plan = [u for u in plan_dataset(sentences, 1, 6, seed=5, settings=settings) if u.split == "test"]
    plan = [dataclasses.replace(u, noise=NOISE_COLOURS[i % 3]) for i, u in enumerate(plan)]
    beds = make_noise_beds(tmp_path)
    low_share: dict[str, list[float]] = {colour: [] for colour in NOISE_COLOURS}
    (tmp_path / "noisy").mkdir()
    (tmp_path / "clean").mkdir()
    for utt in plan:
        synthesize_utterance(utt, tmp_path / "noisy", beds)
        synthesize_utterance(dataclasses.replace(utt, noise=NO_NOISE, snr_db=None), tmp_path / "clean", beds)
        noisy = sf.read(tmp_path / "noisy" / f"{utt.name}.wav")[0]
        clean = sf.read(tmp_path / "clean" / f"{utt.name}.wav")[0]
        lead, trail = round(utt.lead_s * RATE), round(utt.trail_s * RATE)
        span = slice(lead, noisy.shape[0] - trail)
        speech, noise = split_speech_and_noise(noisy, clean)
        snr = 10 * np.log10(np.mean(speech[span] ** 2) / np.mean(noise[span] ** 2))
        assert snr == pytest.approx(utt.snr_db, abs=0.2), utt
        assert np.all(clean[:lead] == 0) and np.count_nonzero(noisy[:lead]) >= 0.9 * lead  # noise fills silences
        power = np.abs(np.fft.rfft(noise)) ** 2
        low_share[utt.noise].append(power[: power.shape[0] // 16].sum() / power.sum())  # share below 500 Hz
    white, pink, brown = (np.mean(low_share[c]) for c in ("white", "pink", "brown"))
    assert white < 0.1 < pink < brown  # white noise spreads evenly: 1/16 of its power lies below 500 Hz


def test_a_reused_table_leaves_out_what_it_cannot_spell_and_fails_before_any_audio_when_too_little_is_left(
        tmp_path, capsys):
    text = tmp_path / "small.txt"
    text.write_text("네 알겠습니다\n", encoding="utf-8")
    table = tmp_path / "small.labels"
    assert build_labels.main(["--out", str(table), str(text)]) == 0
    out = tmp_path / "out"
    capsys.readouterr()
    assert make_dataset.main(["--out", str(out), "--train", "2", "--test", "4", "--labels", str(table)]) == 2
    err = capsys.readouterr().err.splitlines()
    pool = len(load_corpus())
    assert re.fullmatch(rf"python -m corpus\.make_dataset: left out \d+ of {pool} sentences with characters .+ does "
                        r"not have \(without --labels the table is built over every sentence\)", err[0])
    assert re.fullmatch(r"python -m corpus\.make_dataset: error: \d+ distinct sentences cannot give 4 held-out test "
                        r"sentences and still leave one for train", err[1])
    assert not out.exists() and [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []

    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(SystemExit):
        make_dataset.main(["--out", str(out), "--train", "2", "--test", "4", "--overwrite"])
    assert (out / "keep.txt").read_text() == "mine"


def test_reused_table_is_copied_and_the_summary_is_printed(tmp_path, capsys):
    table = tmp_path / "corpus.labels"
    assert build_labels.main(["--corpus", "--out", str(table)]) == 0
    out = tmp_path / "reused"
    assert make_dataset.main(["--out", str(out), "--train", "2", "--test", "4", "--labels", str(table),
                              "--sources", "handwritten", "--max_chars", "8", "--noise_fraction", "0"]) == 0
    assert (out / LABELS_FILE).read_bytes() == table.read_bytes()
    report = capsys.readouterr().out
    assert f"wrote 2 train + 4 test utterances to {out}" in report
    assert re.search(r"audio: [\d.]+ s \(train [\d.]+ s, test [\d.]+ s\), mean [\d.]+ s per utterance", report)
    assert re.search(r"wall time: [\d.]+ s, [\d.]+ utterances/s with \d+ job", report)
    assert f"test voices (4, test-only: {' '.join(sorted(TEST_ONLY_VARIANTS, key=str.lower))})" in report
    assert "noise: 0 of 2 train, 0 of 4 test" in report


def test_missing_espeak_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert make_dataset.main(["--out", str(tmp_path / "x"), "--train", "2", "--test", "4"]) == 2
    assert capsys.readouterr().err == ("python -m corpus.make_dataset: error: espeak-ng is not installed or not on "
                                       "PATH; install it with: apt-get install -y espeak-ng\n")


def test_a_test_text_holds_the_test_split_out_by_source(tmp_path):
    held = tmp_path / "held.txt"
    pool = load_corpus()
    shared = pool[0].text  # a sentence the bundled sources also have: test only, never train
    lines = [shared, "지하철 막차가 몇 시에 끊겨요?", "우산 챙기는 거 잊지 마.", "감기약 하나 주세요.",
             "주말에 영화 보러 갈래?", "택배가 아직 안 왔어요."]
    held.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "ds"
    assert make_dataset.main(["--out", str(out), "--train", "12", "--test", "5", "--seed", "4",
                              "--test_text", str(held), "-j", "2"]) == 0
    rows = read_manifest(out)
    test, train = [r for r in rows if r["split"] == "test"], [r for r in rows if r["split"] == "train"]
    written = set(held.read_text(encoding="utf-8").split("\n")) - {""}
    assert len(test) == 5 and {r["text"] for r in test} <= written
    assert {r["source"] for r in test} == {"file:held.txt"}
    assert not {r["text"] for r in train} & written and len(train) == 12  # the whole test text stays out of train

    only = tmp_path / "only"  # a test-only dataset
    assert make_dataset.main(["--out", str(only), "--train", "0", "--test", "6", "--no_bundled", "--test_text",
                              str(held), "-j", "2"]) == 0
    assert [r["split"] for r in read_manifest(only)] == ["test"] * 6
    assert len(read_test_labels(only / "test" / "test_label")) == 6


def test_the_bundled_sources_never_hold_the_test_only_text():
    held = set(read_sentences(HELDOUT_FILE))
    assert len(held) >= 400
    assert not held & {s.text for s in load_corpus()}


def test_train_augmentation_changes_speakers_rooms_and_lines_and_leaves_test_and_the_default_alone(tmp_path):
    args = ["--train", "12", "--test", "4", "--seed", "8", "--max_chars", "12", "-j", "2"]
    plain = tmp_path / "plain"
    assert make_dataset.main(["--out", str(plain), *args]) == 0
    out = tmp_path / "aug"
    assert make_dataset.main(["--out", str(out), *args, "--train_shift_fraction", "0.5", "--train_reverb_fraction",
                              "0.25", "--train_telephone_fraction", "0.25"]) == 0
    rows = read_manifest(out)
    train = [r for r in rows if r["split"] == "train"]
    assert sum("tempo=" in r["effects"] for r in train) == 6 and sum("room=" in r["effects"] for r in train) == 3
    assert sum("phone=" in r["effects"] for r in train) == 3
    assert all(r["effects"] == "" for r in rows if r["split"] == "test")
    assert "effects" not in (plain / "manifest.tsv").read_text(encoding="utf-8").splitlines()[0].split("\t")
    # the plan is the same apart from the effects, and unaugmented files are byte for byte the plain ones
    plain_rows = read_manifest(plain)
    assert [(r["text"], r["voice"]) for r in rows] == [(r["text"], r["voice"]) for r in plain_rows]
    for row in rows:
        a = (out / row["split"] / f"{row['split']}_data" / f"{row['name']}.wav").read_bytes()
        b = (plain / row["split"] / f"{row['split']}_data" / f"{row['name']}.wav").read_bytes()
        assert (a == b) == (row["effects"] == "")
    # a telephone line keeps the band under 3.4 kHz: little energy is left above 4 kHz
    phone = next(r for r in train if "phone=" in r["effects"] and "room=" not in r["effects"])
    samples, rate = sf.read(out / "train" / "train_data" / f"{phone['name']}.wav")
    spectrum = np.abs(np.fft.rfft(samples)) ** 2
    high = spectrum[np.fft.rfftfreq(samples.shape[0], 1 / rate) > 4000].sum() / spectrum.sum()
    assert high < 0.01
