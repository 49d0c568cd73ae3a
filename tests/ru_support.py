"""Shared pieces of the Russian spoken-numbers tests: running the package's commands and reading what they wrote.

The commands run as real subprocesses from the repository root (``python -m ru_numbers...``), as a user runs
them, so the tests also cover argument parsing and the one-line error convention.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from support import ROOT


def run_module(module: str, *args: str, timeout: float = 170, path: str | None = None) -> subprocess.CompletedProcess:
    """``python -m MODULE ARGS`` from the repository root, with its output captured; ``path`` replaces PATH."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    if path is not None:
        env["PATH"] = path
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def generate(out: Path, *args: str) -> subprocess.CompletedProcess:
    """Run the generator into ``out``; fails the test with its stderr when it does not succeed."""
    done = run_module("ru_numbers.generate", "--out", str(out), *args)
    assert done.returncode == 0, done.stderr
    return done


def assert_one_line_error(done: subprocess.CompletedProcess, prog: str, *needles: str) -> None:
    """The kit's CLI convention: exit status 2 and one ``PROG: error: ...`` line naming the problem."""
    assert done.returncode == 2, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{prog}: error: "), done.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def read_int16(path: Path) -> tuple[np.ndarray, sf._SoundFileInfo]:
    """Samples of a WAV as int16 and its header."""
    data, _ = sf.read(path, dtype="int16")
    return data, sf.info(path)
