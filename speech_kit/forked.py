"""Run a function over a list of items in forked one-thread processes, the way decoding uses several cores.

A batch of greedy decoding is a few hundred small sequential products (``(16, 512) x (512, 1536)`` per GRU layer
and step): too small for torch's intra-op threads to split well, so a second thread adds almost nothing, while a
second process decoding other batches doubles the work done. Measured at the seed's settings (48 files, bf16,
batches of 16; ``docs/performance.md``): one process took as long with two threads as with one; two one-thread
processes took about half as long.

The processes are forked (Linux), as torch's ``DataLoader`` forks its workers: they inherit the model, its weights
and the caller's closures without pickling or importing anything, and start in milliseconds. Each child sets one
compute thread before it runs anything (as ``DataLoader`` workers do, so the OpenMP pool the parent used is never
entered), computes its share of the items (every ``processes``-th, so that length-sorted batches split evenly)
and sends each result back as soon as it has it. A worker's exception is raised in the caller as itself; a
worker that dies raises ``WorkerError``; workers die with their parent, even one killed with SIGKILL. Where
``fork`` is not available, or for one process, the items run here, in order.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import pickle
import queue
import signal
import traceback
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

import torch

Item = TypeVar("Item")
Result = TypeVar("Result")

PR_SET_PDEATHSIG = 1  # prctl option: the signal this process gets when its parent dies
POLL_SECONDS = 1.0  # how often the parent checks that no worker died without a word (killed, crashed)


class WorkerError(RuntimeError):
    """A forked worker died, or raised an exception that cannot be sent back: the message says which and why."""


def forked_map(function: Callable[[Item], Result], items: Sequence[Item], processes: int
               ) -> Iterator[tuple[int, Result]]:
    """``(index, function(items[index]))`` for every item, in the order they finish, computed by ``processes``
    forked one-thread processes (here, in order, for one process or where fork is unavailable). Results are
    pickled back, so they must be picklable; a worker's exception is raised here (as ``WorkerError`` if it cannot be
    pickled), and so is a worker's death."""
    processes = min(processes, len(items))
    if processes <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        for index, item in enumerate(items):
            yield index, function(item)
        return
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    workers = [context.Process(target=_serve, args=(function, items, range(first, len(items), processes), results,
                                                    os.getpid()),
                               daemon=True, name=f"forked_map-{first}") for first in range(processes)]
    for worker in workers:
        worker.start()
    try:
        for _ in range(len(items)):
            index, value = _next_result(results, workers)
            yield index, value
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
            worker.join()
        results.close()


def _serve(function: Callable, items: Sequence, share: range, results: multiprocessing.Queue, parent: int
           ) -> None:
    """A worker: one compute thread, then its share of the items, each result sent as soon as it is done."""
    _die_with(parent)
    torch.set_num_threads(1)
    try:
        for index in share:
            results.put((index, function(items[index])))
    except BaseException as error:  # noqa: BLE001 - every failure must reach the parent, which re-raises it
        results.put((-1, _portable(error, traceback.format_exc())))
    results.close()
    results.join_thread()


def _die_with(parent: int) -> None:
    """Have the kernel kill this worker when its parent dies (Linux ``PR_SET_PDEATHSIG``): a parent killed with
    SIGKILL runs no clean-up, and its workers would decode on for nobody."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: daemon workers still end with a parent that exits normally
        return
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def _portable(error: BaseException, trace: str) -> BaseException:
    """``error`` itself if it survives pickling (so the caller can catch what the function raised, e.g. an
    ``AudioError`` naming a bad file), with the worker's traceback as a note; else a ``WorkerError`` that says it."""
    error.add_note(f"raised in a forked worker:\n{trace}")
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:  # noqa: BLE001 - any unpicklable exception becomes a WorkerError with its text
        return WorkerError(f"a worker failed: {type(error).__name__}: {error}\n{trace}")


def _next_result(results: multiprocessing.Queue, workers: list) -> tuple[int, object]:
    while True:
        try:
            index, value = results.get(timeout=POLL_SECONDS)
        except queue.Empty:
            dead = [w for w in workers if w.exitcode not in (None, 0)]
            if dead:
                raise WorkerError(f"worker {dead[0].name} died with exit code {dead[0].exitcode} (killed for "
                                  f"memory, or crashed)") from None
            continue
        if index < 0:
            raise value
        return index, value
