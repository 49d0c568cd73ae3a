"""Copying folders: the user's code into a session (honouring ``.nsmlignore``), checkpoints and datasets out.

The session runs (and ``submit`` later re-runs) this copy, not the working tree, as the cloud platform ran the
uploaded code. ``.nsmlignore`` takes gitignore-like lines: ``#`` comments; a pattern ending in ``/`` matches
folders only; a pattern containing ``/`` is matched (fnmatch) against the path relative to the code folder,
others against each file or folder name as well. ``!`` negation is not supported. ``.git``, ``__pycache__`` and
any virtualenv (a folder holding ``pyvenv.cfg``: ``.venv`` is a gigabyte of someone else's code, and the session
runs with the platform's interpreter anyway) are always skipped, and so is ``$NSML_HOME`` when it lies inside the
code folder. Files larger than a limit
(a forgotten checkpoint, a 2 GiB sparse file) and anything that is not a regular file, folder or link (a FIFO would
block the copy forever) are skipped too, and reported, so a snapshot stays a copy of code.
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from nsml.errors import NsmlError

IGNORE_FILE = ".nsmlignore"
ALWAYS_SKIPPED = (".git", "__pycache__")
VIRTUALENV_MARK = "pyvenv.cfg"  # what every virtualenv (venv, virtualenv, uv) has at its top
DEFAULT_MAX_FILE_MIB = 50  # the seed's whole repository is under 1 MiB; a checkpoint of its model is 186 MiB


@dataclass(frozen=True)
class IgnoreRules:
    patterns: tuple[tuple[str, bool], ...]  # (pattern, folders only)

    @classmethod
    def read(cls, code_dir: Path) -> IgnoreRules:
        path = code_dir / IGNORE_FILE
        if not path.is_file():
            return cls(())
        patterns = []
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("!"):
                print(f"nsml: {path}:{lineno}: '!' (negation) is not supported; line ignored", file=sys.stderr)
                continue
            patterns.append((line.rstrip("/").lstrip("/"), line.endswith("/")))
        return cls(tuple(patterns))

    def ignores(self, relative: str, is_dir: bool) -> bool:
        name = relative.rsplit("/", 1)[-1]
        if name in ALWAYS_SKIPPED:
            return True
        for pattern, dirs_only in self.patterns:
            if dirs_only and not is_dir:
                continue
            if fnmatchcase(relative, pattern) or ("/" not in pattern and fnmatchcase(name, pattern)):
                return True
        return False


@dataclass(frozen=True)
class Skipped:
    """A file left out of a snapshot although ``.nsmlignore`` does not name it, and why."""

    path: str  # relative to the code folder
    reason: str


@dataclass(frozen=True)
class Copied:
    files: int
    bytes: int
    skipped: tuple[Skipped, ...] = ()


def _refusal(path: Path, max_file_bytes: int) -> str | None:
    """Why ``path`` (a non-link) is not copied: not a regular file, or larger than the limit; None: copy it."""
    info = os.lstat(path)
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file (a FIFO, socket or device)"
    if info.st_size > max_file_bytes:
        return f"{info.st_size / 2**20:.1f} MiB, over the {max_file_bytes / 2**20:g} MiB limit"
    return None


def copy_code(source: Path, target: Path, skip: Iterable[Path] = (),
              max_file_bytes: int = DEFAULT_MAX_FILE_MIB << 20) -> Copied:
    """Copy ``source`` into the new folder ``target``; symbolic links are copied as links (never followed).

    Files over ``max_file_bytes`` and special files are left out and listed in ``Copied.skipped``.
    """
    rules = IgnoreRules.read(source)
    left_out: list[Skipped] = []
    skipped = {Path(p).resolve() for p in skip}
    files = size = 0
    target.mkdir(parents=True)
    for parent, dirs, names in os.walk(source):
        here = Path(parent)
        relative_dir = here.relative_to(source).as_posix()
        prefix = "" if relative_dir == "." else relative_dir + "/"
        kept_dirs = []
        for name in sorted(dirs):
            path = here / name
            if rules.ignores(prefix + name, is_dir=True) or path.resolve() in skipped:
                continue
            if not path.is_symlink() and (path / VIRTUALENV_MARK).is_file():
                continue
            if path.is_symlink():
                os.symlink(os.readlink(path), target / prefix / name)
                continue
            (target / prefix / name).mkdir()
            kept_dirs.append(name)
        dirs[:] = kept_dirs
        for name in sorted(names):
            if rules.ignores(prefix + name, is_dir=False):
                continue
            path, copy = here / name, target / prefix / name
            if path.is_symlink():
                os.symlink(os.readlink(path), copy)
                continue
            reason = _refusal(path, max_file_bytes)
            if reason is not None:
                left_out.append(Skipped(prefix + name, reason))
                continue
            shutil.copy2(path, copy)
            files += 1
            size += copy.stat().st_size
    return Copied(files, size, tuple(left_out))


def copy_out(source: Path, name: str, destination: Path) -> Path:
    """Copy folder ``source`` with ``cp -r`` semantics: into an existing ``destination`` as ``name``, else as it."""
    target = destination / name if destination.is_dir() else destination
    if target.exists():
        raise NsmlError(f"{target} already exists")
    shutil.copytree(source, target, symlinks=True)
    return target
