"""Process bookkeeping: is a recorded pid still alive, and stopping a whole process tree.

Sessions run in their own process group, but torchrun starts each worker in a session of its own, so stopping by
process group alone would leave workers behind; the tree is collected from ``/proc`` before signalling.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

_PR_SET_PDEATHSIG = 1


def pid_alive(pid: int | None) -> bool:
    """True while ``pid`` runs; a zombie (exited, not yet reaped by its parent) counts as dead."""
    if not pid or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (macOS): the kill probe is all we have
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = entry.read_text().rsplit(")", 1)[-1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.parent.name))
    return children


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (only ``pid`` where ``/proc`` is missing)."""
    children = _children_map() if Path("/proc").is_dir() else {}
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def _signal_all(leader: int, pids: list[int], sig: int) -> None:
    for target in pids:
        try:
            os.kill(target, sig)
        except (ProcessLookupError, PermissionError):
            pass
    try:
        os.killpg(leader, sig)  # the leader's group: catches processes forked after the tree was read
    except (ProcessLookupError, PermissionError):
        pass


def terminate_tree(leader: int, grace: float) -> None:
    """SIGTERM the group led by ``leader`` and every descendant; SIGKILL whatever still runs after ``grace`` s."""
    pids = process_tree(leader)
    _signal_all(leader, pids, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(pid_alive(p) for p in pids):
        time.sleep(0.05)
    if any(pid_alive(p) for p in pids):
        _signal_all(leader, sorted(set(pids) | set(process_tree(leader))), signal.SIGKILL)


def marked_processes(variable: str, value: str) -> list[int]:
    """This user's processes (other than this one) whose environment holds ``variable=value``.

    A daemon that detached itself (``setsid`` and a double fork) is no longer in its starter's process tree or
    group, but it keeps the environment it was started with: ``/proc/PID/environ`` is readable for one's own
    processes. A process that cleared its environment before exec'ing escapes this; none is killed by mistake.
    """
    needle = f"{variable}={value}".encode()
    me = os.getpid()
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        pid = int(entry.name)
        if pid == me:
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone, another user's, or a kernel thread
            continue
        if needle in environ.split(b"\0") and pid_alive(pid):
            found.append(pid)
    return found


def kill_marked(variable: str, value: str, grace: float = 1.0) -> list[int]:
    """SIGTERM every process marked ``variable=value``, SIGKILL those still running after ``grace`` s; returns
    the pids that were found."""
    pids = marked_processes(variable, value)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
        deadline = time.monotonic() + (grace if sig == signal.SIGTERM else 2.0)
        while time.monotonic() < deadline and any(pid_alive(p) for p in pids):
            time.sleep(0.02)
        if not any(pid_alive(p) for p in pids):
            break
    return pids


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child die when the process starting it dies (Linux only).

    A SIGKILLed supervisor cannot stop its run, and a session recorded as killed must not keep training.
    """
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    parent = os.getpid()

    def arm() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return arm
