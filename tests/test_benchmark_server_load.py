"""``benchmarks.server_load`` at a small scale, on both databases: a real server, teams submitting while readers read
the board for a few seconds; the script prints the latency of each kind and checks that every accepted submission
was recorded once and scored (its exit status says so). The full 20 + 50 clients for 60 s is the same script with
its defaults (docs/hosting.md)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

needs_sandbox = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("bwrap") is None,
                                   reason="nsml server needs root and bubblewrap (apt-get install -y bubblewrap)")


@needs_sandbox
@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
def test_the_load_benchmark_loses_and_repeats_no_submission(request: pytest.FixtureRequest, store: str) -> None:
    extra = []
    if store == "postgresql":
        extra = ["--database", request.getfixturevalue("postgres").database(f"load_{os.getpid()}")]
    done = subprocess.run([sys.executable, "-m", "benchmarks.server_load", "--teams", "2", "--readers", "4",
                           "--seconds", "4", *extra], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={k: v for k, v in os.environ.items() if not k.startswith("NSML_")})
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    out = done.stdout
    assert "no error, no lost or duplicated submission" in out
    assert ("PostgreSQL" if store == "postgresql" else "SQLite") in out
    board = re.search(r"board json\s+(\d+) requests .* p95\s+([\d.]+) ms", out)
    assert board and int(board.group(1)) > 0, out
    accepted = re.search(r"submissions: (\d+) accepted, (\d+) recorded, 0 lost", out)
    assert accepted and accepted.group(1) == accepted.group(2) and int(accepted.group(1)) >= 2, out
