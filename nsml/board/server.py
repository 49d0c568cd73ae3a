"""Serving the board: a threaded WSGI server on one address until Ctrl-C.

Werkzeug's server (Flask's own) is enough for one person's browser tabs polling every few seconds, and it needs
nothing beyond Flask. Port 0 asks the system for any free port; the address actually bound is announced, so a
script (or a test) can read it from the first line of stdout.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Callable

from flask import Flask

from nsml.errors import UsageError


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{shown}:{port}/"


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``; an address in use or not ours is a one-line usage error.

    Bound here rather than by Werkzeug, which prints its own advice and exits when the port is taken.
    """
    try:
        family = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((host.strip("[]"), port), family=family)
    except OSError as error:
        raise UsageError(f"cannot listen on {host}:{port}: {error.strerror or error} (choose another --port, or "
                         f"--port 0 for any free one)") from None


def serve(app: Flask, host: str, port: int, on_ready: Callable[[str], None]) -> None:
    """Listen on ``host:port`` and answer until interrupted; ``on_ready(url)`` once the socket is bound."""
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request: pages poll every 2 s
    listening = bind(host, port)
    try:
        server = make_server(host, listening.getsockname()[1], app, threaded=True, fd=listening.fileno())
    finally:
        listening.close()  # the server holds a duplicate of it
    on_ready(url(host, server.port))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
