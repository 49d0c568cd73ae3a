"""The platform's records in one SQLite file, handed out as the dataclasses of ``nsml.entities``.

WAL mode lets ``nsml ps`` and ``model ls`` read while a run writes, and every write is one transaction, so a run
killed with SIGKILL leaves the file consistent. A connection is opened per operation: user code forks (DataLoader
workers) and a connection must never cross a fork; opening one costs well under a millisecond. The tables come
from the entity declarations (``nsml.schema``); a store made by an older version is upgraded when first opened.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import fields
from pathlib import Path
from typing import Any, TypeVar

from nsml import home, schema
from nsml.entities import CheckpointRecord, Dataset, Metric, ScoredUtterance, Session, Submission
from nsml.errors import NoSpace, NsmlError, UsageError
from nsml.transactions import reading, writing
from speech_kit import space

E = TypeVar("E")
LOCK_TIMEOUT_S = 60  # how long a command waits for another one's write transaction
NO_ROOM_BYTES = 1 << 20  # less free than this, and an I/O error opening the store is its index not fitting


def _no_room(folder: Path) -> bool:
    free = space.free_bytes(folder)
    return free is not None and free < NO_ROOM_BYTES


def _json_fields(entity: type) -> frozenset[str]:
    return frozenset(f.name for f in fields(entity) if f.metadata["json"])


def _decode(entity: type[E], row: sqlite3.Row) -> E:
    encoded = _json_fields(entity)
    values = {}
    for f in fields(entity):
        value = row[f.name]
        values[f.name] = json.loads(value) if f.name in encoded and value is not None else value
    return entity(**values)


def _encode(entity: type, values: Mapping[str, Any]) -> dict[str, Any]:
    known = {f.name for f in fields(entity)}
    unknown = set(values) - known
    if unknown:
        raise ValueError(f"unknown {entity.__name__} fields: {sorted(unknown)}")
    encoded = _json_fields(entity)
    return {key: json.dumps(value) if key in encoded and value is not None else value
            for key, value in values.items()}


def _insert(conn: sqlite3.Connection, entity: type, values: Mapping[str, Any], verb: str = "INSERT") -> int:
    row = _encode(entity, values)
    cursor = conn.execute(f"{verb} INTO {entity.TABLE} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                          tuple(row.values()))
    return cursor.lastrowid


def _failure(path: Path, error: Exception) -> NsmlError:
    """What went wrong with the store file at ``path``, and what to do, in one line (``error`` came from sqlite)."""
    text = str(error)
    folder = path.parent
    aside = f"mkdir {folder}/damaged && mv {path}* {folder}/damaged/"
    if "locked" in text:
        return NsmlError(f"{path} stayed locked by another nsml process for {LOCK_TIMEOUT_S} s; run the command "
                         f"again once that one has finished")
    if path.is_dir():
        return UsageError(f"{path} is a folder, not nsml's database file: move it aside, or point NSML_HOME at "
                          f"another folder")
    if "readonly" in text or "unable to open" in text:
        return UsageError(f"cannot write {path} ({text}): make it and {folder} writable, or point NSML_HOME at a "
                          f"folder you can write")
    if "full" in text or "I/O" in text:
        return NoSpace(f"cannot write {path} ({text}): {space.describe(folder)}: free some space (nsml rm SESSION "
                       f"deletes a session's code, log and checkpoints; nsml ps lists them), then run the command "
                       f"again")
    if isinstance(error, sqlite3.OperationalError):  # an SQLite database, but tables of another program
        return UsageError(f"{path} is an SQLite database but not nsml's store ({text}): move it aside ({aside}) "
                          f"and nsml starts an empty one, or point NSML_HOME at another folder")
    return UsageError(f"{path} is damaged ({text}): move it aside ({aside}) and nsml starts an empty store (the "
                      f"session folders are kept; 'sqlite3 FILE .recover' may save its records), or point NSML_HOME "
                      f"at another folder")


@contextmanager
def _reported(path: Path) -> Iterator[None]:
    """sqlite errors about the file itself (damaged, not a database, locked, read-only) become one-line errors.

    Integrity and programming errors are nsml's own bugs and keep their traceback.
    """
    try:
        yield
    except (sqlite3.IntegrityError, sqlite3.ProgrammingError):
        raise
    except (sqlite3.DatabaseError, json.JSONDecodeError) as error:
        raise _failure(path, error) from None


class Store:
    """One SQLite database file; every method is a self-contained read or transaction."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _open(self) -> sqlite3.Connection:
        home.make_folder(self.path.parent)
        try:
            return self._connect(alone=False)
        except sqlite3.OperationalError as error:
            if "disk I/O error" not in str(error) or not _no_room(self.path.parent):
                raise
        return self._connect(alone=True)

    def _connect(self, alone: bool) -> sqlite3.Connection:
        """A connection in WAL mode, with the tables upgraded to this version.

        ``alone``: in exclusive locking mode, the way out when the disk is full. A WAL reader maps the
        ``-shm`` index, which SQLite makes anew (32 KiB written) whenever no connection has the file open, so on a
        full disk every command, ``nsml ps`` and ``nsml rm`` included, failed with ``disk I/O error`` and the user
        could not free space through nsml. An exclusive connection keeps that index in its own memory: reads work,
        other nsml processes wait for it (``LOCK_TIMEOUT_S``), and writes fail as ``disk is full`` until space is
        freed.
        """
        conn = sqlite3.connect(self.path, timeout=LOCK_TIMEOUT_S, isolation_level=None)
        try:
            return self._prepare(conn, alone)
        except BaseException:
            conn.close()
            raise

    def _prepare(self, conn: sqlite3.Connection, alone: bool) -> sqlite3.Connection:
        conn.row_factory = sqlite3.Row
        if alone:
            conn.execute("PRAGMA locking_mode=EXCLUSIVE")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        if conn.execute("PRAGMA user_version").fetchone()[0] != schema.VERSION:
            try:
                conn.execute("BEGIN IMMEDIATE")
                schema.upgrade(conn, self.path)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        return conn

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with _reported(self.path), reading(self._open()) as conn:
            yield conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with _reported(self.path), writing(self._open()) as conn:
            yield conn

    def _select(self, entity: type[E], where: str = "", params: Iterable[Any] = (), order: str = "") -> list[E]:
        query = f"SELECT * FROM {entity.TABLE}"
        if where:
            query += f" WHERE {where}"
        if order:
            query += f" ORDER BY {order}"
        with self._read() as conn:
            return [_decode(entity, row) for row in conn.execute(query, tuple(params))]

    # sessions

    def create_session(self, user: str, dataset: str, values: Mapping[str, Any]) -> str:
        """Allocate ``USER/DATASET/N`` (N one past the last ever used) and insert the session; returns the name."""
        with self._write() as conn:
            row = conn.execute("SELECT last FROM counters WHERE user=? AND dataset=?", (user, dataset)).fetchone()
            number = (row["last"] if row else 0) + 1
            conn.execute("INSERT OR REPLACE INTO counters (user, dataset, last) VALUES (?, ?, ?)",
                         (user, dataset, number))
            name = f"{user}/{dataset}/{number}"
            _insert(conn, Session, dict(values, name=name, user=user, dataset=dataset, number=number))
        return name

    def session(self, name: str) -> Session | None:
        found = self._select(Session, "name=?", (name,))
        return found[0] if found else None

    def sessions(self) -> list[Session]:
        return self._select(Session, order="created, name")

    def update_session(self, name: str, only_if_status: str | None = None, **values: Any) -> bool:
        """Set ``values``; with ``only_if_status`` only while the status is still that one (no lost updates)."""
        row = _encode(Session, values)
        query, params = f"UPDATE sessions SET {', '.join(f'{key}=?' for key in row)} WHERE name=?", [*row.values(),
                                                                                                    name]
        if only_if_status is not None:
            query += " AND status=?"
            params.append(only_if_status)
        with self._write() as conn:
            return conn.execute(query, params).rowcount > 0

    def record_params(self, name: str, params: Mapping[str, Any], spec: list) -> bool:
        """Keep the first resolved arguments of a session (a later parse in the same run does not replace them)."""
        row = _encode(Session, {"params": dict(params), "param_spec": spec})
        with self._write() as conn:
            return conn.execute("UPDATE sessions SET params=?, param_spec=? WHERE name=? AND params IS NULL",
                                (row["params"], row["param_spec"], name)).rowcount > 0

    def ingest_events(self, name: str, offset: int, new_offset: int, metrics: Iterable[Mapping[str, Any]],
                      saved: Iterable[Mapping[str, Any]], params: Mapping[str, Any] | None) -> bool:
        """Add what a job wrote to its event file between ``offset`` and ``new_offset``, in one transaction.

        Nothing is added unless the session's recorded offset is still ``offset``, so two commands ingesting the
        same file at once add each line once. ``saved``: checkpoint records; ``params``: the first resolved
        arguments ({"params": ..., "spec": ...}), kept only when none are recorded yet.
        """
        with self._write() as conn:
            moved = conn.execute("UPDATE sessions SET events_offset=? WHERE name=? AND events_offset=?",
                                 (new_offset, name, offset)).rowcount
            if not moved:
                return False
            conn.executemany(
                "INSERT INTO metrics (session, step, key, value, summary, wall) VALUES (?, ?, ?, ?, ?, ?)",
                [(name, m["step"], key, None if value is None or math.isnan(value) else value, int(m["summary"]),
                  m["wall"]) for m in metrics for key, value in m["values"].items()])
            for record in saved:
                _insert(conn, CheckpointRecord, {"session": name, "name": record["name"], "saved": record["saved"],
                                                 "summary": dict(record["summary"])}, verb="INSERT OR REPLACE")
            if params is not None:
                row = _encode(Session, {"params": dict(params["params"]), "param_spec": params["spec"]})
                conn.execute("UPDATE sessions SET params=?, param_spec=? WHERE name=? AND params IS NULL",
                             (row["params"], row["param_spec"], name))
        return True

    def delete_session(self, name: str) -> None:
        with self._write() as conn:
            for table in (Metric.TABLE, CheckpointRecord.TABLE):
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

    def metrics(self, session: str) -> list[Metric]:
        return self._select(Metric, "session=?", (session,), order="id")

    def latest_metrics(self, session: str, summary_only: bool = False) -> dict[str, float]:
        """The last reported value of every key (of ``summary=True`` reports only, if asked)."""
        where = "session=? AND summary=1" if summary_only else "session=?"
        with self._read() as conn:
            rows = conn.execute(f"SELECT key, value FROM metrics WHERE id IN "
                                f"(SELECT MAX(id) FROM metrics WHERE {where} GROUP BY key) ORDER BY key",
                                (session,)).fetchall()
        return {row["key"]: math.nan if row["value"] is None else row["value"] for row in rows}

    def last_metric_wall(self, session: str) -> float | None:
        """When the session last reported a metric (its wall time), or None."""
        with self._read() as conn:
            row = conn.execute("SELECT MAX(wall) AS wall FROM metrics WHERE session=?", (session,)).fetchone()
        return row["wall"] if row is not None else None

    # checkpoints

    def record_checkpoint(self, session: str, name: str, saved: float, summary: Mapping[str, float]) -> None:
        with self._write() as conn:
            _insert(conn, CheckpointRecord, {"session": session, "name": name, "saved": saved,
                                             "summary": dict(summary)}, verb="INSERT OR REPLACE")

    def checkpoint_summaries(self, session: str) -> dict[str, dict[str, float]]:
        return {record.name: record.summary for record in self._select(CheckpointRecord, "session=?", (session,))}

    def delete_checkpoint(self, session: str, name: str) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM checkpoints WHERE session=? AND name=?", (session, name))

    # submissions

    def add_submission(self, values: Mapping[str, Any], utterances: Iterable[Mapping[str, Any]]) -> Submission:
        """Record a scored submit and its utterances in one transaction; numbers it within its session."""
        with self._write() as conn:
            row = conn.execute("SELECT MAX(number) AS last FROM submissions WHERE session=?",
                               (values["session"],)).fetchone()
            number = (row["last"] or 0) + 1
            submission_id = _insert(conn, Submission, dict(values, number=number))
            for position, utterance in enumerate(utterances):
                _insert(conn, ScoredUtterance, dict(utterance, submission=submission_id, position=position))
            stored = conn.execute("SELECT * FROM submissions WHERE id=?", (submission_id,)).fetchone()
        return _decode(Submission, stored)

    def submissions(self, dataset: str | None = None, session: str | None = None) -> list[Submission]:
        """Submissions of a dataset and/or a session, oldest first."""
        clauses = [(clause, value) for clause, value in (("dataset=?", dataset), ("session=?", session))
                   if value is not None]
        return self._select(Submission, " AND ".join(c for c, _ in clauses), [v for _, v in clauses], order="id")

    def submission(self, session: str, number: int) -> Submission | None:
        found = self._select(Submission, "session=? AND number=?", (session, number))
        return found[0] if found else None

    def scored_utterances(self, submission_id: int) -> list[ScoredUtterance]:
        return self._select(ScoredUtterance, "submission=?", (submission_id,), order="position")

    # datasets

    def add_dataset(self, dataset: Dataset, replace: bool) -> bool:
        """Register ``dataset``; an existing name is kept (returns False) unless ``replace``."""
        values = {f.name: getattr(dataset, f.name) for f in fields(Dataset)}
        with self._write() as conn:
            exists = conn.execute("SELECT 1 FROM datasets WHERE name=?", (dataset.name,)).fetchone()
            if exists and not replace:
                return False
            _insert(conn, Dataset, values, verb="INSERT OR REPLACE")
        return True

    def remove_dataset(self, name: str) -> bool:
        with self._write() as conn:
            return conn.execute("DELETE FROM datasets WHERE name=?", (name,)).rowcount > 0

    def datasets(self) -> list[Dataset]:
        return self._select(Dataset, order="name")
