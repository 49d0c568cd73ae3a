"""How many threads torch computes with, and how its idle threads wait, chosen for the cores this process has.

torch's default is one compute thread per logical CPU of the machine, whatever the process may use (a cgroup's
CPU set, ``taskset``) and however many training processes share the machine (torchrun on CPU), and OpenMP threads
that spin while they wait. When anything else wants the same cores (another job, the loader's threads), every
parallel region waits at its barrier for a thread the kernel has descheduled, and the spinning threads take the
time the late one needs. Measured on a 2-core machine shared with other jobs (``python -m benchmarks.threads``,
``docs/performance.md``): an epoch took 4 to 11 times longer with 2 spinning threads than with 1, and the same
with ``OMP_WAIT_POLICY=PASSIVE`` (idle threads sleep) about as long as with 1.

The recommendation: one compute thread per usable core, divided between the processes of this machine; one
inter-op thread (the model runs no inter-op parallel work; a second pool only adds threads that compete);
OpenMP's passive waiting. OpenMP reads its wait policy once, when torch is imported, so launchers set it in the
environment of the process they start (``launch_environment``); ``apply_threads`` sets the rest at run time.
The loader's threads are not counted: they spend an epoch waiting on a full queue.

Threads are not the fastest way to use several cores for training: torch's intra-op threads split each operation,
and a speech model's per-frame GRU products are too small to split well. Two one-thread processes training as one
DDP job (``nsml run --nproc 2``; ``LOCAL_WORLD_SIZE`` then gives each process half the cores) were 1.7 times as
fast as one two-thread process at the seed's settings and 2.4 times on the Russian numbers model
(``docs/performance.md``). Decoding does the same by itself: ``models.transcribe`` turns this plan's compute
threads into as many forked one-thread processes (``speech_kit.forked``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class ThreadPlan:
    compute: int  # torch.set_num_threads
    interop: int  # torch.set_num_interop_threads
    cores: int  # usable cores this plan was made for

    def describe(self) -> str:
        policy = os.environ.get("OMP_WAIT_POLICY", "unset: threads spin")
        return (f"{self.compute} compute thread(s), {self.interop} inter-op thread(s) for {self.cores} usable "
                f"core(s), OMP_WAIT_POLICY {policy}")


WAIT_POLICY = "PASSIVE"


def launch_environment(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` for a process that will import torch: OpenMP's passive waiting unless the caller chose a policy."""
    return {"OMP_WAIT_POLICY": WAIT_POLICY, **env}


def usable_cores() -> int:
    """Cores this process may run on: its CPU affinity set (which cgroup CPU sets and taskset narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def recommended_threads(local_processes: int | None = None) -> ThreadPlan:
    """One compute thread per usable core shared by ``local_processes`` processes (default: torchrun's
    ``LOCAL_WORLD_SIZE``, else 1); an explicit ``OMP_NUM_THREADS`` wins, as torch itself honours it."""
    if local_processes is None:
        local_processes = int(os.environ.get("LOCAL_WORLD_SIZE") or 1)
    cores = usable_cores()
    explicit = os.environ.get("OMP_NUM_THREADS", "")
    compute = int(explicit) if explicit.isdigit() and int(explicit) > 0 else max(1, cores // max(1, local_processes))
    return ThreadPlan(compute=compute, interop=1, cores=cores)


def apply_threads(plan: ThreadPlan) -> ThreadPlan:
    """Set torch's thread pools to ``plan``; returns what is in effect (the inter-op pool can be sized only before
    torch first uses it, so a late call leaves it as it was)."""
    torch.set_num_threads(plan.compute)
    try:
        torch.set_num_interop_threads(plan.interop)
    except RuntimeError:  # already started: keep its size
        pass
    return ThreadPlan(torch.get_num_threads(), torch.get_num_interop_threads(), plan.cores)
