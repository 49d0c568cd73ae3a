"""Writing files so that a reader sees the old content or the new, never half of one: write a temporary file
beside the target, then ``os.replace`` it over the target (atomic on POSIX within one file system)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


@contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8",
                 newline: str | None = None) -> Iterator[IO]:
    """Open a temporary file beside ``path`` for writing; on a clean exit it replaces ``path``.

    On an exception (or a kill) the target keeps its old content and the temporary file is removed (a kill
    leaves a ``.NAME.*.tmp`` file that the next write does not reuse).
    """
    path = Path(path)
    binary = "b" in mode
    fd, tmp = _create_beside(path)
    try:
        with os.fdopen(fd, mode, encoding=None if binary else encoding, newline=None if binary else newline) as f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _create_beside(path: Path) -> tuple[int, str]:
    """A new, unique ``.NAME.XXXX.tmp`` beside ``path``, created with the permissions the umask allows (as a plain
    ``open`` would; ``tempfile.mkstemp`` makes files readable by their owner only)."""
    for _ in range(100):
        tmp = str(path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"{path}: could not create a temporary file beside it")


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_write(path) as f:
        f.write(text)
