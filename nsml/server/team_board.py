"""``python -m nsml.server.team_board SOCKET``: one team's board (``nsml board``'s pages over the team's own store),
served on a Unix socket to the server, which shows it at ``/teams/TEAM/``.

It runs in the team's sandbox as the team's uid (``nsml.server.team_boards``), like the team's verbs: the server
never opens a team's store itself (see ``nsml.server.db``). It makes itself non-dumpable first, so that the team's
own processes, which share its uid, cannot attach a debugger to it and change what it shows the organiser. The
prefix the server mounts it under comes in ``X-Forwarded-Prefix``, so every link it writes stays under it.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
import time
from pathlib import Path

PR_SET_DUMPABLE = 4
THREADS = 4
WATCH_EVERY_S = 1.0


def _not_dumpable() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE, 0) failed")


def _end_with_parent() -> None:
    """Exit when bubblewrap, its parent, goes (the server ended, or stopped this board): dropping to the team's uid
    cleared the parent-death signal bubblewrap set, so this process watches for itself."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(WATCH_EVERY_S)
        os._exit(0)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def main(argv: list[str]) -> int:
    socket_path = Path(argv[0])
    _not_dumpable()
    _end_with_parent()
    from waitress import serve
    from werkzeug.middleware.proxy_fix import ProxyFix

    from nsml import home
    from nsml.board.app import create_app
    from nsml.store import Store

    store = Store(home.db_path())
    store.datasets()  # creates or upgrades the store, as nsml board does
    app = create_app(store.path, home.nsml_home(), loopback_only=False)
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=0, x_proto=0, x_host=0, x_prefix=1)
    socket_path.unlink(missing_ok=True)
    serve(app, unix_socket=str(socket_path), unix_socket_perms="600", threads=THREADS, ident="nsml-team-board",
          _quiet=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
