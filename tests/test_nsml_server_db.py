"""The server's records on both databases: SQLite in the server home and a real PostgreSQL on 127.0.0.1.

Every test runs twice, once per backend, on the same ``ServerDB`` methods the server calls: tokens kept as digests,
teams, competitions and phases, quotas with grants, submissions reserved under a quota by many threads at once
(exactly the allowed number get in, numbered without gaps or repeats), the final selection, and a database made
by the first version of the schema migrated in place.
"""

from __future__ import annotations

import itertools
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from nsml.errors import UsageError
from nsml.server import sql
from nsml.server.db import ORGANISER, PARTICIPANT, Competition, Phase, ServerDB, digest
from nsml.server.quotas import QuotaRefused, check
from postgres_support import missing

_names = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, str | None]:
    """(SQLite path, URL): the URL of a fresh PostgreSQL database, or None for the SQLite file."""
    path = tmp_path / "server.sqlite"
    if request.param == "sqlite":
        return path, None
    return path, request.getfixturevalue("postgres").database(f"db{next(_names)}")


@pytest.fixture
def db(database: tuple[Path, str | None]) -> ServerDB:
    return ServerDB(*database)


def test_tokens_are_kept_as_digests(db: ServerDB) -> None:
    token = db.issue_token(ORGANISER, None, "first")
    team_token = db.issue_token(PARTICIPANT, "alpha", "alpha member")
    assert db.account(token).organiser and db.account(team_token).team == "alpha"
    assert db.account("not-a-token") is None
    stored = db.tokens()
    assert {row["digest"] for row in stored} == {digest(token), digest(team_token)}
    assert all(token not in str(row) for row in stored)
    db.touch(token, 1234.5)
    assert db.account(token).last_used == 1234.5
    assert db.revoke(prefix=digest(team_token)[:10]) == 1 and db.account(team_token) is None
    with pytest.raises(UsageError, match="0 tokens start with"):
        db.revoke(prefix="zzzzzzzzzz")
    db.issue_token(PARTICIPANT, "bravo", "b1")
    db.issue_token(PARTICIPANT, "bravo", "b2")
    assert db.revoke(team="bravo") == 2 and db.has_organiser()


def test_teams_competitions_phases_and_quotas(db: ServerDB) -> None:
    alpha = db.add_team("alpha")
    bravo = db.add_team("bravo")
    assert bravo.uid == alpha.uid + 1 and [t.name for t in db.teams()] == ["alpha", "bravo"]
    with pytest.raises(UsageError, match="exists already"):
        db.add_team("alpha")
    with pytest.raises(UsageError, match="no team 'gamma'; teams: alpha, bravo"):
        db.team("gamma")
    comp = Competition("toy", "crr", "/data", ["a", "b"], ["c"], 2, 100.0)
    db.add_competition(comp)
    assert db.competition("toy") == comp
    db.add_competition(Competition("toy", "cer", "/data", ["a"], ["b", "c"], 3, 100.0))  # replaced
    assert db.competition("toy").final_limit == 3 and db.competition("toy").private_keys == ["b", "c"]
    db.set_phase(Phase("toy", "main", 10.0, 20.0))
    db.set_phase(Phase("toy", "main", 10.0, 30.5))  # the same phase, a later end
    db.set_phase(Phase("toy", "extra", 40.0, 50.0))
    assert db.phases("toy") == [Phase("toy", "main", 10.0, 30.5), Phase("toy", "extra", 40.0, 50.0)]
    db.set_quota("toy", "", per_day=5, min_interval_s=3600.5)
    db.set_quota("toy", "alpha", per_day=2)
    assert db.quota("toy", "alpha").per_day == 2 and db.quota("toy", "alpha").min_interval_s == 3600.5
    assert db.quota("toy", "bravo").per_day == 5
    assert db.grant("toy", "alpha", 1) == 1 and db.grant("toy", "alpha", 2) == 3
    assert db.quota("toy", "alpha").extra == 3 and db.quota("toy", "bravo").extra == 0


