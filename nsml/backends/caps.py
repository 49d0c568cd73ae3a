"""Per-team caps on a cluster: how many jobs, CPUs and GPUs one Slurm account may hold queued or running at once.

Slurm's own per-account limits (``GrpTRES``, ``MaxJobs`` on an association or QOS) need ``slurmdbd`` and a
database; a cluster without one has only per-job partition limits. So the caps are checked here, before
``sbatch``, against Slurm's own view of the account (``squeue -A``: every member's jobs, started from any
machine), under a lock file on the shared folder so two commands of one team cannot both take the last slot.
Jobs of the submit partition are not counted: scoring has its own nodes. A participant with a shell on the
cluster can bypass the check by calling ``sbatch`` directly; docs/cluster.md shows the slurmdbd limits that
cannot be bypassed.

Where a cap comes from, field by field: the team's entry of ``$NSML_SHARED/caps.json`` (written by the organiser's
``nsml cluster caps --team T``), else its entry for every team (``nsml cluster caps`` without ``--team``), else
``NSML_SLURM_MAX_JOBS``, ``NSML_SLURM_MAX_CPUS``, ``NSML_SLURM_MAX_GPUS``. Unset everywhere means no cap; a field
set to null in the file means no cap for that team whatever the defaults say.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from nsml.backends import slurm_cli
from nsml.errors import UsageError

ENV_MAX_JOBS = "NSML_SLURM_MAX_JOBS"
ENV_MAX_CPUS = "NSML_SLURM_MAX_CPUS"
ENV_MAX_GPUS = "NSML_SLURM_MAX_GPUS"
CAPS_FILE = "caps.json"  # on the shared folder: {"*": {"jobs": 4}, "team": {"jobs": 8, "gpus": null}}
EVERY_TEAM = "*"
FIELDS = ("jobs", "cpus", "gpus")  # the file's keys; the command's options are --max_jobs, --max_cpus, --max_gpus
ENVIRONMENT = {"jobs": ENV_MAX_JOBS, "cpus": ENV_MAX_CPUS, "gpus": ENV_MAX_GPUS}


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
    origin: dict[str, str] = field(default_factory=dict, compare=False)  # field -> where its value was set

    @classmethod
    def from_environment(cls) -> Caps:
        values = {name: _limit(variable) for name, variable in ENVIRONMENT.items()}
        return cls(**values, origin={name: ENVIRONMENT[name] for name, value in values.items() if value is not None})

    @property
    def any(self) -> bool:
        return any(value is not None for value in (self.jobs, self.cpus, self.gpus))

    def where(self, name: str) -> str:
        return self.origin.get(name, "")


def caps_path(shared: Path) -> Path:
    return shared / CAPS_FILE


def read_file(shared: Path) -> dict[str, dict[str, int | None]]:
    """The caps file: {team or "*": {field: cap or None}}; empty when there is none."""
    path = caps_path(shared)
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        raise UsageError(f"{path} cannot be read ({error}); fix or remove it, then set the caps again with nsml "
                         f"cluster caps") from None
    if not isinstance(found, dict) or not all(isinstance(entry, dict) and all(
            value is None or (isinstance(value, int) and value >= 0) for value in entry.values())
            for entry in found.values()):
        raise UsageError(f"{path} is not a caps file ({{team: {{jobs, cpus, gpus: a whole number or null}}}}); fix "
                         f"or remove it, then set the caps again with nsml cluster caps")
    return {team: {key: value for key, value in entry.items() if key in FIELDS} for team, entry in found.items()}


def set_team(shared: Path, team: str, changes: dict[str, int | None | str]) -> dict[str, dict[str, int | None]]:
    """Change ``team``'s entry (``EVERY_TEAM``: the default of every team) under the file's lock: a whole number
    caps, None lifts the cap, ``"default"`` drops the field (the default entry or the environment applies again).
    Returns the whole file as written."""
    from speech_kit.atomic import atomic_write

    with _locked(shared, "caps-file"):
        table = read_file(shared)
        entry = dict(table.get(team, {}))
        for name, value in changes.items():
            if value == "default":
                entry.pop(name, None)
            else:
                entry[name] = value
        if entry:
            table[team] = entry
        else:
            table.pop(team, None)
        with atomic_write(caps_path(shared)) as f:
            json.dump(table, f, indent=2, sort_keys=True)
            f.write("\n")
    return table


def for_account(shared: Path, account: str) -> Caps:
    """The caps of ``account``, field by field: its entry in the caps file, the file's default, the environment."""
    table = read_file(shared)
    base = Caps.from_environment()
    values = {name: getattr(base, name) for name in FIELDS}
    origin = dict(base.origin)
    for team, label in ((EVERY_TEAM, "every team"), (account, f"team {account}")):
        for name, value in table.get(team, {}).items():
            values[name] = value
            origin[name] = f"{caps_path(shared)} for {label}"
    return Caps(**values, origin={name: where for name, where in origin.items() if values[name] is not None})


def check(caps: Caps, account: str, cpus: int, gpus: int, jobs: list[slurm_cli.Usage]) -> None:
    """Raise ``CapReached`` when a job of ``cpus`` and ``gpus`` would exceed ``caps`` next to ``jobs``: one line
    naming the cap, where it was set, and the organiser's command that raises it."""
    used_cpus, used_gpus = sum(j.cpus for j in jobs), sum(j.gpus for j in jobs)
    held = f"account {account} holds {len(jobs)} job(s) queued or running ({used_cpus} CPUs, {used_gpus} GPUs)"
    wait = "wait for one to end (nsml ps) or stop one (nsml stop SESSION); no session was started"

    def refuse(name: str, limit: str) -> CapReached:
        where = f", set in {caps.where(name)}" if caps.where(name) else ""
        return CapReached(f"team cap: {held}; {limit} (max_{name}{where}): {wait}; an organiser raises the cap "
                          f"with: nsml cluster caps --team {account} --max_{name} N")

    if caps.jobs is not None and len(jobs) + 1 > caps.jobs:
        raise refuse("jobs", f"at most {caps.jobs} at once")
    if caps.cpus is not None and used_cpus + cpus > caps.cpus:
        raise refuse("cpus", f"this one needs {cpus} more CPUs, at most {caps.cpus} at once")
    if caps.gpus is not None and used_gpus + gpus > caps.gpus:
        raise refuse("gpus", f"this one needs {gpus} more GPUs, at most {caps.gpus} at once")


@contextmanager
def _locked(shared: Path, name: str) -> Iterator[None]:
    locks = shared / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    with open(locks / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _counted(account: str, exclude_partition: str | None) -> list[slurm_cli.Usage]:
    return [j for j in slurm_cli.account_jobs(account) if j.partition != exclude_partition]


def precheck(shared: Path, account: str, cpus: int, gpus: int, exclude_partition: str | None) -> None:
    """Refuse a job beyond the caps before its session exists; ``held`` checks again, under the lock, at sbatch."""
    caps = for_account(shared, account)
    if caps.any:
        check(caps, account, cpus, gpus, _counted(account, exclude_partition))


@contextmanager
def held(shared: Path, account: str, cpus: int, gpus: int, exclude_partition: str | None) -> Iterator[None]:
    """Check the caps and keep the account's lock until the block (the ``sbatch``) is done."""
    caps = for_account(shared, account)
    if not caps.any:
        yield
        return
    with _locked(shared, f"caps-{account}"):
        check(caps, account, cpus, gpus, _counted(account, exclude_partition))
        yield
