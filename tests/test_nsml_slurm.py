"""The Slurm backend against a real single-node Slurm cluster on 127.0.0.1 (``slurm_support``).

Each test gets its own NSML_HOME, shared folder and Slurm account, and cancels its account's jobs at the end, so
the tests share one cluster (started once for the module, about two seconds) without seeing each other's jobs.
The node has 2 CPUs: a session run with ``-c 2`` takes the whole node and the next one waits as ``queued``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
from pathlib import Path

import pytest

import slurm_support
from nsml_support import nsml_cli, wait_for

SLOW = "--epochs 200 --epoch_seconds 0.1"
CRASH = "import sys\nprint('about to fail', flush=True)\nsys.exit(3)\n"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    running = slurm_support.running_cluster(tmp_path_factory.mktemp("slurm"), {"n1": 2})
    yield running
    running.stop()


@pytest.fixture
def slurm_env(env, cluster, tmp_path, request) -> dict[str, str]:
    """The nsml environment of one test on the cluster: its own shared folder and account."""
    account = re.sub(r"[^a-z0-9]", "", request.node.name.lower())[-30:]
    shared = tmp_path / "shared"
    shared.mkdir()
    yield dict(env, **cluster.env, NSML_SHARED=str(shared), NSML_BACKEND="slurm", NSML_SLURM_ACCOUNT=account,
               NSML_SLURM_PARTITION="train", NSML_SLURM_SUBMIT_PARTITION="submit")
    cluster.command("scancel", "-A", account, check=False)


def sessions(env: dict[str, str]) -> dict[str, dict]:
    return {s["name"]: s for s in json.loads(nsml_cli(env, "ps", "--json").stdout)}


def status(env: dict[str, str], name: str) -> str:
    return sessions(env)[name]["status_shown"]


def job(cluster, job_id: str) -> dict[str, str]:
    shown = cluster.command("scontrol", "show", "job", "-o", job_id).stdout
    return dict(re.findall(r"(\w[\w/:]*)=(\S*)", shown))


def start(env, project, *args: str) -> str:
    return nsml_cli(env, "run", "--detach", "-d", "toy", *args, cwd=project).stdout.strip()


def entry_pid(env, name: str) -> int:
    log = Path(env["NSML_SHARED"]) / "sessions" / name / "log.txt"
    wait_for(lambda: log.is_file() and "ENV " in log.read_text(), timeout=30, what="the entry to start")
    line = next(line for line in log.read_text().splitlines() if line.startswith("ENV "))
    return json.loads(line[4:])["pid"]


def test_a_session_is_a_job_queued_then_running_then_done_with_its_records(slurm_env, project, cluster) -> None:
    name = start(slurm_env, project, "-g", "1", "-c", "1", "--mem", "200M", "--time", "5", "-m", "on slurm",
                 "-a", "--epochs 3 --epoch_seconds 0.3")
    raw = sessions(slurm_env)[name]
    assert raw["backend"] == "slurm" and raw["job_id"]
    spec = job(cluster, raw["job_id"])
    assert spec["JobName"] == name and spec["Partition"] == "train" and spec["TresPerNode"] == "gres:gpu:1"
    assert spec["MinMemoryNode"] == "200M" and spec["TimeLimit"] == "00:05:00" and spec["NumCPUs"] == "1"
    assert spec["StdOut"] == str(Path(slurm_env["NSML_SHARED"]) / "sessions" / name / "log.txt")
    seen = []
    deadline = time.monotonic() + 60
    while not seen or seen[-1] in ("queued", "running", "starting"):
        assert time.monotonic() < deadline, seen
        shown = status(slurm_env, name)
        if not seen or seen[-1] != shown:
            seen.append(shown)
        time.sleep(0.1)
    assert seen[-1] == "done" and "running" in seen, seen
    assert seen.index("running") < seen.index("done")

    record = sessions(slurm_env)[name]
    assert record["summary"] == {"epoch": 3.0, "eval__cer": pytest.approx(1 / 9)}
    assert record["params"]["--epochs"] == 3 and record["exit_code"] == 0
    logged = nsml_cli(slurm_env, "logs", name).stdout
    assert "epoch 3 done" in logged and '"GPU_NUM": 1' in logged and f'"SESSION_NAME": "{name}"' in logged
    models = json.loads(nsml_cli(slurm_env, "model", "ls", name, "--json").stdout)
    assert {m["checkpoint"] for m in models} == {"1", "2", "3", "best"}
    assert next(m for m in models if m["checkpoint"] == "3")["summary"]["epoch"] == 3.0
    pulled = nsml_cli(slurm_env, "model", "pull", name, "best", str(project.parent / "pulled")).stdout.strip()
    assert json.loads((Path(pulled) / "model.json").read_text())["epoch"] == 3
    assert Path(nsml_cli(slurm_env, "plot", name).stdout.strip()).is_file()
    folder = Path(slurm_env["NSML_SHARED"]) / "sessions" / name
    assert list(folder.glob("events.out.tfevents.*")), "TensorBoard events beside the session"
    assert not (Path(slurm_env["NSML_HOME"]) / "sessions" / name).exists()
    # the job never opened the database: its records came through the event file
    assert (folder / "events.jsonl").stat().st_size == record["events_offset"]


def test_a_foreground_run_streams_and_logs_follow_ends_with_the_status(slurm_env, project) -> None:
    ran = nsml_cli(slurm_env, "run", "-d", "toy", "-a", "--epochs 2 --epoch_seconds 0.2", cwd=project)
    assert "epoch 2 done" in ran.stdout and re.search(r"session tester/toy/1 done", ran.stderr)
    (project / "crash.py").write_text(CRASH)
    name = start(slurm_env, project, "-e", "crash.py")
    follow = nsml_cli(slurm_env, "logs", "-f", name, check=False, timeout=60)
    assert follow.returncode == 3 and "about to fail" in follow.stdout
    assert f"session {name} failed(3)" in follow.stderr
    assert status(slurm_env, name) == "failed(3)"


def test_with_one_slot_the_second_session_waits_queued_and_both_stop(slurm_env, project, cluster) -> None:
    first = start(slurm_env, project, "-c", "2", "-a", SLOW)
    entry_pid(slurm_env, first)
    second = start(slurm_env, project, "-c", "2", "-a", SLOW)
    time.sleep(1.5)
    assert status(slurm_env, first) == "running"
    assert status(slurm_env, second) == "queued"
    nsml_cli(slurm_env, "ps", columns=200)  # the table shows it too
    assert "queued" in nsml_cli(slurm_env, "ps").stdout

    stopped = nsml_cli(slurm_env, "stop", second, timeout=90)
    assert f"session {second} stopped" in stopped.stderr
    stopped = nsml_cli(slurm_env, "stop", first, timeout=90)
    assert f"session {first} stopped" in stopped.stderr
    for name in (first, second):
        job_id = sessions(slurm_env)[name]["job_id"]
        assert job(cluster, job_id)["JobState"] == "CANCELLED"
    assert "epoch 200 done" not in nsml_cli(slurm_env, "logs", first).stdout


def test_a_job_killed_outside_nsml_is_marked_killed_and_counts_as_failed(slurm_env, project, cluster) -> None:
    sigkilled = start(slurm_env, project, "-a", SLOW)
    cancelled = start(slurm_env, project, "-a", SLOW)
    os.kill(entry_pid(slurm_env, sigkilled), signal.SIGKILL)  # the OOM killer, say
    entry_pid(slurm_env, cancelled)
    cluster.command("scancel", sessions(slurm_env)[cancelled]["job_id"])  # an administrator's scancel
    follow = nsml_cli(slurm_env, "logs", "-f", sigkilled, check=False, timeout=60)
    assert follow.returncode == 128 + 9 and f"session {sigkilled} killed(SIGKILL)" in follow.stderr
    wait_for(lambda: status(slurm_env, cancelled) != "running", timeout=30, what="the cancel")
    assert status(slurm_env, cancelled) == "killed(SIGTERM)"
    assert nsml_cli(slurm_env, "logs", "-f", cancelled, check=False).returncode == 128 + 15


def test_fork_and_submit_of_a_slurm_session(slurm_env, project, cluster) -> None:
    parent = start(slurm_env, project, "-a", "--epochs 2")
    assert nsml_cli(slurm_env, "logs", "-f", parent, timeout=60).returncode == 0
    fork = nsml_cli(slurm_env, "fork", parent, "2", "-a", "--epochs 3", "--detach", timeout=60).stdout.strip()
    assert sessions(slurm_env)[fork]["backend"] == "slurm"
    followed = nsml_cli(slurm_env, "logs", "-f", fork, timeout=60).stdout
    assert "loaded epoch 2" in followed and "epoch 3 done" in followed and "epoch 2 done" not in followed
    models = json.loads(nsml_cli(slurm_env, "model", "ls", fork, "--json").stdout)
    assert {m["checkpoint"] for m in models} == {"3", "best"}

    quick = nsml_cli(slurm_env, "submit", "-t", "--timeout", "90", fork, "best", timeout=90)
    assert '"SESSION_NAME"' in quick.stdout  # -t shows the job's output
    scored = nsml_cli(slurm_env, "submit", "--timeout", "90", fork, "best", timeout=90)
    assert "CRR" in scored.stdout or "crr" in scored.stdout.lower()
    listed = json.loads(nsml_cli(slurm_env, "submit", "ls", fork, "--json").stdout)
    assert len(listed) == 1 and listed[0]["peak_memory_kib"] > 0
    submits = cluster.command("squeue", "--states=all", "-h", "-n", f"nsml-submit:{fork}", "-o", "%P|%T|%l").stdout
    assert submits.split() == ["submit|COMPLETED|2:00"] * 2  # 90 s: whole minutes, submits


def test_a_team_cap_refuses_a_third_concurrent_job(slurm_env, project) -> None:
    capped = dict(slurm_env, NSML_SLURM_MAX_JOBS="2")
    first = start(capped, project, "-a", SLOW)
    second = start(capped, project, "-a", SLOW)
    refused = nsml_cli(capped, "run", "--detach", "-d", "toy", "-a", SLOW, cwd=project, check=False)
    assert refused.returncode == 2, refused.stderr
    assert f"team cap: account {capped['NSML_SLURM_ACCOUNT']} holds 2 job(s)" in refused.stderr
    assert "no session was started" in refused.stderr
    assert set(sessions(capped)) == {first, second}
    nsml_cli(capped, "stop", second, timeout=90)
    third = start(capped, project, "-a", "--epochs 1")  # a slot is free again
    assert nsml_cli(capped, "logs", "-f", third, timeout=60).returncode == 0
    cpu_capped = dict(slurm_env, NSML_SLURM_MAX_CPUS="2")
    refused = nsml_cli(cpu_capped, "run", "--detach", "-d", "toy", "-c", "2", "-a", SLOW, cwd=project, check=False)
    assert refused.returncode == 2 and "needs 2 more CPUs, at most 2 at once (max_cpus, set in NSML_SLURM_MAX_CPUS)" \
        in refused.stderr


def test_an_organiser_caps_a_team_with_the_cluster_command(slurm_env, project) -> None:
    account = slurm_env["NSML_SLURM_ACCOUNT"]
    nsml_cli(slurm_env, "cluster", "caps", "--team", account, "--max_jobs", "1")
    first = start(slurm_env, project, "-a", SLOW)
    refused = nsml_cli(slurm_env, "run", "--detach", "-d", "toy", "-a", SLOW, cwd=project, check=False)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr  # before any snapshot
    error = refused.stderr.rstrip()
    caps_file = Path(slurm_env["NSML_SHARED"]) / "caps.json"
    assert error.startswith(f"nsml: error: team cap: account {account} holds 1 job(s)")
    assert f"at most 1 at once (max_jobs, set in {caps_file} for team {account})" in error
    assert error.endswith(f"an organiser raises the cap with: nsml cluster caps --team {account} --max_jobs N")
    assert set(sessions(slurm_env)) == {first}
    nsml_cli(slurm_env, "cluster", "caps", "--team", account, "--max_jobs", "2")
    second = start(slurm_env, project, "-a", "--epochs 1")
    assert second.endswith("/2")  # the refused run took no session number
    assert nsml_cli(slurm_env, "logs", "-f", second, timeout=60).returncode == 0
    nsml_cli(slurm_env, "cluster", "caps", "--max_gpus", "1")  # every team: one GPU at a time
    refused = nsml_cli(slurm_env, "run", "--detach", "-d", "toy", "-g", "2", "-a", SLOW, cwd=project, check=False)
    assert refused.returncode == 2 and f"at most 1 at once (max_gpus, set in {caps_file} for every team)" \
        in refused.stderr


def test_the_watchdog_scancels_a_silent_job(slurm_env, project, cluster) -> None:
    (project / "silent.py").write_text("import time\nprint('loading', flush=True)\ntime.sleep(300)\n")
    name = start(slurm_env, project, "-e", "silent.py")
    entry_log = Path(slurm_env["NSML_SHARED"]) / "sessions" / name / "log.txt"
    wait_for(lambda: "loading" in entry_log.read_text() and status(slurm_env, name) == "running", timeout=30,
             what="the silent job to run")
    wait_for(lambda: (sessions(slurm_env)[name]["idle_s"] or 0) > 2.5, timeout=30, what="the job to be idle")
    watched = nsml_cli(dict(slurm_env, NSML_IDLE_LIMIT="2"), "watchdog", "--stop", timeout=90)
    job_id = sessions(slurm_env)[name]["job_id"]
    assert watched.stdout.splitlines()[1].split()[:4] == [name, "slurm", "job", job_id]
    assert watched.stdout.splitlines()[1].split()[-1] == "stopped(idle)"
    assert job(cluster, job_id)["JobState"] == "CANCELLED"
    assert status(slurm_env, name) == "stopped(idle)"
    assert "stopped by the idle watchdog" in entry_log.read_text()
