"""Where a session runs: a local process (the default, ``nsml.launch``) or a Slurm job (``nsml.backends.slurm``).

A backend starts a session (in the foreground, streaming its output, or detached), stops it, and corrects its
recorded status from what really runs. ``refresh``, ``current``, ``all_sessions`` and ``match`` here give a
session's status as it really is, for the verbs and ``submit``; ``nsml.session`` below corrects only a local
supervisor that died, and ``nsml.logs`` is handed ``current``. Everything else a session has (its folder, snapshot,
checkpoints, metrics, submissions) is the same whatever runs it, so ``fork``, ``model``, ``plot`` and the board need
no backend of their own. ``--backend`` on ``run``/``fork``, else ``$NSML_BACKEND``, else the parent's backend
(fork), else local.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from nsml import session as sessions
from nsml.entities import Session
from nsml.errors import UsageError
from nsml.store import Store

ENV_BACKEND = "NSML_BACKEND"
NAMES = ("local", "slurm")


class Backend(Protocol):
    """What the verbs ask of a backend; ``nsml.backends.local`` is today's behaviour, unchanged."""

    name: str

    def supervise(self, store: Store, name: str, echo: bool) -> int:
        """Run the session to its end (streaming its output when ``echo``); its exit code (negative: signal)."""

    def detach(self, store: Store, name: str) -> None:
        """Start the session and return at once."""

    def stop(self, store: Store, session: Session) -> Session:
        """Stop the session and return it as recorded afterwards."""

    def refresh(self, store: Store, session: Session) -> Session:
        """The session with its status corrected from what really runs."""

    def predict(self, session: Session, argv: list[str], env: dict[str, str], timeout: float,
                stdout: Path | None) -> tuple[int, int]:
        """Run a submit's prediction (``argv`` in the session's code folder); (exit code, peak memory in KiB)."""


def get(name: str) -> Backend:
    if name == "slurm":
        from nsml.backends import slurm

        return slurm.BACKEND
    if name == "local":
        from nsml.backends import local

        return local.BACKEND
    raise UsageError(f"unknown backend {name!r}: choose one of {', '.join(NAMES)} (--backend or {ENV_BACKEND})")


def of(session: Session) -> Backend:
    return get(session.backend)


def refresh(store: Store, session: Session) -> Session:
    """The session with its status corrected from what really runs: by its backend once it is a scheduler's job
    (a Slurm session with a job id), else locally (``nsml.session.refresh``: a supervisor that died)."""
    if session.backend != "local" and session.job_id is not None:
        return of(session).refresh(store, session)
    return sessions.refresh(store, session)


def current(store: Store, name: str) -> Session:
    """The session ``name`` as it really is (``refresh``); an unknown name is ``UnknownName``."""
    return refresh(store, sessions.get(store, name, refresh_status=False))


def all_sessions(store: Store) -> list[Session]:
    return sessions.all_sessions(store, refresh)


def match(store: Store, patterns: Iterable[str]) -> list[Session]:
    """Sessions named by ``patterns`` (shell wildcards allowed) as they really are; a pattern matching nothing is
    an error."""
    return sessions.match(store, patterns, refresh)


def add_options(parser: argparse.ArgumentParser) -> None:
    """``--backend`` and the Slurm job's resources, for ``run`` and ``fork``."""
    group = parser.add_argument_group("cluster (Slurm) options")
    group.add_argument("--backend", choices=NAMES,
                       help=f"where the session runs: a local process or a Slurm job (default ${ENV_BACKEND}, "
                            f"else the parent's for fork, else local)")
    group.add_argument("--nodes", type=int, help="Slurm nodes: more than 1 runs torchrun on each (multi-node DDP)")
    group.add_argument("--mem", help="Slurm memory per node (sbatch --mem: 8G, 16000M)")
    group.add_argument("--time", help="Slurm time limit (sbatch --time: minutes, H:MM:SS, D-HH)")


def choose(args: argparse.Namespace, parent: Session | None = None) -> tuple[str, dict | None]:
    """(backend name, job resources) for a new session from the command line; checked before anything exists."""
    name = args.backend or os.environ.get(ENV_BACKEND) or (parent.backend if parent is not None else "local")
    if name not in NAMES:
        raise UsageError(f"{ENV_BACKEND}={name!r}: choose one of {', '.join(NAMES)}")
    slurm_only = [flag for flag, value in (("--nodes", args.nodes), ("--mem", args.mem), ("--time", args.time))
                  if value is not None]
    if name == "local":
        if slurm_only:
            raise UsageError(f"{', '.join(slurm_only)} need the Slurm backend: add --backend slurm")
        return name, None
    from nsml.backends import slurm

    inherited = parent.job if parent is not None and parent.backend == "slurm" else None
    return name, slurm.job_options(args.nodes, args.mem, args.time, inherited)


def check_caps(name: str, job: dict | None, cpus: int | None, gpus: int, nproc: int) -> None:
    """Refuse a new session that its backend would refuse at start for the team's caps, before it exists."""
    if name == "slurm" and job is not None:
        from nsml.backends import slurm

        slurm.check_caps(job, cpus, gpus, nproc)
