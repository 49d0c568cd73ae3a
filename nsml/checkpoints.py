"""Checkpoint folders that appear whole or not at all.

```
ROOT/.pending/NAME.PID.ID/    the user's save(dir) writes here
ROOT/.versions/NAME.PID.ID/   complete versions, moved here by rename once save(dir) returned
ROOT/NAME -> .versions/...    what load/model ls/submit see; replaced with os.replace
```
Both renames are atomic, so a process killed at any moment leaves ``ROOT/NAME`` pointing at either the old complete
version or the new one. Leftovers of killed processes (their pid is in the folder name) are swept on the next save
and when the session ends. The link is relative, so a checkpoint root can be copied or moved as a whole.
"""

from __future__ import annotations

import argparse
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

from nsml import home
from nsml.errors import InvalidName, NoSpace, OutsideHome, UnknownName
from nsml.procs import pid_alive

PENDING = ".pending"
VERSIONS = ".versions"
RESERVED = ("nsml.sqlite",)  # the local metrics database shares the checkpoint root


def name_problem(text: str) -> str:
    """What is wrong with ``text`` as a checkpoint name ('' if nothing): it must be one plain path part."""
    if not text.strip():
        return "it is empty" if not text else "it is only blanks"
    if text in (".", ".."):
        return "it names a folder, not a checkpoint"
    if any(sep in text for sep in ("/", "\\", "\0")):
        return "it must be one path part, without '/' or '\\'"
    if text.startswith("."):
        return "names starting with '.' are the platform's own"
    if text in RESERVED:
        return "that file is the platform's own"
    return ""


def check_name(name: object, owner: str = "", root: Path | None = None) -> str:
    """The name as text; ints and strings are names (``nsml.save(epoch)``, ``nsml.save('best')``), provided they
    are one plain path part, so a name never means the whole checkpoint folder or leads out of it.

    The one check of every name the platform is given: saves, loads, ``model rm``/``pull``, ``submit``, ``fork``.
    With ``owner`` and ``root`` the error lists the checkpoints that do exist.
    """
    text = str(name)
    problem = name_problem(text)
    if problem:
        listing = f"; checkpoints in {owner}: {', '.join(names(root)) or 'none'}" if root is not None else ""
        raise InvalidName(f"invalid checkpoint name {text!r}: {problem}{listing}")
    return text


def argument(text: str) -> str:
    """``check_name`` as an argparse ``type=``: a flag naming a checkpoint (``run --submit``) is refused when parsed,
    before a run is started whose end would find the name unusable."""
    problem = name_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(f"invalid checkpoint name {text!r}: {problem}")
    return text


def _owner_pid(folder: Path) -> int:
    try:
        return int(folder.name.rsplit(".", 2)[1])
    except (IndexError, ValueError):
        return 0


def _linked_versions(root: Path) -> set[str]:
    linked = set()
    for entry in root.iterdir():
        if entry.is_symlink():
            linked.add(os.path.basename(os.readlink(entry)))
    return linked


def real_root(root: Path) -> Path:
    """``root`` with links resolved; a session's checkpoint root (one under ``$NSML_HOME``) must stay inside it.

    Everything the platform deletes or copies as a checkpoint must lie inside the real root, so a link planted in a
    session folder never makes ``model rm`` delete, or ``model pull`` copy, a folder elsewhere.
    """
    if any(root.absolute().is_relative_to(base) for base in home.platform_roots()):
        return home.contained(root)
    return root.resolve()


def sweep(root: Path) -> None:
    """Remove what killed processes left: unfinished saves, and versions no name points at any more.

    Never raises and never follows a link out: it runs when a session ends and whenever ``ps`` notices a killed
    one, where a failure would hide the session's real status.
    """
    if not root.is_dir():
        return
    try:
        real_root(root)
    except OutsideHome:
        return
    linked = _linked_versions(root)
    for kind in (PENDING, VERSIONS):
        folder = root / kind
        if folder.is_symlink() or not folder.is_dir():
            continue
        for leftover in folder.iterdir():
            if kind == VERSIONS and leftover.name in linked:
                continue
            if not pid_alive(_owner_pid(leftover)):
                _remove(leftover)


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path, ignore_errors=True)


