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
from nsml.errors import NsmlError, OutsideHome

SESSION_NAME_RE = re.compile(r"^[^/\s]+/[^/\s]+/\d+$")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def nsml_home() -> Path:
    return Path(os.environ.get(ENV_HOME) or Path.home() / ".nsml").expanduser().absolute()


def db_path() -> Path:
    return nsml_home() / "nsml.sqlite"


def session_dir(name: str) -> Path:
    return nsml_home() / "sessions" / name


def checkpoint_dir(session: str) -> Path:
    """Where session ``USER/DATASET/N`` keeps its checkpoints (one folder or link per checkpoint name)."""
    return session_dir(session) / "checkpoints"


def contained(path: Path, root: Path | None = None) -> Path:
    """``path`` with every link resolved, provided it lies inside ``root`` (default ``$NSML_HOME``), also resolved.

    Session folders, checkpoint names and versions are paths the platform deletes and copies; a link planted among
    them (by a script, an unpacked archive, a user's mistake) must not make ``rm`` delete, or ``pull`` copy, what
    lies outside. Raises ``OutsideHome`` naming both paths.
    """
    base = (root if root is not None else nsml_home()).resolve()
    real = path.resolve()
    if real != base and base not in real.parents:
        raise OutsideHome(f"{path} leads outside {base} (to {real}); refused, nothing was changed there")
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
