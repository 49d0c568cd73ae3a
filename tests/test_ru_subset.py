"""ru_numbers.subset: rows drawn by condition columns from a real rendered manifest, paths still finding the audio."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ru_numbers.manifest import audio_path, read_manifest

ROOT = Path(__file__).resolve().parent.parent


def subset(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ru_numbers.subset", *args], capture_output=True, text=True,
                          cwd=ROOT)


@pytest.fixture(scope="module")
def pool(tmp_path_factory) -> Path:
    """27 espeak-ng utterances (the fewest the generator makes), a third through a telephone channel."""
    out = tmp_path_factory.mktemp("pool")
    subprocess.run([sys.executable, "-m", "ru_numbers.generate", "--out", str(out), "--split", "train", "--count",
                    "27", "--seed", "5", "--telephone_fraction", "0.4", "--jobs", "2"], check=True,
                   capture_output=True, cwd=ROOT)
    return out / "train.csv"


def test_conditions_select_rows_and_paths_follow_the_new_folder(pool, tmp_path):
    rows = read_manifest(pool)
    clean = [r for r in rows if r["channel"] == "none"]
    assert 0 < len(clean) < len(rows)  # the draw has both kinds
    out = tmp_path / "deep" / "clean.csv"
    done = subset(str(pool), str(out), "--where", "channel=none", "--where", "source=espeak,festival")
    assert done.returncode == 0, done.stderr
    kept = read_manifest(out)
    assert [r["transcription"] for r in kept] == [r["transcription"] for r in clean]
    assert all(audio_path(out, r).resolve() == audio_path(pool, c).resolve() for r, c in zip(kept, clean))
    assert all(audio_path(out, r).is_file() for r in kept)


def test_count_draws_reproducibly_and_refuses_more_than_there_are(pool, tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    assert subset(str(pool), str(a), "--count", "5", "--seed", "3").returncode == 0
    assert subset(str(pool), str(b), "--count", "5", "--seed", "3").returncode == 0
    assert a.read_bytes() == b.read_bytes() and len(read_manifest(a)) == 5
    too_many = subset(str(pool), str(tmp_path / "c.csv"), "--count", "28")
    assert too_many.returncode == 2 and "28 rows asked for, 27 meet the conditions" in too_many.stderr
    assert not (tmp_path / "c.csv").exists()


def test_an_unknown_column_or_a_bad_condition_is_one_line(pool, tmp_path):
    unknown = subset(str(pool), str(tmp_path / "x.csv"), "--where", "colour=red")
    assert unknown.returncode == 2 and "no column colour" in unknown.stderr and "Traceback" not in unknown.stderr
    bad = subset(str(pool), str(tmp_path / "x.csv"), "--where", "source")
    assert bad.returncode == 2 and "expected COLUMN=VALUE" in bad.stderr
