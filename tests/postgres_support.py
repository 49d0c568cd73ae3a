"""A real PostgreSQL server for the tests: initdb into a scratch folder, postgres on 127.0.0.1 at a free port.

PostgreSQL refuses to run as root, so as root it runs as ``nobody`` (setpriv drops to it); otherwise as the current
user. The server binaries come from Debian's ``postgresql`` package (``/usr/lib/postgresql/N/bin``); where it is
missing the tests that need it say how to install it (``.ci/run`` installs it).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

UNPRIVILEGED = "nobody"


def binaries() -> Path | None:
    """The folder holding initdb and postgres, or None."""
    found = shutil.which("initdb")
    if found and shutil.which("postgres"):
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(versions[-1]).parent if versions else None


def missing() -> str | None:
    """Why PostgreSQL cannot be started here, or None."""
    if binaries() is None:
        return "PostgreSQL is not installed (apt-get install -y postgresql)"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install -e '.[server,test]')"
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Postgres:
    """One PostgreSQL cluster in a scratch folder of its own (pytest's are closed to other users), listening on
    127.0.0.1 only; ``stop()`` ends it and removes the folder."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="nsml-postgres-"))
        self.bin = binaries()
        self.port = _free_port()
        self.data = self.root / "data"
        self.sockets = self.root / "sockets"
        self.process: subprocess.Popen | None = None

    def _as_user(self, argv: list[str]) -> list[str]:
        if os.geteuid() != 0:
            return argv
        return ["setpriv", f"--reuid={UNPRIVILEGED}", f"--regid={pwd.getpwnam(UNPRIVILEGED).pw_gid}",
                "--clear-groups", "--", *argv]

    def start(self) -> Postgres:
        self.root.mkdir(parents=True, exist_ok=True)
        self.sockets.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            user = pwd.getpwnam(UNPRIVILEGED)
            for folder in (self.root, self.sockets):
                os.chown(folder, user.pw_uid, user.pw_gid)
        made = subprocess.run(self._as_user([str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                                             "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"]),
                              capture_output=True, text=True, cwd=self.root)
        if made.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{made.stdout}{made.stderr}")
        log = open(self.root / "postgres.log", "wb")
        self.process = subprocess.Popen(
            self._as_user([str(self.bin / "postgres"), "-D", str(self.data), "-p", str(self.port),
                           "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.sockets}",
                           "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                           "-c", "max_connections=300"]),
            stdout=log, stderr=subprocess.STDOUT, cwd=self.root)
        log.close()
        deadline = time.time() + 60
        while True:
            try:
                self.connect("postgres").close()
                return self
            except Exception:
                if self.process.poll() is not None or time.time() > deadline:
                    raise RuntimeError("postgres did not start:\n" +
                                       (self.root / "postgres.log").read_text(errors="replace")) from None
                time.sleep(0.2)

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str):  # noqa: ANN201 - a psycopg connection
        import psycopg

        return psycopg.connect(self.url(database), autocommit=True, connect_timeout=5)

    def database(self, name: str) -> str:
        """A new, empty database; its URL."""
        with self.connect("postgres") as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # fast shutdown: ends the clients' connections
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)
