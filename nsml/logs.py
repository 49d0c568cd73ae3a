"""``nsml logs``: print a session's log, and with ``-f`` keep printing until the session ends (no time limit).

Following ends with the session's final status (the caller prints it and exits non-zero for a failed or killed
session), so ``nsml logs -f`` in a script or in ``run.sh`` tells success from failure.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import BinaryIO

from nsml.entities import Session
from nsml.store import Store

POLL_S = 0.2


def show(store: Store, session: Session, out: BinaryIO, follow: bool,
         current: Callable[[Store, str], Session]) -> Session:
    """Copy the log to ``out`` (until the session ends, with ``follow``); returns the session as it is then.

    ``current`` reads a session's status as it really is (``nsml.backends.current``, or a backend's own).
    """
    position = 0
    while True:
        latest = current(store, session.name)  # read before draining: nothing written before the end is lost
        if session.log_path.is_file():
            with open(session.log_path, "rb") as log:
                log.seek(position)
                while chunk := log.read(65536):
                    out.write(chunk)
                    out.flush()
                position = log.tell()
        if not (follow and latest.active):
            return latest
        time.sleep(POLL_S)


def exit_status(session: Session) -> int:
    """0 for a session that is done (or was stopped on request); its own exit status when it failed or was killed."""
    if not session.failed:
        return 0
    if session.exit_code is None:
        return 1
    return session.exit_code if session.exit_code > 0 else 128 - session.exit_code
