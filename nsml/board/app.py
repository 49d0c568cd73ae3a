"""The board's Flask application: configuration, template filters, security headers, error pages.

Pages are rendered by Jinja with autoescaping, so memos, arguments, transcripts and file names are always text,
never markup. The Content-Security-Policy allows only the board's own static script and stylesheet: even a string
that slipped past escaping could not run. When the board listens on the loopback interface only loopback host
names are accepted (``TRUSTED_HOSTS``), so a web page elsewhere cannot read it through a rebound DNS name.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from flask import Flask, Response, render_template

from nsml import table
from nsml.board import pages
from nsml.board.reader import Reader

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; media-src 'self'; "
       "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
EXTENSION = "nsml_board"


def argument_value(value: Any) -> str:
    """A recorded argument as a person reads it: flags as yes/no, lists space-separated."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return " ".join(argument_value(item) for item in value)
    return str(value)


def number(value: float | None) -> str:
    return "-" if value is None else table.number(value)


def _headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _not_found(error: Exception) -> tuple[str, int]:
    return render_template("error.html", message=getattr(error, "description", str(error))), 404


def create_app(db_path: Path, home: Path, loopback_only: bool = True) -> Flask:
    """The board for the store at ``db_path`` (which must exist) of the platform home ``home``."""
    app = Flask(__name__)
    app.extensions[EXTENSION] = Reader(db_path)
    app.config["BOARD_HOME"] = str(home)
    if loopback_only:
        app.config["TRUSTED_HOSTS"] = list(LOOPBACK_NAMES)
    app.jinja_env.filters.update(when=table.when, num=number, size=table.size, duration=table.duration,
                                 metrics=table.metrics, argument=argument_value, isnan=math.isnan)
    app.after_request(_headers)
    app.register_error_handler(404, _not_found)
    app.register_blueprint(pages.blueprint)
    return app
