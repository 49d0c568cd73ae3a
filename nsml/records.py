"""Files a run keeps about itself beside its checkpoints: what it left out of training and why, for instance.

Metrics (``nsml.report``) are numbers; a list of skipped files with their reasons is text, and belongs in the
session's folder, where ``nsml rm`` removes it with the session. Outside a session it goes into the local checkpoint
root, beside the local metrics database. Processes that must not write (torchrun ranks other than 0, submit
re-runs) write nothing, as for ``save`` and ``report``.
"""

from __future__ import annotations

from pathlib import Path

from nsml import checkpoints
from nsml.runtime import _checkpoint_root, _session, _silent
from speech_kit.atomic import atomic_write


def run_folder() -> Path | None:
    """The session's folder inside a session, else the local checkpoint root; None where nothing may be written."""
    if _silent():
        return None
    session = _session()
    root = _checkpoint_root(session)
    return root.parent if session else root


def write_run_file(name: str, text: str) -> Path | None:
    """Write ``text`` to file ``name`` of the run's folder, atomically; returns its path (None: not written)."""
    folder = run_folder()
    if folder is None:
        return None
    checkpoints.check_name(name)  # one plain path part, like a checkpoint name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    with atomic_write(path) as f:
        f.write(text)
    return path
