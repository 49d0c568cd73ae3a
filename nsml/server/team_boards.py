"""The teams' boards: one ``nsml.server.team_board`` process per team, started on the first visit, reached over a
Unix socket, and shown by the server at ``/teams/TEAM/``.

Each process runs in the team's sandbox (its uid, its home, no network) and sees the team's store only, so a
team's board cannot show another team's sessions whatever the page asks. Its socket lies in
``$SERVER_HOME/boards/TEAM/`` (0700, the team's uid), a folder the team's own runs do not have mounted: they cannot
put a socket of their own in its place. What comes back is checked here before it is passed on: only the board's
own kinds of content (HTML, JSON, CSV, audio, text), with the server's Content-Security-Policy, whatever the
process said; the board's scripts and styles are served by the server itself from the kit.
"""

from __future__ import annotations

import http.client
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from nsml.errors import NsmlError
from nsml.server import homes, sandbox
from nsml.server.db import Team

START_TIMEOUT_S = 60.0
REQUEST_TIMEOUT_S = 60.0
PASSED_TYPES = ("text/html", "application/json", "text/csv", "audio/", "text/plain")
PASSED_HEADERS = ("Content-Type", "Content-Disposition", "Content-Range", "Accept-Ranges", "ETag", "Last-Modified",
                  "Location")
SENT_HEADERS = ("Accept", "Range", "If-None-Match", "If-Modified-Since")


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: Path, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(str(self.socket_path))
        self.sock = sock


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


class TeamBoards:
    """The running team boards of one server; ``close()`` ends them (they also end with the server)."""

    def __init__(self, layout: homes.Layout) -> None:
        self.layout = layout
        self._running: dict[str, subprocess.Popen] = {}
        self._lock = threading.Lock()

    def _socket(self, team: Team) -> Path:
        return self.layout.root / "boards" / team.name / "board.sock"

    def _start(self, team: Team) -> Path:
        path = self._socket(team)
        child = self._running.get(team.name)
        if child is not None and child.poll() is None and path.exists():
            return path
        folder = path.parent
        folder.mkdir(parents=True, exist_ok=True)
        folder.parent.chmod(0o711)
        sandbox.chown_tree(folder, team.uid)
        folder.chmod(0o700)
        path.unlink(missing_ok=True)
        jail = homes.team_jail(self.layout, team)
        jail.writable.append(folder)
        jail.die_with_parent = True
        child = sandbox.popen(jail, [sys.executable, "-m", "nsml.server.team_board", str(path)],
                              self.layout.team_home(team.name), homes.team_env(self.layout, team),
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._running[team.name] = child
        deadline = time.time() + START_TIMEOUT_S
        while not path.exists():
            if child.poll() is not None:
                raise NsmlError(f"the board of team {team.name} did not start: "
                                f"{child.stderr.read().decode(errors='replace').strip()[-500:]}")
            if time.time() > deadline:
                child.kill()
                raise NsmlError(f"the board of team {team.name} did not start within {START_TIMEOUT_S:g} s")
            time.sleep(0.05)
        return path

    def get(self, team: Team, path: str, headers: dict[str, str], prefix: str) -> Answer:
        """GET ``path`` (with its query) from the team's board, mounted at ``prefix``."""
        with self._lock:
            socket_path = self._start(team)
        connection = _UnixConnection(socket_path, REQUEST_TIMEOUT_S)
        try:
            sent = {k: v for k, v in headers.items() if k in SENT_HEADERS}
            connection.request("GET", path, headers={**sent, "X-Forwarded-Prefix": prefix, "Host": "localhost"})
            response = connection.getresponse()
            body = response.read()
        except OSError as error:
            raise NsmlError(f"the board of team {team.name} did not answer: {error}") from None
        finally:
            connection.close()
        kind = response.getheader("Content-Type", "")
        if body and not kind.startswith(PASSED_TYPES):
            raise NsmlError(f"the board of team {team.name} answered with content of kind {kind!r}; refused")
        return Answer(response.status, {k: response.getheader(k) for k in PASSED_HEADERS if response.getheader(k)},
                      body)

    def close(self) -> None:
        with self._lock:
            for child in self._running.values():
                if child.poll() is None:
                    child.terminate()
            for child in self._running.values():
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
            self._running.clear()
