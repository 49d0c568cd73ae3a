"""Where the server keeps things, and each team's platform home with the verbs run in it.

```
$SERVER_HOME/server.sqlite                 accounts, teams, competitions, phases, quotas, scored submissions
$SERVER_HOME/organiser.token               the first organiser token (0600), written once
$SERVER_HOME/teams/TEAM/                   the team's NSML_HOME (0700, the team's uid): its sessions and store
$SERVER_HOME/views/NAME/train/             a competition's training split, hard links, readable by every team
$SERVER_HOME/audio/NAME/test/test_data/    its test audio and list, without labels: what a scored submit sees
$SERVER_HOME/private/NAME/test_label       its labels (0600 root) and split.json: read by the scorer alone
$SERVER_HOME/submissions/ID/               a submission's stdout, stderr, predictions and per-utterance CSVs
$SERVER_HOME/work/ID/                      a running submission's output folder (the team's uid)
```
A team's verbs (``run``, ``ps``, ``logs`` ...) are the ordinary ``nsml`` command run in a sandbox
(``nsml.server.sandbox``) with ``NSML_HOME`` set to the team's home and ``NSML_USER`` to the team's name: the same
code, the same output, and a team cannot name a session it does not own because its store has no other.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

from nsml import home
from nsml.server import sandbox
from nsml.server.db import Team

PRIVATE_MODE = 0o700


class Layout:
    """The folders of one server home."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).absolute()

    @property
    def db(self) -> Path:
        return self.root / "server.sqlite"

    @property
    def organiser_token(self) -> Path:
        return self.root / "organiser.token"

    def team_home(self, team: str) -> Path:
        return self.root / "teams" / team

    def view(self, competition: str) -> Path:
        return self.root / "views" / competition

    def audio(self, competition: str) -> Path:
        return self.root / "audio" / competition

    def private(self, competition: str) -> Path:
        return self.root / "private" / competition

    def submission(self, entry_id: int) -> Path:
        return self.root / "submissions" / str(entry_id)

    def work(self, entry_id: int) -> Path:
        return self.root / "work" / str(entry_id)

    def make(self) -> None:
        for folder in (self.root, self.root / "teams", self.root / "private", self.root / "submissions",
                       self.root / "work"):
            folder.mkdir(parents=True, exist_ok=True)
        for folder in (self.root / "views", self.root / "audio"):
            folder.mkdir(parents=True, exist_ok=True)
            folder.chmod(0o755)
        os.chmod(self.root, 0o711)  # teams pass through to their homes, list nothing
        (self.root / "private").chmod(PRIVATE_MODE)
        (self.root / "submissions").chmod(PRIVATE_MODE)

    def make_team_home(self, team: Team) -> Path:
        folder = self.team_home(team.name)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "uploads").mkdir(exist_ok=True)
        sandbox.chown_tree(folder, team.uid)
        folder.chmod(PRIVATE_MODE)
        return folder


def team_jail(layout: Layout, team: Team) -> sandbox.Jail:
    """What a team's CLI verbs see: its own home (read-write) and the competitions' training splits."""
    return sandbox.Jail(uid=team.uid, writable=[layout.team_home(team.name)], read_only=[layout.root / "views"],
                        hidden=[layout.root])


def team_env(layout: Layout, team: Team) -> dict[str, str]:
    return {"NSML_HOME": str(layout.team_home(team.name)), "NSML_USER": team.name,
            "PYTHONPATH": str(home.repo_root()), "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}


def start_program(layout: Layout, team: Team, argv: list[str], cwd: Path | None = None,
                  stderr: object = subprocess.PIPE) -> subprocess.Popen:
    """``ARGV`` (a program of the system, or the kit's Python) as the team, in its sandbox; stdout is a pipe."""
    return sandbox.popen(team_jail(layout, team), argv, cwd or layout.team_home(team.name), team_env(layout, team),
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr, start_new_session=True)


def start_verb(layout: Layout, team: Team, argv: list[str], cwd: Path | None = None) -> subprocess.Popen:
    """``nsml ARGV`` as the team, in its sandbox; stdout and stderr are pipes."""
    return start_program(layout, team, [sys.executable, "-m", "nsml", *argv], cwd)


def scratch(layout: Layout, team: Team) -> Path:
    """A fresh path in the team's home for what a verb makes on the server's behalf (not made: the verb makes it)."""
    return layout.team_home(team.name) / "uploads" / uuid.uuid4().hex


def run_verb(layout: Layout, team: Team, argv: list[str], timeout: float = 300) -> subprocess.CompletedProcess:
    child = start_verb(layout, team, argv)
    try:
        out, err = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        out, err = child.communicate()
    return subprocess.CompletedProcess(argv, child.returncode, out.decode(errors="replace"),
                                       err.decode(errors="replace"))
