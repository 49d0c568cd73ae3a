"""Asking Slurm through its own commands: sbatch, scontrol, sacct, squeue, scancel.

The commands are the interface Slurm keeps stable across versions and sites (``--parsable``, ``-o``/``-P``
formats); no library is linked. A job's state comes from ``scontrol show job`` (the controller keeps finished jobs
for ``MinJobAge``, 300 s by default) and, once it has forgotten the job, from ``sacct`` where accounting is
configured. A controller that cannot be reached is ``SlurmUnavailable``, never a guess that the job died.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from nsml.errors import NsmlError

TIMEOUT_S = 60.0
PENDING = ("PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD", "SPECIAL_EXIT")
RUNNING = ("RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED", "STOPPED", "RESIZING", "SIGNALING", "STAGE_OUT")
_FIELD = re.compile(r"(\w[\w/:]*)=(\S*)")


class SlurmUnavailable(NsmlError):
    """A Slurm command is missing or its controller did not answer."""


@dataclass(frozen=True)
class JobState:
    state: str  # PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT, OUT_OF_MEMORY, NODE_FAIL ...
    exit_code: int | None  # the job's exit code; negative: the signal that ended it
    reason: str = ""

    @property
    def ended(self) -> bool:
        return self.state not in PENDING + RUNNING


def run(argv: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=TIMEOUT_S)
    except FileNotFoundError:
        raise SlurmUnavailable(f"{argv[0]} not found: the Slurm client commands are needed for --backend slurm "
                               f"(apt-get install slurm-client), or use --backend local") from None
    except subprocess.TimeoutExpired:
        raise SlurmUnavailable(f"{argv[0]} did not answer within {TIMEOUT_S:g} s; is slurmctld running "
                               f"(scontrol ping)?") from None


def _message(result: subprocess.CompletedProcess) -> str:
    return " ".join((result.stderr or result.stdout).split()) or f"exit status {result.returncode}"


def sbatch(options: list[str], script: Path, env: dict[str, str]) -> str:
    """Submit ``script`` with ``options``; the job id."""
    result = run(["sbatch", "--parsable", *options, str(script)], env)
    if result.returncode != 0:
        raise NsmlError(f"sbatch refused the job: {_message(result)}")
    return result.stdout.strip().split(";")[0]


def exit_code(text: str) -> int | None:
    """Slurm's ``EXIT:SIGNAL`` as one number: 3:0 -> 3, 0:9 -> -9."""
    try:
        code, _, sig = text.partition(":")
        return -int(sig) if sig and int(sig) else int(code)
    except ValueError:
        return None


def state(job_id: str) -> JobState | None:
    """The job's state; None when Slurm knows no such job any more (purged, and no accounting)."""
    result = run(["scontrol", "show", "job", "-o", job_id])
    if result.returncode == 0 and result.stdout.strip():
        found = dict(_FIELD.findall(result.stdout.splitlines()[0]))
        return JobState(found.get("JobState", "UNKNOWN"), exit_code(found.get("ExitCode", "")),
                        found.get("Reason", ""))
    if "Invalid job id" not in result.stderr:
        raise SlurmUnavailable(f"scontrol show job {job_id}: {_message(result)}")
    return _accounted(job_id)


def _accounted(job_id: str) -> JobState | None:
    """The job from Slurm's accounting (slurmdbd), where there is one."""
    result = run(["sacct", "-n", "-P", "-X", "-j", job_id, "-o", "State,ExitCode"])
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    if result.returncode != 0 or not lines:
        return None
    found, _, code = lines[0].partition("|")
    return JobState(found.split()[0] if found.split() else "UNKNOWN", exit_code(code))


def scancel(job_id: str, signal: str | None = None) -> None:
    argv = ["scancel", *([f"--signal={signal}", "--full"] if signal else []), job_id]
    result = run(argv)
    if result.returncode != 0 and "already completing or completed" not in result.stderr \
            and "Invalid job id" not in result.stderr:
        raise NsmlError(f"scancel {job_id} failed: {_message(result)}")


@dataclass(frozen=True)
class Usage:
    """One queued or running job of an account, as squeue reports it."""

    job_id: str
    partition: str
    cpus: int
    gpus: int


def _gpus(gres: str, nodes: int) -> int:
    """GPUs of a job from squeue's gres column (``gres:gpu:2``, ``gres/gpu:a100:1``, ``N/A``): per node x nodes."""
    total = 0
    for part in gres.split(","):
        pieces = part.replace("gres/", "gres:").split(":")
        if "gpu" in pieces and pieces[-1].isdigit():
            total += int(pieces[-1])
    return total * max(nodes, 1)


def account_jobs(account: str) -> list[Usage]:
    """The account's pending and running jobs (every user's of that account: a team's members share it)."""
    result = run(["squeue", "-h", "-A", account, "-t", "PENDING,RUNNING,CONFIGURING,COMPLETING,SUSPENDED",
                  "-o", "%i|%P|%C|%b|%D"])
    if result.returncode != 0:
        raise SlurmUnavailable(f"squeue -A {account}: {_message(result)}")
    jobs = []
    for line in result.stdout.splitlines():
        fields = line.split("|")
        if len(fields) == 5 and fields[2].isdigit():
            nodes = int(fields[4]) if fields[4].isdigit() else 1
            jobs.append(Usage(fields[0], fields[1], int(fields[2]), _gpus(fields[3], nodes)))
    return jobs


def node_address(nodelist: str) -> str:
    """The address of the first node of a job's node list (``NodeAddr``: the name may not resolve)."""
    names = run(["scontrol", "show", "hostnames", nodelist])
    first = names.stdout.split()[0] if names.returncode == 0 and names.stdout.split() else nodelist
    node = run(["scontrol", "show", "node", "-o", first])
    found = dict(_FIELD.findall(node.stdout))
    return found.get("NodeAddr") or first
