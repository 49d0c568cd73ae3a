"""Errors the ``nsml`` command reports as one line (``nsml: ...``) instead of a traceback."""

from __future__ import annotations

from typing import Iterable


class NsmlError(Exception):
    """A user-facing failure; ``code`` is the exit status of the ``nsml`` command."""

    code = 1


class UnknownName(NsmlError, LookupError):
    """A session, checkpoint or dataset that does not exist; the message lists the ones that do."""

    code = 2

    def __init__(self, kind: str, name: str, existing: Iterable[str], where: str = "") -> None:
        names = list(existing)
        listing = ", ".join(names) if names else "none"
        super().__init__(f"no {kind} {name!r}{where}; {kind}s: {listing}")
