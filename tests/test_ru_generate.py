"""The spoken-numbers generator with real espeak-ng and sox: files, manifest, plan, splits, noise and genders."""

from __future__ import annotations

import dataclasses
import hashlib
import random
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from speech_kit.synth.espeak import list_variants
from ru_numbers.manifest import COLUMNS, GENDERS, REQUIRED_COLUMNS, audio_path, read_manifest
from ru_numbers.normalize import words_to_number
from ru_numbers.pitch import median_f0
from ru_numbers.plan import PlanOptions, make_plan
from ru_numbers.render import noise_bank, render
from ru_numbers.sampling import BOUNDARY_NUMBERS, number_split
from ru_numbers.units import WORDS
from ru_numbers.voice_audit import FEMALE_BAND, MALE_BAND, PITCH_GRID, audit_variant, measure, verdict
from ru_numbers.voices import EXCLUDED, HELDOUT_VOICES, VOICES, voice
from ru_support import assert_one_line_error, generate, read_int16, run_module

PROG = "python -m ru_numbers.generate"
COUNT = len(BOUNDARY_NUMBERS) + 9
GENDER_SPLIT_HZ = 165.0  # between the male band's top and the female band's bottom


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder with a train and a test split made by the command line, as a user would make them."""
    out = tmp_path_factory.mktemp("ru_numbers")
    generate(out, "--split", "train", "--count", str(COUNT), "--seed", "11", "--jobs", "2")
    generate(out, "--split", "test", "--count", str(COUNT), "--seed", "12", "--jobs", "2")
    return out


def rows(datasets: Path, split: str) -> list[dict[str, str]]:
    return read_manifest(datasets / f"{split}.csv")


def test_manifest_header_and_rows(datasets: Path) -> None:
    for split in ("train", "test"):
        header = (datasets / f"{split}.csv").read_text(encoding="utf-8").splitlines()[0]
        assert header.split(",") == list(COLUMNS) and header.startswith(",".join(REQUIRED_COLUMNS) + ",")
        table = rows(datasets, split)
        assert len(table) == COUNT
        for row in table:
            assert row["filename"].startswith(f"{split}/") and row["filename"].endswith(".wav")
            assert row["transcription"].isdigit() and words_to_number(row["text"]) == int(row["transcription"])
            assert row["gender"] in GENDERS
            assert row["spk_id"].startswith(row["variant"].replace(" ", "_") + "-p")
            assert (row["noise"] == "none") == (row["snr_db"] == "")
            WORDS.units_of_speech(row["text"])  # every spoken word is a unit of the recogniser's word table


def test_files_are_16k_mono_16bit_with_the_planned_silence_and_level(datasets: Path) -> None:
    for split in ("train", "test"):
        for row in rows(datasets, split):
            path = audio_path(datasets / f"{split}.csv", row)
            samples, info = read_int16(path)
            assert (info.samplerate, info.channels, info.subtype, info.format) == (16000, 1, "PCM_16", "WAV")
            assert info.frames / 16000 == pytest.approx(float(row["seconds"]), abs=1e-3)
            peak_db = 20 * np.log10(np.abs(samples.astype(np.int32)).max() / 32768)
            assert peak_db == pytest.approx(float(row["level_db"]), abs=0.1)
            if row["noise"] == "none":
                voiced = np.flatnonzero(samples)
                assert voiced[0] / 16000 == pytest.approx(float(row["lead_s"]), abs=1e-3)
                assert (len(samples) - 1 - voiced[-1]) / 16000 == pytest.approx(float(row["trail_s"]), abs=1e-3)


def test_boundary_numbers_are_in_both_splits(datasets: Path) -> None:
    for split in ("train", "test"):
        said = {int(r["transcription"]) for r in rows(datasets, split)}
        assert set(BOUNDARY_NUMBERS) <= said


def test_held_out_voices_and_numbers_are_disjoint(datasets: Path) -> None:
    train, test = rows(datasets, "train"), rows(datasets, "test")
    assert not {r["variant"] for r in train} & set(HELDOUT_VOICES)
    assert {r["variant"] for r in test} <= set(HELDOUT_VOICES)
    shared = {int(r["transcription"]) for r in train} & {int(r["transcription"]) for r in test}
    assert all(number_split(n, 0.1) == "shared" for n in shared)
    # A large plan (no audio) makes the same point with thousands of numbers.
    numbers = {s: {u.number for u in make_plan(PlanOptions(count=4000, seed=3, split=s))} for s in ("train", "test")}
    overlap = numbers["train"] & numbers["test"]
    assert overlap and all(number_split(n, 0.1) == "shared" for n in overlap)
    assert len(numbers["test"] - overlap) > 1000


def test_plan_is_deterministic_and_depends_on_seed_and_split() -> None:
    a = make_plan(PlanOptions(count=200, seed=5))
    assert a == make_plan(PlanOptions(count=200, seed=5))
    assert a != make_plan(PlanOptions(count=200, seed=6))
    assert [u.number for u in a] != [u.number for u in make_plan(PlanOptions(count=200, seed=5, split="test"))]


def test_same_seed_gives_the_same_bytes_whatever_the_jobs(datasets: Path, tmp_path: Path) -> None:
    generate(tmp_path, "--split", "train", "--count", str(COUNT), "--seed", "11", "--jobs", "1")
    assert (tmp_path / "train.csv").read_bytes() == (datasets / "train.csv").read_bytes()
    for row in rows(datasets, "train"):
        digest = [hashlib.sha256((root / row["filename"]).read_bytes()).hexdigest() for root in (tmp_path, datasets)]
        assert digest[0] == digest[1], row["filename"]


def test_magnitudes_are_all_well_represented_and_genders_balanced() -> None:
    plan = make_plan(PlanOptions(count=6000, seed=1))
    lengths = Counter(len(str(u.number)) for u in plan)
    assert set(lengths) == {1, 2, 3, 4, 5, 6}
    assert all(lengths[d] / len(plan) >= 0.05 for d in lengths)
    assert lengths[6] / len(plan) < 0.4  # uniform sampling would give 90 %
    thousands = [u.number for u in plan if u.number >= 1000]
    assert sum(n % 1000 == 0 for n in thousands) / len(thousands) > 0.1
    assert Counter(u.gender for u in plan) == {"male": 3000, "female": 3000}
    bare = [u for u in plan if 1000 <= u.number < 2000]
    assert any(u.text.startswith("тысяча") for u in bare) and any(u.text.startswith("одна тысяча") for u in bare)


def test_conditions_span_the_requested_ranges() -> None:
    plan = make_plan(PlanOptions(count=3000, seed=2, noise_fraction=0.5))
    assert 80 <= min(u.rate for u in plan) < 90 and 290 < max(u.rate for u in plan) <= 300
    assert min(u.pitch for u in plan) == 0 and max(u.pitch for u in plan) == 99
    assert max(u.lead_s for u in plan) <= 1.0 and max(u.trail_s for u in plan) <= 1.0
    assert -25.0 <= min(u.level_db for u in plan) < -24 and -1 < max(u.level_db for u in plan) <= 0.0
    noisy = [u for u in plan if u.noise != "none"]
    assert 0.45 < len(noisy) / len(plan) < 0.55
    assert set(u.noise for u in noisy) == {"white", "pink", "brown"}
    assert all(5.0 <= u.snr_db <= 30.0 for u in noisy)
    for u in plan:
        v = voice(u.variant)
        assert v.gender == u.gender and v.pitch_min <= u.pitch <= v.pitch_max


def measured_snr(noisy: np.ndarray, clean: np.ndarray) -> float:
    """SNR of ``noisy`` given the same utterance rendered without noise (each peak-normalised on its own)."""
    gain = noisy @ clean / (clean @ clean)
    residual = noisy - gain * clean
    voiced = np.flatnonzero(clean)
    speech = gain * clean[voiced[0]:voiced[-1] + 1]
    return 10 * np.log10(np.mean(speech ** 2) / np.mean(residual ** 2))


def test_noise_is_added_at_the_requested_snr(tmp_path: Path) -> None:
    plan = make_plan(PlanOptions(count=60, seed=8, noise_fraction=1.0, snr_min=5.0, snr_max=25.0))
    bank = noise_bank(tmp_path)
    picked = [next(u for u in plan if u.noise == colour) for colour in ("white", "pink", "brown")]
    picked.append(min(plan, key=lambda u: u.snr_db))
    for utt in picked:
        render(utt, tmp_path, bank)
        clean = dataclasses.replace(utt, noise="none", snr_db=None, filename="clean.wav")
        render(clean, tmp_path, bank)
        noisy, _ = sf.read(tmp_path / utt.filename)
        silent, _ = sf.read(tmp_path / "clean.wav")
        assert measured_snr(noisy, silent) == pytest.approx(utt.snr_db, abs=0.5), (utt.noise, utt.snr_db)


def test_gender_column_is_audible_in_the_generated_files(datasets: Path) -> None:
    """Median F0 of every clean file of two words or more is on its gender's side. (A lone one-syllable word
    falls in pitch at its end and is too short to measure reliably; the voice audit covers those with "два".)"""
    checked = 0
    for split in ("train", "test"):
        for row in rows(datasets, split):
            if row["noise"] != "none" or len(row["text"].split()) < 2:
                continue
            samples, _ = sf.read(audio_path(datasets / f"{split}.csv", row))
            f0 = median_f0(samples, 16000)
            assert f0 is not None and (f0 < GENDER_SPLIT_HZ) == (row["gender"] == "male"), (row, f0)
            checked += 1
    assert checked >= 10


def test_voice_table_genders_hold_at_both_ends_of_each_pitch_range() -> None:
    """The held-out voices and a seeded sample of the others, measured at -p pitch_min and pitch_max."""
    rng = random.Random(4)
    sample = [voice(v) for v in HELDOUT_VOICES]
    sample += rng.sample([v for v in VOICES if v.variant not in HELDOUT_VOICES], 8)
    for v in sample:
        low, high = MALE_BAND if v.gender == "male" else FEMALE_BAND
        for pitch in (v.pitch_min, v.pitch_max):
            f0 = measure(v.variant, pitch)
            assert f0 is not None and low - 5 <= f0 <= high + 5, (v, pitch, f0)


def test_voice_table_matches_the_installed_espeak_variants() -> None:
    installed = {v.file: v.declared for v in list_variants()}
    for v in VOICES:
        assert installed[v.variant] == ("M" if v.gender == "male" else "F"), v
    assert set(EXCLUDED) <= set(installed)
    assert set(installed) == {v.variant for v in VOICES} | set(EXCLUDED)


def test_audit_keeps_a_plain_voice_and_drops_a_childlike_one() -> None:
    kept = audit_variant(next(v for v in list_variants() if v.file == "m3"))
    assert kept.voice == voice("m3")
    dropped = audit_variant(next(v for v in list_variants() if v.file == "zac"))
    assert dropped.voice is None and "male band" in dropped.reason


def test_audit_drops_whispered_and_undeclared_variants() -> None:
    whisper = audit_variant(next(v for v in list_variants() if v.file == "whisperf"))
    assert whisper.voice is None and "whispered" in whisper.reason
    undeclared = dataclasses.replace(whisper.variant, declared="-")
    assert verdict(undeclared, [(100.0, 90.0)] * len(PITCH_GRID)) == (None, "declares no gender")
    declared = dataclasses.replace(whisper.variant, declared="M")
    kept, _ = verdict(declared, [(100.0, 90.0)] * len(PITCH_GRID))
    assert kept is not None and (kept.pitch_min, kept.pitch_max) == (PITCH_GRID[0], PITCH_GRID[-1])


@pytest.mark.parametrize("args, needles", [
    (["--count", "5"], ["--count must be at least", "999999"]),
    (["--count", "40", "--holdout_voices", "m3", "nobody"], ["'nobody' is not a usable voice variant"]),
    (["--count", "40", "--holdout_voices", "zac"], ["zac", "male band"]),
    (["--count", "40", "--split", "test", "--holdout_voices", "m3", "m7"], ["test split has no female voice"]),
    (["--count", "40", "--noise_fraction", "1.5"], ["--noise_fraction"]),
    (["--count", "40", "--snr_min", "20", "--snr_max", "10"], ["SNRs"]),
    (["--count", "40", "--rate_min", "50"], ["speaking rates"]),
    (["--count", "40", "--jobs", "0"], ["--jobs"]),
    (["--count", "40", "--csv", "sub/x.csv"], ["--csv"]),
    (["--count", "40", "--holdout_fraction", "0"], ["held-out fraction"]),
])
def test_bad_options_are_one_line_errors(tmp_path: Path, args: list[str], needles: list[str]) -> None:
    done = run_module("ru_numbers.generate", "--out", str(tmp_path / "out"), *args)
    assert_one_line_error(done, PROG, *needles)
    assert not (tmp_path / "out").exists()


def test_an_unwritable_output_folder_is_a_one_line_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    done = run_module("ru_numbers.generate", "--out", str(blocker / "out"), "--count", str(COUNT))
    assert_one_line_error(done, PROG, "cannot create")


def test_missing_espeak_is_a_one_line_error(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    done = run_module("ru_numbers.generate", "--out", str(tmp_path / "out"), "--count", str(COUNT), path=str(empty))
    assert_one_line_error(done, PROG, "espeak-ng is not installed", "apt-get install")
