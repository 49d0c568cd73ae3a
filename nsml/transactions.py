"""SQLite transactions as the platform's stores use them: one connection per read or per write, closed after it.

A write takes the database's write lock at once (``BEGIN IMMEDIATE``), so two writers queue on the busy timeout
rather than fail half-way as deferred transactions upgrading their locks would; anything raised inside rolls it
back. Both the sessions' store (``nsml.store``) and the server's records on SQLite (``nsml.server.sql``) open their
connections their own way and hand them here.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def reading(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``conn`` for reads in autocommit mode, closed afterwards."""
    try:
        yield conn
    finally:
        conn.close()


@contextmanager
def writing(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``conn`` inside one immediate transaction: committed when the block ends, rolled back when it raises."""
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    finally:
        conn.close()
