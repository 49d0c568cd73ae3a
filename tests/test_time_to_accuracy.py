"""Time to accuracy: ``main.py --snapshot_minutes`` saves checkpoints named by the run's elapsed seconds, and
``benchmarks.time_to_accuracy`` trains a row as a real local NSML session, scores every snapshot on a held-out split
and writes the table, the CSV and the plot."""

from __future__ import annotations

import csv
import shutil
import sys

import pytest
from nsml_support import nsml_cli
from support import ROOT
from test_main import run_main

from benchmarks.time_to_accuracy import ROWS, changed_args, main, minutes_to, read_scored, snapshots
from entry.epochs import snapshot_name, snapshot_seconds
from models import DecodingOptions
from models.recommended import write_recommended

SHIPPED = ROOT / "pretrained" / "korean"


def test_a_row_changes_the_base_arguments_and_adds_the_snapshot_clock():
    base = "--feature logmel --batch_frames 12000 --bidirectional --lr 1.5e-3 --spec_augment --snapshot_minutes 9"
    order = changed_args(base, ROWS["file_order"], 2)
    assert order.split() == ["--feature", "logmel", "--bidirectional", "--lr", "1.5e-3", "--spec_augment",
                             "--batch_size", "32", "--snapshot_minutes", "2"]
    tuned = changed_args(base, ROWS["finetune"], 0.5).split()
    assert tuned[tuned.index("--lr") + 1] == "5e-4" and tuned.count("--lr") == 1
    assert tuned[tuned.index("--init") + 1] == "pretrained/korean" and "--batch_frames" in tuned
    assert changed_args(base, ROWS["ddp2"], 1).split()[:-2] == base.replace("12000", "6000").split()[:-2]


def test_a_row_with_another_process_count_keeps_the_frames_of_an_optimizer_step():
    base = "--batch_frames 6000 --workers 1 --lr 1.5e-3"
    single = changed_args(base, ROWS["one_process"], 2, base_nproc=2).split()
    assert single[single.index("--batch_frames") + 1] == "12000" and single[single.index("--workers") + 1] == "2"
    same = changed_args(base, ROWS["fp32"], 2, base_nproc=2).split()  # inherits the base's two processes
    assert same[same.index("--batch_frames") + 1] == "6000" and same[same.index("--precision") + 1] == "fp32"
    assert ROWS["fp32"].nproc is None and changed_args(base, ROWS["ddp2"], 2, base_nproc=2).split()[1] == "6000"


def test_snapshot_names_carry_their_seconds_and_minutes_to_takes_the_first_point_reaching_a_crr():
    assert snapshot_name(300.7) == "elapsed_00300" and snapshot_seconds("elapsed_00300") == 300
    assert snapshot_seconds("best") is None and snapshot_seconds("elapsed_") is None
    curve = [(2.0, 31.0), (4.0, 55.5), (6.0, 49.0), (8.0, 81.0)]
    assert minutes_to(curve, 50) == 4.0 and minutes_to(curve, 80) == 8.0 and minutes_to(curve, 90) is None


def test_bad_arguments_are_one_line_each(capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["--base", "x/y/1", "--sessions", "ddp2"])
    assert stopped.value.code == 2 and "--sessions takes ROW=SESSION" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--base", "x/y/1", "--sessions", "nosuchrow=x/y/2"])
    assert "got nosuchrow=x/y/2" in capsys.readouterr().err


def test_a_negative_snapshot_interval_is_refused_by_main_py(tmp_path):
    done = run_main(["--snapshot_minutes", "-1"], tmp_path / "ckpt")
    assert done.returncode == 2 and "--snapshot_minutes must be positive" in done.stderr


def test_a_fine_tuning_row_trains_in_a_session_and_every_snapshot_is_scored(tmp_path, env, monkeypatch):
    """Real sessions on the sample dataset: a base run, then the 'finetune' row trained by the benchmark itself."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    nsml_cli(env, "dataset", "add", "sample", str(ROOT / "sample_dataset"), cwd=ROOT)
    base_args = f"--init {SHIPPED} --lr 5e-4 --max_epochs 1 --batch_size 4 --precision fp32 --workers 1 " \
                "--snapshot_minutes 0.01"
    base = nsml_cli(env, "run", "-d", "sample", "-a", base_args, cwd=ROOT, timeout=300).stdout
    session = "tester/sample/1"
    assert session in base
    taken = snapshots(session)
    assert len(taken) >= 2 and [s for s, _ in taken] == sorted(s for s, _ in taken)  # between batches + epoch end
    decoding = tmp_path / "decoding"  # the shipped LM with a narrow beam, to keep the test quick
    decoding.mkdir()
    shutil.copyfile(SHIPPED / "lm.json", decoding / "lm.json")
    write_recommended(decoding, DecodingOptions(beam_size=4, lm_weight=0.5, length_bonus=1.0))
    out = tmp_path / "tta" / "result"
    monkeypatch.setattr(sys, "argv", ["time_to_accuracy"])
    code = main(["--base", session, "--rows", "recipe", "finetune", "--minutes", "2", "--snapshot_minutes", "5",
                 "--heldout", str(ROOT / "sample_dataset"), "--decoding_from", str(decoding), "--out", str(out)])
    assert code == 0
    with open(out.with_suffix(".csv"), encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    recipe = [r for r in rows if r["row"] == "recipe"]
    tuned = [r for r in rows if r["row"] == "finetune"]
    assert [r["checkpoint"] for r in recipe] == [path.name for _, path in taken]
    assert tuned[0]["minutes"] == "0.0" and tuned[0]["checkpoint"] == "korean"  # the shipped model at minute 0
    assert tuned[1]["session"] == "tester/sample/2" and len(tuned) >= 2  # trained by the benchmark: epoch end
    assert all(0 <= float(r["crr_greedy"]) <= 100 and 0 <= float(r["crr_recommended"]) <= 100 for r in rows)
    assert float(tuned[0]["crr_recommended"]) > 50  # the shipped model understands the sample's speech
    table = out.with_suffix(".md").read_text(encoding="utf-8")
    assert "| finetune | from the shipped model" in table and "| 0.0 |" in table
    assert out.with_suffix(".png").stat().st_size > 10_000
    ps = nsml_cli(env, "ps", cwd=ROOT).stdout
    assert "time to accuracy: finetune" in ps
    # with --scored, a snapshot already in the CSV is read from it, not decoded again (figures marked to tell)
    marked = tmp_path / "marked.csv"
    with open(marked, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows({**r, "crr_greedy": "12.34"} for r in rows if r["row"] == "recipe")
    again = tmp_path / "again" / "result"
    assert main(["--base", session, "--rows", "recipe", "--heldout", str(ROOT / "sample_dataset"),
                 "--decoding_from", str(decoding), "--scored", str(marked), "--out", str(again)]) == 0
    with open(again.with_suffix(".csv"), encoding="utf-8") as f:
        rescored = list(csv.DictReader(f))
    assert [r["crr_greedy"] for r in rescored] == ["12.34"] * len(recipe)


def test_scored_refuses_a_csv_of_another_held_out_split(tmp_path):
    other = tmp_path / "ru.csv"
    other.write_text("row,session,checkpoint,minutes,exact\nrecipe,a/b/1,elapsed_00060,1.0,50.0\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no column crr_greedy, crr_recommended"):
        read_scored(other, ("crr_greedy", "crr_recommended"))
