"""Shared pieces of the nsml server tests: a real ``nsml server`` process on 127.0.0.1, people at terminals running
the real ``nsml`` command with their own login, and a competition set up through the organiser's commands."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from nsml_support import TOY_ENTRY, make_dataset

needs_sandbox = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("bwrap") is None,
                                   reason="nsml server needs root and bubblewrap (apt-get install -y bubblewrap)")


class Server:
    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "nsml", "server", "--home", str(home), "--port", "0",
                                         "--workers", "2"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True)
        line = self.process.stdout.readline()
        match = re.search(r"listening on (http://\S+)", line)
        assert match, f"{line}{self.process.stderr.read() if self.process.poll() is not None else ''}"
        self.banner = line
        self.home = home
        self.url = match.group(1).rstrip("/")
        self.port = int(self.url.rsplit(":", 1)[1])
        self.organiser_token = (home / "organiser.token").read_text().strip()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)


class User:
    """One person at a terminal: their own login file, running the real nsml command."""

    def __init__(self, env: dict[str, str], config: Path, cwd: Path) -> None:
        self.env = dict(env, XDG_CONFIG_HOME=str(config))
        self.config = config
        self.cwd = cwd

    @property
    def token(self) -> str:
        """The token this person logged in with."""
        return json.loads((self.config / "nsml" / "login.json").read_text())["token"]

    def __call__(self, *args: str, ok: bool = True, code: int | None = None,
                 stdin: str | None = None) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, "-m", "nsml", *args], cwd=self.cwd, env=self.env, capture_output=True,
                              text=True, timeout=180, input=stdin)
        where = f"nsml {' '.join(args)} -> {done.returncode}\n{done.stdout}\n{done.stderr}"
        if code is not None:
            assert done.returncode == code, where
        elif ok:
            assert done.returncode == 0, where
        return done


@contextmanager
def competition(root: Path, env: dict[str, str]) -> Iterator[tuple[Server, Path, dict[str, User]]]:
    """A server in ``root`` with a 'toy' competition and two teams, alpha and bravo, logged in; and its organiser.
    ``env`` is every process's environment (``NSML_DATABASE_URL`` there puts the records in PostgreSQL)."""
    env = {k: v for k, v in env.items() if k not in ("NSML_HOME", "NSML_USER")}
    data = make_dataset(root / "data")
    server = Server(root / "server", env)
    try:
        users = {}
        for name in ("organiser", "alpha", "bravo"):
            folder = root / name
            folder.mkdir()
            (folder / "main.py").write_text(TOY_ENTRY, encoding="utf-8")
            users[name] = User(env, root / f"config-{name}", folder)
        organiser = users["organiser"]
        organiser("login", server.url, server.organiser_token)
        organiser("admin", "competition", "create", "toy", str(data), "--public", "0.5", "--final", "2")
        for team in ("alpha", "bravo"):
            added = organiser("admin", "team", "add", team)
            users[team]("login", server.url, added.stdout.split()[-1])
        yield server, data, users
    finally:
        server.stop()
