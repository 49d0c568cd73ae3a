"""From utterances to padded batches: the seed's threaded loaders and the batch samplers.

Threads, not processes, stream batches into a ``queue.Queue``: the STFT releases the GIL, and the consumer keeps
the seed's protocol (one empty batch per worker marks that worker's end). Unlike the seed, the workers of a
``MultiLoader`` put their batches in turn, so the batch order (and with it a seeded training run) is the same every
time. A worker that fails puts its exception in the queue so the training loop stops with the real error instead
of waiting forever. ``loader`` (the seed's module name) re-exports these names; ``collate`` is its ``_collate_fn``.
"""

from __future__ import annotations

import queue
import random
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch

from speech_kit.dataset import BaseDataset
from speech_kit.layout import DatasetError


@dataclass(frozen=True)
class Batch:
    """Padded features ``(B, T, F)``, padded ``<s>``+ids+``</s>`` targets ``(B, L)``, their lengths ``(B,)`` each,
    and per-utterance class ids ``(B,)`` when the dataset has an extra target.

    It unpacks and indexes as the seed's 4-tuple (``feats, scripts, feat_lengths, script_lengths = batch``).
    """

    feats: torch.Tensor
    targets: torch.Tensor
    feat_lengths: torch.Tensor
    target_lengths: torch.Tensor
    extra: torch.Tensor | None = None

    def __iter__(self) -> Iterator[torch.Tensor]:
        return iter((self.feats, self.targets, self.feat_lengths, self.target_lengths))

    def __getitem__(self, index: int) -> torch.Tensor:
        return (self.feats, self.targets, self.feat_lengths, self.target_lengths)[index]


def collate(batch: Sequence[tuple], pad_id: int) -> Batch:
    """Zero-pad features (in their dtype: float32, or bfloat16 from a bfloat16 feature cache) and pad targets with
    ``pad_id``.

    The rows are copied by numpy, in this thread: torch splits a copy of one utterance's features between its
    compute threads, and waking them costs more than the copy (measured in ``docs/performance.md``).
    """
    dtype = batch[0][0].dtype
    if any(item[0].dtype != dtype for item in batch):
        raise ValueError(f"a batch mixes feature dtypes: {sorted({str(item[0].dtype) for item in batch})}")
    lengths = [item[0].size(0) for item in batch]
    seqs = torch.empty(len(batch), max(lengths), batch[0][0].size(1), dtype=dtype)
    rows = _array(seqs)
    targets = np.full((len(batch), max(len(item[1]) for item in batch)), pad_id, dtype=np.int64)
    for i, (item, length) in enumerate(zip(batch, lengths)):
        rows[i, :length] = _array(item[0])
        rows[i, length:] = 0
        targets[i, : len(item[1])] = item[1]
    extra = torch.tensor([item[2] for item in batch], dtype=torch.long) if len(batch[0]) > 2 else None
    return Batch(seqs, torch.from_numpy(targets), torch.tensor(lengths, dtype=torch.long),
                 torch.tensor([len(item[1]) for item in batch], dtype=torch.long), extra)


def _array(tensor: torch.Tensor) -> np.ndarray:
    """A numpy view of a CPU tensor's memory (bfloat16, which numpy lacks, as its int16 bit patterns)."""
    tensor = tensor.detach()
    return (tensor.view(torch.int16) if tensor.dtype == torch.bfloat16 else tensor).numpy()


def create_empty_batch() -> Batch:
    """The end-of-loader sentinel: a batch with zero utterances."""
    empty = torch.zeros(0, dtype=torch.long)
    return Batch(torch.zeros(0, 0, 0), torch.zeros(0, 0, dtype=torch.long), empty, empty)


class LoaderFailure:
    """Put in the queue by a worker that raised, so the consumer re-raises it."""

    def __init__(self, error: BaseException):
        self.error = error


class RoundRobin:
    """Lets loader threads put into the queue in turn (0, 1, ..., n-1, 0, ...), skipping those that finished.

    Each thread still reads and collates its next batch while waiting, so taking turns costs little; what it buys
    is a batch order that depends on the seed only, not on thread scheduling.
    """

    def __init__(self, workers: int):
        self._condition = threading.Condition()
        self._active = list(range(workers))
        self._position = 0

    @contextmanager
    def turn(self, worker: int, last: bool = False) -> Iterator[None]:
        with self._condition:
            self._condition.wait_for(lambda: self._active[self._position] == worker)
            yield
            if last:
                self._active.pop(self._position)
                self._position = self._position % len(self._active) if self._active else 0
            else:
                self._position = (self._position + 1) % len(self._active)
            self._condition.notify_all()


