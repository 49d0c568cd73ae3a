"""Creating the database from the entity declarations, and bringing stores made by older versions up to date.

``PRAGMA user_version`` holds the schema version. Version 1 (the first release) had CRR-only submissions and no
recorded arguments; version 2 stores submissions as named metrics with a primary one, per-utterance scores, the
test-set fingerprint, each session's resolved arguments and each dataset's scorer; version 3 the backend a session
runs on (local or Slurm), its job and how much of its event file was ingested. Upgrades run inside the
caller's ``BEGIN IMMEDIATE`` transaction, so two processes opening an old store at once upgrade it once.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import fields

from nsml.entities import ENTITIES, Submission
from nsml.errors import NsmlError

VERSION = 3

_COUNTERS = """
CREATE TABLE IF NOT EXISTS counters (   -- session numbers are never reused, even after rm
    user TEXT NOT NULL,
    dataset TEXT NOT NULL,
    last INTEGER NOT NULL,
    PRIMARY KEY (user, dataset)
)"""


def create_table(conn: sqlite3.Connection, entity: type) -> None:
    columns = [f"{f.name} {f.metadata['sql']}" for f in fields(entity)]
    conn.execute(f"CREATE TABLE IF NOT EXISTS {entity.TABLE} ({', '.join([*columns, *entity.CONSTRAINTS])})")
    for index in entity.INDEXES:
        conn.execute(index)


def _existing_columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


def _add_missing_columns(conn: sqlite3.Connection, entity: type) -> None:
    """New nullable (or defaulted) columns of an existing table, added in place."""
    present = set(_existing_columns(conn, entity.TABLE))
    for f in fields(entity):
        if f.name not in present:
            conn.execute(f"ALTER TABLE {entity.TABLE} ADD COLUMN {f.name} {f.metadata['sql']}")


def _convert_crr_submissions(conn: sqlite3.Connection) -> None:
    """Version 1 kept crr/cer/distance/length as columns: rebuild the table with them as metrics of scorer crr."""
    if "crr" not in _existing_columns(conn, Submission.TABLE):
        return
    old = conn.execute("SELECT * FROM submissions ORDER BY id").fetchall()
    conn.execute("DROP TABLE submissions")
    create_table(conn, Submission)
    numbers: dict[str, int] = {}
    for row in old:
        numbers[row["session"]] = numbers.get(row["session"], 0) + 1
        metrics = {"crr": row["crr"], "cer": row["cer"], "distance": row["distance"], "length": row["length"]}
        conn.execute(
            "INSERT INTO submissions (id, dataset, session, number, checkpoint, scorer, metrics, primary_metric, "
            "higher_is_better, utterances, test_set, submitted, duration, peak_memory_kib, args) "
            "VALUES (?, ?, ?, ?, ?, 'crr', ?, 'crr', 1, ?, NULL, ?, ?, ?, NULL)",
            (row["id"], row["dataset"], row["session"], numbers[row["session"]], row["checkpoint"],
             json.dumps(metrics), row["utterances"], row["submitted"], row["duration"], row["peak_memory_kib"]))


def upgrade(conn: sqlite3.Connection, path: object) -> None:
    """Create or upgrade the schema; the caller holds a write transaction."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > VERSION:
        raise NsmlError(f"{path} was written by a newer nsml (schema {version}, this one reads {VERSION}); "
                        f"upgrade the kit")
    if version == VERSION:
        return
    if version >= 1 and not _existing_columns(conn, "sessions"):  # another program's database: never touched
        raise sqlite3.OperationalError("no such table: sessions")
    if version >= 1:
        _convert_crr_submissions(conn)
    conn.execute(_COUNTERS)
    for entity in ENTITIES:
        create_table(conn, entity)
        _add_missing_columns(conn, entity)
    conn.execute(f"PRAGMA user_version={VERSION}")
