"""``$NSML_HOME`` on a disk that is full: the commands that free space (``nsml ps`` to see what takes it, ``nsml
rm`` to delete it) still work, and a command that must write says so in one line with the space left.

The disk is a real 2 MiB tmpfs, filled for real. SQLite's WAL readers need a ``-shm`` index that is written anew
whenever no connection holds the store open, so on a full disk every command used to end in ``sqlite3.
OperationalError: disk I/O error`` -- ``nsml rm`` included, so the user could not free space through nsml.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from nsml_support import nsml_cli

from nsml.store import NO_ROOM_BYTES


@pytest.fixture
def small_home(tmp_path: Path, env: dict[str, str]) -> Iterator[Path]:
    """``$NSML_HOME`` on a 2 MiB tmpfs of its own (skipped where mounting is not permitted: not root)."""
    disk = tmp_path / "home"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)], capture_output=True,
                             text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({mounted.stderr.strip()}): needs root or CAP_SYS_ADMIN")
    assert env["NSML_HOME"] == str(disk)
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=True)


def _fill(folder: Path) -> Path:
    """Write zeros under ``folder`` until the disk refuses; returns the file."""
    filler = folder / "filler.bin"
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    return filler


def _free(folder: Path) -> int:
    return shutil.disk_usage(folder).free


def test_ps_and_rm_work_on_a_full_disk(small_home, env, project):
    nsml_cli(env, "run", "-d", "toy", "-a", "--epochs 1", cwd=project)
    session = "tester/toy/1"
    checkpoints = small_home / "sessions" / session / "checkpoints"
    _fill(checkpoints)  # a checkpoint that took the rest of the disk
    assert _free(small_home) < NO_ROOM_BYTES

    listed = nsml_cli(env, "ps", check=False)
    assert listed.returncode == 0, listed.stderr  # was: disk I/O error, rc 1
    assert session in listed.stdout

    memo = nsml_cli(env, "memo", session, "kept", check=False)  # a write: refused in one line, nothing changed
    assert memo.returncode == 1
    assert memo.stderr.count("\n") == 1 and "Traceback" not in memo.stderr
    assert f"cannot write {small_home}/nsml.sqlite" in memo.stderr
    assert f"no space left on the disk holding {small_home} (" in memo.stderr
    assert "nsml rm SESSION" in memo.stderr

    removed = nsml_cli(env, "rm", session, check=False)
    assert removed.returncode == 0, removed.stderr
    assert f"removed {session}" in removed.stderr
    assert not (small_home / "sessions" / session).exists()
    assert _free(small_home) > 1 << 20

    after = nsml_cli(env, "ps", "--json")  # the store is whole and readable the ordinary way again
    assert session not in after.stdout
    assert not any(name.endswith(".tmp") for _, _, names in os.walk(small_home) for name in names)


def test_a_dead_run_shows_killed_on_a_full_disk(small_home, env, project):
    """``ps`` corrects the status of a run whose supervisor died (a write): on a full disk it shows it, and the
    first command after space is freed records it."""
    command = [sys.executable, "-m", "nsml", "run", "-d", "toy", "-a", "--epochs 50 --epoch_seconds 1"]
    started = subprocess.Popen(command, cwd=project, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    session = "tester/toy/1"
    folder = small_home / "sessions" / session
    deadline = time.monotonic() + 30
    while not (folder / "checkpoints" / "1").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(started.pid, signal.SIGKILL)  # supervisor and entry die without recording anything
    started.wait(30)
    filler = _fill(folder)

    listed = nsml_cli(env, "ps", "--json", check=False)
    assert listed.returncode == 0, listed.stderr
    assert '"status": "killed"' in listed.stdout

    filler.unlink()
    nsml_cli(env, "ps")
    assert '"status": "killed"' in nsml_cli(env, "ps", "--json").stdout
