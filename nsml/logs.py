"""``nsml logs``: print a session's log, and with ``-f`` keep printing until the session ends (no time limit)."""

from __future__ import annotations

import time
from typing import BinaryIO

from nsml.session import Session, get
from nsml.store import Store

POLL_S = 0.2


def show(store: Store, session: Session, out: BinaryIO, follow: bool) -> None:
    position = 0
    while True:
        active = follow and get(store, session.name).active  # read before draining: nothing written is lost
        if session.log_path.is_file():
            with open(session.log_path, "rb") as log:
                log.seek(position)
                while chunk := log.read(65536):
                    out.write(chunk)
                    out.flush()
                position = log.tell()
        if not active:
            return
        time.sleep(POLL_S)
