"""Copying folders: the user's code into a session (honouring ``.nsmlignore``), checkpoints and datasets out.

The session runs (and ``submit`` later re-runs) this copy, not the working tree, as the cloud platform ran the
uploaded code. ``.nsmlignore`` takes gitignore-like lines: ``#`` comments; a pattern ending in ``/`` matches
folders only; a pattern containing ``/`` is matched (fnmatch) against the path relative to the code folder,
others against each file or folder name as well. ``!`` negation is not supported. ``.git`` and ``__pycache__``
are always skipped, and so is ``$NSML_HOME`` when it lies inside the code folder.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from nsml.errors import NsmlError

IGNORE_FILE = ".nsmlignore"
ALWAYS_SKIPPED = (".git", "__pycache__")


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
class Copied:
    files: int
    bytes: int


def copy_code(source: Path, target: Path, skip: Iterable[Path] = ()) -> Copied:
    """Copy ``source`` into the new folder ``target``; symbolic links are copied as links."""
    rules = IgnoreRules.read(source)
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
            shutil.copy2(path, copy)
            files += 1
            size += copy.stat().st_size
    return Copied(files, size)


def copy_out(source: Path, name: str, destination: Path) -> Path:
    """Copy folder ``source`` with ``cp -r`` semantics: into an existing ``destination`` as ``name``, else as it."""
    target = destination / name if destination.is_dir() else destination
    if target.exists():
        raise NsmlError(f"{target} already exists")
    shutil.copytree(source, target, symlinks=True)
    return target
