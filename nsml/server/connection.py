"""The ``nsml`` command's line to a server: where the login is kept, which server and token are in force, and the
HTTP calls with the token, a refusal turned into one ``ClientError`` line.

``nsml login URL TOKEN`` keeps the address and token in ``$XDG_CONFIG_HOME/nsml/login.json`` (0600; default
``~/.config``); ``NSML_SERVER`` and ``NSML_TOKEN`` override it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

ENV_SERVER = "NSML_SERVER"
ENV_TOKEN = "NSML_TOKEN"
TIMEOUT_S = 7200


class ClientError(Exception):
    """A refusal or failure of a command over the server: one line, and ``code`` the exit status (2: the command
    line or the request cannot be done as asked; 1: the work failed)."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def login_path() -> Path:
    """Where ``nsml login`` keeps the server's address and the token."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "nsml" / "login.json"


def configured() -> tuple[str, str] | None:
    """(server URL, token) from the environment or the login file; None: work locally."""
    url, token = os.environ.get(ENV_SERVER), os.environ.get(ENV_TOKEN)
    if not (url and token):
        path = login_path()
        if path.is_file():
            saved = json.loads(path.read_text())
            url, token = url or saved.get("server"), token or saved.get("token")
    if url and token:
        return url.rstrip("/"), token
    if url:
        raise ClientError(f"{ENV_SERVER}={url} is set but there is no token: nsml login {url} TOKEN, or set "
                          f"{ENV_TOKEN}")
    return None


class Connection:
    """One server, one token: every call carries ``Authorization: Bearer TOKEN``; a refusal raises ``ClientError``
    with the server's own line."""

    def __init__(self, url: str, token: str) -> None:
        import requests

        self.url = url
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, stream: bool = False, **options: Any) -> Any:
        import requests

        try:
            response = self.http.request(method, self.url + path, timeout=TIMEOUT_S, stream=stream, **options)
        except requests.ConnectionError:
            raise ClientError(f"cannot reach the server at {self.url}: is nsml server running there? (nsml logout, "
                              f"or unset {ENV_SERVER}, to work locally)", 1) from None
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                raise ClientError(f"the server answered {response.status_code} to {path}", 1) from None
            raise ClientError(body.get("error", str(body)), body.get("code", 2 if response.status_code < 422 else 1))
        return response

    def json(self, method: str, path: str, **options: Any) -> Any:
        return self.call(method, path, **options).json()
