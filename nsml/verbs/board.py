"""``nsml board``: the local web board over the platform's records (sessions, curves, boards, error analysis)."""

from __future__ import annotations

import argparse
from typing import Any

from nsml import home
from nsml.errors import NsmlError
from nsml.store import Store
from nsml.verbs.common import add_verb, say

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 6060
MAX_PORT = 65535


def port(text: str) -> int:
    """A TCP port to listen on: 1-65535, or 0 for any free one (the socket's own error would be a traceback)."""
    value = int(text)
    if not 0 <= value <= MAX_PORT:
        raise argparse.ArgumentTypeError(f"a port is 1-{MAX_PORT} (or 0: any free port), got {value}")
    return value


def cmd_board(store: Store, args: argparse.Namespace) -> int:
    try:
        from nsml.board.app import create_app
        from nsml.board.server import is_loopback, serve
    except ImportError as error:
        raise NsmlError(f"nsml board needs Flask ({error}); install it with: pip install "
                        f"'speech-hackathon-kit[board]' (or pip install flask)") from None
    store.datasets()  # creates or upgrades the store as every nsml command does; the board itself only reads
    loopback = is_loopback(args.host)
    if not loopback:
        say(f"warning: listening on {args.host}: anyone who can reach this machine can read every session, log "
            f"and transcript (the board has no login)")
    app = create_app(store.path, home.nsml_home(), loopback_only=loopback)

    def ready(url: str) -> None:
        print(url, flush=True)
        say(f"board of {home.nsml_home()} at {url} (Ctrl-C stops it)")

    serve(app, args.host, args.port, ready)
    return 0


def register(verbs: Any) -> None:
    board = add_verb(verbs, "board", cmd_board,
                     "Serve a local web board of $NSML_HOME: sessions with live curves, checkpoints and logs, "
                     "dataset leaderboards, per-utterance error analysis of submissions, and comparisons. Reads "
                     "the records only; prints its address.")
    board.add_argument("--port", type=port, default=DEFAULT_PORT,
                       help=f"port to listen on (default {DEFAULT_PORT}; 0: any free port)")
    board.add_argument("--host", default=DEFAULT_HOST,
                       help=f"address to listen on (default {DEFAULT_HOST}: this machine only); another address "
                            f"lets other machines read every record, with no login")
