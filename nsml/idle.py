"""Idle sessions: running, but neither their log nor their metrics have advanced for longer than a limit.

A session's last progress is the latest of its start, the last write to its log (everything it prints: the local
supervisor's tee, or slurmstepd on a cluster), the last write to its event file (a Slurm job's reports and saves)
and its last reported metric. A run stuck in a dead data loader, a collective whose peer has gone, or a forgotten
``input()`` shows none of them while it holds its CPUs or GPUs. Where GPU utilisation is not sampled (a Slurm
cluster without accounting), "idle on a GPU" is approximated by exactly this: no new log bytes, no new metric.

``nsml ps`` marks such a session ``idle 12m``; ``nsml watchdog`` lists them and, asked to (``--stop`` or
``NSML_IDLE_STOP=1``), stops each through its backend (the local stop path, or ``scancel``), writes the reason at
the end of its log and records it, so its status reads ``stopped(idle)``.

``NSML_IDLE_LIMIT``: the limit in seconds (default 1800); ``nsml watchdog --limit`` overrides it.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from nsml.backends import events
from nsml.entities import STOP_IDLE, Session
from nsml.errors import UsageError
from nsml.store import Store

ENV_LIMIT = "NSML_IDLE_LIMIT"
ENV_STOP = "NSML_IDLE_STOP"
DEFAULT_LIMIT_S = 1800.0


def limit(given: float | None = None) -> float:
    """The idle limit in seconds: ``given`` (a command option), else ``$NSML_IDLE_LIMIT``, else the default."""
    if given is not None:
        return given
    value = os.environ.get(ENV_LIMIT, "").strip()
    if not value:
        return DEFAULT_LIMIT_S
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise UsageError(f"{ENV_LIMIT}={value!r}: expected a number of seconds above 0 (or unset it for the "
                         f"default {DEFAULT_LIMIT_S:g})")
    return seconds


def stop_asked(flag: bool) -> bool:
    """Whether idle sessions are to be stopped: ``--stop``, or ``NSML_IDLE_STOP`` set to 1 (yes, true)."""
    return flag or os.environ.get(ENV_STOP, "").strip().lower() in ("1", "yes", "true")


def _mtime(path: os.PathLike) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return 0.0


def last_progress(store: Store, session: Session) -> float:
    """When the session last showed progress (a Unix time): start, log write, event write or metric."""
    return max(session.started or session.created, _mtime(session.log_path), _mtime(events.events_path(session)),
               store.last_metric_wall(session.name) or 0.0)


def idle_seconds(store: Store, session: Session, now: float | None = None) -> float | None:
    """How long a running session has shown no progress; None for a session that is not running."""
    if session.status != "running":
        return None
    return max(0.0, (time.time() if now is None else now) - last_progress(store, session))


def span(seconds: float) -> str:
    """A short duration: ``45s``, ``12m``, ``3h05m``."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def marker(store: Store, session: Session, limit_s: float) -> str:
    """``idle 12m`` for a running session idle longer than ``limit_s``, else an empty string."""
    seconds = idle_seconds(store, session)
    return f"idle {span(seconds)}" if seconds is not None and seconds > limit_s else ""


@dataclass(frozen=True)
class Idle:
    """A running session found idle: for how long, and since when."""

    session: Session
    seconds: float
    since: float


def find(store: Store, sessions: list[Session], limit_s: float) -> list[Idle]:
    """The running sessions among ``sessions`` idle for longer than ``limit_s``."""
    now = time.time()
    found = []
    for session in sessions:
        seconds = idle_seconds(store, session, now)
        if seconds is not None and seconds > limit_s:
            found.append(Idle(session, seconds, now - seconds))
    return found


def reason(found: Idle, limit_s: float) -> str:
    return (f"stopped by the idle watchdog: no output and no reported metric for {span(found.seconds)} (limit "
            f"{span(limit_s)}; {ENV_LIMIT} or nsml watchdog --limit)")


def stop(store: Store, found: Idle, limit_s: float) -> Session:
    """Stop an idle session through its backend, then record why: a line at the end of its log, and
    ``stop_requested`` set to ``STOP_IDLE`` (its status reads ``stopped(idle)``)."""
    from nsml import backends

    target = found.session
    stopped = backends.of(target).stop(store, target)
    store.update_session(target.name, stop_requested=STOP_IDLE)
    try:
        with open(target.log_path, "a", encoding="utf-8") as log:
            log.write(f"nsml: {reason(found, limit_s)}\n")
    except OSError:
        pass
    return store.session(target.name) or stopped
