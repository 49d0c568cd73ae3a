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


def test_several_manifests_join_in_order_each_path_from_its_own_folder(pool, tmp_path):
    """The recipe's training manifest: rendered sets in different folders joined into one, no audio copied."""
    other = tmp_path / "other" / "clean.csv"
    assert subset(str(pool), str(other), "--where", "channel=none").returncode == 0
    joined = tmp_path / "mix" / "train.csv"
    done = subset(str(pool), str(other), str(joined))
    assert done.returncode == 0, done.stderr
    rows, clean = read_manifest(pool), read_manifest(other)
    kept = read_manifest(joined)
    assert [r["transcription"] for r in kept] == [r["transcription"] for r in rows + clean]
    sources = [audio_path(pool, r) for r in rows] + [audio_path(other, r) for r in clean]
    assert [audio_path(joined, r).resolve() for r in kept] == [p.resolve() for p in sources]
    assert f"{len(kept)} of {len(kept)} rows of {pool} + {other}" in done.stdout
    missing = subset(str(pool), str(tmp_path / "nothing.csv"), str(tmp_path / "x.csv"))
    assert missing.returncode == 2 and "nothing.csv" in missing.stderr and not (tmp_path / "x.csv").exists()


def test_an_unknown_column_or_a_bad_condition_is_one_line(pool, tmp_path):
    unknown = subset(str(pool), str(tmp_path / "x.csv"), "--where", "colour=red")
    assert unknown.returncode == 2 and "no column colour" in unknown.stderr and "Traceback" not in unknown.stderr
    bad = subset(str(pool), str(tmp_path / "x.csv"), "--where", "source")
    assert bad.returncode == 2 and "expected COLUMN=VALUE" in bad.stderr


def test_report_table_puts_runs_side_by_side(tmp_path):
    """Two runs' predictions on real held-out sets: one right everywhere, one wrong on a number and a gender."""
    data = tmp_path / "data"
    for name, extra in (("espeak", []), ("pitch_free", ["--pitch_free"])):
        subprocess.run([sys.executable, "-m", "ru_numbers.generate", "--out", str(data / f"test_{name}"), "--split",
                        "test", "--count", "27", "--seed", "4", "--jobs", "2", *extra], check=True,
                       capture_output=True, cwd=ROOT)
    for run, damaged in (("right", False), ("wrong", True)):
        for name in ("espeak", "pitch_free"):
            rows = read_manifest(data / f"test_{name}" / "test.csv")
            if damaged:
                rows[0] = {**rows[0], "transcription": rows[0]["transcription"] + "0",
                           "gender": "male" if rows[0]["gender"] == "female" else "female"}
            (tmp_path / run).mkdir(exist_ok=True)
            lines = ["filename,transcription,gender"] + [f"{r['filename']},{r['transcription']},{r['gender']}"
                                                         for r in rows]
            (tmp_path / run / f"{name}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "wrong" / "wall.txt").write_text("wrong: training wall time 42 s\n")
    done = subprocess.run([sys.executable, "-m", "ru_numbers.report_table", str(data), str(tmp_path / "right"),
                           str(tmp_path / "wrong")], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    right, wrong = done.stdout.strip().splitlines()[-2:]
    assert right == "| right | – | 100.00 | – | – | – | – | – | 100.00 |"
    assert wrong == f"| wrong | 42 | {100 * 26 / 27:.2f} | – | – | – | – | – | {100 * 26 / 27:.2f} |"
    missing = subprocess.run([sys.executable, "-m", "ru_numbers.report_table", str(tmp_path), str(tmp_path / "right")],
                             capture_output=True, text=True, cwd=ROOT)
    assert missing.returncode == 2 and "test_espeak" in missing.stderr and "Traceback" not in missing.stderr


def test_a_test_side_with_two_files_of_one_name_is_refused_by_the_layout(pool, tmp_path):
    """The 2019 layout keys a test utterance by its file name: a joined test side must not repeat one."""
    folder = tmp_path / "joined"
    assert subset(str(pool), str(folder / "train.csv")).returncode == 0
    assert subset(str(pool), str(pool), str(folder / "test.csv")).returncode == 0  # every name twice
    done = subprocess.run([sys.executable, "-m", "ru_numbers.nsml_dataset", str(folder)], capture_output=True,
                          text=True, cwd=ROOT)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"{folder / 'test.csv'}:29: file name 'train_000001' again (first on line 2)" in done.stderr
    assert not (folder / "test").exists()  # nothing half-written
