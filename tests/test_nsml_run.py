"""``nsml run``, ``ps``, ``logs``, ``memo``, ``stop`` and ``rm`` on the toy entry, as real processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from nsml_support import nsml_cli, wait_for

from nsml.store import Store


def session_dir(env: dict[str, str], name: str) -> Path:
    return Path(env["NSML_HOME"]) / "sessions" / name


def toy_env(output: str) -> dict:
    line = next(line for line in output.splitlines() if line.startswith("ENV "))
    return json.loads(line[4:])


def test_run_names_snapshots_and_hands_the_contract_to_user_code(env, project, dataset) -> None:
    first = nsml_cli(env, "run", "-d", "toy", "-a", "--epochs 2", "-g", "1", "-m", "baseline", cwd=project)
    assert "epoch 2 done" in first.stdout  # streamed to the terminal
    assert "session tester/toy/1" in first.stderr
    seen = toy_env(first.stdout)
    code = session_dir(env, "tester/toy/1") / "code"
    assert seen == {"DATASET_PATH": str(dataset), "DATASET_NAME": "toy", "GPU_NUM": 1, "HAS_DATASET": True,
                    "IS_ON_NSML": True, "SESSION_NAME": "tester/toy/1", "cwd": str(code), "pid": seen["pid"]}
    assert sorted(p.relative_to(code).as_posix() for p in code.rglob("*")) == [".nsmlignore", "main.py",
                                                                               "notes.txt"]
    log = (session_dir(env, "tester/toy/1") / "log.txt").read_text()
    assert "epoch 2 done" in log and "ENV " in log

    (project / "main.py").write_text("import sys\nprint('boom', file=sys.stderr)\nsys.exit(3)\n")
    second = nsml_cli(env, "run", "-d", "toy", "--memo", "broken", cwd=project, check=False)
    assert second.returncode == 3 and "boom" in second.stdout  # stderr of the run is in its output too
    assert "tester/toy/2 failed(3)" in second.stderr

    ps = nsml_cli(env, "ps").stdout.splitlines()
    assert ps[0].split() == ["SESSION", "CREATED", "ARGS", "STATUS", "SUMMARY", "MEMO"]
    assert ps[1].startswith("tester/toy/1") and "--epochs 2" in ps[1] and " done " in ps[1]
    assert "epoch=2 eval__cer=0.1667" in ps[1] and ps[1].endswith("baseline")
    assert ps[2].startswith("tester/toy/2") and "failed(3)" in ps[2] and ps[2].endswith("broken")

    nsml_cli(env, "memo", "tester/toy/2", "syntax error, ignore")
    assert nsml_cli(env, "ps").stdout.splitlines()[2].endswith("syntax error, ignore")
    assert nsml_cli(env, "logs", "tester/toy/1").stdout == log


def test_detached_run_follow_stop_and_rm(env, project) -> None:
    started = nsml_cli(env, "run", "--detach", "-d", "toy", "-a", "--epochs 500 --epoch_seconds 0.05", cwd=project)
    name = started.stdout.strip()
    assert name == "tester/toy/1"
    log = session_dir(env, name) / "log.txt"
    wait_for(lambda: log.is_file() and "epoch 2 done" in log.read_text(), what="two epochs")
    assert " running " in nsml_cli(env, "ps").stdout
    follow = subprocess.Popen([sys.executable, "-m", "nsml", "logs", "-f", name], env=env, stdout=subprocess.PIPE,
                              text=True)
    refused = nsml_cli(env, "rm", name, check=False)
    assert refused.returncode == 1 and "stop it first" in refused.stderr
    stopped = nsml_cli(env, "stop", name)
    assert f"session {name} stopped" in stopped.stderr
    followed, _ = follow.communicate(timeout=20)  # -f ends by itself once the session has ended
    assert "epoch 2 done" in followed and follow.returncode == 0
    row = Store(Path(env["NSML_HOME"]) / "nsml.sqlite").session(name)
    assert row.status == "stopped"
    child = row.child_pid
    assert not Path(f"/proc/{child}").exists() or "Z" in Path(f"/proc/{child}/stat").read_text().split()[2]
    assert "not running" in nsml_cli(env, "stop", name).stderr


def test_rm_with_wildcards_and_force(env, project) -> None:
    for _ in range(2):
        nsml_cli(env, "run", "-d", "toy", "-a", "--epochs 1", cwd=project)
    running = nsml_cli(env, "run", "--detach", "-d", "toy", "-a", "--epochs 500 --epoch_seconds 0.05",
                   cwd=project).stdout.strip()
    nsml_cli(env, "rm", "tester/toy/[12]")
    assert not session_dir(env, "tester/toy/1").exists()
    ps = nsml_cli(env, "ps").stdout
    assert "tester/toy/1" not in ps and "tester/toy/2" not in ps and running in ps
    nsml_cli(env, "rm", "-f", "tester/*")
    assert nsml_cli(env, "ps").stdout.splitlines()[1:] == []
    again = nsml_cli(env, "run", "-d", "toy", "-a", "--epochs 1", cwd=project)
    assert "session tester/toy/4" in again.stderr  # numbers are never reused
