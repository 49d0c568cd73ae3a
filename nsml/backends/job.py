"""What runs inside a Slurm job: the session's command, its exit recorded in a file, torchrun across nodes.

``run EXIT -- ARGV``: run ARGV, forward the signals Slurm sends (``scancel``: SIGTERM, then SIGKILL after
``KillWait``) to its process group, and write ``EXIT`` ({"exit_code", "peak_kib"}) when it has ended. The platform
reads that file first: it says how the program ended even where Slurm keeps no accounting and has forgotten the job.

``nodes EXIT N NPROC -- ARGV`` (multi-node DDP): on the batch host, ``srun`` one ``node`` task per node and record
its end like ``run``. ``node ADDR PORT N NPROC -- ARGV`` (one per node): exec torchrun with this node's rank
(``SLURM_NODEID``) and the rendezvous on the first node of the allocation (``ADDR:PORT``).

It is started as ``python -c BOOT MODE ...`` (``command``), never ``-m``: the session's code folder comes first on
``sys.path`` and may ship a module named ``nsml``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from nsml import home
from nsml.procs import die_with_parent

BOOT = "import sys; sys.path.insert(0, {root!r}); from nsml.backends import job; sys.exit(job.main(sys.argv[1:]))"
MONITOR_INTERVAL_S = 1
PORT_BASE = 29500
PORT_SPAN = 20000
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2)


def command(mode: str, *args: str) -> list[str]:
    return [sys.executable, "-c", BOOT.format(root=str(home.repo_root())), mode, *args]


def rendezvous_port(job_id: str) -> int:
    """A port per job, so two multi-node jobs sharing a first node do not meet each other."""
    return PORT_BASE + int(job_id) % PORT_SPAN if job_id.isdigit() else PORT_BASE


def _run(exit_path: Path, argv: list[str]) -> int:
    child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=die_with_parent())

    def forward(signum: int, _frame: object) -> None:
        try:
            os.killpg(child.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass

    for signum in FORWARDED:
        signal.signal(signum, forward)
    while True:
        try:
            _, status, usage = os.wait4(child.pid, 0)
            break
        except InterruptedError:
            continue
    code = os.waitstatus_to_exitcode(status)
    record = {"exit_code": code, "peak_kib": usage.ru_maxrss, "ended": time.time()}
    partial = exit_path.with_name(f".{exit_path.name}.{os.getpid()}")
    partial.write_text(json.dumps(record))
    os.replace(partial, exit_path)
    return code if code >= 0 else 128 - code


def _srun(nodes: int, nproc: int, argv: list[str]) -> list[str]:
    address = _first_node_address()
    port = rendezvous_port(os.environ.get("SLURM_JOB_ID", ""))
    cpus = os.environ.get("SLURM_CPUS_PER_TASK", "1")
    return ["srun", f"--nodes={nodes}", f"--ntasks={nodes}", "--ntasks-per-node=1", f"--cpus-per-task={cpus}",
            "--kill-on-bad-exit=1", *command("node", address, str(port), str(nodes), str(nproc), "--", *argv)]


def _first_node_address() -> str:
    from nsml.backends import slurm_cli

    return slurm_cli.node_address(os.environ["SLURM_JOB_NODELIST"])


def _torchrun(address: str, port: str, nodes: str, nproc: str, argv: list[str]) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", f"--nnodes={nodes}",
            f"--node_rank={os.environ.get('SLURM_NODEID', '0')}", f"--master_addr={address}",
            f"--master_port={port}", f"--nproc_per_node={nproc}", f"--monitor-interval={MONITOR_INTERVAL_S}",
            "--no-python", *argv]


def main(argv: list[str]) -> int:
    if "--" not in argv or not argv:
        print("nsml.backends.job: usage: run EXIT -- ARGV | nodes EXIT N NPROC -- ARGV | node ADDR PORT N NPROC "
              "-- ARGV", file=sys.stderr)
        return 2
    split = argv.index("--")
    mode, options, program = argv[0], argv[1:split], argv[split + 1:]
    if mode == "run":
        return _run(Path(options[0]), program)
    if mode == "nodes":
        return _run(Path(options[0]), _srun(int(options[1]), int(options[2]), program))
    if mode == "node":
        launch = _torchrun(*options, program)
        os.execv(launch[0], launch)
    print(f"nsml.backends.job: unknown mode {mode!r}", file=sys.stderr)
    return 2
