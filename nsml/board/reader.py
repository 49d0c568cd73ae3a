"""The board's window on the platform's SQLite store: read-only, paginated, one short connection per question.

The board never writes. Its connections are opened with SQLite's ``mode=ro``, so a bug in a page cannot change a
record, and WAL mode lets it read while runs write. Questions are asked per page (fifty sessions and their latest
summaries, not every session), so a store with thousands of sessions answers as fast as one with ten. The rows
come back as the entities of ``nsml.entities``, the same objects the ``nsml`` command works with.

A session recorded as running whose supervisor is gone is shown as killed, as ``nsml ps`` would record it; the
board leaves the correction itself to the next ``nsml`` command.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, TypeVar

from nsml.entities import CheckpointRecord, Dataset, Metric, ScoredUtterance, Session, Submission
from nsml.procs import pid_alive
from nsml.store import _decode

E = TypeVar("E")

STATUS_FILTERS = ("active", "done", "failed", "stopped", "killed")


@dataclass(frozen=True)
class SessionPage:
    sessions: list[Session]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


def _like(text: str) -> str:
    """``text`` as a LIKE pattern matching it anywhere, its own ``%`` and ``_`` taken literally."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def shown(session: Session) -> Session:
    """The session with the status ``nsml ps`` would record: active with its supervisor gone means killed."""
    if session.active and session.supervisor_pid and not pid_alive(session.supervisor_pid):
        return replace(session, status="killed", exit_code=None)
    return session


