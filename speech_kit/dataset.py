"""A dataset in the hackathon layout as training sees it: label lines, the checked train list, utterances as
(feature, ids) pairs, and the split into validation and per-worker training shards.

``loader`` (the seed's module name) re-exports these names.
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch.utils.data import Dataset

from speech_kit.audio import conversion_summary
from speech_kit.features import get_spectrogram_feature
from speech_kit.findings import Report
from speech_kit.layout import DatasetError, data_list_path, key_of, read_pairs
from speech_kit.validate import check_dataset
from speech_kit.vocab import Vocab


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
