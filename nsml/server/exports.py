"""What ``model pull``, ``plot`` and ``dataset pull`` send from the server: a tar of a checkpoint folder, the plot's
image, a tar of a dataset's training split.

A checkpoint and a plot come from the team's home, which the team's own processes write, so the server never reads
them itself. The ordinary verb runs in the team's sandbox (``nsml model pull SESSION CKPT SCRATCH``, ``nsml plot
SESSION... --out SCRATCH/plot.png``) with its own checks and its own one-line errors, into a scratch folder of the
team's home; then ``tar`` or ``cat``, in the same sandbox as the team's uid, sends what it made. Whatever links a
team plants there, nothing leaves that its own processes could not read.

A dataset on the server is what the organiser published (``nsml.server.competitions``): a competition's training
split in ``views/NAME/train`` (the folder every team's sessions train on), or the kit's bundled ``sample_dataset``;
the same names a team's ``nsml dataset ls`` lists. A pull sends ``train/`` alone: the test audio lives elsewhere
and its labels only where the scorer reads them.

An archive is streamed as it is made; when making it fails halfway the connection is cut without the end of the
chunked body, so the client sees a broken transfer, never a short archive that looks whole.
"""

from __future__ import annotations

import mimetypes
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from nsml import datasets, home
from nsml.errors import NsmlError, UnknownName, UsageError
from nsml.server import homes
from nsml.server.db import ServerDB, Team

CHUNK_BYTES = 1 << 20
MAX_IMAGE_BYTES = 64 << 20
IMAGE_FORMAT = re.compile(r"^[a-z0-9]{1,8}$")  # a suffix such as png, pdf, svg; nsml plot checks it is one it writes
ERROR_PREFIXES = ("nsml: error: ", "nsml: ")


def _argument(value: str, what: str) -> str:
    """A value the client's parser took as a positional argument; one that reads as a flag is refused."""
    if not value or value.startswith("-"):
        raise UsageError(f"{what} {value!r}: not a name")
    return value


def _verb(layout: homes.Layout, team: Team, argv: list[str]) -> None:
    """``nsml ARGV`` as the team; when it fails, its own last line is the error, with its exit status."""
    done = homes.run_verb(layout, team, argv)
    if done.returncode == 0:
        return
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    text = lines[-1] if lines else f"nsml {argv[0]} failed with exit status {done.returncode} on the server"
    for prefix in ERROR_PREFIXES:
        if text.startswith(prefix):
            text = text.removeprefix(prefix)
            break
    raise UsageError(text) if done.returncode == 2 else NsmlError(text)


def _send(child: subprocess.Popen, log: BinaryIO, cleanup: Path | None) -> Iterator[bytes]:
    """``child``'s stdout as it comes; a non-zero exit raises (the response is cut short, not ended). ``log`` holds
    its stderr."""
    try:
        while chunk := child.stdout.read(CHUNK_BYTES):
            yield chunk
        code = child.wait()
        if code != 0:
            log.seek(0)
            raise NsmlError(f"sending failed (exit status {code}): {log.read().decode(errors='replace')[-500:]}")
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
        log.close()
        if cleanup is not None:
            shutil.rmtree(cleanup, ignore_errors=True)


def checkpoint(layout: homes.Layout, team: Team, session: str, name: str) -> Iterator[bytes]:
    """The checkpoint folder as a tar (members ``./...``), copied out by ``nsml model pull`` in the team's home."""
    scratch = homes.scratch(layout, team)
    try:
        _verb(layout, team, ["model", "pull", _argument(session, "session"), _argument(name, "checkpoint"),
                             str(scratch)])
        log = tempfile.TemporaryFile()
        child = homes.start_program(layout, team, ["tar", "-C", str(scratch), "-cf", "-", "."], stderr=log)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return _send(child, log, scratch)


def plot(layout: homes.Layout, team: Team, sessions: list[str], image_format: str) -> tuple[bytes, str]:
    """The image ``nsml plot SESSION...`` draws in the team's home, and its mimetype."""
    if not sessions:
        raise UsageError("name the session(s) to plot")
    if not IMAGE_FORMAT.match(image_format):
        raise UsageError(f"{image_format!r} is not an image format")
    scratch = homes.scratch(layout, team)
    image = scratch / f"plot.{image_format}"
    try:
        _verb(layout, team, ["plot", *(_argument(s, "session") for s in sessions), "--out", str(image)])
        with tempfile.TemporaryFile() as log:
            child = homes.start_program(layout, team, ["cat", str(image)], stderr=log)
            data = child.stdout.read(MAX_IMAGE_BYTES + 1)
            if len(data) > MAX_IMAGE_BYTES:
                child.kill()
                raise NsmlError(f"the plot is over {MAX_IMAGE_BYTES >> 20} MiB; plot fewer sessions")
            child.stdout.close()
            if child.wait() != 0:
                raise NsmlError("the plot the verb drew could not be read back on the server")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return data, mimetypes.guess_type(image.name)[0] or "application/octet-stream"


def dataset_roots(db: ServerDB, layout: homes.Layout) -> dict[str, Path]:
    """Every dataset the server's teams have, by name: the competitions' published folders and the bundled sample."""
    roots = {competition.name: layout.view(competition.name) for competition in db.competitions()}
    bundled = home.repo_root() / datasets.BUILTIN
    if bundled.is_dir():
        roots.setdefault(datasets.BUILTIN, bundled)
    return dict(sorted(roots.items()))


def dataset(db: ServerDB, layout: homes.Layout, name: str) -> Iterator[bytes]:
    """The dataset's ``train/`` as a tar (members ``train/...``); its test split is never in it."""
    roots = dataset_roots(db, layout)
    if name not in roots:
        raise UnknownName("dataset", name, roots)
    if not (roots[name] / "train").is_dir():
        raise NsmlError(f"dataset {name!r}: its training split {roots[name] / 'train'} no longer exists")
    log = tempfile.TemporaryFile()
    child = subprocess.Popen(["tar", "-C", str(roots[name]), "-cf", "-", "train"], stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=log)
    return _send(child, log, None)
