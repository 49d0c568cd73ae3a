"""The server's own records in ``$SERVER_HOME/server.sqlite``: accounts, teams, competitions, phases, quotas and
scored submissions.

Each team's sessions stay in the team's own platform store (``teams/TEAM/nsml.sqlite``), written only by the team's
sandboxed processes under the team's uid; the server never opens those files (a root-owned ``-shm`` file would
lock the team out of its own store). What the server decides on (who may do what, when, how often, and the scores)
lives here, where participant code never reaches. Tokens are kept as SHA-256 digests: they are 256-bit random
strings, so a digest cannot be reversed by guessing, and a copy of this file does not let anyone log in.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nsml.errors import UsageError

ORGANISER = "organiser"
PARTICIPANT = "participant"
FIRST_TEAM_UID = 20000  # each team's processes run as FIRST_TEAM_UID + team id
TOKEN_BYTES = 32

SCHEMA = """
CREATE TABLE IF NOT EXISTS teams (
    id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
    digest TEXT PRIMARY KEY, role TEXT NOT NULL, team TEXT, label TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS competitions (
    name TEXT PRIMARY KEY, scorer TEXT NOT NULL, source TEXT NOT NULL, public_keys TEXT NOT NULL,
    private_keys TEXT NOT NULL, final_limit INTEGER NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS phases (
    competition TEXT NOT NULL, name TEXT NOT NULL, start REAL NOT NULL, end REAL NOT NULL,
    PRIMARY KEY (competition, name));
CREATE TABLE IF NOT EXISTS quotas (
    competition TEXT NOT NULL, team TEXT NOT NULL,  -- '' is every team's default
    per_day INTEGER, min_interval_s REAL, total INTEGER, concurrent INTEGER, extra INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (competition, team));
CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY, competition TEXT NOT NULL, phase TEXT NOT NULL, team TEXT NOT NULL,
    number INTEGER NOT NULL, session TEXT NOT NULL, checkpoint TEXT NOT NULL,
    status TEXT NOT NULL,            -- running, scored, failed
    reason TEXT, public TEXT, private TEXT, primary_metric TEXT, higher_is_better INTEGER,
    created REAL NOT NULL, finished REAL, duration REAL, counted INTEGER NOT NULL, selected INTEGER NOT NULL DEFAULT 0,
    UNIQUE (competition, team, number));
CREATE INDEX IF NOT EXISTS submissions_by_team ON submissions (competition, team);
"""


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Account:
    role: str
    team: str | None
    label: str

    @property
    def organiser(self) -> bool:
        return self.role == ORGANISER


@dataclass(frozen=True)
class Team:
    id: int
    name: str
    created: float

    @property
    def uid(self) -> int:
        return FIRST_TEAM_UID + self.id


@dataclass(frozen=True)
class Phase:
    competition: str
    name: str
    start: float
    end: float

    def state(self, now: float) -> str:
        return "upcoming" if now < self.start else "open" if now < self.end else "ended"


@dataclass(frozen=True)
class Competition:
    name: str
    scorer: str
    source: str
    public_keys: list[str]
    private_keys: list[str]
    final_limit: int
    created: float


@dataclass(frozen=True)
class Quota:
    per_day: int | None = None
    min_interval_s: float | None = None
    total: int | None = None
    concurrent: int | None = None
    extra: int = 0


@dataclass(frozen=True)
class Entry:
    """One submission to a competition, scored or failed."""

    id: int
    competition: str
    phase: str
    team: str
    number: int
    session: str
    checkpoint: str
    status: str
    reason: str | None
    public: dict | None
    private: dict | None
    primary_metric: str | None
    higher_is_better: int | None
    created: float
    finished: float | None
    duration: float | None
    counted: int
    selected: int

    def primary(self, part: str) -> float | None:
        values = self.public if part == "public" else self.private
        return None if not values or self.primary_metric is None else values.get(self.primary_metric)


class ServerDB:
    """One SQLite file; each method is one short read or one transaction."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        conn = self._open()
        try:
            conn.executescript(SCHEMA)  # its own transaction: executescript commits first
        finally:
            conn.close()

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
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

    # accounts

    def issue_token(self, role: str, team: str | None, label: str) -> str:
        token = secrets.token_urlsafe(TOKEN_BYTES)
        with self._write() as conn:
            conn.execute("INSERT INTO tokens (digest, role, team, label, created) VALUES (?, ?, ?, ?, ?)",
                         (digest(token), role, team, label, time.time()))
        return token

    def account(self, token: str) -> Account | None:
        with self._read() as conn:
            row = conn.execute("SELECT role, team, label FROM tokens WHERE digest=?", (digest(token),)).fetchone()
        return None if row is None else Account(row["role"], row["team"], row["label"])

    def has_organiser(self) -> bool:
        with self._read() as conn:
            return conn.execute("SELECT 1 FROM tokens WHERE role=?", (ORGANISER,)).fetchone() is not None

    def revoke(self, team: str) -> int:
        with self._write() as conn:
            return conn.execute("DELETE FROM tokens WHERE team=?", (team,)).rowcount

    # teams

    def add_team(self, name: str) -> Team:
        with self._write() as conn:
            if conn.execute("SELECT 1 FROM teams WHERE name=?", (name,)).fetchone():
                raise UsageError(f"team {name!r} exists already; issue another token with: nsml admin token {name}")
            conn.execute("INSERT INTO teams (name, created) VALUES (?, ?)", (name, time.time()))
        return self.team(name)

    def team(self, name: str) -> Team:
        with self._read() as conn:
            row = conn.execute("SELECT * FROM teams WHERE name=?", (name,)).fetchone()
        if row is None:
            raise UsageError(f"no team {name!r}; teams: {', '.join(t.name for t in self.teams()) or 'none'}")
        return Team(row["id"], row["name"], row["created"])

    def teams(self) -> list[Team]:
        with self._read() as conn:
            return [Team(r["id"], r["name"], r["created"]) for r in conn.execute("SELECT * FROM teams ORDER BY id")]

    # competitions and phases

    def add_competition(self, competition: Competition) -> None:
        with self._write() as conn:
            conn.execute("INSERT OR REPLACE INTO competitions VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (competition.name, competition.scorer, competition.source,
                          json.dumps(competition.public_keys), json.dumps(competition.private_keys),
                          competition.final_limit, competition.created))

    def competition(self, name: str) -> Competition:
        with self._read() as conn:
            row = conn.execute("SELECT * FROM competitions WHERE name=?", (name,)).fetchone()
        if row is None:
            names = ", ".join(c.name for c in self.competitions()) or "none"
            raise UsageError(f"no competition {name!r}; competitions: {names}")
        return Competition(row["name"], row["scorer"], row["source"], json.loads(row["public_keys"]),
                           json.loads(row["private_keys"]), row["final_limit"], row["created"])

    def competitions(self) -> list[Competition]:
        with self._read() as conn:
            names = [r["name"] for r in conn.execute("SELECT name FROM competitions ORDER BY created")]
        return [self.competition(name) for name in names]

    def set_phase(self, phase: Phase) -> None:
        with self._write() as conn:
            conn.execute("INSERT OR REPLACE INTO phases VALUES (?, ?, ?, ?)",
                         (phase.competition, phase.name, phase.start, phase.end))

    def phases(self, competition: str) -> list[Phase]:
        with self._read() as conn:
            return [Phase(r["competition"], r["name"], r["start"], r["end"]) for r in
                    conn.execute("SELECT * FROM phases WHERE competition=? ORDER BY start", (competition,))]

    # quotas

    def set_quota(self, competition: str, team: str, **values: Any) -> None:
        with self._write() as conn:
            conn.execute("INSERT OR IGNORE INTO quotas (competition, team) VALUES (?, ?)", (competition, team))
            for key, value in values.items():
                conn.execute(f"UPDATE quotas SET {key}=? WHERE competition=? AND team=?", (value, competition, team))

    def grant(self, competition: str, team: str, extra: int) -> int:
        with self._write() as conn:
            conn.execute("INSERT OR IGNORE INTO quotas (competition, team) VALUES (?, ?)", (competition, team))
            conn.execute("UPDATE quotas SET extra=extra+? WHERE competition=? AND team=?", (extra, competition, team))
            return conn.execute("SELECT extra FROM quotas WHERE competition=? AND team=?",
                                (competition, team)).fetchone()["extra"]

    def quota(self, competition: str, team: str) -> Quota:
        """The team's own quota where it set a value, else the competition's default."""
        with self._read() as conn:
            rows = {r["team"]: r for r in conn.execute("SELECT * FROM quotas WHERE competition=? AND team IN (?, '')",
                                                       (competition, team))}
        values: dict[str, Any] = {}
        for key in ("per_day", "min_interval_s", "total", "concurrent"):
            own = rows.get(team)
            default = rows.get("")
            values[key] = own[key] if own is not None and own[key] is not None else (
                default[key] if default is not None else None)
        values["extra"] = rows[team]["extra"] if team in rows else 0
        return Quota(**values)

    # submissions

    def reserve(self, competition: str, phase: str, team: str, session: str, checkpoint: str,
                admit: Any) -> Entry:
        """Check ``admit(entries)`` against the team's submissions and add a running one, in one transaction, so two
        submits at once cannot both take the last one of a quota. ``admit`` raises to refuse."""
        with self._write() as conn:
            rows = conn.execute("SELECT * FROM submissions WHERE competition=? AND team=? ORDER BY id",
                                (competition, team)).fetchall()
            entries = [_entry(r) for r in rows]
            admit(entries)
            number = max((e.number for e in entries), default=0) + 1
            cursor = conn.execute(
                "INSERT INTO submissions (competition, phase, team, number, session, checkpoint, status, created, "
                "counted) VALUES (?, ?, ?, ?, ?, ?, 'running', ?, 1)",
                (competition, phase, team, number, session, checkpoint, time.time()))
            row = conn.execute("SELECT * FROM submissions WHERE id=?", (cursor.lastrowid,)).fetchone()
        return _entry(row)

    def finish(self, entry_id: int, **values: Any) -> Entry:
        encoded = {key: json.dumps(value) if key in ("public", "private") and value is not None else value
                   for key, value in values.items()}
        with self._write() as conn:
            conn.execute(f"UPDATE submissions SET {', '.join(f'{k}=?' for k in encoded)} WHERE id=?",
                         (*encoded.values(), entry_id))
            row = conn.execute("SELECT * FROM submissions WHERE id=?", (entry_id,)).fetchone()
        return _entry(row)

    def entries(self, competition: str | None = None, team: str | None = None) -> list[Entry]:
        clauses = [(c, v) for c, v in (("competition=?", competition), ("team=?", team)) if v is not None]
        where = " WHERE " + " AND ".join(c for c, _ in clauses) if clauses else ""
        with self._read() as conn:
            return [_entry(r) for r in conn.execute(f"SELECT * FROM submissions{where} ORDER BY id",
                                                    [v for _, v in clauses])]

    def entry(self, competition: str, team: str, number: int) -> Entry | None:
        with self._read() as conn:
            row = conn.execute("SELECT * FROM submissions WHERE competition=? AND team=? AND number=?",
                               (competition, team, number)).fetchone()
        return None if row is None else _entry(row)

    def select(self, competition: str, team: str, numbers: list[int]) -> None:
        with self._write() as conn:
            conn.execute("UPDATE submissions SET selected=0 WHERE competition=? AND team=?", (competition, team))
            for number in numbers:
                conn.execute("UPDATE submissions SET selected=1 WHERE competition=? AND team=? AND number=?",
                             (competition, team, number))


def _entry(row: sqlite3.Row) -> Entry:
    values = dict(row)
    for key in ("public", "private"):
        values[key] = json.loads(values[key]) if values[key] else None
    return Entry(**values)
