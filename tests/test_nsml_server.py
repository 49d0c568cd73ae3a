"""nsml server end to end: a real server process on 127.0.0.1, real ``nsml`` CLI processes as an organiser and two
teams, the toy entry of the nsml tests, and a hostile entry whose infer() tries to read what the sandbox hides.
Every server test runs twice: with its records in SQLite (the default) and in a real PostgreSQL on 127.0.0.1
(``NSML_DATABASE_URL``).

The server runs participant code in bubblewrap and drops to each team's uid, so it must run as root with
bubblewrap installed (apt-get install -y bubblewrap); elsewhere these tests are skipped with that reason.
"""

from __future__ import annotations

import csv
import re
import time
from pathlib import Path

import pytest

from nsml.server.db import Entry
from server_support import User, competition, needs_sandbox

ROOT = Path(__file__).resolve().parent.parent


HOSTILE_ENTRY = '''
import argparse, json, os, socket, sys

import nsml

LABELS = {labels!r}
PRIVATE = {private!r}
OTHER_CHECKPOINT = {checkpoint!r}
TEAMS = {teams!r}
SERVER = ("127.0.0.1", {port})


def attempt(what, action):
    try:
        got = action()
    except Exception as error:
        print(f"BLOCKED {{what}}: {{type(error).__name__}}: {{error}}", file=sys.stderr, flush=True)
        return None
    print(f"OPENED {{what}}: {{str(got)[:200]}}", file=sys.stderr, flush=True)
    return got


def infer(wav_path):
    stolen = [attempt("labels", lambda: open(LABELS, encoding="utf-8").read()),
              attempt("private labels", lambda: open(PRIVATE, encoding="utf-8").read()),
              attempt("other team checkpoint", lambda: open(OTHER_CHECKPOINT).read()),
              attempt("other sessions", lambda: os.listdir(TEAMS)),
              attempt("network", lambda: socket.create_connection(SERVER, timeout=2))]
    if any(stolen):
        return str(stolen)
    raise PermissionError("the sandbox held: nothing to read")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", default="train")
    parser.add_argument("--pause", type=int, default=0)
    args = parser.parse_args()

    def save(path, **kwargs):
        with open(os.path.join(path, "model.json"), "w") as f:
            json.dump({{}}, f)

    nsml.bind(save=save, load=lambda path, **kwargs: None, infer=infer)
    if args.pause == 1:
        nsml.paused(scope=locals())
    if args.mode == "train":
        nsml.save("best")


main()
'''


@pytest.fixture(params=["sqlite", "postgresql"])
def platform(request: pytest.FixtureRequest, tmp_path: Path, env: dict[str, str]):
    """``server_support.competition`` with its records in SQLite, or in a fresh database of a real PostgreSQL."""
    if request.param == "postgresql":
        env = dict(env, NSML_DATABASE_URL=request.getfixturevalue("postgres").database(f"e2e_{tmp_path.name.lower()}"))
    with competition(tmp_path, env) as (server, data, users):
        assert f"{request.param} " in server.banner
        assert (tmp_path / "server" / "server.sqlite").exists() == (request.param == "sqlite")
        yield server, data, users