def publish(root: Path, name: object, write: Callable[[str], object]) -> Path:
    """Call ``write(folder)`` on a fresh folder and, only once it returns, make it checkpoint ``name``.

    If ``write`` raises, the error propagates and the previous checkpoint of that name (if any) stays as it was.
    Returns the path of the checkpoint (the link).
    """
    name = check_name(name)
    root.mkdir(parents=True, exist_ok=True)
    real_root(root)  # a root that leads out of $NSML_HOME is refused before anything is written
    sweep(root)
    version = f"{name}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
    pending = root / PENDING / version
    pending.mkdir(parents=True)
    try:
        write(str(pending))
    except BaseException as error:
        _remove(pending)
        code = NoSpace.behind(error)
        if code is not None:
            raise NoSpace(f"{NoSpace.where(code, root)}: checkpoint {name!r} could not be saved; the half-written "
                          f"copy is removed and the previous {name!r}, if any, is kept; free some space, then "
                          f"continue with nsml fork") from error
        raise
    (root / VERSIONS).mkdir(exist_ok=True)
    os.rename(pending, root / VERSIONS / version)
    link = root / name
    previous = _current_version(link)
    if link.is_dir() and not link.is_symlink():  # a plain folder made by hand: move it aside first
        previous = root / VERSIONS / f"{name}.{os.getpid()}.manual"
        os.rename(link, previous)
    staged = root / PENDING / f"link.{os.getpid()}.{uuid.uuid4().hex[:8]}"
    os.symlink(os.path.join(VERSIONS, version), staged)
    os.replace(staged, link)
    if previous is not None:
        _remove(previous)
    return link


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system, or links not allowed: a real copy
        shutil.copy2(source, target)


def adopt(root: Path, name: object, source: Path) -> Path:
    """Publish a copy of checkpoint folder ``source`` as ``name`` in ``root`` (a fork's starting ``best``).

    Files are hard-linked where possible: checkpoint versions are never modified after publishing, so sharing them
    costs no space (a checkpoint of the baseline is 186 MiB) and removing either copy leaves the other whole.
    """
    return publish(root, name, lambda folder: shutil.copytree(source, folder, symlinks=True,
                                                              copy_function=_link_or_copy, dirs_exist_ok=True))


def _current_version(link: Path) -> Path | None:
    if not link.is_symlink():
        return None
    return link.parent / VERSIONS / os.path.basename(os.readlink(link))


def names(root: Path) -> list[str]:
    """Checkpoint names in ``root``, numbers first in numeric order, then the others by name."""
    if not root.is_dir():
        return []
    found = [entry.name for entry in root.iterdir()
             if not entry.name.startswith(".") and entry.name not in RESERVED and entry.is_dir()]
    return sorted(found, key=lambda n: (0, int(n), "") if n.isdigit() else (1, 0, n))


def resolve(root: Path, name: object, owner: str) -> Path:
    """The real folder of checkpoint ``name``; an unknown name is an error listing the checkpoints of ``owner``."""
    text = check_name(name, owner, root)
    link = root / text
    if not link.is_dir():
        raise UnknownName("checkpoint", text, names(root), f" in {owner}")
    try:
        base = real_root(root)
        real = home.contained(link, base)
    except OutsideHome as error:
        raise OutsideHome(f"checkpoint {text!r} of {owner} is a link that leads outside its checkpoint folder: "
                          f"{error}") from None
    if real in (base, base / PENDING, base / VERSIONS):  # deleting or copying it would take every checkpoint
        raise OutsideHome(f"checkpoint {text!r} of {owner} is a link to {real}, a platform folder holding every "
                          f"checkpoint, not one checkpoint; refused, nothing was changed (remove the link by hand)")
    return real


def remove(root: Path, name: str, owner: str) -> None:
    """Delete a checkpoint: the name disappears first (atomically), then its folder."""
    folder = resolve(root, name, owner)
    link = root / check_name(name)
    if link.is_symlink():
        link.unlink()
    _remove(folder)


def published_at(root: Path, name: str) -> float:
    """When the checkpoint was (last) saved: the link's own mtime, set when it replaced the previous one."""
    return (root / name).lstat().st_mtime


def folder_size(folder: Path) -> int:
    total = 0
    for parent, _dirs, files in os.walk(folder):
        for file in files:
            try:
                total += os.lstat(os.path.join(parent, file)).st_size
            except OSError:
                continue
    return total
