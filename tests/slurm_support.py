"""A real Slurm cluster on 127.0.0.1 for the tests: munged with its own key, slurmctld and one or more slurmd.

Everything lives in one temporary folder (configuration, key, sockets, state, spool, logs); the daemons run in the
foreground (``-D``) as children of the test process, so stopping the cluster is terminating those pids. Debian's
``slurm-wlm`` and ``munge`` packages are needed; ``install()`` puts them in when the tests run as root with
apt-get, and ``unavailable()`` says why a cluster cannot be had (the tests are then skipped with that line).
Nodes are named ``n1``, ``n2``, ...: each a ``slurmd -N NAME`` on its own port of the same machine, so two of them
simulate a two-node cluster.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

DAEMONS = ("slurmctld", "slurmd", "munged", "sbatch", "squeue", "scontrol", "scancel", "srun")
START_TIMEOUT_S = 30.0


def _found(program: str) -> bool:
    return shutil.which(program) is not None or Path("/usr/sbin", program).is_file()


def install() -> None:
    """apt-get install slurm-wlm and munge when missing, as root, quietly (the CI script does the same)."""
    if all(_found(p) for p in DAEMONS) or os.geteuid() != 0 or not shutil.which("apt-get"):
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run("apt-get update -qq && apt-get install -y -qq slurm-wlm munge", shell=True, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, timeout=900)


def unavailable() -> str | None:
    """Why no cluster can be started here (None: it can)."""
    missing = [p for p in DAEMONS if not _found(p)]
    if missing:
        how = "run the tests as root with apt-get" if os.geteuid() != 0 else "apt-get install failed"
        return f"Slurm cannot be installed here ({how}): missing {', '.join(missing)}"
    if os.geteuid() != 0:
        return "the test cluster's slurmd must run as root (it starts jobs as their user)"
    return None


def _program(name: str) -> str:
    return shutil.which(name) or str(Path("/usr/sbin", name))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Cluster:
    """A running test cluster; ``env`` is what a client (sbatch, nsml) needs to reach it."""

    folder: Path
    nodes: dict[str, int]  # node name -> CPUs
    processes: list[subprocess.Popen] = field(default_factory=list)

    @property
    def conf(self) -> Path:
        return self.folder / "slurm.conf"

    @property
    def env(self) -> dict[str, str]:
        return {"SLURM_CONF": str(self.conf)}

    def command(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(list(argv), env=dict(os.environ, **self.env), capture_output=True, text=True,
                                timeout=60)
        if check:
            assert result.returncode == 0, f"{' '.join(argv)} -> {result.returncode}: {result.stderr}"
        return result

    def log(self, daemon: str) -> str:
        path = self.folder / f"{daemon}.log"
        return path.read_text(errors="replace") if path.is_file() else ""

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
        for process in reversed(self.processes):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()


def _write_conf(folder: Path, nodes: dict[str, int], munge_socket: Path) -> None:
    ctld_port = free_port()
    lines = [
        "ClusterName=nsmltest",
        "SlurmctldHost=localhost",
        f"SlurmctldPort={ctld_port}",
        "SlurmUser=root",
        "AuthType=auth/munge",
        "CredType=cred/munge",
        f"AuthInfo=socket={munge_socket}",
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core",
        "SchedulerType=sched/backfill",
        "SchedulerParameters=sched_min_interval=100000",
        "MpiDefault=none",
        "ReturnToService=2",
        "SlurmdParameters=config_overrides",
        "AccountingStorageType=accounting_storage/none",
        "JobAcctGatherType=jobacct_gather/linux",
        "JobAcctGatherFrequency=1",
        "JobCompType=jobcomp/none",
        "KillWait=2",
        "MinJobAge=600",
        "InactiveLimit=0",
        "SlurmdTimeout=30",
        "GresTypes=gpu",
        f"StateSaveLocation={folder / 'state'}",
        f"SlurmdSpoolDir={folder / 'spool' / '%n'}",
        f"SlurmctldPidFile={folder / 'slurmctld.pid'}",
        f"SlurmdPidFile={folder / 'slurmd-%n.pid'}",
        f"SlurmctldLogFile={folder / 'slurmctld.log'}",
        f"SlurmdLogFile={folder / 'slurmd-%n.log'}",
    ]
    for name, cpus in nodes.items():
        lines.append(f"NodeName={name} NodeAddr=127.0.0.1 NodeHostname=localhost Port={free_port()} CPUs={cpus} "
                     f"RealMemory=4000 Gres=gpu:2 State=UNKNOWN")
    names = ",".join(nodes)
    lines.append(f"PartitionName=train Nodes={names} Default=YES MaxTime=INFINITE State=UP")
    lines.append(f"PartitionName=submit Nodes={names} MaxTime=INFINITE State=UP")
    (folder / "slurm.conf").write_text("\n".join(lines) + "\n")
    # GPUs without device files: Slurm counts and allocates them, which is what -g is tested for.
    (folder / "gres.conf").write_text("".join(f"NodeName={name} Name=gpu File=/dev/null,/dev/zero\n" for name in nodes))


def _start_munge(folder: Path) -> tuple[subprocess.Popen, Path]:
    munge = folder / "munge"
    munge.mkdir(mode=0o700)
    key = munge / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o400)
    sock = munge / "munge.socket"
    process = subprocess.Popen([_program("munged"), "--foreground", "--force", f"--key-file={key}",
                                f"--socket={sock}", f"--pid-file={munge / 'munged.pid'}",
                                f"--log-file={folder / 'munged.log'}", f"--seed-file={munge / 'seed'}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return process, sock


def start(folder: Path, nodes: dict[str, int]) -> Cluster:
    """Start munged, slurmctld and one slurmd per node in ``folder``; returns once every node is idle."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "state").mkdir()
    for name in nodes:
        (folder / "spool" / name).mkdir(parents=True)
    cluster = Cluster(folder, nodes)
    try:
        munged, sock = _start_munge(folder)
        cluster.processes.append(munged)
        _wait(lambda: sock.exists(), "munged's socket", cluster)
        _write_conf(folder, nodes, sock)
        env = dict(os.environ, SLURM_CONF=str(cluster.conf))
        cluster.processes.append(subprocess.Popen([_program("slurmctld"), "-D", "-i", "-f", str(cluster.conf)],
                                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for name in nodes:
            cluster.processes.append(subprocess.Popen([_program("slurmd"), "-D", "-N", name, "-f", str(cluster.conf)],
                                                      env=env, stdout=subprocess.DEVNULL,
                                                      stderr=subprocess.DEVNULL))
        _wait(lambda: _idle(cluster), "every node to be idle", cluster)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _idle(cluster: Cluster) -> bool:
    result = cluster.command("sinfo", "-h", "-N", "-o", "%N %t", check=False)
    states = dict(line.split() for line in result.stdout.splitlines() if line.strip())
    return result.returncode == 0 and all(states.get(name, "").startswith("idle") for name in cluster.nodes)


def _wait(condition, what: str, cluster: Cluster) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while not condition():
        dead = [p.args[0] for p in cluster.processes if p.poll() is not None]
        if dead or time.monotonic() > deadline:
            logs = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-2000:]}"
                             for p in sorted(cluster.folder.glob("*.log")))
            raise RuntimeError(f"the test cluster did not start: waiting for {what}; exited: {dead}\n{logs}")
        time.sleep(0.1)


def running_cluster(folder: Path, nodes: dict[str, int]) -> Cluster:
    """A started cluster for a test module's fixture (Slurm installed first where it can be), or the module skipped
    with the one line that says why none can be had here; the fixture stops it."""
    install()
    reason = unavailable()
    if reason:
        pytest.skip(reason)
    return start(folder, nodes)
