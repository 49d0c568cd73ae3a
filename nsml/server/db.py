"""The server's own records: accounts, teams, competitions, phases, quotas and scored submissions, in
``$SERVER_HOME/server.sqlite`` or, with ``NSML_DATABASE_URL=postgresql://...``, in PostgreSQL (``nsml.server.sql``).

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
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nsml.errors import UsageError
from nsml.server.sql import Backend, backend

ORGANISER = "organiser"
PARTICIPANT = "participant"
FIRST_TEAM_UID = 20000  # each team's processes run as FIRST_TEAM_UID + team id
TOKEN_BYTES = 32

def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Account:
    role: str
    team: str | None
    label: str
    last_used: float | None = None

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
    submitted_by: str = PARTICIPANT  # an organiser's submission is exempt from the quota

    def primary(self, part: str) -> float | None:
        values = self.public if part == "public" else self.private
        return None if not values or self.primary_metric is None else values.get(self.primary_metric)


class ServerDB:
    """The server's database; each method is one short read or one transaction."""

    def __init__(self, path: Path, url: str | None = None) -> None:
        self.sql: Backend = backend(Path(path), url)
        self.sql.migrate()

    def _read(self, text: str, params: tuple = ()) -> list[Any]:
        with self.sql.read() as conn:
            return self.sql.execute(conn, text, params).fetchall()

    def _one(self, text: str, params: tuple = ()) -> Any:
        rows = self._read(text, params)
        return rows[0] if rows else None

    # accounts

    def issue_token(self, role: str, team: str | None, label: str) -> str:
        token = secrets.token_urlsafe(TOKEN_BYTES)
        with self.sql.write() as conn:
            self.sql.execute(conn, "INSERT INTO tokens (digest, role, team, label, created) VALUES (?, ?, ?, ?, ?)",
                             (digest(token), role, team, label, time.time()))
        return token

    def account(self, token: str) -> Account | None:
        row = self._one("SELECT role, team, label, last_used FROM tokens WHERE digest=?", (digest(token),))
        return None if row is None else Account(row["role"], row["team"], row["label"], row["last_used"])

    def tokens(self) -> list[dict]:
        """Every token's record (never the token: only its digest is kept)."""
        return [dict(r) for r in self._read("SELECT digest, role, team, label, created, last_used FROM tokens "
                                            "ORDER BY created")]

    def touch(self, token: str, now: float) -> None:
        with self.sql.write() as conn:
            self.sql.execute(conn, "UPDATE tokens SET last_used=? WHERE digest=?", (now, digest(token)))

    def has_organiser(self) -> bool:
        return self._one("SELECT 1 AS x FROM tokens WHERE role=?", (ORGANISER,)) is not None

    def revoke(self, team: str | None = None, prefix: str | None = None) -> int:
        """Forget a team's tokens, or the one whose digest starts with ``prefix`` (8 characters at least)."""
        with self.sql.write() as conn:
            if team is not None:
                return self.sql.execute(conn, "DELETE FROM tokens WHERE team=?", (team,)).rowcount
            found = [r["digest"] for r in self.sql.execute(conn, "SELECT digest FROM tokens").fetchall()
                     if r["digest"].startswith(prefix or "\0")]
            if len(found) != 1:
                raise UsageError(f"{len(found)} tokens start with {prefix!r}; give 8 or more characters of one digest "
                                 f"from nsml admin tokens")
            return self.sql.execute(conn, "DELETE FROM tokens WHERE digest=?", (found[0],)).rowcount

    # teams

    def add_team(self, name: str) -> Team:
        with self.sql.write() as conn:
            if self.sql.execute(conn, "SELECT 1 AS x FROM teams WHERE name=?", (name,)).fetchone():
                raise UsageError(f"team {name!r} exists already; issue another token with: nsml admin token {name}")
            self.sql.execute(conn, "INSERT INTO teams (name, created) VALUES (?, ?)", (name, time.time()))
        return self.team(name)

    def team(self, name: str) -> Team:
        row = self._one("SELECT * FROM teams WHERE name=?", (name,))
        if row is None:
            raise UsageError(f"no team {name!r}; teams: {', '.join(t.name for t in self.teams()) or 'none'}")
        return Team(row["id"], row["name"], row["created"])

    def teams(self) -> list[Team]:
        return [Team(r["id"], r["name"], r["created"]) for r in self._read("SELECT * FROM teams ORDER BY id")]

    # competitions and phases

    def add_competition(self, competition: Competition) -> None:
        with self.sql.write() as conn:
            self.sql.execute(
                conn, "INSERT INTO competitions (name, scorer, source, public_keys, private_keys, final_limit, "
                      "created) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET scorer=excluded.scorer, "
                      "source=excluded.source, public_keys=excluded.public_keys, "
                      "private_keys=excluded.private_keys, final_limit=excluded.final_limit, created=excluded.created",
                (competition.name, competition.scorer, competition.source, json.dumps(competition.public_keys),
                 json.dumps(competition.private_keys), competition.final_limit, competition.created))

    def competition(self, name: str) -> Competition:
        row = self._one("SELECT * FROM competitions WHERE name=?", (name,))
        if row is None:
            names = ", ".join(c.name for c in self.competitions()) or "none"
            raise UsageError(f"no competition {name!r}; competitions: {names}")
        return _competition(row)

    def competitions(self) -> list[Competition]:
        return [_competition(r) for r in self._read("SELECT * FROM competitions ORDER BY created")]

    def set_phase(self, phase: Phase) -> None:
        with self.sql.write() as conn:
            self.sql.execute(conn, 'INSERT INTO phases (competition, name, start, "end") VALUES (?, ?, ?, ?) '
                                   'ON CONFLICT (competition, name) DO UPDATE SET start=excluded.start, '
                                   '"end"=excluded."end"', (phase.competition, phase.name, phase.start, phase.end))

    def phases(self, competition: str) -> list[Phase]:
        return [Phase(r["competition"], r["name"], r["start"], r["end"]) for r in
                self._read("SELECT * FROM phases WHERE competition=? ORDER BY start", (competition,))]

    # quotas

    def set_quota(self, competition: str, team: str, **values: Any) -> None:
        unknown = set(values) - QUOTA_FIELDS
        if unknown:
            raise UsageError(f"not a quota: {', '.join(sorted(unknown))}")
        with self.sql.write() as conn:
            self.sql.execute(conn, "INSERT INTO quotas (competition, team) VALUES (?, ?) ON CONFLICT DO NOTHING",
                             (competition, team))
            for key, value in values.items():
                self.sql.execute(conn, f"UPDATE quotas SET {key}=? WHERE competition=? AND team=?",
                                 (value, competition, team))

    def grant(self, competition: str, team: str, extra: int) -> int:
        with self.sql.write() as conn:
            self.sql.execute(conn, "INSERT INTO quotas (competition, team) VALUES (?, ?) ON CONFLICT DO NOTHING",
                             (competition, team))
            self.sql.execute(conn, "UPDATE quotas SET extra=extra+? WHERE competition=? AND team=?",
                             (extra, competition, team))
            return self.sql.execute(conn, "SELECT extra FROM quotas WHERE competition=? AND team=?",
                                    (competition, team)).fetchone()["extra"]

    def quota(self, competition: str, team: str) -> Quota:
        """The team's own quota where it set a value, else the competition's default."""
        rows = {r["team"]: r for r in self._read("SELECT * FROM quotas WHERE competition=? AND team IN (?, '')",
                                                 (competition, team))}
        values: dict[str, Any] = {}
        for key in sorted(QUOTA_FIELDS):
            own = rows.get(team)
            default = rows.get("")
            values[key] = own[key] if own is not None and own[key] is not None else (
                default[key] if default is not None else None)
        values["extra"] = rows[team]["extra"] if team in rows else 0
        return Quota(**values)

    # submissions

    def reserve(self, competition: str, phase: str, team: str, session: str, checkpoint: str,
                admit: Any, submitted_by: str = PARTICIPANT) -> Entry:
        """Check ``admit(entries)`` against the team's submissions and add a running one, in one transaction, so two
        submits at once cannot both take the last one of a quota. ``admit`` raises to refuse. An organiser's
        submission is not counted against the team's quota."""
        with self.sql.write(lock=f"submit/{competition}/{team}") as conn:
            rows = self.sql.execute(conn, "SELECT * FROM submissions WHERE competition=? AND team=? ORDER BY id",
                                    (competition, team)).fetchall()
            entries = [_entry(r) for r in rows]
            admit(entries)
            number = max((e.number for e in entries), default=0) + 1
            row = self.sql.execute(
                conn, "INSERT INTO submissions (competition, phase, team, number, session, checkpoint, status, "
                      "created, counted, submitted_by) VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?, ?) RETURNING *",
                (competition, phase, team, number, session, checkpoint, time.time(),
                 int(submitted_by != ORGANISER), submitted_by)).fetchone()
        return _entry(row)

    def finish(self, entry_id: int, **values: Any) -> Entry:
        encoded = {key: json.dumps(value) if key in ("public", "private") and value is not None else value
                   for key, value in values.items()}
        with self.sql.write() as conn:
            return _entry(self.sql.execute(
                conn, f"UPDATE submissions SET {', '.join(f'{k}=?' for k in encoded)} WHERE id=? RETURNING *",
                (*encoded.values(), entry_id)).fetchone())

    def entries(self, competition: str | None = None, team: str | None = None) -> list[Entry]:
        clauses = [(c, v) for c, v in (("competition=?", competition), ("team=?", team)) if v is not None]
        where = " WHERE " + " AND ".join(c for c, _ in clauses) if clauses else ""
        return [_entry(r) for r in self._read(f"SELECT * FROM submissions{where} ORDER BY id",
                                              tuple(v for _, v in clauses))]

    def entry(self, competition: str, team: str, number: int) -> Entry | None:
        row = self._one("SELECT * FROM submissions WHERE competition=? AND team=? AND number=?",
                        (competition, team, number))
        return None if row is None else _entry(row)

    def select(self, competition: str, team: str, numbers: list[int]) -> None:
        with self.sql.write() as conn:
            self.sql.execute(conn, "UPDATE submissions SET selected=0 WHERE competition=? AND team=?",
                             (competition, team))
            for number in numbers:
                self.sql.execute(conn, "UPDATE submissions SET selected=1 WHERE competition=? AND team=? AND number=?",
                                 (competition, team, number))


QUOTA_FIELDS = {"per_day", "min_interval_s", "total", "concurrent"}


def _competition(row: Any) -> Competition:
    return Competition(row["name"], row["scorer"], row["source"], json.loads(row["public_keys"]),
                       json.loads(row["private_keys"]), row["final_limit"], row["created"])


def _entry(row: Any) -> Entry:
    values = dict(row)
    for key in ("public", "private"):
        values[key] = json.loads(values[key]) if values[key] else None
    return Entry(**values)
