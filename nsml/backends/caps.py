"""Per-team caps on a cluster: how many jobs, CPUs and GPUs one Slurm account may hold queued or running at once.

Slurm's own per-account limits (``GrpTRES``, ``MaxJobs`` on an association or QOS) need ``slurmdbd`` and a
database; a cluster without one has only per-job partition limits. So the caps are checked here, before
``sbatch``, against Slurm's own view of the account (``squeue -A``: every member's jobs, started from any
machine), under a lock file on the shared folder so two commands of one team cannot both take the last slot.
Jobs of the submit partition are not counted: scoring has its own nodes. A participant with a shell on the
cluster can bypass the check by calling ``sbatch`` directly; docs/cluster.md shows the slurmdbd limits that
cannot be bypassed.

``NSML_SLURM_MAX_JOBS``, ``NSML_SLURM_MAX_CPUS``, ``NSML_SLURM_MAX_GPUS``: unset means no cap.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from nsml.backends import slurm_cli
from nsml.errors import UsageError

ENV_MAX_JOBS = "NSML_SLURM_MAX_JOBS"
ENV_MAX_CPUS = "NSML_SLURM_MAX_CPUS"
ENV_MAX_GPUS = "NSML_SLURM_MAX_GPUS"


class CapReached(UsageError):
    """One more job would take the team over its cap."""


def _limit(variable: str) -> int | None:
    value = os.environ.get(variable, "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise UsageError(f"{variable}={value!r}: expected a whole number (or unset for no cap)")
    return int(value)


@dataclass(frozen=True)
class Caps:
    jobs: int | None = None
    cpus: int | None = None
    gpus: int | None = None

    @classmethod
    def from_environment(cls) -> Caps:
        return cls(_limit(ENV_MAX_JOBS), _limit(ENV_MAX_CPUS), _limit(ENV_MAX_GPUS))

    @property
    def any(self) -> bool:
        return any(value is not None for value in (self.jobs, self.cpus, self.gpus))


def check(caps: Caps, account: str, cpus: int, gpus: int, jobs: list[slurm_cli.Usage]) -> None:
    """Raise ``CapReached`` when a job of ``cpus`` and ``gpus`` would exceed ``caps`` next to ``jobs``."""
    used_cpus, used_gpus = sum(j.cpus for j in jobs), sum(j.gpus for j in jobs)
    held = f"account {account} holds {len(jobs)} job(s) queued or running ({used_cpus} CPUs, {used_gpus} GPUs)"
    wait = "wait for one to end (nsml ps) or stop one (nsml stop SESSION); no session was started"
    if caps.jobs is not None and len(jobs) + 1 > caps.jobs:
        raise CapReached(f"team cap: {held}; at most {caps.jobs} at once: {wait}")
    if caps.cpus is not None and used_cpus + cpus > caps.cpus:
        raise CapReached(f"team cap: {held}; this one needs {cpus} more CPUs, at most {caps.cpus} at once: {wait}")
    if caps.gpus is not None and used_gpus + gpus > caps.gpus:
        raise CapReached(f"team cap: {held}; this one needs {gpus} more GPUs, at most {caps.gpus} at once: {wait}")


@contextmanager
def held(shared: Path, account: str, cpus: int, gpus: int, exclude_partition: str | None) -> Iterator[None]:
    """Check the caps and keep the account's lock until the block (the ``sbatch``) is done."""
    caps = Caps.from_environment()
    if not caps.any:
        yield
        return
    locks = shared / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    with open(locks / f"caps-{account}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        jobs = [j for j in slurm_cli.account_jobs(account) if j.partition != exclude_partition]
        check(caps, account, cpus, gpus, jobs)
        yield
