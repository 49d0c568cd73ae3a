"""Session records: creating them, finding them by name, their true status, memo and removal.

A session is ``USER/DATASET/N``: a row in the database plus a folder with the code snapshot, the log and the
checkpoints. Its status is what the supervisor recorded, corrected when the supervisor itself was killed: a
"running" session whose supervisor pid is gone is recorded as killed. This module knows no backend: a session that
is a scheduler's job (Slurm) is corrected from the scheduler by ``nsml.backends.refresh``, and the callers that
need its status as it really is ask ``nsml.backends`` (``current``, ``all_sessions``, ``match``).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from fnmatch import fnmatchcase
from pathlib import Path

from nsml import checkpoints, home
from nsml.entities import ACTIVE, Session
from nsml.errors import NoSpace, NsmlError, UnknownName
from nsml.procs import pid_alive
from nsml.store import Store

__all__ = ["ACTIVE", "Refresh", "Session", "all_sessions", "create", "discard", "get", "match", "refresh", "remove",
           "set_memo"]

Refresh = Callable[[Store, Session], Session]  # a status correction: ``refresh`` here, ``nsml.backends.refresh``


def create(store: Store, dataset: str, entry: str, args: str, gpus: int = 0, cpus: int | None = None,
           nproc: int = 1, memo: str = "", parent: str | None = None, parent_checkpoint: str | None = None,
           extra_args: Iterable[str] = (), test_set: str | None = None, backend: str = "local",
           job: dict | None = None) -> Session:
    """Record a new session and make its folder; the caller fills ``code/`` and launches it.

    ``args`` is the entry's argument string (submit re-uses it; the caller has checked that it splits);
    ``extra_args`` are added by the platform at launch only; ``test_set`` fingerprints the dataset's test split
    as it is now, so ``compare`` can tell when sessions of one dataset name saw different test sets; ``backend``
    (``nsml.backends``) runs it, with ``job``'s resources.
    """
    user = home.current_user()
    name = store.create_session(user, dataset, {
        "entry": entry, "args": args, "extra_args": list(extra_args), "gpus": gpus, "cpus": cpus,
        "nproc": nproc, "memo": memo, "status": "created", "created": time.time(), "parent": parent,
        "parent_checkpoint": parent_checkpoint, "test_set": test_set, "backend": backend, "job": job,
        "supervisor_pid": os.getpid(),  # until a supervisor takes over: if this command dies, so does the session
    })
    folder = home.session_dir(name)
    if folder.exists() or folder.is_symlink():  # left by a database deleted by hand: never mix two sessions' files
        _remove_folder(folder)
    home.checkpoint_dir(name).mkdir(parents=True)
    return get(store, name)


def refresh(store: Store, session: Session) -> Session:
    """The session with its status corrected locally: an active session whose supervisor died is recorded as killed.

    A session that is a scheduler's job (a Slurm session with a job id) has no supervisor here, so nothing changes;
    ``nsml.backends.refresh`` corrects it from the scheduler's state.
    """
    if session.active and session.supervisor_pid and not pid_alive(session.supervisor_pid):
        try:
            recorded = store.update_session(session.name, only_if_status=session.status, status="killed",
                                            ended=time.time())
        except NoSpace:  # a full disk: shown as killed, recorded by the first command after space is freed
            checkpoints.sweep(session.checkpoint_root)
            return replace(session, status="killed")
        if recorded:
            checkpoints.sweep(session.checkpoint_root)  # nobody else will: the supervisor did not get to it
        return get(store, session.name, refresh_status=False)
    return session


def get(store: Store, name: str, refresh_status: bool = True) -> Session:
    session = store.session(name)
    if session is None:
        raise UnknownName("session", name, [s.name for s in store.sessions()])
    return refresh(store, session) if refresh_status else session


def all_sessions(store: Store, refresh_with: Refresh = refresh) -> list[Session]:
    return [refresh_with(store, s) for s in store.sessions()]


def match(store: Store, patterns: Iterable[str], refresh_with: Refresh = refresh) -> list[Session]:
    """Sessions named by ``patterns`` (shell wildcards allowed); a pattern matching nothing is an error."""
    sessions = all_sessions(store, refresh_with)
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
    """Delete a session whatever its status: also a half-made one whose code could not be copied.

    A session folder that leads outside ``$NSML_HOME`` (a link among its parents) is refused before anything,
    its record included, is deleted.
    """
    home.contained(session.dir)
    try:
        store.delete_session(session.name)
    except NoSpace:  # on a full disk even deleting a record needs room: the session's own folder makes it
        _remove_folder(session.dir)
        store.delete_session(session.name)
        return
    _remove_folder(session.dir)


def _remove_folder(folder: Path) -> None:
    """Remove a session folder inside ``$NSML_HOME``; a link in its place is removed itself, never followed."""
    home.contained(folder.parent)
    if folder.is_symlink():
        folder.unlink()
    else:
        shutil.rmtree(folder, ignore_errors=True)
