"""How the platform starts a session's entry: ``python -c BOOT ENTRY ARGS`` runs ``main`` here, which runs ENTRY.

The entry runs exactly as ``python ENTRY ARGS`` would run it (as ``__main__``, with ``sys.argv`` = ENTRY ARGS and the
entry's folder first on ``sys.path``), with two platform additions made first:

- the platform's own ``nsml`` package is imported, so the session uses it even when the user's snapshot ships a
  stub ``nsml.py`` of its own (as some 2019 snapshots did for running outside the platform);
- the argument recorder (``nsml.argrecord``) is installed, so the resolved flags of the session's first argparse
  parse are stored with the session (rank 0 of a torchrun job only, and never by a submit).

``BOOT`` is a ``-c`` program rather than ``-m nsml.entry`` because ``-m`` would look for ``nsml`` in the snapshot
first (the current folder comes first on ``sys.path``).
"""

from __future__ import annotations

import os
import runpy
import sys
from typing import Any

from nsml import home
from nsml.argrecord import install
from nsml.backends import events
from nsml.constants import ENV_PAUSED, ENV_SESSION
from nsml.store import Store

_BOOT = "import sys; sys.path.insert(0, {root!r}); import nsml.entry; nsml.entry.main()"


def command(entry: str, args: list[str]) -> list[str]:
    """``python -c BOOT ENTRY ARGS``: the command line of a session process."""
    return [sys.executable, "-c", _BOOT.format(root=str(home.repo_root())), entry, *args]


def _records_arguments() -> bool:
    """Only the session's own training process records: not other torchrun ranks, not a submit's re-run."""
    rank = os.environ.get("RANK")
    return bool(os.environ.get(ENV_SESSION)) and rank in (None, "", "0") and os.environ.get(ENV_PAUSED) != "submit"


def _record(params: dict[str, Any], spec: list[dict[str, Any]]) -> None:
    (events.from_environment() or Store(home.db_path())).record_params(os.environ[ENV_SESSION], params, spec)


def _warn(message: str) -> None:
    print(f"nsml: {message}", file=sys.stderr, flush=True)


def main() -> None:
    root = str(home.repo_root())
    if root in sys.path:
        sys.path.remove(root)  # the first occurrence: the one BOOT inserted; PYTHONPATH's own entry stays
    if len(sys.argv) < 2:
        raise SystemExit("nsml.entry: usage: python -c BOOT ENTRY [ARGS...]")
    entry, args = sys.argv[1], sys.argv[2:]
    path = os.path.abspath(entry)
    sys.argv = [entry, *args]
    if sys.path and sys.path[0] in ("", os.getcwd()):
        sys.path[0] = os.path.dirname(path)  # what 'python ENTRY' puts first instead of the current folder
    else:
        sys.path.insert(0, os.path.dirname(path))
    if _records_arguments():
        install(_record, _warn)
    runpy.run_path(path, run_name="__main__")