@needs_sandbox
@pytest.mark.slow
def test_competition_end_to_end(platform, tmp_path: Path) -> None:
    server, data, users = platform
    organiser, alpha, bravo = users["organiser"], users["alpha"], users["bravo"]
    home = tmp_path / "server"

    # before a phase exists a submit is refused; then a phase opens
    alpha("run", "-d", "toy", "-a", "--epochs 3")
    refused = alpha("submit", "alpha/toy/1", "best", code=2)
    assert "has no phase yet" in refused.stderr
    organiser("admin", "phase", "toy", "main", "--start=-1m", "--end", "+1h")
    organiser("admin", "quota", "toy", "--per-day", "2", "--interval", "0")

    # runs: the same verbs and output as locally, each team in its own home
    alpha("run", "-d", "toy", "-a", "--epochs 3 --broken infer", "-m", "will fail")
    bravo("run", "-d", "toy", "-a", "--epochs 1")
    ps_alpha = alpha("ps").stdout
    assert "alpha/toy/1" in ps_alpha and "alpha/toy/2" in ps_alpha and "bravo/" not in ps_alpha
    assert "bravo/toy/1" in bravo("ps").stdout and "alpha/" not in bravo("ps").stdout
    assert "best" in alpha("model", "ls", "alpha/toy/1").stdout
    assert "epoch 3 done" in alpha("logs", "alpha/toy/1").stdout

    # isolation: another team's session is refused in one line, whatever the verb
    for verb in (("logs", "alpha/toy/1"), ("stop", "alpha/toy/1"), ("rm", "alpha/toy/1"),
                 ("model", "ls", "alpha/toy/1"), ("memo", "alpha/toy/1", "mine"), ("fork", "alpha/toy/1", "best"),
                 ("submit", "alpha/toy/1", "best")):
        done = bravo(*verb, code=2)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "belongs to another team" in lines[0], done.stderr
    organiser_ps = organiser("ps").stdout
    assert "alpha/toy/1" in organiser_ps and "bravo/toy/1" in organiser_ps
    assert "will fail" not in bravo("ps").stdout

    # submits: scored on the public part, a failing infer recorded as failed and not counted
    first = alpha("submit", "alpha/toy/1", "best")
    assert "public part: CRR" in first.stdout and "submission 1" in first.stdout
    failed = alpha("submit", "alpha/toy/2", "best", code=1)
    assert "your infer() raised" in failed.stderr and "not counted" in failed.stderr
    assert "toy infer is broken" in failed.stderr  # the team sees its own traceback
    shown = alpha("submit", "show", "toy", "2").stdout
    assert "failed" in shown and "ValueError: toy infer is broken" in shown
    second = alpha("submit", "alpha/toy/1", "1")
    assert "submission 3" in second.stdout and "0 remain today" in second.stdout

    # the quota: the third counted submit of the day is refused with what remains and when
    refused = alpha("submit", "alpha/toy/1", "2", code=2)
    assert "2 of 2 submissions in the last 24 h used, 0 remain today" in refused.stderr
    assert "next is allowed at" in refused.stderr
    organiser("admin", "grant", "toy", "alpha", "1")
    alpha("submit", "alpha/toy/1", "2")
    # an organiser may score a team's checkpoint: exempt from the quota, and not counted against the team's
    exempt = organiser("submit", "alpha/toy/1", "best")
    assert "submission 5 of team alpha" in exempt.stdout and "made by an organiser: not counted" in exempt.stdout
    assert "0 remain today" in alpha("submit", "alpha/toy/1", "best", code=2).stderr
    organiser("admin", "quota", "toy", "--team", "bravo", "--interval", "3600")
    bravo("submit", "bravo/toy/1", "best")
    too_soon = bravo("submit", "bravo/toy/1", "best", code=2)
    assert "one submission every 3600 s" in too_soon.stderr and "next is allowed at" in too_soon.stderr
    organiser("admin", "quota", "toy", "--team", "bravo", "--interval", "0")

    # a hostile infer: the labels, another team's checkpoint, the team folders and the network are out of reach
    checkpoint = home / "teams" / "alpha" / "sessions" / "alpha" / "toy" / "1" / "checkpoints" / "best" / "model.json"
    assert checkpoint.is_file()
    (bravo.cwd / "main.py").write_text(HOSTILE_ENTRY.format(
        labels=str(data / "test" / "test_label"), private=str(home / "private" / "toy" / "test_label"),
        checkpoint=str(checkpoint), teams=str(home / "teams" / "alpha" / "sessions"), port=server.port),
        encoding="utf-8")
    bravo("run", "-d", "toy")
    hostile = bravo("submit", "bravo/toy/2", "best", code=1)
    assert "your infer() raised" in hostile.stderr
    record = bravo("submit", "show", "toy", "2").stdout
    for what in ("labels", "private labels", "other team checkpoint", "other sessions", "network"):
        assert f"BLOCKED {what}:" in record, record
    assert "OPENED" not in record and "안녕하세요" not in record.split("--- stderr")[1].split("---")[0]
    assert "PermissionError: the sandbox held" in record

    # the per-utterance CSV: the public part only while the phase is open
    rows = list(csv.DictReader(open(_csv(alpha, tmp_path / "u1.csv", "1"), encoding="utf-8")))
    assert rows and {row["part"] for row in rows} == {"public"}

    # final selection: alpha picks its first submission; more than the limit is refused
    assert "final submissions of toy: 1" in alpha("final", "toy", "1").stdout
    assert "at most 2" in alpha("final", "toy", "1", "3", "4", code=2).stderr
    board = alpha("dataset", "board", "toy").stdout
    assert "PRIVATE" not in board and "alpha" in board and "bravo" in board

    # the phase ends: submits refused with the times, private scores revealed, the final ranking
    organiser("admin", "phase", "toy", "main", "--start=-1h", "--end", "now")
    time.sleep(1)
    closed = alpha("submit", "alpha/toy/1", "best", code=2)
    assert "is closed: its last phase ended" in closed.stderr and "UTC" in closed.stderr
    final_board = bravo("dataset", "board", "toy").stdout
    assert "PRIVATE CRR" in final_board and "final ranking" in final_board
    rows = list(csv.DictReader(open(_csv(alpha, tmp_path / "u2.csv", "1"), encoding="utf-8")))
    assert {row["part"] for row in rows} == {"public", "private"}

    # export, then a relabelled private part re-scored (with confirmation) and exported again
    exported = tmp_path / "board.csv"
    organiser("admin", "export", "toy", "--out", str(exported))
    board_rows = {row["team"]: row for row in csv.DictReader(open(exported, encoding="utf-8"))}
    assert set(board_rows) == {"alpha", "bravo"} and board_rows["alpha"]["final_selection"] == "1"
    assert board_rows["alpha"]["private_crr"] and board_rows["bravo"]["final_selection"] == "1"
    assert "confirm with --yes" in organiser("admin", "rescore", "toy", code=2).stderr
    labels = home / "private" / "toy" / "test_label"
    labels.write_text(labels.read_text(encoding="utf-8").replace("괜찮아요", "괜찮습니다"), encoding="utf-8")
    rescored = organiser("admin", "rescore", "toy", "--yes").stdout
    assert "rescored phase main of toy: 5 submissions" in rescored
    changes = re.findall(r"(\S+) -> (\S+)", rescored)
    assert any(before != after for before, after in changes), rescored
    organiser("admin", "export", "toy", "--out", str(exported))
    after = {row["team"]: row for row in csv.DictReader(open(exported, encoding="utf-8"))}
    assert (after["alpha"]["private_crr"], after["alpha"]["public_crr"]) != (board_rows["alpha"]["private_crr"],
                                                                             board_rows["alpha"]["public_crr"])

    # tokens: listed by digest with their last use, and revoked; a revoked token is refused in one line
    tokens = organiser("admin", "tokens").stdout.splitlines()
    alpha_line = next(line for line in tokens if " alpha " in line)
    assert "participant" in alpha_line and not alpha_line.endswith("never"), tokens
    assert any("organiser" in line for line in tokens) and not any(server.organiser_token in line for line in tokens)
    assert "1 token(s) revoked of team bravo" in organiser("admin", "revoke", "--team", "bravo").stdout
    assert "is not known to the server" in bravo("ps", code=2).stderr


