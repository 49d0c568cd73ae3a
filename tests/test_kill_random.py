"""SIGKILL at random moments of training, saving and submitting, then ``fork``: nothing written before the kill is
lost or corrupted, no half-made checkpoint or scratch folder outlives the next command, and training resumes.

The moments are drawn from seeded generators, so a failure repeats with its seed.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from nsml_support import nsml_cli, wait_for

from nsml import checkpoints, scratch
from nsml.procs import pid_alive
from nsml.store import Store

SLOW_TOY = "--epochs 500 --epoch_seconds 0.05 --save_seconds 0.2"


def store(env) -> Store:
    return Store(Path(env["NSML_HOME"]) / "nsml.sqlite")


def epoch_checkpoints(root: Path) -> dict[str, dict]:
    """The numbered (never rewritten) checkpoints and their contents, as a reader sees them now."""
    found = {}
    for name in checkpoints.names(root):
        if name.isdigit():
            try:
                found[name] = json.loads((root / name / "model.json").read_text())
            except FileNotFoundError:  # replaced or removed while listing: not part of this snapshot
                continue
    return found


@pytest.mark.slow
@pytest.mark.parametrize("seed", [11, 12, 13])
def test_sigkill_during_training_and_saving_loses_nothing_and_fork_resumes(env, project, seed) -> None:
    rng = random.Random(seed)
    name = nsml_cli(env, "run", "--detach", "-d", "toy", "-a", SLOW_TOY, cwd=project).stdout.strip()
    root = Path(env["NSML_HOME"]) / "sessions" / name / "checkpoints"
    wait_for(lambda: "1" in checkpoints.names(root), what="the first checkpoint")
    time.sleep(rng.uniform(0.0, 1.5))
    before = epoch_checkpoints(root)
    metrics_before = store(env).metrics(name)
    row = store(env).session(name)
    victim = rng.choice(["supervisor", "entry"])
    os.kill(row.supervisor_pid if victim == "supervisor" else row.child_pid, signal.SIGKILL)
    wait_for(lambda: not pid_alive(row.child_pid), what="the entry to be gone")
    wait_for(lambda: not store(env).session(name).active or "killed" in nsml_cli(env, "ps").stdout,
             what="the session to end")
    nsml_cli(env, "ps")  # notices a dead supervisor and sweeps

    with sqlite3.connect(Path(env["NSML_HOME"]) / "nsml.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    after = epoch_checkpoints(root)
    assert {k: after.get(k) for k in before} == before  # every checkpoint seen before the kill, unchanged
    epochs = sorted(int(n) for n in after)
    assert epochs == list(range(1, len(epochs) + 1))
    assert list((root / checkpoints.PENDING).iterdir()) == []
    linked = {os.path.basename(os.readlink(p)) for p in root.iterdir() if p.is_symlink()}
    assert {p.name for p in (root / checkpoints.VERSIONS).iterdir()} == linked  # no orphaned versions
    assert set(metrics_before) <= set(store(env).metrics(name))  # every metric recorded before, unchanged

    last = max(epochs)
    fork = nsml_cli(env, "fork", name, str(last), "-a", f"--epochs {last + 1} --save_seconds 0", cwd=project)
    assert f"loaded epoch {last}" in fork.stdout and f"epoch {last + 1} done" in fork.stdout


GUARDED = '''
import argparse, os, time
import nsml

parser = argparse.ArgumentParser()
parser.add_argument("--mode", default="train")
parser.add_argument("--pause", type=int, default=0)
args = parser.parse_args()


def save(path):
    with open(os.path.join(path, "model.txt"), "w") as f:
        f.write("toy")


def infer(path):
    time.sleep(0.3)
    return "안녕하세요"


nsml.bind(save=save, load=lambda path: None, infer=infer)
if args.pause == 1:
    nsml.paused(scope=locals())
if args.mode == "train":
    nsml.save("best")
'''


@pytest.mark.slow
@pytest.mark.parametrize("seed", [21, 25, 22])  # kills at 0.75 s, 1.32 s, 2.89 s
def test_sigkill_during_submit_leaves_no_scratch_and_no_half_record(env, dataset, tmp_path, seed) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "main.py").write_text(GUARDED, encoding="utf-8")
    nsml_cli(env, "dataset", "add", "toy", str(dataset))
    name = "tester/toy/1"
    nsml_cli(env, "run", "-d", "toy", cwd=code)
    env = dict(env, TMPDIR=str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    submit = subprocess.Popen([sys.executable, "-m", "nsml", "submit", name, "best"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(random.Random(seed).uniform(0.3, 3.0))  # starting, inferring (6 x 0.3 s), scoring, recording
    submit.send_signal(signal.SIGKILL)
    submit.wait()

    session = Path(env["NSML_HOME"]) / "sessions" / name
    left = list((session / scratch.SCRATCH).glob("*")) if (session / scratch.SCRATCH).is_dir() else []
    print(f"seed {seed}: killed with {len(left)} scratch folder(s) left, "
          f"{len(store(env).submissions(session=name))} submission(s) recorded")
    nsml_cli(env, "ps")  # the next command
    assert not (session / scratch.SCRATCH).exists() or list((session / scratch.SCRATCH).iterdir()) == []
    assert list((tmp_path / "tmp").iterdir()) == []
    recorded = store(env).submissions(session=name)
    assert len(recorded) <= 1
    for found in recorded:  # a record is whole: all its utterances, scored
        assert found.utterances == 6 and len(store(env).scored_utterances(found.id)) == 6
    again = nsml_cli(env, "submit", name, "best")
    assert f"as submission {len(recorded) + 1} of {name}" in again.stdout


@pytest.mark.slow
def test_sigkill_of_real_training_then_fork_resumes_from_a_finite_checkpoint(env, tmp_path) -> None:
    from support import ROOT
    from models import load_checkpoint

    code = ROOT
    args = ("--hidden_size 16 --layer_size 1 --batch_size 8 --workers 2 --use_attention --max_len 10 "
            "--max_epochs 4 --lr 1e-3")
    env = dict(env, SPEECH_KIT_CACHE=str(tmp_path / "audio-checks.sqlite"))
    name = nsml_cli(env, "run", "--detach", "-a", args, cwd=code, timeout=120).stdout.strip()
    root = Path(env["NSML_HOME"]) / "sessions" / name / "checkpoints"
    wait_for(lambda: "model" in checkpoints.names(root), timeout=180, what="the first 'model' checkpoint")
    time.sleep(random.Random(31).uniform(0.0, 4.0))
    os.kill(store(env).session(name).supervisor_pid, signal.SIGKILL)
    wait_for(lambda: "killed" in nsml_cli(env, "ps").stdout, what="the session to be recorded as killed")

    saved = load_checkpoint(root / "model")
    epoch = saved.train_state["epoch"]
    assert 1 <= epoch <= 4
    assert all(bool(t.isfinite().all()) for t in saved.model_state.values() if t.is_floating_point())
    fork = nsml_cli(env, "fork", name, "model", "-a", f"--max_epochs {epoch + 1}", cwd=code, timeout=300)
    assert f"(epoch {epoch})" in fork.stdout  # the run's output
    assert f"epoch {epoch + 1}/{epoch + 1}: train loss" in fork.stdout
    child = f"{name.rsplit('/', 1)[0]}/{int(name.rsplit('/', 1)[1]) + 1}"
    resumed = load_checkpoint(Path(env["NSML_HOME"]) / "sessions" / child / "checkpoints" / "model")
    assert resumed.train_state["epoch"] == epoch + 1
