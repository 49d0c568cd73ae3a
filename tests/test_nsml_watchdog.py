"""The idle watchdog on local sessions: real processes, one silent (sleeps after one line), one printing steadily.

``nsml ps`` marks the silent one ``idle Ns`` once it has been silent longer than ``NSML_IDLE_LIMIT``;
``nsml watchdog`` lists it (and only it), and stops it when asked (``NSML_IDLE_STOP=1`` or ``--stop``): the
reason is the last line of its log and its status reads ``stopped(idle)``, while the busy one runs on.
"""

from __future__ import annotations

import json
from pathlib import Path

from nsml_support import nsml_cli, wait_for

LIMIT_S = "2"
SILENT = "import time\nprint('loading', flush=True)\ntime.sleep(300)\n"
BUSY = "--epochs 600 --epoch_seconds 0.1"


def records(env: dict[str, str]) -> dict[str, dict]:
    return {s["name"]: s for s in json.loads(nsml_cli(env, "ps", "--json").stdout)}


def test_a_silent_session_is_marked_idle_listed_and_stopped_by_the_watchdog(env, project) -> None:
    (project / "silent.py").write_text(SILENT)
    silent = nsml_cli(env, "run", "--detach", "-d", "toy", "-e", "silent.py", cwd=project).stdout.strip()
    busy = nsml_cli(env, "run", "--detach", "-d", "toy", "-a", BUSY, cwd=project).stdout.strip()
    log = Path(env["NSML_HOME"]) / "sessions" / silent / "log.txt"
    wait_for(lambda: log.is_file() and "loading" in log.read_text(), timeout=30, what="the silent entry to start")
    wait_for(lambda: (records(env)[silent]["idle_s"] or 0) > float(LIMIT_S) + 0.5, timeout=30,
             what="the silent session to be idle past the limit")
    found = records(env)
    assert found[busy]["status"] == "running" and found[busy]["idle_s"] < float(LIMIT_S)

    limited = dict(env, NSML_IDLE_LIMIT=LIMIT_S)
    table = nsml_cli(limited, "ps").stdout
    silent_row = next(line for line in table.splitlines() if line.startswith(silent))
    busy_row = next(line for line in table.splitlines() if line.startswith(busy))
    assert "running idle " in silent_row and "idle" not in busy_row
    assert "idle" not in nsml_cli(env, "ps").stdout  # the default limit (30 min) is far away

    listed = nsml_cli(limited, "watchdog")
    assert listed.stdout.splitlines()[0].split() == ["SESSION", "BACKEND", "IDLE", "LAST", "PROGRESS", "ACTION"]
    assert [line.split()[0] for line in listed.stdout.splitlines()[1:]] == [silent]
    assert "2 running session(s), 1 idle for longer than 2s; stop them with --stop" in listed.stderr
    assert records(env)[silent]["status"] == "running"  # listed, not stopped

    stopped = nsml_cli(dict(limited, NSML_IDLE_STOP="1"), "watchdog", timeout=60)
    assert stopped.stdout.splitlines()[1].split()[-1] == "stopped(idle)", stopped.stdout
    assert "1 idle for longer than 2s; 1 stopped" in stopped.stderr
    found = records(env)
    assert found[silent]["status_shown"] == "stopped(idle)" and found[busy]["status"] == "running"
    assert "nsml: stopped by the idle watchdog: no output and no reported metric for" in log.read_text()
    assert "stopped(idle)" in nsml_cli(env, "ps").stdout

    quiet = nsml_cli(limited, "watchdog", "--stop")  # the busy one keeps printing: nothing to do
    assert quiet.stdout == "" and "1 running session(s), 0 idle for longer than 2s; 0 stopped" in quiet.stderr
    assert "stopped" in nsml_cli(env, "stop", busy, timeout=60).stderr
    assert records(env)[busy]["status_shown"] == "stopped"  # a stop asked by the user is not an idle stop


def test_a_bad_idle_limit_is_one_line(env) -> None:
    refused = nsml_cli(dict(env, NSML_IDLE_LIMIT="ten minutes"), "watchdog", check=False)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1
    assert refused.stderr.startswith("nsml: error: NSML_IDLE_LIMIT='ten minutes': expected a number of seconds")
    refused = nsml_cli(env, "watchdog", "--limit", "0", check=False)
    assert refused.returncode == 2 and "--limit: must be positive" in refused.stderr
