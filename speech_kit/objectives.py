"""Objectives: what a training step minimises and what it measures, as one object the trainer calls.

An objective runs the model on a ``Batch`` and returns the scalar loss to back-propagate plus additive sums
(``Tally``) from which ``summarize`` derives the reported metrics. Sums, not averages, are kept so that batches,
report windows, epochs and processes combine exactly. A CTC, joint CTC-attention or gender-head objective is
another class with the same two methods; the trainer does not change.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Protocol

import torch
from torch import nn

from evaluation.metrics import char_distance
from label_loader import Vocab
from loader import Batch

Tally = Counter  # name -> additive figure (loss sum, tokens, edit distance, reference length, utterances)


@dataclass
class StepResult:
    loss: torch.Tensor  # the scalar to back-propagate
    tally: Tally


class Objective(Protocol):
    """``primary`` names the summarized metric that selects the best checkpoint (lower is better); ``pad_id``
    is the id that pads target sequences in a batch."""

    primary: str
    pad_id: int

    def __call__(self, model: nn.Module, batch: Batch, teacher_forcing_ratio: float) -> StepResult: ...

    def summarize(self, tally: Tally) -> dict[str, float]: ...


def character_errors(vocab: Vocab, hypotheses: list[list[int]], references: list[list[int]]) -> Tally:
    """Edit distance and reference length summed over a batch, on decoded text as the leaderboard scores it."""
    tally = Tally()
    for hyp_ids, ref_ids in zip(hypotheses, references):
        distance, length = char_distance(vocab.decode(ref_ids), vocab.decode(hyp_ids))
        tally["distance"] += distance
        tally["length"] += length
    return tally


class CrossEntropyObjective:
    """The seed's objective: cross-entropy of the attention decoder per target token (padding ignored).

    The loss is summed over tokens and divided by their number (not by input frames, as the seed's was); the CER
    is that of the step's argmax output against the targets. Logits are cast to float32 before the loss, so the
    loss and its softmax stay in float32 under bf16 autocast.
    """

    primary = "loss"

    def __init__(self, vocab: Vocab):
        self.vocab = vocab
        self.pad_id = vocab.pad_id
        self.criterion = nn.CrossEntropyLoss(reduction="sum", ignore_index=vocab.pad_id)

    def __call__(self, model: nn.Module, batch: Batch, teacher_forcing_ratio: float) -> StepResult:
        target = batch.targets[:, 1:]
        logits = model(batch.feats, batch.feat_lengths, batch.targets, teacher_forcing_ratio).float()
        loss_sum = self.criterion(logits.reshape(-1, logits.size(-1)), target.reshape(-1))
        tokens = int((target != self.vocab.pad_id).sum())
        tally = character_errors(self.vocab, logits.detach().argmax(-1).tolist(), target.tolist())
        tally.update(loss=loss_sum.item(), tokens=tokens, utterances=target.size(0))
        return StepResult(loss_sum / max(tokens, 1), tally)

    def summarize(self, tally: Tally) -> dict[str, float]:
        return {"loss": tally["loss"] / max(tally["tokens"], 1), "cer": tally["distance"] / max(tally["length"], 1)}
