"""From wav files and label ids to padded batches: the seed's feature, dataset and threaded loaders.

Threads, not processes, stream batches into a ``queue.Queue``: the STFT releases the GIL, and the consumer keeps
the seed's protocol (one empty batch per worker marks that worker's end). Unlike the seed, the workers of a
``MultiLoader`` put their batches in turn, so the batch order (and with it a seeded training run) is the same every
time. A worker that fails puts its exception in the queue so the training loop stops with the real error instead
of waiting forever.
"""

from __future__ import annotations

import queue
import random
import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from speech_kit.audio import SAMPLE_RATE, conversion_summary, probe, read_audio
from speech_kit.features import HOP_LENGTH, N_FFT, N_FREQ, stft_magnitude  # noqa: F401 - N_FREQ: the seed's loader API
from speech_kit.findings import Report
from speech_kit.layout import DatasetError, data_list_path, key_of, read_pairs
from speech_kit.validate import check_dataset
from label_loader import Vocab



def get_spectrogram_feature(filepath: str) -> torch.Tensor:
    """The seed's feature: STFT magnitude, Hamming window, no centring; shape ``(frames, 257)``."""
    return stft_magnitude(torch.from_numpy(read_audio(filepath)))


def load_targets(path: str, vocab: Vocab | None = None) -> dict[str, list[int]]:
    """``train_label`` (``<key>,<ids>``) -> {key: ids}; ids are checked against ``vocab`` when given."""
    targets: dict[str, list[int]] = {}
    for pair in read_pairs(path, "<key>,<label ids separated by spaces>"):
        try:
            ids = [int(t) for t in pair.second.split()]
        except ValueError:
            raise DatasetError(f"{path}:{pair.lineno}: label ids must be integers, got {pair.second!r}") from None
        if not ids:
            raise DatasetError(f"{path}:{pair.lineno}: key {pair.first!r} has no label ids")
        if vocab is not None:
            bad = [i for i in ids if not 0 <= i < len(vocab)]
            if bad:
                raise DatasetError(f"{path}:{pair.lineno}: label id {bad[0]} is outside the label table "
                                   f"{vocab.source} (ids 0..{len(vocab) - 1})")
        if pair.first in targets:
            raise DatasetError(f"{path}:{pair.lineno}: key {pair.first!r} appears twice")
        targets[pair.first] = ids
    return targets


def get_script(filepath: str, targets: dict[str, list[int]], bos_id: int, eos_id: int) -> list[int]:
    """``<s>`` + the ids of the script file's key + ``</s>``, as the seed's ``get_script``."""
    return [bos_id, *targets[key_of(filepath)], eos_id]


@dataclass
class TrainList:
    """The validated contents of ``train/``: parallel lists of wav and script paths, and the targets; ``extra``
    holds one class id per utterance for tasks with a second target (e.g. speaker gender)."""

    wav_paths: list[str]
    script_paths: list[str]
    targets: dict[str, list[int]]
    extra: list[int] | None = None


def read_train_list(dataset_path: str, vocab: Vocab, report: Report | None = None) -> TrainList:
    """Read and check ``data_list.csv`` and ``train_label`` before any training starts.

    The check is the one validation pass, ``speech_kit.validate.check_dataset``: every listed wav must be a
    regular, readable, whole file of finite samples, long enough; every script key must have a label line whose ids
    fit ``vocab``. Without ``report`` the first problem is raised as ``DatasetError`` naming file and line; with the
    ``report`` of a check the caller made (``main.py --on_bad_sample skip``), its usable entries are returned.
    Audio that is not 16 kHz 16-bit mono is announced once here, then converted as it is read.
    """
    if report is None:
        report = check_dataset(dataset_path, vocab, splits=("train",))
        first = report.first_error()
        if first is not None:
            more = len(report.errors) - 1
            raise DatasetError(f"{first}" + (f" (and {more} more problem{'s' * (more > 1)}: 'nsml dataset check' "
                                             f"lists them)" if more else ""))
    usable = report.usable()
    if not usable:
        raise DatasetError(f"{data_list_path(dataset_path)}: no usable utterances listed")
    summary = conversion_summary([entry.audio for entry in usable if entry.audio is not None])
    if summary:
        warnings.warn(f"{dataset_path}: {summary}", stacklevel=2)
    return TrainList([entry.wav for entry in usable], [entry.script for entry in usable], report.targets)


