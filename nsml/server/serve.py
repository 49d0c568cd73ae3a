"""``nsml server``: the platform for many users, over HTTP, under waitress (a production WSGI server).

It listens on 127.0.0.1 unless ``--host`` says otherwise, and prints the address it bound as its first line of
stdout (``--port 0`` takes any free port: scripts and tests read it there). On its first start it issues the
organiser's token, prints it once and keeps it in ``SERVER_HOME/organiser.token`` (0600).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from nsml.board.server import bind, url
from nsml.errors import NsmlError
from nsml.server import sandbox
from nsml.server.app import create_app
from nsml.server.db import ORGANISER, ServerDB
from nsml.server.homes import Layout
from nsml.server.scoring import Settings
from nsml.server.sql import ENV_DATABASE_URL

DEFAULT_PORT = 8470
ENV_SERVER_HOME = "NSML_SERVER_HOME"


def default_home() -> Path:
    return Path(os.environ.get(ENV_SERVER_HOME) or Path.home() / ".nsml-server").absolute()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nsml server", description="Serve the platform to many teams over HTTP.")
    parser.add_argument("--home", type=Path, default=None, help=f"server state (default ${ENV_SERVER_HOME} or "
                                                                 f"~/.nsml-server)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}; 0: any free port")
    parser.add_argument("--database", metavar="URL", default=None,
                        help=f"postgresql://USER@HOST:PORT/DB for the server's records (default ${ENV_DATABASE_URL}, "
                             f"else SQLite in the home)")
    parser.add_argument("--threads", type=int, default=64, help="requests served at once (default 64)")
    parser.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) // 2),
                        help="submissions scored at once (default: half the cores)")
    parser.add_argument("--submit-timeout", type=float, default=1800.0, metavar="S",
                        help="a scored submission is killed after S seconds (default 1800)")
    parser.add_argument("--submit-memory-gib", type=float, default=8.0, metavar="G",
                        help="address-space limit of a scored submission (default 8 GiB)")
    parser.add_argument("--submit-cpu-s", type=int, default=3600, metavar="S", help="CPU seconds of a submission")
    return parser


def _first_token(layout: Layout, db: ServerDB) -> str | None:
    if db.has_organiser():
        return None
    token = db.issue_token(ORGANISER, None, "first organiser")
    fd = os.open(layout.organiser_token, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return token


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if not 0 <= args.port <= 65535:
        print(f"nsml server: error: --port {args.port} is not a port (0-65535)", file=sys.stderr)
        return 2
    try:
        sandbox.check()
        root = (args.home or default_home()).absolute()
        settings = Settings(timeout_s=args.submit_timeout, memory_bytes=int(args.submit_memory_gib * (1 << 30)),
                            cpu_seconds=args.submit_cpu_s, workers=args.workers)
        app = create_app(root, settings, args.database)
        layout = Layout(root)
        db = app.extensions["nsml_server"][0]
        token = _first_token(layout, db)
        listening = bind(args.host, args.port)
    except NsmlError as error:
        print(f"nsml server: error: {error}", file=sys.stderr)
        return 2
    from waitress.server import create_server

    server = create_server(app, sockets=[listening], threads=args.threads, send_bytes=1, channel_timeout=7200,
                           connection_limit=1000, ident="nsml")
    print(f"nsml server listening on {url(args.host, listening.getsockname()[1])} (home {root}, "
          f"{db.sql.name} {db.sql.where()})", flush=True)
    if token:
        print(f"organiser token (shown once, kept in {layout.organiser_token}): {token}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: server.close())
    try:
        server.run()
    except (KeyboardInterrupt, OSError):
        pass
    finally:
        app.extensions["nsml_server"][3].close()  # the teams' board processes
    return 0
