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
from typing import Iterator, Sequence

import torch
from torch.utils.data import Dataset

from speech_kit.audio import SAMPLE_RATE, AudioError, conversion_summary, probe, read_audio
from speech_kit.layout import (DatasetError, data_list_path, key_of, read_pairs, train_data_dir,
                            train_label_path)
from label_loader import Vocab

N_FFT = 512
HOP_LENGTH = int(0.010 * SAMPLE_RATE)  # 10 ms
WIN_LENGTH = int(0.030 * SAMPLE_RATE)  # 30 ms
N_FREQ = N_FFT // 2 + 1  # 257 one-sided bins


def get_spectrogram_feature(filepath: str) -> torch.Tensor:
    """The seed's feature: STFT magnitude, Hamming window, no centring; shape ``(frames, 257)``."""
    signal = torch.from_numpy(read_audio(filepath))
    stft = torch.stft(signal, N_FFT, hop_length=HOP_LENGTH, win_length=WIN_LENGTH,
                      window=torch.hamming_window(WIN_LENGTH), center=False, normalized=False,
                      onesided=True, return_complex=True)
    return stft.abs().transpose(0, 1).contiguous()


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
    """The validated contents of ``train/``: parallel lists of wav and script paths, and the targets."""

    wav_paths: list[str]
    script_paths: list[str]
    targets: dict[str, list[int]]


def read_train_list(dataset_path: str, vocab: Vocab) -> TrainList:
    """Read and check ``data_list.csv`` and ``train_label`` before any training starts.

    Every listed wav must exist, be readable and long enough; every script key must have a label line whose ids
    fit ``vocab``. The first problem found is raised as ``DatasetError``/``AudioError`` naming file and line.
    Audio that is not 16 kHz 16-bit mono is announced once here, then converted as it is read.
    """
    list_path = data_list_path(dataset_path)
    entries = read_pairs(list_path, "<wav-file>,<script-file>")
    if not entries:
        raise DatasetError(f"{list_path}: no utterances listed")
    targets = load_targets(str(train_label_path(dataset_path)), vocab)
    data_dir = train_data_dir(dataset_path)
    wav_paths, script_paths, infos = [], [], []
    for entry in entries:
        if key_of(entry.second) not in targets:
            raise DatasetError(f"{list_path}:{entry.lineno}: key {key_of(entry.second)!r} of {entry.second!r} "
                               f"has no line in {train_label_path(dataset_path)}")
        wav = str(data_dir / entry.first)
        try:
            infos.append(probe(wav))
        except AudioError as err:
            raise DatasetError(f"{list_path}:{entry.lineno}: {err}") from None
        wav_paths.append(wav)
        script_paths.append(str(data_dir / entry.second))
    summary = conversion_summary(infos)
    if summary:
        warnings.warn(f"{dataset_path}: {summary}", stacklevel=2)
    return TrainList(wav_paths, script_paths, targets)


class BaseDataset(Dataset):
    """Utterances as (spectrogram, ``<s>`` ids ``</s>``) pairs, read on demand."""

    def __init__(self, wav_paths: Sequence[str], script_paths: Sequence[str], targets: dict[str, list[int]],
                 bos_id: int, eos_id: int):
        self.wav_paths = list(wav_paths)
        self.script_paths = list(script_paths)
        self.targets = targets
        self.bos_id, self.eos_id = bos_id, eos_id

    def __len__(self) -> int:
        return len(self.wav_paths)

    def count(self) -> int:
        return len(self.wav_paths)

    def getitem(self, idx: int) -> tuple[torch.Tensor, list[int]]:
        feat = get_spectrogram_feature(self.wav_paths[idx])
        script = get_script(self.script_paths[idx], self.targets, self.bos_id, self.eos_id)
        return feat, script

    __getitem__ = getitem

    def shuffle(self, rng: random.Random) -> None:
        pairs = list(zip(self.wav_paths, self.script_paths))
        rng.shuffle(pairs)
        self.wav_paths = [w for w, _ in pairs]
        self.script_paths = [s for _, s in pairs]


Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