def test_concurrent_submits_never_overrun_the_quota(db: ServerDB) -> None:
    db.add_team("alpha")
    db.set_quota("toy", "", per_day=3)
    quota = db.quota("toy", "alpha")
    admitted, refused, errors = [], [], []

    def submit() -> None:
        try:
            entry = db.reserve("toy", "main", "alpha", "alpha/toy/1", "best",
                               lambda entries: check(quota, entries, time.time()))
            admitted.append(entry.number)
        except QuotaRefused:
            refused.append(1)
        except Exception as error:  # noqa: BLE001 - any other failure is what this test looks for
            errors.append(error)

    threads = [threading.Thread(target=submit) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and sorted(admitted) == [1, 2, 3] and len(refused) == 9
    first = db.entry("toy", "alpha", 1)
    failed = db.finish(first.id, status="failed", reason="infer raised", counted=0, finished=time.time())
    assert failed.status == "failed" and not failed.counted
    organisers = db.reserve("toy", "main", "alpha", "alpha/toy/1", "best", lambda entries: None, ORGANISER)
    assert organisers.number == 4 and organisers.submitted_by == ORGANISER and not organisers.counted
    fourth = db.reserve("toy", "main", "alpha", "alpha/toy/1", "best",
                        lambda entries: check(quota, entries, time.time()))  # the failed one freed a place
    assert fourth.number == 5


def test_scores_and_final_selection(db: ServerDB) -> None:
    db.add_team("alpha")
    one = db.reserve("toy", "main", "alpha", "alpha/toy/1", "best", lambda entries: None)
    two = db.reserve("toy", "main", "alpha", "alpha/toy/1", "3", lambda entries: None)
    scored = db.finish(one.id, status="scored", public={"crr": 80.5, "cer": 0.195}, private={"crr": 70.0},
                       primary_metric="crr", higher_is_better=1, finished=time.time(), duration=1.25)
    assert scored.primary("public") == 80.5 and scored.primary("private") == 70.0 and scored.duration == 1.25
    db.finish(two.id, status="scored", public={"crr": 90.0}, private={"crr": 60.0}, primary_metric="crr",
              higher_is_better=1)
    db.select("toy", "alpha", [2])
    assert [e.number for e in db.entries("toy", "alpha") if e.selected] == [2]
    db.select("toy", "alpha", [1])
    assert [e.number for e in db.entries("toy", "alpha") if e.selected] == [1]
    assert [e.number for e in db.entries()] == [1, 2] and db.entries("other") == []
    assert db.entry("toy", "alpha", 3) is None


FIRST_SCHEMA = [  # what the first nsml server made, before schema versions (SQLite's types)
    "CREATE TABLE teams (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, created REAL NOT NULL)",
    "CREATE TABLE tokens (digest TEXT PRIMARY KEY, role TEXT NOT NULL, team TEXT, label TEXT NOT NULL, "
    "created REAL NOT NULL)",
    "CREATE TABLE submissions (id INTEGER PRIMARY KEY, competition TEXT NOT NULL, phase TEXT NOT NULL, "
    "team TEXT NOT NULL, number INTEGER NOT NULL, session TEXT NOT NULL, checkpoint TEXT NOT NULL, "
    "status TEXT NOT NULL, reason TEXT, public TEXT, private TEXT, primary_metric TEXT, higher_is_better INTEGER, "
    "created REAL NOT NULL, finished REAL, duration REAL, counted INTEGER NOT NULL, "
    "selected INTEGER NOT NULL DEFAULT 0, UNIQUE (competition, team, number))",
]
OLD_ROWS = [
    "INSERT INTO teams (name, created) VALUES ('alpha', 1.0)",
    "INSERT INTO tokens (digest, role, team, label, created) VALUES ('" + digest("old-token") +
    "', 'participant', 'alpha', 'alpha', 1.0)",
    "INSERT INTO submissions (competition, phase, team, number, session, checkpoint, status, public, "
    "primary_metric, higher_is_better, created, counted) VALUES ('toy', 'main', 'alpha', 1, 'alpha/toy/1', "
    "'best', 'scored', '{\"crr\": 75.0}', 'crr', 1, 5.0, 1)",
]


def test_an_older_database_is_migrated_in_place(database: tuple[Path, str | None]) -> None:
    """SQLite: a file of the first server, made before schema versions; PostgreSQL: a database at version 1."""
    path, url = database
    backend = sql.backend(path, url)
    if url is None:
        conn = sqlite3.connect(path)
        for statement in FIRST_SCHEMA + OLD_ROWS:
            conn.execute(statement)
        conn.commit()
        conn.close()
        with backend.read() as conn:
            assert backend.version(conn) == 0
    else:
        assert backend.migrate(upto=1) == [1]
        with backend.write() as conn:
            for statement in OLD_ROWS:
                backend.execute(conn, statement)
    assert backend.migrate() == [number for number, _, _ in sql.MIGRATIONS if url is None or number > 1]
    assert backend.migrate() == []  # a second start changes nothing
    db = ServerDB(path, url)
    old = db.entry("toy", "alpha", 1)
    assert old.primary("public") == 75.0 and old.submitted_by == PARTICIPANT and old.counted
    assert db.account("old-token").team == "alpha" and db.account("old-token").last_used is None
    assert db.team("alpha").id == 1 and db.add_team("bravo").id == 2
    assert db.reserve("toy", "main", "alpha", "alpha/toy/1", "best", lambda entries: None).number == 2


def test_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    from nsml.errors import NsmlError

    with pytest.raises(NsmlError, match="use postgresql://"):
        sql.backend(tmp_path / "x", "mysql://somewhere/db")
    if missing() is None:
        with pytest.raises(NsmlError, match=r"cannot connect to the database .*127\.0\.0\.1"):
            ServerDB(tmp_path / "x", "postgresql://postgres:secret@127.0.0.1:1/none")
