"""Shared pieces of the board tests: a store filled by real toy sessions, and ``nsml board`` running on it.

The dataset is the toy one of ``nsml_support`` with markup in two transcripts: the third training label (learnt
for 3200-frame wavs) is ``<b>괜찮습니다</b>`` and the last test reference is ``<i>괜찮아요</i>``, so a submission's
hypotheses and references both hold HTML that the board must show as text. The first session's memo holds a
``<script>`` element for the same reason.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from nsml_support import TOY_ENTRY, make_dataset, nsml_cli

from support import ROOT
MEMO = "<script>alert('memo')</script> first & best"
BOLD_LABEL = "<b>괜찮습니다</b>"
ITALIC_REFERENCE = "<i>괜찮아요</i>"
FIRST, SECOND = "tester/toy/1", "tester/toy/2"


def board_env(base: Path) -> dict[str, str]:
    """The environment of the nsml commands of a board test: a private NSML_HOME and a fixed user."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NSML_") and k not in ("RANK", "WORLD_SIZE")}
    python_path = os.pathsep.join([str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    return dict(env, NSML_HOME=str(base / "home"), NSML_USER="tester", PYTHONPATH=python_path)


def make_markup_dataset(root: Path) -> Path:
    make_dataset(root)
    for path, old, new in ((root / "train" / "train_label", "train_03,괜찮습니다", f"train_03,{BOLD_LABEL}"),
                           (root / "test" / "test_label", "test_06,괜찮아요", f"test_06,{ITALIC_REFERENCE}")):
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{path} no longer has the line {old!r} (the toy dataset of nsml_support changed)"
        path.write_text(text.replace(old, new), encoding="utf-8")
    return root


def make_project(base: Path, env: dict[str, str]) -> Path:
    """The toy entry in a code folder, and the markup dataset registered as ``toy`` (as conftest's ``project``)."""
    project = base / "project"
    project.mkdir()
    (project / "main.py").write_text(TOY_ENTRY, encoding="utf-8")
    nsml_cli(env, "dataset", "add", "toy", str(make_markup_dataset(base / "toy_data")), cwd=project)
    return project


def fill_store(base: Path, epochs: int = 3) -> dict[str, str]:
    """Two finished sessions, three submissions: session 1 (``epochs`` epochs, submitted best), session 2 (two
    epochs with --use_attention, submitted checkpoints 1 and best)."""
    env = board_env(base)
    project = make_project(base, env)
    nsml_cli(env, "run", "-d", "toy", "-a", f"--epochs {epochs}", "-m", MEMO, "--submit", "best", cwd=project)
    nsml_cli(env, "run", "-d", "toy", "-a", "--epochs 2 --use_attention", cwd=project)
    nsml_cli(env, "submit", SECOND, "1")
    nsml_cli(env, "submit", SECOND, "best")
    return env


@dataclass(frozen=True)
class Board:
    url: str
    env: dict[str, str]
    process: subprocess.Popen

    def raw(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:
        """(status, body bytes, headers) of GET ``path``; an HTTP error status is returned, not raised."""
        request = urllib.request.Request(self.url.rstrip("/") + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, error.read(), dict(error.headers)

    def get(self, path: str) -> tuple[int, str, dict[str, str]]:
        """(status, body, headers) of GET ``path``; an HTTP error status is returned, not raised."""
        status, body, headers = self.raw(path)
        return status, body.decode("utf-8"), headers

    def page(self, path: str) -> str:
        status, body, _ = self.get(path)
        assert status == 200, f"GET {path} -> {status}\n{body[:2000]}"
        return body

    def json(self, path: str) -> dict:
        return json.loads(self.page(path))


@contextmanager
def running_board(env: dict[str, str], *options: str) -> Iterator[Board]:
    """``nsml board --port 0`` in a subprocess; its first stdout line is the address it listens on."""
    process = subprocess.Popen([sys.executable, "-m", "nsml", "board", "--port", "0", *options], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline().strip()
        assert line.startswith("http://"), f"nsml board printed {line!r}; stderr: {process.stderr.read()}"
        yield Board(line, env, process)
    finally:
        process.terminate()
        process.wait(timeout=20)
        process.stdout.close()
        process.stderr.close()
