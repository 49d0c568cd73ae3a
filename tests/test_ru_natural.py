"""Festival's Russian voice in the numbers data: many texts per Festival process, shifts whose test-side ranges
training never hears, gender labels that follow the vocal tract, and a data set made with it end to end."""

from __future__ import annotations

import random
import shutil

import numpy as np
import pytest
import soundfile as sf

from ru_numbers import natural
from ru_numbers.generate import main as generate
from ru_numbers.manifest import COLUMNS, read_manifest
from ru_numbers.plan import ESPEAK, FESTIVAL, PlanOptions, make_plan
from speech_kit.audio import SAMPLE_RATE
from speech_kit.synth.festival import speak_many
from speech_kit.synth.tools import ToolError

needs_festival = pytest.mark.skipif(shutil.which("festival") is None,
                                    reason="Festival is not installed (apt-get install -y festival festvox-ru)")


@needs_festival
def test_one_festival_process_says_many_texts():
    said = speak_many(["двадцать три", "сто пять", "девятьсот девяносто девять тысяч"])
    assert len(said) == 3
    for samples in said:
        assert samples.dtype == np.float64 and np.isfinite(samples).all()
        assert 0.3 * SAMPLE_RATE < samples.shape[0] < 5 * SAMPLE_RATE and np.abs(samples).max() > 0.1
        assert samples[0] != 0 and samples[-1] != 0  # edge silence trimmed
    assert said[2].shape[0] > said[0].shape[0]  # a longer text is longer speech


@needs_festival
def test_a_missing_voice_names_its_package():
    with pytest.raises(ToolError, match="no voice nope"):
        speak_many(["да"], voice="nope")


def ranges(split: str, gender: str, field: str) -> list[tuple[float, float]]:
    return [r for kind in natural.KINDS[split] if kind.gender == gender for r in getattr(kind, field)]


def overlaps(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


@pytest.mark.parametrize("gender", ["male", "female"])
def test_every_test_side_shift_is_a_voice_training_never_hears(gender):
    """Each test kind differs from every training kind of its gender in at least one of rate, F0 or tract."""
    for test_kind in (k for k in natural.KINDS["test"] if k.gender == gender):
        for train_kind in (k for k in natural.KINDS["train"] if k.gender == gender):
            assert any(not any(overlaps(a, b) for a in getattr(test_kind, f) for b in getattr(train_kind, f))
                       for f in ("tempo", "f0", "formant")), (test_kind.name, train_kind.name)


def test_gender_follows_the_vocal_tract_and_training_hears_pitch_against_it():
    kinds = {k.name: k for k in natural.KINDS["train"]}
    assert kinds["male_high"].gender == "male" and min(f for f, _ in kinds["male_high"].f0) > 1.3
    assert kinds["female_low"].gender == "female" and max(f for _, f in kinds["female_low"].f0) < 1.4
    rng = random.Random(0)
    for _ in range(200):
        for gender in ("male", "female"):
            shift = natural.draw_shift("train", gender, rng)
            assert (shift.formant_ratio >= natural.FEMALE_FORMANT) == (gender == "female")


def test_without_the_new_options_a_seed_plans_what_it_always_planned():
    base = make_plan(PlanOptions(count=40, seed=5))
    assert all(u.source == ESPEAK and u.shift is None and u.channel == "none" and u.reverb is None for u in base)
    mixed = make_plan(PlanOptions(count=40, seed=5, festival_fraction=0.5, telephone_fraction=0.3))
    # the numbers and the genders are drawn before any utterance, so they stay those of the seed
    assert [(u.number, u.gender) for u in mixed] == [(u.number, u.gender) for u in base]
    assert {u.source for u in mixed} == {ESPEAK, FESTIVAL}
    assert all((u.shift is not None) == (u.source == FESTIVAL) for u in mixed)
    assert all(u.gender == ("female" if u.shift.formant_ratio >= natural.FEMALE_FORMANT else "male")
               for u in mixed if u.shift is not None)


def test_pitch_free_draws_espeak_pitch_whatever_the_gender():
    plan = make_plan(PlanOptions(count=400, seed=3, pitch_free=True))
    low_female = [u for u in plan if u.gender == "female" and u.pitch < 30]
    high_male = [u for u in plan if u.gender == "male" and u.pitch > 85]
    assert low_female and high_male


@needs_festival
def test_a_data_set_with_festival_telephone_and_rooms(tmp_path):
    out = tmp_path / "natural"
    assert generate(["--out", str(out), "--split", "test", "--count", "27", "--seed", "2", "--jobs", "2",
                     "--festival_fraction", "1", "--telephone_fraction", "0.5", "--reverb_fraction", "0.5"]) == 0
    rows = read_manifest(out / "test.csv")
    assert list(rows[0]) == list(COLUMNS) and len(rows) == 27
    assert {r["source"] for r in rows} == {"festival"}
    assert {r["shift"] for r in rows} <= {k.name for k in natural.KINDS["test"]}
    for row in rows:
        samples, rate = sf.read(out / row["filename"], dtype="float64")
        assert rate == SAMPLE_RATE and abs(samples.shape[0] / rate - float(row["seconds"])) < 1e-3
        assert np.abs(samples).max() > 0.01 and row["rate"] == "" and float(row["tempo"]) > 0

