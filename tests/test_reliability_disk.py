"""A full disk where the kit writes: the code snapshot of ``nsml run`` and a checkpoint save. Each is one line
saying what needed the space, with nothing half-written left behind. The disk fills for real: the child runs
under ``RLIMIT_FSIZE`` with ``SIGXFSZ`` ignored, so a write past the limit fails with ``EFBIG`` the way a full
disk fails with ``ENOSPC``."""

from __future__ import annotations

import errno
import os
import re
import resource
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from nsml_support import TOY_ENTRY
from test_reliability_main import TINY

from support import ROOT


def file_size_limit(nbytes: int) -> Callable[[], None]:
    """A ``preexec_fn``: every file the child writes stops at ``nbytes`` and the write past it fails (EFBIG)."""
    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))
    return limit


def test_a_checkpoint_save_on_a_full_disk_is_one_line_and_leaves_nothing(tiny_dataset, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("NSML_")}
    checkpoints = tmp_path / "ckpt"
    env.update(NSML_CHECKPOINT_DIR=str(checkpoints), NSML_DATASET_PATH=str(tiny_dataset),
               SPEECH_KIT_CACHE=str(tmp_path / "audio-checks.sqlite"))
    done = subprocess.run([sys.executable, str(ROOT / "main.py"), *TINY], env=env, capture_output=True, text=True,
                          timeout=300, preexec_fn=file_size_limit(1 << 20))
    assert done.returncode == 1, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    last = done.stderr.strip().splitlines()[-1]
    assert last == (f"main.py: error: a file under {checkpoints} reached this process's file-size limit (ulimit -f): "
                    f"checkpoint 'model' could not be saved; the half-written copy is removed and the previous "
                    f"'model', if any, is kept; free some space, then continue with nsml fork"), last
    assert not list((checkpoints / ".pending").iterdir()) and not (checkpoints / "model").exists()


def test_a_snapshot_on_a_full_disk_is_one_line_and_removes_its_copy(env, tmp_path, dataset):
    from nsml_support import nsml_cli

    code = tmp_path / "project"
    code.mkdir()
    (code / "main.py").write_text(TOY_ENTRY, encoding="utf-8")
    (code / "weights.bin").write_bytes(os.urandom(3 << 20))  # under --max-file-mib, over the disk's room
    nsml_cli(env, "dataset", "add", "toy", str(dataset))
    done = subprocess.run([sys.executable, "-m", "nsml", "run", "-d", "toy", "-a", "--epochs 1"], cwd=code, env=env,
                          capture_output=True, text=True, timeout=120, preexec_fn=file_size_limit(1 << 20))
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr[-3000:]
    home = Path(env["NSML_HOME"])
    assert done.stderr == (
        f"nsml: a file under {home / 'sessions' / 'tester' / 'toy'} reached this process's file-size limit (ulimit "
        f"-f): the code snapshot of {code} did not fit; the session is not started and its partial copy is removed; "
        f"free some space, or leave large files out with .nsmlignore or --max-file-mib\n")
    assert not list(home.rglob("weights.bin")) and not (home / "sessions" / "tester" / "toy" / "1").exists()
    assert "tester/toy/1" not in nsml_cli(env, "ps").stdout
    again = nsml_cli(env, "run", "-d", "toy", "-a", "--epochs 1", "--max-file-mib", "1", cwd=code, timeout=120)
    assert "weights.bin not copied" in again.stderr  # the fix the line names works


def test_a_full_disk_and_a_quota_are_named_as_such(tmp_path):
    from nsml.errors import NoSpace

    wrapped = RuntimeError("unexpected pos 1034048 vs 1033944")  # what torch.save raises over the OSError
    wrapped.__context__ = OSError(errno.ENOSPC, "No space left on device")
    assert NoSpace.behind(wrapped) == errno.ENOSPC and NoSpace.behind(OSError(errno.EACCES, "denied")) is None
    assert re.fullmatch(rf"no space left on the disk holding {re.escape(str(tmp_path))} \([\d.]+ [KMG]?i?B free\)",
                        NoSpace.where(errno.ENOSPC, tmp_path))
    assert NoSpace.where(errno.EDQUOT, tmp_path) == f"the disk quota is used up on {tmp_path}"