class Reader:
    """Read-only questions to the store at ``path`` (which must exist: ``nsml board`` creates it first)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path).absolute()

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(f"{self.path.as_uri()}?mode=ro", uri=True, timeout=30)
        conn.row_factory = sqlite3.Row
        try:
            yield conn
        finally:
            conn.close()

    def _rows(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        with self._connect() as conn:
            return conn.execute(sql, tuple(params)).fetchall()

    def _entities(self, entity: type[E], sql: str, params: Iterable[Any] = ()) -> list[E]:
        return [_decode(entity, row) for row in self._rows(sql, params)]

    # sessions

    def session_page(self, page: int = 1, per_page: int = 50, dataset: str | None = None,
                     status: str | None = None, text: str | None = None) -> SessionPage:
        """Newest first, ``per_page`` at a time, filtered by dataset, status and text in the name, args or memo."""
        clauses, params = [], []
        if dataset:
            clauses.append("dataset = ?")
            params.append(dataset)
        if status == "active":
            clauses.append("status IN ('created', 'running')")
        elif status:
            clauses.append("status = ?")
            params.append(status)
        if text:
            clauses.append("(name LIKE ? ESCAPE '\\' OR args LIKE ? ESCAPE '\\' OR memo LIKE ? ESCAPE '\\')")
            params += [_like(text)] * 3
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        total = self._rows(f"SELECT COUNT(*) AS n FROM sessions{where}", params)[0]["n"]
        page = max(1, min(page, max(1, math.ceil(total / per_page))))
        found = self._entities(Session, f"SELECT * FROM sessions{where} ORDER BY created DESC, number DESC "
                                        f"LIMIT ? OFFSET ?", [*params, per_page, (page - 1) * per_page])
        return SessionPage([shown(s) for s in found], total, page, per_page)

    def session(self, name: str) -> Session | None:
        found = self._entities(Session, "SELECT * FROM sessions WHERE name = ?", (name,))
        return shown(found[0]) if found else None

    def sessions_matching(self, patterns: Sequence[str], limit: int) -> list[Session]:
        """Sessions named by ``patterns`` (shell wildcards allowed), in the order the patterns name them."""
        names = [row["name"] for row in self._rows("SELECT name FROM sessions ORDER BY created, number")]
        chosen = list(dict.fromkeys(name for pattern in patterns for name in names if fnmatchcase(name, pattern)))
        found = {s.name: s for s in self._in(Session, "name", chosen[:limit])}
        return [shown(found[name]) for name in chosen[:limit] if name in found]

    def existing(self, names: Sequence[str]) -> set[str]:
        """Which of these sessions still exist (a removed session's submissions stay on the board)."""
        unique = sorted(set(names))
        found: set[str] = set()
        for start in range(0, len(unique), 500):  # SQLite caps the number of parameters of one statement
            chunk = unique[start:start + 500]
            found.update(row["name"] for row in self._rows(
                f"SELECT name FROM sessions WHERE name IN ({', '.join('?' * len(chunk))})", chunk))
        return found

    def dataset_names(self) -> list[str]:
        return [row["dataset"] for row in self._rows("SELECT DISTINCT dataset FROM sessions ORDER BY dataset")]

    def _in(self, entity: type[E], column: str, values: Sequence[Any]) -> list[E]:
        if not values:
            return []
        marks = ", ".join("?" * len(values))
        return self._entities(entity, f"SELECT * FROM {entity.TABLE} WHERE {column} IN ({marks})", values)

    # metrics

    def summaries(self, names: Sequence[str]) -> dict[str, dict[str, float]]:
        """What ``nsml ps`` shows per session: the latest value of each summary metric, else of every metric."""
        if not names:
            return {}
        marks = ", ".join("?" * len(names))
        rows = self._rows(f"SELECT id, session, key, value, summary FROM metrics WHERE id IN (SELECT MAX(id) FROM "
                          f"metrics WHERE session IN ({marks}) GROUP BY session, key, summary) ORDER BY id", names)
        latest: dict[str, dict[str, float]] = {name: {} for name in names}
        marked: dict[str, dict[str, float]] = {name: {} for name in names}
        for row in rows:
            value = math.nan if row["value"] is None else row["value"]
            latest[row["session"]][row["key"]] = value  # ordered by id: the last one written wins
            if row["summary"]:
                marked[row["session"]][row["key"]] = value
        return {name: dict(sorted((marked[name] or latest[name]).items())) for name in names}

    def metrics(self, name: str) -> list[Metric]:
        """Every value the session reported, in report order (``nsml.compare.best_values`` reads it too)."""
        return self._entities(Metric, "SELECT * FROM metrics WHERE session = ? ORDER BY id", (name,))

    # checkpoints, submissions, datasets

    def checkpoints(self, name: str) -> list[CheckpointRecord]:
        return self._entities(CheckpointRecord, "SELECT * FROM checkpoints WHERE session = ? ORDER BY saved",
                              (name,))

    def submissions(self, dataset: str | None = None, session: str | None = None,
                    limit: int | None = None) -> list[Submission]:
        """Submissions of a dataset and/or a session, newest first, at most ``limit``."""
        clauses = [(f"{column} = ?", value) for column, value in (("dataset", dataset), ("session", session))
                   if value is not None]
        where = f" WHERE {' AND '.join(c for c, _ in clauses)}" if clauses else ""
        tail = "" if limit is None else f" LIMIT {int(limit)}"
        return self._entities(Submission, f"SELECT * FROM submissions{where} ORDER BY id DESC{tail}",
                              [v for _, v in clauses])

    def best_submissions(self, names: Sequence[str]) -> dict[str, Submission]:
        """Each named session's best submission (as ``nsml compare`` ranks them), in one query; none: left out."""
        best: dict[str, Submission] = {}
        for found in sorted(self._in(Submission, "session", list(names)), key=Submission.rank_key):
            best.setdefault(found.session, found)
        return best

    def submission_counts(self) -> dict[str, int]:
        return {row["dataset"]: row["n"] for row in
                self._rows("SELECT dataset, COUNT(*) AS n FROM submissions GROUP BY dataset")}

    def session_counts(self) -> dict[str, int]:
        return {row["dataset"]: row["n"] for row in
                self._rows("SELECT dataset, COUNT(*) AS n FROM sessions GROUP BY dataset")}

    def submission(self, session: str, number: int) -> Submission | None:
        found = self._entities(Submission, "SELECT * FROM submissions WHERE session = ? AND number = ?",
                               (session, number))
        return found[0] if found else None

    def utterances(self, submission_id: int) -> list[ScoredUtterance]:
        return self._entities(ScoredUtterance, "SELECT * FROM utterance_scores WHERE submission = ? ORDER BY "
                                               "position", (submission_id,))

    def datasets(self) -> list[Dataset]:
        """The registered datasets (``nsml.datasets.known`` adds the bundled one)."""
        return self._entities(Dataset, "SELECT * FROM datasets ORDER BY name")
