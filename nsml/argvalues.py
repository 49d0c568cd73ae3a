"""A recorded argument value as sessions are compared by it (``nsml compare``, the board, TensorBoard's HPARAMS).

Every session runs in its own copy of the code, so a default such as main.py's ``--labels`` (the label table beside
the entry) is recorded as a path into that session's own snapshot: ``.../sessions/me/ds/1/code/hackathon.labels``
in one session, ``.../2/code/hackathon.labels`` in the next. Compared as text, the paths always differ and every
session would seem to use another table. What matters is the file, so a path into the session's snapshot is shown
relative to it with a short digest of the file's content (``hackathon.labels@3f2a1b9c``): two sessions with the
same table show the same value, an edited table another one.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

DIGEST_CHARS = 8  # of the SHA-256 hex digest: enough to tell a session's edited table from the shipped one


def by_content(value: Any, code_dir: Path | None) -> Any:
    """``value``, or for a string naming a file inside ``code_dir``: ``RELATIVE@DIGEST`` (one shell word; just the
    relative path when it is no readable file)."""
    if code_dir is None or not isinstance(value, str) or not value:
        return value
    root = str(code_dir).rstrip("/") + "/"
    if not value.startswith(root):
        return value
    relative = value[len(root):]
    try:
        digest = hashlib.sha256(Path(value).read_bytes()).hexdigest()[:DIGEST_CHARS]
    except OSError:  # a folder, a removed session, an unreadable file: the path alone still compares
        return relative
    return f"{relative}@{digest}"