class BaseDataLoader(threading.Thread):
    """One worker thread: reads its batches in order, puts each padded, then one empty batch.

    ``batches`` is the worker's work as explicit index lists into ``dataset`` (the seam for length bucketing);
    without it the worker reads ``dataset`` in order in slices of ``batch_size``, as the seed's did.
    """

    def __init__(self, dataset: BaseDataset, queue: queue.Queue, batch_size: int, thread_id: int, pad_id: int,
                 turns: RoundRobin | None = None, batches: Sequence[Sequence[int]] | None = None):
        super().__init__(daemon=True, name=f"loader-{thread_id}")
        self.dataset = dataset
        self.queue = queue
        self.batch_size = batch_size
        self.thread_id = thread_id
        self.pad_id = pad_id
        self.turns = turns
        if batches is None:
            count = dataset.count()
            batches = [range(start, min(start + batch_size, count)) for start in range(0, count, batch_size)]
        self.batches = [list(b) for b in batches]

    def _put(self, item: object, last: bool = False) -> None:
        if self.turns is None:
            self.queue.put(item)
            return
        with self.turns.turn(self.thread_id, last):
            self.queue.put(item)

    def run(self) -> None:
        try:
            for indices in self.batches:
                self._put(collate([self.dataset.getitem(i) for i in indices], self.pad_id))
        except BaseException as err:  # noqa: BLE001 - handed to the consumer, which re-raises it
            self._put(LoaderFailure(err), last=True)
            return
        self._put(create_empty_batch(), last=True)


class MultiLoader:
    """Several ``BaseDataLoader`` threads feeding one queue, taking turns.

    ``worker_batches[i]`` (index lists) is worker ``i``'s work; without it each worker reads its own dataset of
    ``dataset_list`` in slices of ``batch_size``, as in the seed.
    """

    def __init__(self, dataset_list: Sequence[BaseDataset], queue: queue.Queue, batch_size: int,
                 worker_size: int, pad_id: int, worker_batches: Sequence[Sequence[Sequence[int]]] | None = None):
        turns = RoundRobin(worker_size)
        self.loader = [BaseDataLoader(dataset_list[i], queue, batch_size, i, pad_id, turns,
                                      worker_batches[i] if worker_batches is not None else None)
                       for i in range(worker_size)]

    def start(self) -> None:
        for loader in self.loader:
            loader.start()

    def join(self) -> None:
        for loader in self.loader:
            loader.join()


def iterate_batches(batch_queue: queue.Queue, loader_count: int) -> Iterator[Batch]:
    """Yield batches until every loader has sent its empty batch; re-raise a loader's error."""
    remaining = loader_count
    while remaining:
        item = batch_queue.get()
        if isinstance(item, LoaderFailure):
            raise item.error
        if item.feats.shape[0] == 0:
            remaining -= 1
            continue
        yield item


class FixedSizeBatches:
    """The seed's batching: each worker shuffles its shard every epoch, then cuts it into ``batch_size`` slices."""

    def __init__(self, batch_size: int):
        self.batch_size = batch_size

    def plan(self, shards: list[list[int]], rng: random.Random) -> list[list[list[int]]]:
        """Per-worker index lists for one epoch.

        Each shard is shuffled in place, as the seed shuffled its datasets, so an epoch's order continues from the
        last one's; ``rng`` is consumed worker by worker, so a seed repeats the whole run.
        """
        plans = []
        for shard in shards:
            rng.shuffle(shard)
            plans.append([shard[i: i + self.batch_size] for i in range(0, len(shard), self.batch_size)])
        return plans


class FrameBudgetBatches:
    """Length-bucketed batches: utterances of similar length together, at most ``batch_frames`` padded frames each.

    Every epoch each worker's shard is shuffled and cut into pools of ``pool`` utterances; each pool is sorted by
    length and cut greedily so that ``longest x utterances <= batch_frames``; then the batches are shuffled.
    Padding becomes small, and long utterances get small batches, which bounds memory. ``frames[i]`` is the
    feature length of utterance ``i`` (see ``feature_frames``).
    """

    def __init__(self, batch_frames: int, frames: Sequence[int], max_batch: int = 256, pool: int = 1000):
        if frames and batch_frames < max(frames):
            longest = max(range(len(frames)), key=frames.__getitem__)
            raise DatasetError(f"--batch_frames {batch_frames} is smaller than utterance {longest}'s "
                               f"{frames[longest]} frames: raise it")
        self.batch_frames, self.frames, self.max_batch, self.pool = batch_frames, list(frames), max_batch, pool

    def plan(self, shards: list[list[int]], rng: random.Random) -> list[list[list[int]]]:
        plans = []
        for shard in shards:
            rng.shuffle(shard)
            batches = [batch for start in range(0, len(shard), self.pool)
                       for batch in cut_by_frames(shard[start: start + self.pool], self.frames,
                                                        self.batch_frames, self.max_batch)]
            rng.shuffle(batches)
            plans.append(batches)
        return plans


def cut_by_frames(indices: Sequence[int], frames: Sequence[int], batch_frames: int, max_batch: int = 256
                  ) -> list[list[int]]:
    """``indices`` sorted by ``frames[i]`` and cut greedily into batches of at most ``batch_frames`` padded frames
    (``longest x utterances``) and ``max_batch`` utterances; an utterance longer than the budget is a batch alone."""
    batches: list[list[int]] = []
    current: list[int] = []
    longest = 0
    for i in sorted(indices, key=frames.__getitem__):
        if current and (max(longest, frames[i]) * (len(current) + 1) > batch_frames or len(current) == max_batch):
            batches.append(current)
            current, longest = [], 0
        current.append(i)
        longest = max(longest, frames[i])
    return batches + ([current] if current else [])
