"""Errors the ``nsml`` command reports as one line instead of a traceback.

``code`` is the command's exit status. Status 2 means the command line itself was wrong (an unknown name, an
argument string that does not parse, a name already taken): those print ``nsml: error: ...`` like argparse's own
usage errors. Status 1 means the command was fine but the work failed (a submit whose entry crashed, a dataset
folder missing a file): those print ``nsml: ...``.
"""

from __future__ import annotations

import errno
from collections.abc import Iterable
from pathlib import Path

from speech_kit.space import NO_SPACE_ERRNOS, describe


class NsmlError(Exception):
    """A user-facing failure; ``code`` is the exit status of the ``nsml`` command."""

    code = 1


class UsageError(NsmlError):
    """The command line asks for something that cannot be done as written."""

    code = 2


class SubmitFailed(NsmlError):
    """A submit whose entry could not produce predictions (``nsml.submit``, or its Slurm job); nothing is
    recorded."""


class UnknownName(UsageError, LookupError):
    """A session, checkpoint or dataset that does not exist; the message lists the ones that do."""

    def __init__(self, kind: str, name: str, existing: Iterable[str], where: str = "") -> None:
        names = list(existing)
        listing = ", ".join(names) if names else "none"
        super().__init__(f"no {kind} {name!r}{where}; {kind}s: {listing}")


class InvalidName(UsageError, ValueError):
    """A checkpoint name that is not one plain path part (empty, ``.``/``..``, a separator): it could name the
    whole checkpoint folder or lead out of it. A ``ValueError`` too, for ``nsml.save('')`` in user code."""


class OutsideHome(NsmlError):
    """A path the platform was about to delete, copy or write that leads (through a link) outside the folder it
    belongs to; nothing was done to it."""


class NoSpace(NsmlError, OSError):
    """A write of the platform's (a code snapshot, a checkpoint) ran out of disk space; what it half-wrote is
    already removed and the message says what needed the space. An ``OSError`` too, so code that handles write
    failures in general still catches it."""

    @staticmethod
    def behind(error: BaseException) -> int | None:
        """The errno of the write refused for want of space behind ``error`` (itself or an error it was raised
        from: ``torch.save`` reports one as a ``RuntimeError`` raised while handling the ``OSError``), else None."""
        seen: set[int] = set()
        current: BaseException | None = error
        while current is not None and id(current) not in seen:
            if isinstance(current, OSError) and current.errno in NO_SPACE_ERRNOS:
                return current.errno
            seen.add(id(current))
            current = current.__cause__ or current.__context__
        return None

    @staticmethod
    def where(code: int, folder: Path) -> str:
        """What ran out, in words: the disk (with its free space), the quota, or the file-size limit."""
        if code == errno.EDQUOT:
            return f"the disk quota is used up on {folder}"
        if code == errno.EFBIG:
            return f"a file under {folder} reached this process's file-size limit (ulimit -f)"
        return describe(folder)
