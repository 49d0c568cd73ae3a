"""The gender decision by pitch: the threshold fit, its checkpoint record, and real espeak-ng voices."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ru_numbers.gender import PitchGender, fit, fit_manifest, main, utterance_f0, write_rule
from ru_numbers.manifest import audio_path, read_manifest

from support import ROOT


def test_fit_puts_the_threshold_between_the_classes_at_the_geometric_midpoint():
    rule = fit([100.0, 120.0, None, 200.0, 250.0], ["male", "male", "female", "female", "female"])
    assert rule.threshold_hz == pytest.approx((120.0 * 200.0) ** 0.5)
    assert rule(119.0) == "male" and rule(150.0) == "male" and rule(160.0) == "female" and rule(None) is None


def test_fit_minimises_training_errors_when_the_classes_overlap():
    f0s = [90.0, 110.0, 130.0, 175.0, 150.0, 190.0, 210.0, 230.0]
    genders = ["male", "male", "male", "male", "female", "female", "female", "female"]
    rule = fit(f0s, genders)  # one error whichever way: the best cut is between 130 and 150 or 175 and 190
    assert sum(rule(f) != g for f, g in zip(f0s, genders)) == 1
    with pytest.raises(ValueError, match="both genders"):
        fit([100.0, 120.0], ["male", "male"])


def test_the_rule_round_trips_through_task_json_keeping_the_rest(tmp_path):
    task = tmp_path / "task.json"
    task.write_text(json.dumps({"task": "ru_numbers", "units": "words"}), encoding="utf-8")
    write_rule(task, PitchGender(163.456))
    data = json.loads(task.read_text(encoding="utf-8"))
    assert data["units"] == "words" and PitchGender.from_dict(data["gender"]) == PitchGender(163.46)
    assert PitchGender.from_dict(None) is None and PitchGender.from_dict({"method": "head"}) is None


@pytest.fixture(scope="module")
def spoken(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ru_gender")
    subprocess.run([sys.executable, "-m", "ru_numbers.generate", "--out", str(out), "--split", "train", "--count",
                    "40", "--seed", "3", "--jobs", "2"], check=True, capture_output=True, cwd=ROOT)
    return out / "train.csv"


def test_pitch_separates_real_espeak_voices_and_the_command_stores_the_rule(spoken, tmp_path, capsys):
    """40 generated utterances (half male, half female voice variants, noise down to 5 dB): the fitted threshold
    lies in the gap the voice audit keeps between the bands (150-180 Hz) and classifies nearly all of them."""
    rule, accuracy = fit_manifest(str(spoken), progress=False)
    assert 130 < rule.threshold_hz < 200 and accuracy >= 0.9
    rows = read_manifest(spoken)
    f0 = utterance_f0(str(audio_path(spoken, rows[0])))
    assert f0 is None or 50 < f0 < 500
    checkpoint = tmp_path / "ckpt"
    checkpoint.mkdir()
    assert main([str(spoken), str(checkpoint)]) == 2  # no task.json: not a checkpoint
    (checkpoint / "task.json").write_text(json.dumps({"task": "ru_numbers", "units": "words"}), encoding="utf-8")
    assert main([str(spoken), str(checkpoint)]) == 0
    assert "gender by pitch" in capsys.readouterr().out
    stored = PitchGender.from_dict(json.loads((checkpoint / "task.json").read_text(encoding="utf-8"))["gender"])
    assert stored.threshold_hz == pytest.approx(rule.threshold_hz, abs=0.01)


def test_fine_tuning_keeps_the_init_checkpoints_threshold_and_head_drops_it(tmp_path):
    """ru_numbers.train --init: by pitch, the shipped threshold travels to the export (not refitted on the new data,
    whose shifted voices would move it); by head, the export has no pitch rule."""
    shipped = ROOT / "ru_numbers" / "states" / "words"
    data = tmp_path / "data"
    subprocess.run([sys.executable, "-m", "ru_numbers.generate", "--out", str(data), "--split", "train", "--count",
                    "27", "--seed", "9", "--jobs", "2"], check=True, capture_output=True, cwd=ROOT)
    threshold = json.loads((shipped / "task.json").read_text())["gender"]["threshold_hz"]
    for by, expected in (("pitch", {"method": "pitch", "threshold_hz": threshold}), ("head", None)):
        out = tmp_path / by
        done = subprocess.run([sys.executable, "-m", "ru_numbers.train", "--train", str(data / "train.csv"), "--init",
                               str(shipped), "--export", str(out), "--max_epochs", "1", "--workers", "1",
                               "--precision", "fp32", "--gender_by", by, "--save_name", f"t_{by}"],
                              capture_output=True, text=True, cwd=tmp_path, timeout=300,
                              env={**os.environ, "NSML_CHECKPOINT_DIR": str(tmp_path / f"ck_{by}")})
        assert done.returncode == 0, done.stderr[-2000:]
        assert json.loads((out / "task.json").read_text()).get("gender") == expected
        assert (f"threshold {threshold:.1f} Hz, kept from {shipped}" in done.stderr) == (by == "pitch")
