"""The scratch folder of one ``nsml submit``, and sweeping those of submits that were killed.

A submit's predictions are written into ``SESSIONDIR/.submit/PID.ID/`` rather than the system's temp folder: a
``submit`` killed with SIGKILL cannot clean up after itself, and a leftover inside the session is found again (its
pid is in its name) and removed by the next ``nsml`` command, and with the session. ``ID`` also marks every
process of that submit (``NSML_SUBMIT_ID``), so what a killed submit left running is stopped by the same sweep.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from nsml import home
from nsml.constants import ENV_SUBMIT_ID
from nsml.errors import OutsideHome
from nsml.procs import kill_marked, pid_alive

SCRATCH = ".submit"


def _owner(folder: Path) -> tuple[int, str]:
    pid, _, submit_id = folder.name.partition(".")
    return (int(pid) if pid.isdigit() else 0), submit_id


@contextmanager
def submit_folder(session_dir: Path) -> Iterator[tuple[Path, str]]:
    """A fresh scratch folder in the session and the submit's id; both go (with the processes the id marks) when
    the block ends, however it ends short of a kill."""
    submit_id = uuid.uuid4().hex
    folder = session_dir / SCRATCH / f"{os.getpid()}.{submit_id}"
    home.contained(folder.parent)
    folder.mkdir(parents=True)
    try:
        yield folder, submit_id
    finally:
        kill_marked(ENV_SUBMIT_ID, submit_id)
        shutil.rmtree(folder, ignore_errors=True)


def sweep(session_dir: Path) -> list[Path]:
    """Remove the scratch folders of submits whose process is gone, stopping what they left running first."""
    parent = session_dir / SCRATCH
    if parent.is_symlink() or not parent.is_dir():
        return []
    removed = []
    for folder in parent.iterdir():
        pid, submit_id = _owner(folder)
        if pid_alive(pid):
            continue
        if submit_id:
            kill_marked(ENV_SUBMIT_ID, submit_id)
        if folder.is_symlink():
            folder.unlink(missing_ok=True)
        else:
            shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def sweep_all() -> list[Path]:
    """``sweep`` every session of ``$NSML_HOME``; run at the start of every ``nsml`` command. Never raises: a
    leftover is not worth failing the user's command for."""
    removed: list[Path] = []
    for parent in home.nsml_home().glob(f"sessions/*/*/*/{SCRATCH}"):
        try:
            home.contained(parent)
            removed += sweep(parent.parent)
        except (OSError, OutsideHome):
            continue
    return removed