class BaseDataset(Dataset):
    """Utterances as (feature ``(T, F)``, ``<s>`` ids ``</s>``) pairs, read on demand.

    ``featurize`` turns a wav path into features (default: the seed's spectrogram); ``augment`` (training only)
    transforms those features; ``extra`` holds one class id per utterance (e.g. speaker gender) for objectives
    with a second target. ``getitem`` returns ``(feat, script)`` or ``(feat, script, extra)``.
    """

    def __init__(self, wav_paths: Sequence[str], script_paths: Sequence[str], targets: dict[str, list[int]],
                 bos_id: int, eos_id: int, featurize: Callable[[str], torch.Tensor] = get_spectrogram_feature,
                 augment: Callable[[torch.Tensor], torch.Tensor] | None = None, extra: Sequence[int] | None = None):
        self.wav_paths = list(wav_paths)
        self.script_paths = list(script_paths)
        self.targets = targets
        self.bos_id, self.eos_id = bos_id, eos_id
        self.featurize = featurize
        self.augment = augment
        self.extra = list(extra) if extra is not None else None

    def __len__(self) -> int:
        return len(self.wav_paths)

    def count(self) -> int:
        return len(self.wav_paths)

    def getitem(self, idx: int) -> tuple:
        feat = self.featurize(self.wav_paths[idx])
        if self.augment is not None:
            feat = self.augment(feat)
        script = get_script(self.script_paths[idx], self.targets, self.bos_id, self.eos_id)
        if self.extra is None:
            return feat, script
        return feat, script, self.extra[idx]

    __getitem__ = getitem


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


def _collate_fn(batch: Sequence[tuple], pad_id: int) -> Batch:
    """Zero-pad features (in their dtype: float32, or bfloat16 from a bfloat16 feature cache) and pad targets with
    ``pad_id``.

    The rows are copied by numpy, in this thread: torch splits a copy of one utterance's features between its
    compute threads, and waking them costs more than the copy (a batch of 32 bfloat16 rows took 3.9 ms so with two
    passively waiting threads, 1.4 ms here; ``docs/performance.md``).
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
                self._put(_collate_fn([self.dataset.getitem(i) for i in indices], self.pad_id))
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


def feature_frames(paths: Sequence[str]) -> list[int]:
    """Spectrogram frames of each file from its header alone: one frame per 10 ms hop after the first window."""
    frames = []
    for path in paths:
        info = probe(path)
        samples = info.frames * SAMPLE_RATE // info.rate
        frames.append(max(1, 1 + (samples - N_FFT) // HOP_LENGTH))
    return frames


@dataclass
class DataSplit:
    """Training utterances dealt to loader workers, and the validation utterances.

    ``train`` and ``valid`` hold the whole lists; ``shards[w]`` are the training indices of worker ``w`` on this
    process; ``batch_count`` is the number of training batches this process runs per epoch.
    """

    train: BaseDataset
    shards: list[list[int]]
    valid: BaseDataset
    batch_count: int


def split_dataset(train_list: TrainList, vocab: Vocab, batch_size: int, workers: int, valid_ratio: float = 0.05,
                  rank: int = 0, world_size: int = 1, seed: int = 1,
                  featurize: Callable[[str], torch.Tensor] = get_spectrogram_feature,
                  augment: Callable[[torch.Tensor], torch.Tensor] | None = None) -> DataSplit:
    """Split into a validation set and per-worker training shards of whole batches.

    As in the seed, the last ``valid_ratio`` of the (seeded) shuffled list validates. Under DDP each rank takes
    every ``world_size``-th batch and all ranks keep the same number of batches (a rank with fewer would leave the
    others waiting in an all-reduce). ``augment`` applies to the training utterances only.
    """
    order = list(range(len(train_list.wav_paths)))
    random.Random(seed).shuffle(order)
    valid_count = max(1, int(round(len(order) * valid_ratio))) if len(order) > 1 else 0
    train_idx, valid_idx = order[: len(order) - valid_count], order[len(order) - valid_count:]
    batches = [train_idx[i: i + batch_size] for i in range(0, len(train_idx), batch_size)]
    per_rank = len(batches) // world_size
    if per_rank == 0:
        raise DatasetError(f"{len(train_idx)} training utterances make {len(batches)} batches of {batch_size}, "
                           f"fewer than the {world_size} processes: lower --batch_size")
    mine = batches[rank: per_rank * world_size: world_size]
    workers = max(1, min(workers, len(mine)))
    shards: list[list[int]] = [[] for _ in range(workers)]
    for i, batch in enumerate(mine):
        shards[i % workers].extend(batch)

    def subset(indices: list[int], augment: Callable | None) -> BaseDataset:
        extra = [train_list.extra[i] for i in indices] if train_list.extra is not None else None
        return BaseDataset([train_list.wav_paths[i] for i in indices],
                           [train_list.script_paths[i] for i in indices],
                           train_list.targets, vocab.sos_id, vocab.eos_id, featurize, augment, extra)

    position = {utterance: pos for pos, utterance in enumerate(train_idx)}
    return DataSplit(subset(train_idx, augment), [[position[i] for i in shard] for shard in shards],
                     subset(valid_idx, None), len(mine))
