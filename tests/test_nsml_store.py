"""The store hands out entities, and a store written by the first release (schema 1) is upgraded in place."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from nsml_support import nsml_cli

from nsml import schema
from nsml.entities import Dataset, Session, Submission
from nsml.store import Store

# The tables of schema version 1 as the first release created them (the parts these tests fill).
SCHEMA_1 = """
CREATE TABLE sessions (name TEXT PRIMARY KEY, user TEXT NOT NULL, dataset TEXT NOT NULL, number INTEGER NOT NULL,
    entry TEXT NOT NULL, args TEXT NOT NULL, extra_args TEXT NOT NULL, gpus INTEGER NOT NULL, cpus INTEGER,
    nproc INTEGER NOT NULL, memo TEXT NOT NULL, status TEXT NOT NULL, exit_code INTEGER,
    stop_requested INTEGER NOT NULL DEFAULT 0, supervisor_pid INTEGER, child_pid INTEGER, created REAL NOT NULL,
    started REAL, ended REAL, parent TEXT, parent_checkpoint TEXT);
CREATE TABLE counters (user TEXT NOT NULL, dataset TEXT NOT NULL, last INTEGER NOT NULL, PRIMARY KEY (user, dataset));
CREATE TABLE metrics (id INTEGER PRIMARY KEY, session TEXT NOT NULL, step REAL, key TEXT NOT NULL, value REAL,
    summary INTEGER NOT NULL, wall REAL NOT NULL);
CREATE TABLE checkpoints (session TEXT NOT NULL, name TEXT NOT NULL, saved REAL NOT NULL, summary TEXT NOT NULL,
    PRIMARY KEY (session, name));
CREATE TABLE submissions (id INTEGER PRIMARY KEY, dataset TEXT NOT NULL, session TEXT NOT NULL,
    checkpoint TEXT NOT NULL, crr REAL NOT NULL, cer REAL NOT NULL, distance INTEGER NOT NULL, length INTEGER NOT NULL,
    utterances INTEGER NOT NULL, submitted REAL NOT NULL, duration REAL NOT NULL, peak_memory_kib INTEGER NOT NULL);
CREATE TABLE datasets (name TEXT PRIMARY KEY, path TEXT NOT NULL, added REAL NOT NULL);
INSERT INTO sessions VALUES ('old/toy/1', 'old', 'toy', 1, 'main.py', '--epochs 3', '["--pause", "1"]', 0, NULL, 1,
    'first try', 'done', 0, 0, NULL, NULL, 1000.0, 1001.0, 1010.0, NULL, NULL);
INSERT INTO counters VALUES ('old', 'toy', 1);
INSERT INTO metrics VALUES (1, 'old/toy/1', 1, 'eval__loss', 0.5, 1, 1005.0);
INSERT INTO checkpoints VALUES ('old/toy/1', 'best', 1006.0, '{"eval__loss": 0.5}');
INSERT INTO submissions VALUES (1, 'toy', 'old/toy/1', '1', 35.71, 0.6429, 18, 28, 6, 1020.0, 1.5, 20480);
INSERT INTO submissions VALUES (2, 'toy', 'old/toy/1', 'best', 78.57, 0.2143, 6, 28, 6, 1030.0, 1.5, 20480);
PRAGMA user_version = 1;
"""


def write_release_1_store(path: Path, dataset: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.executescript(SCHEMA_1)
        conn.execute("INSERT INTO datasets VALUES ('toy', ?, 1000.0)", (str(dataset),))
    conn.close()


def test_a_release_1_store_is_upgraded_and_its_board_stays(env, dataset) -> None:
    home = Path(env["NSML_HOME"])
    home.mkdir()
    write_release_1_store(home / "nsml.sqlite", dataset)
    store = Store(home / "nsml.sqlite")

    old = store.session("old/toy/1")
    assert isinstance(old, Session) and old.extra_args == ["--pause", "1"] and old.memo == "first try"
    assert (old.params, old.param_spec, old.test_set) == (None, None, None)
    assert store.datasets() == [Dataset("toy", str(dataset), 1000.0, "crr")]
    assert store.checkpoint_summaries("old/toy/1") == {"best": {"eval__loss": 0.5}}
    first, second = store.submissions(dataset="toy")
    assert isinstance(second, Submission)
    assert (second.number, second.scorer, second.primary_metric, second.primary, second.test_set) == \
        (2, "crr", "crr", 78.57, None)
    assert first.metrics == {"crr": 35.71, "cer": 0.6429, "distance": 18, "length": 28}
    with sqlite3.connect(home / "nsml.sqlite") as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.VERSION
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()

    lines = nsml_cli(env, "dataset", "board", "toy").stdout.splitlines()
    assert lines[0] == "test set unknown (scored before test sets were fingerprinted), scorer crr, 2 submission(s)"
    assert [line.split()[:4] for line in lines[2:]] == [["1", "old/toy/1", "best", "78.57"],
                                                        ["2", "old/toy/1", "1", "35.71"]]
    assert nsml_cli(env, "ps").stdout.splitlines()[1].startswith("old/toy/1")
    listed = nsml_cli(env, "submit", "ls", "old/toy/1").stdout.splitlines()
    assert [line.split()[:2] for line in listed[1:]] == [["1", "1"], ["2", "best"]]
    assert "submission 2 of old/toy/1: checkpoint 'best', scored by crr on test set unknown" in \
        nsml_cli(env, "submit", "show", "old/toy/1", "2").stdout


def test_a_store_from_a_newer_release_is_refused_in_one_line(env) -> None:
    home = Path(env["NSML_HOME"])
    home.mkdir()
    with sqlite3.connect(home / "nsml.sqlite") as conn:
        conn.execute(f"PRAGMA user_version = {schema.VERSION + 1}")
    conn.close()
    refused = nsml_cli(env, "ps", check=False)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1
    assert "was written by a newer nsml" in refused.stderr
