"""Session records: creating them, finding them by name, their true status, memo and removal.

A session is ``USER/DATASET/N``: a row in the database plus a folder with the code snapshot, the log and the
checkpoints. Its status is what the supervisor recorded, corrected when the supervisor itself was killed: a
"running" session whose supervisor pid is gone is recorded as killed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from dataclasses import dataclass, fields
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Iterable

from nsml import checkpoints, home
from nsml.errors import NsmlError, UnknownName
from nsml.procs import pid_alive
from nsml.store import Store

ACTIVE = ("created", "running")


@dataclass(frozen=True)
class Session:
    name: str
    user: str
    dataset: str
    number: int
    entry: str
    args: str
    extra_args: str
    gpus: int
    cpus: int | None
    nproc: int
    memo: str
    status: str
    exit_code: int | None
    stop_requested: int
    supervisor_pid: int | None
    child_pid: int | None
    created: float
    started: float | None
    ended: float | None
    parent: str | None
    parent_checkpoint: str | None

    @property
    def dir(self) -> Path:
        return home.session_dir(self.name)

    @property
    def code_dir(self) -> Path:
        return self.dir / "code"

    @property
    def log_path(self) -> Path:
        return self.dir / "log.txt"

    @property
    def checkpoint_root(self) -> Path:
        return home.checkpoint_dir(self.name)

    @property
    def launch_args(self) -> list[str]:
        return json.loads(self.extra_args)

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    def describe_status(self) -> str:
        """``failed(1)``, ``killed(SIGKILL)``, ``running`` ...: the status with its exit code where it tells more."""
        if self.status == "failed" and self.exit_code is not None:
            return f"failed({self.exit_code})"
        if self.status == "killed" and self.exit_code is not None and self.exit_code < 0:
            try:
                return f"killed({signal.Signals(-self.exit_code).name})"
            except ValueError:
                return f"killed({-self.exit_code})"
        return "starting" if self.status == "created" else self.status


_FIELD_NAMES = [f.name for f in fields(Session)]


def _from_row(row) -> Session:
    return Session(**{name: row[name] for name in _FIELD_NAMES})


def create(store: Store, dataset: str, entry: str, args: str, gpus: int = 0, cpus: int | None = None,
           nproc: int = 1, memo: str = "", parent: str | None = None, parent_checkpoint: str | None = None,
           extra_args: Iterable[str] = ()) -> Session:
    """Record a new session and make its folder; the caller fills ``code/`` and launches it.

    ``args`` is what the user gave (submit re-uses it); ``extra_args`` are added by the platform at launch only.
    """
    user = home.current_user()
    name = store.create_session(user, dataset, {
        "entry": entry, "args": args, "extra_args": json.dumps(list(extra_args)), "gpus": gpus, "cpus": cpus,
        "nproc": nproc, "memo": memo, "status": "created", "created": time.time(), "parent": parent,
        "parent_checkpoint": parent_checkpoint,
        "supervisor_pid": os.getpid(),  # until a supervisor takes over: if this command dies, so does the session
    })
    folder = home.session_dir(name)
    if folder.exists():  # left by a database that was deleted by hand: never mix two sessions' files
        shutil.rmtree(folder)
    home.checkpoint_dir(name).mkdir(parents=True)
    return get(store, name)


def refresh(store: Store, session: Session) -> Session:
    """The session with its status corrected: an active session whose supervisor died is recorded as killed."""
    if session.active and session.supervisor_pid and not pid_alive(session.supervisor_pid):
        if store.update_session(session.name, only_if_status=session.status, status="killed", ended=time.time()):
            checkpoints.sweep(session.checkpoint_root)  # nobody else will: the supervisor did not get to it
        return get(store, session.name, refresh_status=False)
    return session


def get(store: Store, name: str, refresh_status: bool = True) -> Session:
    row = store.session(name)
    if row is None:
        raise UnknownName("session", name, [r["name"] for r in store.sessions()])
    session = _from_row(row)
    return refresh(store, session) if refresh_status else session


def all_sessions(store: Store) -> list[Session]:
    return [refresh(store, _from_row(row)) for row in store.sessions()]


def match(store: Store, patterns: Iterable[str]) -> list[Session]:
    """Sessions named by ``patterns`` (shell wildcards allowed); a pattern matching nothing is an error."""
    sessions = all_sessions(store)
    chosen: dict[str, Session] = {}
    for pattern in patterns:
        hits = [s for s in sessions if fnmatchcase(s.name, pattern)]
        if not hits:
            raise UnknownName("session", pattern, [s.name for s in sessions])
        chosen.update((s.name, s) for s in hits)
    return list(chosen.values())


def set_memo(store: Store, name: str, text: str) -> None:
    get(store, name, refresh_status=False)
    store.update_session(name, memo=text)


def remove(store: Store, session: Session) -> None:
    """Delete an ended session's folder and records; the dataset board keeps its submissions (they are history)."""
    if session.active:
        raise NsmlError(f"session {session.name} is {session.status}; stop it first or use rm -f")
    discard(store, session)


def discard(store: Store, session: Session) -> None:
    """Delete a session whatever its status: also a half-made one whose code could not be copied."""
    store.delete_session(session.name)
    shutil.rmtree(session.dir, ignore_errors=True)
