"""A small SQLite cache of ``AudioFacts``, so the dataset check at every training start reads only changed files.

A file's facts are reused while its real path, size, modification time (ns) and inode are what they were when it
was read, and while the reader's ``FORMAT_VERSION`` is the same. SQLite rather than a JSON file because several
processes (a training start, ``nsml dataset check``, the ranks of a torchrun job) may check at once: each write is
a transaction, and a reader never sees half of one. The cache is an optimisation only: if it cannot be opened or
written (a read-only home, a full disk), every file is read and the check goes on.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from speech_kit.audio_scan import AudioFacts

ENV_CACHE = "SPEECH_KIT_CACHE"  # a file path, or "off"
FILE_NAME = "audio-checks.sqlite"
FORMAT_VERSION = 1  # raise when AudioFacts or scan() change meaning: older rows are then ignored


def default_cache_path() -> Path | None:
    """``$SPEECH_KIT_CACHE`` ("off": no cache), else beside the platform's records (``$NSML_HOME``), else the
    user's cache folder (``$XDG_CACHE_HOME`` or ``~/.cache``)."""
    chosen = os.environ.get(ENV_CACHE)
    if chosen:
        return None if chosen == "off" else Path(chosen).expanduser()
    if os.environ.get("NSML_HOME"):
        return Path(os.environ["NSML_HOME"]).expanduser() / FILE_NAME
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "speech-kit" / FILE_NAME


def _key(path: str, state: os.stat_result) -> tuple[str, int, int, int, int]:
    return os.path.realpath(path), state.st_size, state.st_mtime_ns, state.st_ino, FORMAT_VERSION


class ScanCache:
    """Facts by file identity; use as ``with ScanCache.open(path) as cache`` (``path`` None: a cache that forgets).

    New facts are written in transactions of ``BATCH`` files (and at the end), so a check of a large dataset does
    not wait for one disk sync per file, and a killed check keeps what its finished batches found.
    """

    BATCH = 256

    def __init__(self, connection: sqlite3.Connection | None):
        self._db = connection
        self._pending: list[tuple] = []
        self.hits = 0

    @classmethod
    @contextmanager
    def open(cls, path: Path | None) -> Iterator[ScanCache]:
        connection = None
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                connection = sqlite3.connect(path, timeout=30)
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute("PRAGMA synchronous=NORMAL")  # a cache: losing the last rows to a crash is fine
                connection.execute("CREATE TABLE IF NOT EXISTS facts (path TEXT PRIMARY KEY, size INTEGER, "
                                   "mtime_ns INTEGER, inode INTEGER, version INTEGER, facts TEXT NOT NULL)")
                connection.commit()
            except (OSError, sqlite3.Error):
                if connection is not None:
                    connection.close()
                connection = None
        cache = cls(connection)
        try:
            yield cache
        finally:
            cache._close()

    def get(self, path: str, state: os.stat_result) -> AudioFacts | None:
        if self._db is None:
            return None
        try:
            row = self._db.execute("SELECT facts FROM facts WHERE path=? AND size=? AND mtime_ns=? AND inode=? "
                                   "AND version=?", _key(path, state)).fetchone()
        except sqlite3.Error:
            return None
        if row is None:
            return None
        self.hits += 1
        return AudioFacts.from_dict(json.loads(row[0]))

    def put(self, path: str, state: os.stat_result, facts: AudioFacts) -> None:
        if self._db is None:
            return
        self._pending.append((*_key(path, state), json.dumps(facts.to_dict())))
        if len(self._pending) >= self.BATCH:
            self._flush()

    def _flush(self) -> None:
        if self._db is None or not self._pending:
            return
        try:
            with self._db:  # one transaction; a file's row is replaced by its newer facts (one row per path)
                self._db.executemany("INSERT OR REPLACE INTO facts VALUES (?, ?, ?, ?, ?, ?)", self._pending)
        except sqlite3.Error:
            pass
        self._pending = []

    def _close(self) -> None:
        if self._db is not None:
            self._flush()
            self._db.close()
            self._db = None
