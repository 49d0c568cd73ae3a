"""Runs killed with SIGKILL mid-training (mid-save, even), and ``nsml fork`` resuming from the last good checkpoint."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
from pathlib import Path

from nsml_support import nsml_cli, wait_for

from nsml import checkpoints
from nsml.entities import Session
from nsml.procs import pid_alive
from nsml.store import Store

SLOW = "--epochs 500 --epoch_seconds 0.05 --save_seconds 0.3"


def session_row(env, name: str) -> Session:
    return Store(Path(env["NSML_HOME"]) / "nsml.sqlite").session(name)


def test_killed_supervisor_leaves_whole_checkpoints_and_fork_resumes(env, project) -> None:
    name = nsml_cli(env, "run", "--detach", "-d", "toy", "-a", SLOW, cwd=project).stdout.strip()
    root = Path(env["NSML_HOME"]) / "sessions" / name / "checkpoints"
    pending = root / checkpoints.PENDING
    # kill while a save is half done: its folder is pending and the user's save is still sleeping in it
    wait_for(lambda: "2" in checkpoints.names(root) and pending.is_dir() and any(pending.iterdir()),
             what="a save in progress after epoch 2")
    row = session_row(env, name)
    os.kill(row.supervisor_pid, signal.SIGKILL)
    wait_for(lambda: not pid_alive(row.child_pid), what="the user's process to die with its supervisor")

    ps = nsml_cli(env, "ps").stdout.splitlines()[1]
    assert ps.startswith(name) and " killed " in ps
    with sqlite3.connect(Path(env["NSML_HOME"]) / "nsml.sqlite") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert list(pending.iterdir()) == []  # the half-made save was swept once the kill was noticed

    saved = checkpoints.names(root)
    epochs = [int(n) for n in saved if n.isdigit()]
    assert epochs == list(range(1, len(epochs) + 1)) and saved[-1] == "best"
    models = {checkpoint: json.loads((root / checkpoint / "model.json").read_text()) for checkpoint in saved}
    for checkpoint, model in models.items():  # every visible checkpoint is whole
        assert len(model["table"]) == min(model["epoch"], 3)
        if checkpoint.isdigit():
            assert model["epoch"] == int(checkpoint)
    last = max(epochs)
    assert models["best"]["epoch"] in (last, last - 1)  # 'best' is saved after the epoch's own checkpoint

    fork = nsml_cli(env, "fork", name, str(last), "-a", f"--epochs {last + 2}", cwd=project)
    child = f"tester/toy/{int(name.rsplit('/', 1)[1]) + 1}"
    assert f"loaded epoch {last}" in fork.stdout and f"starting at epoch {last}" in fork.stdout
    assert f"epoch {last + 2} done" in fork.stdout and "epoch 1 done" not in fork.stdout
    row = session_row(env, child)
    assert (row.parent, row.parent_checkpoint, row.status) == (name, str(last), "done")
    assert row.extra_args == ["--pause", "1"]  # the toy's parser rejects --iteration
    forked = [line.split()[0] for line in nsml_cli(env, "model", "ls", child).stdout.splitlines()[1:]]
    assert sorted(forked) == sorted([str(last + 1), str(last + 2), "best"])
    assert f"fork of {name} checkpoint {last}" in nsml_cli(env, "ps").stdout


def test_killed_user_process_is_recorded_with_its_signal(env, project) -> None:
    name = nsml_cli(env, "run", "--detach", "-d", "toy", "-a", SLOW, cwd=project).stdout.strip()
    wait_for(lambda: (session_row(env, name).child_pid or 0) > 0, what="the run to start")
    os.kill(session_row(env, name).child_pid, signal.SIGKILL)
    wait_for(lambda: session_row(env, name).status != "running", what="the supervisor to record the end")
    assert (session_row(env, name).status, session_row(env, name).exit_code) == ("killed", -9)
    assert "killed(SIGKILL)" in nsml_cli(env, "ps").stdout


RESUMABLE = '''
import argparse, os
import nsml

parser = argparse.ArgumentParser()
parser.add_argument("--pause", type=int, default=0)
parser.add_argument("--iteration", default=None, help="checkpoint to resume from")
args = parser.parse_args()
nsml.bind(save=lambda d: open(os.path.join(d, "w"), "w").write("1"), load=lambda d: print("loaded", d))
if args.pause == 1:
    nsml.paused(scope=locals())
    print("resuming at iteration", args.iteration)
else:
    nsml.save("first")
'''


def test_fork_passes_iteration_only_to_entries_that_accept_it(env, project) -> None:
    (project / "resumable.py").write_text(RESUMABLE)
    nsml_cli(env, "run", "-d", "toy", "-e", "resumable.py", cwd=project)
    fork = nsml_cli(env, "fork", "tester/toy/1", "first", cwd=project)
    assert "resuming at iteration first" in fork.stdout
    assert f"loaded {Path(env['NSML_HOME']) / 'sessions'}" in fork.stdout
    assert session_row(env, "tester/toy/2").extra_args == ["--pause", "1", "--iteration", "first"]
