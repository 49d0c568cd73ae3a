"""One training epoch and one evaluation pass over the threaded loaders, with loss and CER as the seed logged them."""

from __future__ import annotations

import queue
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import torch
from torch import nn
from tqdm import tqdm

from evaluation.metrics import char_distance
from label_loader import Vocab
from loader import BaseDataLoader, BaseDataset, MultiLoader, iterate_batches


@dataclass
class EpochResult:
    loss: float  # cross-entropy per target token
    cer: float
    utterances: int
    seconds: float


@dataclass
class _Totals:
    """Sums over batches; one batch's figures are measured once and added to every running total."""

    loss: float = 0.0
    tokens: int = 0
    distance: int = 0
    length: int = 0
    utterances: int = 0

    @classmethod
    def of_batch(cls, loss_sum: float, tokens: int, logits: torch.Tensor, targets: torch.Tensor,
                 vocab: Vocab) -> "_Totals":
        """Loss and CER figures of one batch (greedy argmax of ``logits`` against ``targets``)."""
        batch = cls(loss_sum, tokens, utterances=targets.size(0))
        for hyp_ids, ref_ids in zip(logits.argmax(-1).tolist(), targets.tolist()):
            dist, length = char_distance(vocab.decode(ref_ids), vocab.decode(hyp_ids))
            batch.distance += dist
            batch.length += length
        return batch

    def add(self, batch: "_Totals") -> None:
        self.loss += batch.loss
        self.tokens += batch.tokens
        self.distance += batch.distance
        self.length += batch.length
        self.utterances += batch.utterances

    def result(self, started: float) -> EpochResult:
        return EpochResult(self.loss / max(self.tokens, 1), self.distance / max(self.length, 1), self.utterances,
                           time.time() - started)


def _loss(criterion: nn.Module, logits: torch.Tensor, targets: torch.Tensor, pad_id: int) -> tuple[torch.Tensor, int]:
    """Summed cross-entropy and the number of real target tokens (the loss is averaged per token, not per frame)."""
    loss_sum = criterion(logits.reshape(-1, logits.size(-1)), targets.reshape(-1))
    return loss_sum, int((targets != pad_id).sum())


def train_epoch(model: nn.Module, datasets: Sequence[BaseDataset], batch_count: int, vocab: Vocab,
                criterion: nn.Module, optimizer: torch.optim.Optimizer, device: torch.device, batch_size: int,
                teacher_forcing_ratio: float, on_report: Callable[[int, float, float], None], report_every: int = 10,
                show_progress: bool = True, description: str = "train") -> EpochResult:
    """Train on the per-worker ``datasets``; ``on_report(batch_index, loss, cer)`` every ``report_every`` batches."""
    model.train()
    batch_queue: queue.Queue = queue.Queue(len(datasets) * 2)
    loader = MultiLoader(datasets, batch_queue, batch_size, len(datasets), vocab.pad_id)
    loader.start()
    totals, started = _Totals(), time.time()
    window = _Totals()
    with tqdm(total=batch_count, desc=description, unit="batch", disable=not show_progress, leave=False) as bar:
        for index, (feats, scripts, feat_lengths, _) in enumerate(iterate_batches(batch_queue, len(datasets)), 1):
            feats, scripts = feats.to(device), scripts.to(device)
            target = scripts[:, 1:]
            logits = model(feats, feat_lengths, scripts, teacher_forcing_ratio)
            loss_sum, tokens = _loss(criterion, logits, target, vocab.pad_id)
            optimizer.zero_grad(set_to_none=True)
            (loss_sum / max(tokens, 1)).backward()
            optimizer.step()
            batch = _Totals.of_batch(loss_sum.item(), tokens, logits.detach(), target, vocab)
            totals.add(batch)
            window.add(batch)
            bar.update(1)
            bar.set_postfix(loss=f"{totals.loss / max(totals.tokens, 1):.3f}")
            if index % report_every == 0:
                step = window.result(started)
                on_report(index, step.loss, step.cer)
                window = _Totals()
    loader.join()
    return totals.result(started)


@torch.no_grad()
def evaluate(model: nn.Module, dataset: BaseDataset, vocab: Vocab, criterion: nn.Module, device: torch.device,
             batch_size: int) -> EpochResult:
    """Free-running (no teacher forcing) loss and CER on ``dataset``, read by one loader thread as in the seed."""
    model.eval()
    batch_queue: queue.Queue = queue.Queue(2)
    loader = BaseDataLoader(dataset, batch_queue, batch_size, 0, vocab.pad_id)
    loader.start()
    totals, started = _Totals(), time.time()
    for feats, scripts, feat_lengths, _ in iterate_batches(batch_queue, 1):
        feats, scripts = feats.to(device), scripts.to(device)
        target = scripts[:, 1:]
        logits = model(feats, feat_lengths, scripts, 0.0)
        loss_sum, tokens = _loss(criterion, logits, target, vocab.pad_id)
        totals.add(_Totals.of_batch(loss_sum.item(), tokens, logits, target, vocab))
    loader.join()
    return totals.result(started)
