"""``model pull``, ``dataset pull`` and ``plot`` over a server: what the server sends (``nsml.server.exports``) put
where the local verb puts it, and the same line printed.

A pull goes into ``DIR/NAME`` when DIR exists, else to DIR, and is refused when that is taken, as locally. The
archive is unpacked into a hidden folder beside the target and renamed into place only when it arrived whole, with
tarfile's ``data`` filter (no absolute names, no links leading out of the folder, no devices). ``plot`` writes the
image the server drew with the local verb's own code; without ``--out`` it goes to ``plot.png`` in the current
folder (locally: the session's folder, on the server).
"""

from __future__ import annotations

import argparse
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from nsml.errors import UsageError
from nsml.server.connection import ClientError, Connection
from speech_kit.atomic import atomic_write

DEFAULT_PLOT = "plot.png"


def _target(destination: Path, name: str) -> Path:
    """``cp -r`` semantics, as ``nsml.snapshot.copy_out``: into an existing folder as ``name``, else as it."""
    target = destination / name if destination.is_dir() else destination
    if target.exists():
        raise ClientError(f"{target} already exists", 1)
    return target


def _unpack(response: Any, target: Path) -> None:
    """The tar stream of ``response`` as folder ``target``, whole or not at all."""
    from urllib3.exceptions import HTTPError

    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        response.raw.decode_content = True
        with tarfile.open(fileobj=response.raw, mode="r|") as archive:
            archive.extractall(scratch, filter="data")
        if target.exists():
            raise ClientError(f"{target} already exists", 1)
        scratch.rename(target)
    except tarfile.FilterError as error:
        raise ClientError(f"{error}: refused by the data filter; nothing was written to {target}", 1) from None
    except (tarfile.TarError, HTTPError) as error:
        raise ClientError(f"the transfer from the server broke off ({type(error).__name__}: {error}); nothing was "
                          f"written to {target}", 1) from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def model_pull(conn: Connection, args: argparse.Namespace) -> int:
    with conn.call("GET", "/api/v1/model.tar", stream=True,
                   params={"session": args.session, "checkpoint": str(args.checkpoint)}) as response:
        target = _target(args.dir, str(args.checkpoint))
        _unpack(response, target)
    print(target)
    return 0


def dataset_pull(conn: Connection, args: argparse.Namespace) -> int:
    with conn.call("GET", "/api/v1/dataset.tar", stream=True, params={"name": args.name}) as response:
        target = _target(args.dir, args.name)
        _unpack(response, target)
    print(target)
    return 0


def plot(conn: Connection, args: argparse.Namespace) -> int:
    from nsml.plot import image_format

    if args.watch is not None:
        team = args.sessions[0].split("/")[0]
        raise ClientError(f"nsml plot --watch is not run over the server: the team's sessions board in a browser "
                          f"({conn.url}/teams/{team}/) redraws the curves as they come; nsml plot draws them once")
    output = args.out or Path(DEFAULT_PLOT).absolute()
    try:
        suffix = image_format(output)  # a bad --out is refused before anything is drawn, as locally
    except UsageError as error:
        raise ClientError(str(error)) from None
    image = conn.call("GET", "/api/v1/plot", params={"session": args.sessions, "format": suffix}).content
    output.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(output, "wb") as handle:
        handle.write(image)
    print(output)
    return 0
