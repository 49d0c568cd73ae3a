"""The platform's records in one SQLite file: sessions, reported metrics, checkpoint summaries, boards, datasets.

WAL mode lets ``nsml ps`` and ``model ls`` read while a run writes, and every write is one transaction, so a run
killed with SIGKILL leaves the file consistent. A connection is opened per operation: user code forks (DataLoader
workers) and a connection must never cross a fork; opening one costs well under a millisecond.
"""

from __future__ import annotations

import json
import math
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    name TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    dataset TEXT NOT NULL,
    number INTEGER NOT NULL,
    entry TEXT NOT NULL,
    args TEXT NOT NULL,               -- the user's -a string, as given (submit re-uses it)
    extra_args TEXT NOT NULL,         -- JSON list the platform adds when launching (fork: --pause 1 ...)
    gpus INTEGER NOT NULL,
    cpus INTEGER,
    nproc INTEGER NOT NULL,
    memo TEXT NOT NULL,
    status TEXT NOT NULL,             -- created, running, done, failed, stopped, killed
    exit_code INTEGER,                -- negative: killed by that signal
    stop_requested INTEGER NOT NULL DEFAULT 0,
    supervisor_pid INTEGER,
    child_pid INTEGER,
    created REAL NOT NULL,
    started REAL,
    ended REAL,
    parent TEXT,
    parent_checkpoint TEXT
);
CREATE TABLE IF NOT EXISTS counters (   -- session numbers are never reused, even after rm
    user TEXT NOT NULL,
    dataset TEXT NOT NULL,
    last INTEGER NOT NULL,
    PRIMARY KEY (user, dataset)
);
CREATE TABLE IF NOT EXISTS metrics (
    id INTEGER PRIMARY KEY,
    session TEXT NOT NULL,
    step REAL,                        -- NULL: reported without step=
    key TEXT NOT NULL,
    value REAL,                       -- NULL: NaN (SQLite has no NaN)
    summary INTEGER NOT NULL,
    wall REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS metrics_by_session ON metrics (session, key);
CREATE TABLE IF NOT EXISTS checkpoints (
    session TEXT NOT NULL,
    name TEXT NOT NULL,
    saved REAL NOT NULL,
    summary TEXT NOT NULL,            -- JSON: the latest value of every metric when it was saved
    PRIMARY KEY (session, name)
);
CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY,
    dataset TEXT NOT NULL,
    session TEXT NOT NULL,
    checkpoint TEXT NOT NULL,
    crr REAL NOT NULL,
    cer REAL NOT NULL,
    distance INTEGER NOT NULL,
    length INTEGER NOT NULL,
    utterances INTEGER NOT NULL,
    submitted REAL NOT NULL,
    duration REAL NOT NULL,
    peak_memory_kib INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS datasets (
    name TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    added REAL NOT NULL
);
"""

SESSION_FIELDS = ("name", "user", "dataset", "number", "entry", "args", "extra_args", "gpus", "cpus", "nproc",
                  "memo", "status", "exit_code", "stop_requested", "supervisor_pid", "child_pid", "created",
                  "started", "ended", "parent", "parent_checkpoint")


class Store:
    """One SQLite database file; every method is a self-contained read or transaction."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        if conn.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
            conn.executescript(f"BEGIN IMMEDIATE; {SCHEMA} PRAGMA user_version={SCHEMA_VERSION}; COMMIT;")
        return conn

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        conn = self._open()
        try:
            yield conn
        finally:
            conn.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._open()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()

    # sessions

    def create_session(self, user: str, dataset: str, fields: Mapping[str, Any]) -> str:
        """Allocate ``USER/DATASET/N`` (N one past the last ever used) and insert the session; returns the name."""
        with self._write() as conn:
            row = conn.execute("SELECT last FROM counters WHERE user=? AND dataset=?", (user, dataset)).fetchone()
            number = (row["last"] if row else 0) + 1
            conn.execute("INSERT OR REPLACE INTO counters (user, dataset, last) VALUES (?, ?, ?)",
                         (user, dataset, number))
            name = f"{user}/{dataset}/{number}"
            record = dict(fields, name=name, user=user, dataset=dataset, number=number)
            columns = ", ".join(record)
            conn.execute(f"INSERT INTO sessions ({columns}) VALUES ({', '.join('?' * len(record))})",
                         tuple(record.values()))
        return name

    def session(self, name: str) -> sqlite3.Row | None:
        with self._read() as conn:
            return conn.execute("SELECT * FROM sessions WHERE name=?", (name,)).fetchone()

    def sessions(self) -> list[sqlite3.Row]:
        with self._read() as conn:
            return conn.execute("SELECT * FROM sessions ORDER BY created, name").fetchall()

    def update_session(self, name: str, only_if_status: str | None = None, **fields: Any) -> bool:
        """Set ``fields``; with ``only_if_status`` only while the status is still that one (no lost updates)."""
        unknown = set(fields) - set(SESSION_FIELDS)
        if unknown:
            raise ValueError(f"unknown session fields: {sorted(unknown)}")
        sets = ", ".join(f"{key}=?" for key in fields)
        query, params = f"UPDATE sessions SET {sets} WHERE name=?", [*fields.values(), name]
        if only_if_status is not None:
            query += " AND status=?"
            params.append(only_if_status)
        with self._write() as conn:
            return conn.execute(query, params).rowcount > 0

    def delete_session(self, name: str) -> None:
        with self._write() as conn:
            for table in ("metrics", "checkpoints"):
                conn.execute(f"DELETE FROM {table} WHERE session=?", (name,))
            conn.execute("DELETE FROM sessions WHERE name=?", (name,))

    # metrics

    def add_metrics(self, session: str, step: float | None, values: Mapping[str, float], summary: bool,
                    wall: float) -> None:
        rows = [(session, step, key, None if math.isnan(value) else value, int(summary), wall)
                for key, value in values.items()]
        with self._write() as conn:
            conn.executemany("INSERT INTO metrics (session, step, key, value, summary, wall) VALUES (?, ?, ?, ?, ?, ?)",
                             rows)

    def metrics(self, session: str) -> list[sqlite3.Row]:
        with self._read() as conn:
            return conn.execute("SELECT step, key, value, summary, wall FROM metrics WHERE session=? ORDER BY id",
                                (session,)).fetchall()

    def latest_metrics(self, session: str, summary_only: bool = False) -> dict[str, float]:
        """The last reported value of every key (of ``summary=True`` reports only, if asked)."""
        where = "session=? AND summary=1" if summary_only else "session=?"
        with self._read() as conn:
            rows = conn.execute(f"SELECT key, value FROM metrics WHERE id IN "
                                f"(SELECT MAX(id) FROM metrics WHERE {where} GROUP BY key) ORDER BY key",
                                (session,)).fetchall()
        return {row["key"]: math.nan if row["value"] is None else row["value"] for row in rows}

    # checkpoints

    def record_checkpoint(self, session: str, name: str, saved: float, summary: Mapping[str, float]) -> None:
        with self._write() as conn:
            conn.execute("INSERT OR REPLACE INTO checkpoints (session, name, saved, summary) VALUES (?, ?, ?, ?)",
                         (session, name, saved, json.dumps(dict(summary))))

    def checkpoint_summaries(self, session: str) -> dict[str, dict[str, float]]:
        with self._read() as conn:
            rows = conn.execute("SELECT name, summary FROM checkpoints WHERE session=?", (session,)).fetchall()
        return {row["name"]: json.loads(row["summary"]) for row in rows}

    def delete_checkpoint(self, session: str, name: str) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM checkpoints WHERE session=? AND name=?", (session, name))

    # boards

    def add_submission(self, **fields: Any) -> None:
        with self._write() as conn:
            conn.execute(f"INSERT INTO submissions ({', '.join(fields)}) VALUES ({', '.join('?' * len(fields))})",
                         tuple(fields.values()))

    def board(self, dataset: str) -> list[sqlite3.Row]:
        with self._read() as conn:
            return conn.execute("SELECT * FROM submissions WHERE dataset=? ORDER BY crr DESC, submitted",
                                (dataset,)).fetchall()

    # datasets

    def add_dataset(self, name: str, path: str, added: float) -> None:
        with self._write() as conn:
            conn.execute("INSERT OR REPLACE INTO datasets (name, path, added) VALUES (?, ?, ?)", (name, path, added))

    def datasets(self) -> dict[str, str]:
        with self._read() as conn:
            return {row["name"]: row["path"] for row in conn.execute("SELECT name, path FROM datasets ORDER BY name")}
