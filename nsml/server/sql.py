"""The server's database connection: SQLite (the default, one file) or PostgreSQL (``NSML_DATABASE_URL``).

``nsml.server.db`` writes its SQL once, in the part both speak (``?`` placeholders, ``ON CONFLICT``,
``RETURNING``); a ``Backend`` turns it into the dialect, opens connections, runs transactions and keeps the
schema up to date. The schema is a numbered list of migrations applied in place: each database records the last
one applied in ``schema_version`` and, when the server starts, gets the ones it lacks in one transaction (a file
made before versioning counts as version 0: its tables exist, so version 1's ``CREATE TABLE IF NOT EXISTS`` leaves
them as they are and only the later steps change them).

PostgreSQL goes through psycopg 3 (``pip install -e '.[server]'``); connections are kept in a small pool, since a
board request asks several short questions. Two submits of one team at once are serialised by SQLite's
``BEGIN IMMEDIATE`` there and by a transaction-scoped advisory lock here.
"""

from __future__ import annotations

import os
import queue
import sqlite3
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from nsml.errors import NsmlError
from nsml.transactions import reading, writing

ENV_DATABASE_URL = "NSML_DATABASE_URL"
POOL_SIZE = 16  # idle PostgreSQL connections kept

# (version, what it changes, statements): {id} and {real} become the dialect's types
MIGRATIONS: list[tuple[int, str, list[str]]] = [
    (1, "accounts, teams, competitions, phases, quotas, submissions", [
        "CREATE TABLE IF NOT EXISTS teams (id {id}, name TEXT UNIQUE NOT NULL, created {real} NOT NULL)",
        "CREATE TABLE IF NOT EXISTS tokens (digest TEXT PRIMARY KEY, role TEXT NOT NULL, team TEXT, "
        "label TEXT NOT NULL, created {real} NOT NULL)",
        "CREATE TABLE IF NOT EXISTS competitions (name TEXT PRIMARY KEY, scorer TEXT NOT NULL, source TEXT NOT NULL, "
        "public_keys TEXT NOT NULL, private_keys TEXT NOT NULL, final_limit INTEGER NOT NULL, created {real} NOT NULL)",
        "CREATE TABLE IF NOT EXISTS phases (competition TEXT NOT NULL, name TEXT NOT NULL, start {real} NOT NULL, "
        "\"end\" {real} NOT NULL, PRIMARY KEY (competition, name))",
        # team '' holds every team's default
        "CREATE TABLE IF NOT EXISTS quotas (competition TEXT NOT NULL, team TEXT NOT NULL, per_day INTEGER, "
        "min_interval_s {real}, total INTEGER, concurrent INTEGER, extra INTEGER NOT NULL DEFAULT 0, "
        "PRIMARY KEY (competition, team))",
        "CREATE TABLE IF NOT EXISTS submissions (id {id}, competition TEXT NOT NULL, phase TEXT NOT NULL, "
        "team TEXT NOT NULL, number INTEGER NOT NULL, session TEXT NOT NULL, checkpoint TEXT NOT NULL, "
        "status TEXT NOT NULL, reason TEXT, public TEXT, private TEXT, primary_metric TEXT, higher_is_better INTEGER, "
        "created {real} NOT NULL, finished {real}, duration {real}, counted INTEGER NOT NULL, "
        "selected INTEGER NOT NULL DEFAULT 0, UNIQUE (competition, team, number))",
        "CREATE INDEX IF NOT EXISTS submissions_by_team ON submissions (competition, team)",
    ]),
    (2, "who made each submission (an organiser's is exempt from the quota); when a token was last used", [
        "ALTER TABLE submissions ADD COLUMN submitted_by TEXT NOT NULL DEFAULT 'participant'",
        "ALTER TABLE tokens ADD COLUMN last_used {real}",
    ]),
]
LATEST = MIGRATIONS[-1][0]