def _csv(user: User, target: Path, number: str) -> Path:
    user("submit", "show", "toy", number, "--csv", str(target))
    return target


@needs_sandbox
def test_refusals_are_one_line(platform) -> None:
    server, _data, users = platform
    alpha, organiser = users["alpha"], users["organiser"]
    nobody = User(alpha.env, alpha.cwd.parent / "config-nobody", alpha.cwd)
    nobody.env.update(NSML_SERVER=server.url, NSML_TOKEN="not-a-token")
    done = nobody("ps", code=2)
    assert done.stderr.strip().splitlines() == [
        "nsml: error: this token is not known to the server (revoked, or mistyped): ask the organiser for a new "
        "one and run nsml login again"]
    done = alpha("admin", "team", "add", "gamma", code=2)
    assert done.stderr.strip() == "nsml: error: organisers only: this token belongs to a participant of team alpha"
    assert "did you mean --epochs" in alpha("run", "-d", "toy", "-a", "--epohcs 2", code=2).stderr
    assert "no dataset 'nope'" in alpha("run", "-d", "nope", code=2).stderr
    assert "datasets are added by the organiser" in alpha("dataset", "add", "x", str(alpha.cwd), code=2).stderr
    organiser("admin", "team", "add", "gamma")
    assert "exists already" in organiser("admin", "team", "add", "gamma", code=2).stderr


def _entry(number: int, created: float, status: str = "scored", counted: int = 1) -> Entry:
    return Entry(number, "toy", "main", "alpha", number, "alpha/toy/1", "best", status, None, None, None, "crr", 1,
                 created, None, None, counted, 0)


def test_quota_counts_only_what_was_not_failed() -> None:
    from nsml.server.db import Quota
    from nsml.server.quotas import QuotaRefused, check

    now = 1_000_000.0
    used = [_entry(1, now - 100), _entry(2, now - 50, status="failed", counted=0)]
    check(Quota(per_day=2), used, now)  # the failed one does not count
    with pytest.raises(QuotaRefused, match="2 of 2 submissions in the last 24 h used, 0 remain today"):
        check(Quota(per_day=2), [*used, _entry(3, now - 10)], now)
    check(Quota(per_day=2, extra=1), [*used, _entry(3, now - 10)], now)  # a grant
    with pytest.raises(QuotaRefused, match="one submission every 3600 s"):
        check(Quota(min_interval_s=3600), used, now)
    check(Quota(min_interval_s=60), used, now)
    with pytest.raises(QuotaRefused, match="all 1 submissions"):
        check(Quota(total=1), used, now)
    with pytest.raises(QuotaRefused, match="still being scored"):
        check(Quota(concurrent=1), [_entry(4, now, status="running")], now)


def test_the_public_private_cut_is_fixed_by_its_seed() -> None:
    from nsml.errors import UsageError
    from nsml.server.competitions import parse_time, split_keys

    keys = [f"k{i}" for i in range(10)]
    public, private = split_keys(keys, 0.3, seed=7)
    assert len(public) == 3 and set(public) | set(private) == set(keys) and not set(public) & set(private)
    assert split_keys(keys, 0.3, seed=7) == (public, private)
    assert split_keys(keys, 0.3, seed=8) != (public, private)
    assert parse_time("+1h", now=100.0) == 3700.0 and parse_time("-1m", now=100.0) == 40.0
    assert parse_time("2019-10-01T00:00:00") == 1569888000.0
    with pytest.raises(UsageError, match="cannot read the time"):
        parse_time("tomorrow")