def _collate_fn(batch: Sequence[tuple[torch.Tensor, list[int]]], pad_id: int) -> Batch:
    """Zero-pad features and pad targets with ``pad_id``: ``(B, T, F)``, ``(B, L)``, lengths ``(B,)`` each."""
    seq_lengths = torch.tensor([feat.size(0) for feat, _ in batch], dtype=torch.long)
    target_lengths = torch.tensor([len(script) for _, script in batch], dtype=torch.long)
    seqs = torch.zeros(len(batch), int(seq_lengths.max()), batch[0][0].size(1))
    targets = torch.full((len(batch), int(target_lengths.max())), pad_id, dtype=torch.long)
    for i, (feat, script) in enumerate(batch):
        seqs[i, : feat.size(0)] = feat
        targets[i, : len(script)] = torch.tensor(script, dtype=torch.long)
    return seqs, targets, seq_lengths, target_lengths


def create_empty_batch() -> Batch:
    """The end-of-loader sentinel: a batch with zero utterances."""
    empty = torch.zeros(0, dtype=torch.long)
    return torch.zeros(0, 0, 0), torch.zeros(0, 0, dtype=torch.long), empty, empty


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
    """One worker thread: reads its dataset in order, puts padded batches, then one empty batch."""

    def __init__(self, dataset: BaseDataset, queue: "queue.Queue", batch_size: int, thread_id: int, pad_id: int,
                 turns: RoundRobin | None = None):
        super().__init__(daemon=True, name=f"loader-{thread_id}")
        self.dataset = dataset
        self.queue = queue
        self.batch_size = batch_size
        self.thread_id = thread_id
        self.pad_id = pad_id
        self.turns = turns

    def _put(self, item: object, last: bool = False) -> None:
        if self.turns is None:
            self.queue.put(item)
            return
        with self.turns.turn(self.thread_id, last):
            self.queue.put(item)

    def run(self) -> None:
        try:
            for start in range(0, self.dataset.count(), self.batch_size):
                stop = min(start + self.batch_size, self.dataset.count())
                items = [self.dataset.getitem(i) for i in range(start, stop)]
                self._put(_collate_fn(items, self.pad_id))
        except BaseException as err:  # noqa: BLE001 - handed to the consumer, which re-raises it
            self._put(LoaderFailure(err), last=True)
            return
        self._put(create_empty_batch(), last=True)


class MultiLoader:
    """Several ``BaseDataLoader`` threads feeding one queue, taking turns."""

    def __init__(self, dataset_list: Sequence[BaseDataset], queue: "queue.Queue", batch_size: int,
                 worker_size: int, pad_id: int):
        turns = RoundRobin(worker_size)
        self.loader = [BaseDataLoader(dataset_list[i], queue, batch_size, i, pad_id, turns)
                       for i in range(worker_size)]

    def start(self) -> None:
        for loader in self.loader:
            loader.start()

    def join(self) -> None:
        for loader in self.loader:
            loader.join()


def iterate_batches(batch_queue: "queue.Queue", loader_count: int) -> Iterator[Batch]:
    """Yield batches until every loader has sent its empty batch; re-raise a loader's error."""
    remaining = loader_count
    while remaining:
        item = batch_queue.get()
        if isinstance(item, LoaderFailure):
            raise item.error
        if item[0].shape[0] == 0:
            remaining -= 1
            continue
        yield item


def split_dataset(train_list: TrainList, vocab: Vocab, batch_size: int, workers: int, valid_ratio: float = 0.05,
                  rank: int = 0, world_size: int = 1, seed: int = 1) -> tuple[int, list[BaseDataset], BaseDataset]:
    """Split into a validation set and per-worker training shards of whole batches.

    As in the seed, the last ``valid_ratio`` of the (seeded) shuffled list validates. Under DDP each rank takes
    every ``world_size``-th batch and all ranks keep the same number of batches (a rank with fewer would leave the
    others waiting in an all-reduce). Returns ``(train_batch_num, train_datasets, valid_dataset)``.
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

    def subset(indices: list[int]) -> BaseDataset:
        return BaseDataset([train_list.wav_paths[i] for i in indices],
                           [train_list.script_paths[i] for i in indices],
                           train_list.targets, vocab.sos_id, vocab.eos_id)

    return len(mine), [subset(s) for s in shards], subset(valid_idx)
