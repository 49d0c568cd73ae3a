"""Where the platform keeps its state: ``$NSML_HOME`` (default ``~/.nsml``) and the session folders inside it.

```
$NSML_HOME/nsml.sqlite                        sessions, metrics, checkpoint summaries, boards, datasets
$NSML_HOME/sessions/USER/DATASET/N/code/      the snapshot the session runs (and submit re-runs)
$NSML_HOME/sessions/USER/DATASET/N/log.txt    stdout + stderr of the run
$NSML_HOME/sessions/USER/DATASET/N/checkpoints/
```
Everything is derived from the environment at call time, so tests and child processes can point it elsewhere.
"""

from __future__ import annotations

import getpass
import os
import re
from pathlib import Path

from nsml.constants import ENV_HOME, ENV_USER
from nsml.errors import NsmlError, OutsideHome, UsageError

SESSION_NAME_RE = re.compile(r"^[^/\s]+/[^/\s]+/\d+$")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def nsml_home() -> Path:
    return Path(os.environ.get(ENV_HOME) or Path.home() / ".nsml").expanduser().absolute()


def db_path() -> Path:
    return nsml_home() / "nsml.sqlite"


def make_folder(folder: Path) -> Path:
    """Make ``folder`` (and its parents) if missing; a file in the way is a one-line error naming it.

    ``NSML_HOME=~/notes.txt`` (or a home whose parent is a file) would otherwise fail deep inside the first command
    that writes, naming neither the variable nor a way out.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocker = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), folder)
        base = nsml_home()
        if blocker == base or blocker in base.parents:
            raise UsageError(f"NSML_HOME={base} is not a folder ({blocker} is a file): set NSML_HOME to a folder "
                             f"(it is made if missing), or unset it to use ~/.nsml") from None
        raise UsageError(f"{blocker} is a file where nsml needs the folder {folder}; move the file aside") from None
    except PermissionError as error:
        raise UsageError(f"cannot make the folder {folder} ({error.strerror}): make {error.filename} writable, or "
                         f"point NSML_HOME at a folder you can write") from None
    return folder


ENV_SHARED = "NSML_SHARED"  # a folder every cluster node mounts at the same path: session folders live there


def shared_root() -> Path | None:
    """``$NSML_SHARED`` (the cluster's shared file system), or None on a platform without one."""
    value = os.environ.get(ENV_SHARED)
    return Path(value).expanduser().absolute() if value else None


def platform_roots() -> list[Path]:
    """The folders whose contents the platform owns (deletes, copies): ``$NSML_HOME`` and ``$NSML_SHARED``."""
    shared = shared_root()
    return [nsml_home()] + ([shared] if shared is not None else [])


def session_dir(name: str) -> Path:
    """A session's folder: under ``$NSML_SHARED`` when set (a cluster node must read its code and write its
    checkpoints), else under ``$NSML_HOME``; a session made before ``NSML_SHARED`` was set keeps its folder."""
    shared = shared_root()
    local = nsml_home() / "sessions" / name
    if shared is None:
        return local
    folder = shared / "sessions" / name
    return local if not folder.exists() and local.exists() else folder


def checkpoint_dir(session: str) -> Path:
    """Where session ``USER/DATASET/N`` keeps its checkpoints (one folder or link per checkpoint name)."""
    return session_dir(session) / "checkpoints"


def contained(path: Path, root: Path | None = None) -> Path:
    """``path`` with every link resolved, provided it lies inside ``root`` (default: ``$NSML_HOME`` or
    ``$NSML_SHARED``), also resolved.

    Session folders, checkpoint names and versions are paths the platform deletes and copies; a link planted among
    them (by a script, an unpacked archive, a user's mistake) must not make ``rm`` delete, or ``pull`` copy, what
    lies outside. Raises ``OutsideHome`` naming both paths.
    """
    bases = [root.resolve()] if root is not None else [base.resolve() for base in platform_roots()]
    real = path.resolve()
    if not any(real == base or base in real.parents for base in bases):
        raise OutsideHome(f"{path} leads outside {bases[0]} (to {real}); refused, nothing was changed there")
    return real


def repo_root() -> Path:
    """The folder holding the ``nsml`` package: the repository root (with ``speech_kit/`` and ``sample_dataset/``)."""
    return Path(__file__).resolve().parent.parent


def current_user() -> str:
    user = os.environ.get(ENV_USER) or getpass.getuser()
    return check_name(user, "user name (set NSML_USER)")


def check_name(name: str, what: str) -> str:
    """User and dataset names become path parts of session names, so they must be plain words."""
    if not NAME_RE.match(name):
        raise NsmlError(f"invalid {what} {name!r}: use letters, digits, '.', '_' and '-'")
    return name
