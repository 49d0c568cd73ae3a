"""Running out of disk space, said one way everywhere: the store, snapshots, checkpoint saves and the caches.

A full disk shows up as ``ENOSPC`` (or ``EDQUOT`` over a quota, ``EFBIG`` past a file-size limit), as numpy's
errno-less ``OSError: N requested and M written``, or as SQLite's ``database or disk is full``. Whoever meets one
has already removed what it half-wrote (``speech_kit.atomic`` does so for every file the kit writes); what is
left is telling the user where the space ran out, how much there is and about how much was needed, so that the
fix (free that much, or point the folder elsewhere) needs no guessing.
"""

from __future__ import annotations

import errno
import os
import re
import sqlite3
from pathlib import Path

NO_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
_SHORT_WRITE = re.compile(r"\d+ requested and \d+ written")  # numpy's tofile/np.save on a full disk


def is_out_of_space(err: BaseException) -> bool:
    """Whether ``err`` says the disk (or a quota, or the file-size limit) is full."""
    if isinstance(err, sqlite3.OperationalError):
        return "disk is full" in str(err) or "disk I/O error" in str(err) and _full(err)
    if isinstance(err, OSError):
        return err.errno in NO_SPACE_ERRNOS or (err.errno is None and bool(_SHORT_WRITE.search(str(err))))
    return False


def _full(err: BaseException) -> bool:
    """SQLite reports a write that failed for lack of space as a generic I/O error; its cause, when Python kept
    one, says which."""
    cause = err.__cause__ or err.__context__
    return cause is not None and is_out_of_space(cause)


def free_bytes(path: str | os.PathLike) -> int | None:
    """Bytes an unprivileged writer may still use on the file system holding ``path`` (its nearest existing
    folder), or None when that cannot be asked."""
    probe = Path(path)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        stats = os.statvfs(probe)
    except OSError:
        return None
    return stats.f_bavail * stats.f_frsize


def size_text(n: int) -> str:
    """``n`` bytes as people read them: B, KiB, MiB or GiB, three significant figures at most."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" or value >= 100 else f"{value:.3g} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def describe(path: str | os.PathLike, needed: int | None = None) -> str:
    """``no space left on the disk holding PATH (F free, about N needed)``: what a full-disk message says."""
    free = free_bytes(path)
    facts = []
    if free is not None:
        facts.append(f"{size_text(free)} free")
    if needed is not None:
        facts.append(f"about {size_text(needed)} needed")
    return f"no space left on the disk holding {path}" + (f" ({', '.join(facts)})" if facts else "")


def tree_bytes(root: str | os.PathLike, limit_file_bytes: int | None = None) -> int:
    """Bytes of the regular files under ``root`` (links not followed; files over ``limit_file_bytes`` left out,
    as a snapshot leaves them out): how much a copy of it needs."""
    total = 0
    for folder, _, files in os.walk(root):
        for name in files:
            try:
                info = os.lstat(os.path.join(folder, name))
            except OSError:
                continue
            if limit_file_bytes is None or info.st_size <= limit_file_bytes:
                total += info.st_size if not os.path.islink(os.path.join(folder, name)) else 0
    return total