class Backend:
    """One database: connections, transactions, the schema. Subclasses speak SQLite or PostgreSQL."""

    name = ""
    types: dict[str, str] = {}

    def where(self) -> str:
        """The database as a person names it (a path, or the URL without its password)."""
        raise NotImplementedError

    def sql(self, text: str) -> str:
        return text

    @contextmanager
    def read(self) -> Iterator[Any]:
        raise NotImplementedError
        yield

    @contextmanager
    def write(self, lock: str | None = None) -> Iterator[Any]:
        """One transaction; ``lock`` names what concurrent writers with the same name wait for."""
        raise NotImplementedError
        yield

    def execute(self, conn: Any, text: str, params: Sequence[Any] = ()) -> Any:
        return conn.execute(self.sql(text), tuple(params))

    def version(self, conn: Any) -> int:
        self.execute(conn, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = self.execute(conn, "SELECT MAX(version) AS v FROM schema_version").fetchone()
        return row["v"] or 0

    def migrate(self, upto: int = LATEST) -> list[int]:
        """Apply the migrations this database lacks (up to ``upto``), in one transaction; the versions applied."""
        with self.write(lock="schema") as conn:
            current = self.version(conn)
            applied = []
            for number, _what, statements in MIGRATIONS:
                if number <= current or number > upto:
                    continue
                for statement in statements:
                    self.execute(conn, statement.format(**self.types))
                self.execute(conn, "INSERT INTO schema_version (version) VALUES (?)", (number,))
                applied.append(number)
        return applied


class SQLite(Backend):
    name = "sqlite"
    types = {"id": "INTEGER PRIMARY KEY", "real": "REAL"}

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def where(self) -> str:
        return str(self.path)

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        with reading(self._open()) as conn:
            yield conn

    @contextmanager
    def write(self, lock: str | None = None) -> Iterator[sqlite3.Connection]:
        with writing(self._open()) as conn:  # one writer at a time: ``lock`` needs nothing more
            yield conn


class PostgreSQL(Backend):
    name = "postgresql"
    types = {"id": "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", "real": "DOUBLE PRECISION"}

    def __init__(self, url: str) -> None:
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise NsmlError(f"{ENV_DATABASE_URL} names PostgreSQL but psycopg is not installed: "
                            f"pip install 'psycopg[binary]' (or pip install -e '.[server]')") from None
        self.url = url
        self._idle: queue.LifoQueue = queue.LifoQueue(POOL_SIZE)

    def where(self) -> str:
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        values = conninfo_to_dict(self.url)
        values.pop("password", None)
        return make_conninfo(**values)

    def sql(self, text: str) -> str:
        return text.replace("%", "%%").replace("?", "%s")

    def _take(self) -> Any:
        import psycopg
        from psycopg.rows import dict_row

        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        try:
            return psycopg.connect(self.url, row_factory=dict_row, connect_timeout=30)
        except psycopg.OperationalError as error:
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise NsmlError(f"cannot connect to the database {self.where()}: {first}") from None

    def _give_back(self, conn: Any) -> None:
        from psycopg.pq import TransactionStatus

        if conn.closed or conn.info.transaction_status != TransactionStatus.IDLE:
            conn.close()
            return
        try:
            self._idle.put_nowait(conn)
        except queue.Full:
            conn.close()

    @contextmanager
    def read(self) -> Iterator[Any]:
        conn = self._take()
        try:
            conn.autocommit = True
            yield conn
        finally:
            self._give_back(conn)

    @contextmanager
    def write(self, lock: str | None = None) -> Iterator[Any]:
        conn = self._take()
        try:
            conn.autocommit = False
            try:
                if lock is not None:
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (zlib.crc32(lock.encode()),))
                yield conn
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
        finally:
            self._give_back(conn)


def backend(path: Path, url: str | None = None) -> Backend:
    """PostgreSQL when ``url`` (or ``NSML_DATABASE_URL``) names it, else the SQLite file ``path``."""
    url = url if url is not None else os.environ.get(ENV_DATABASE_URL)
    if not url:
        return SQLite(path)
    if url.startswith(("postgresql://", "postgres://")):
        return PostgreSQL(url)
    if url.startswith("sqlite:///"):
        return SQLite(Path(url.removeprefix("sqlite://")))
    raise NsmlError(f"{ENV_DATABASE_URL}={url.split('@')[-1]}: use postgresql://USER@HOST:PORT/DATABASE (or leave it "
                    f"unset for SQLite in the server home)")
