"""Objectives: what a training step minimises and what it measures, as one object the trainer calls.

An objective runs the model on a ``Batch`` and returns the scalar loss to back-propagate plus additive sums
(``Tally``) from which ``summarize`` derives the reported metrics. Sums, not averages, are kept so that batches,
report windows, epochs and processes combine exactly. A CTC, joint CTC-attention or gender-head objective is
configured by weights of ``SpeechObjective``, or another class with the same two methods; the trainer does not
change.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import torch
from torch import nn

from speech_kit.batching import Batch
from speech_kit.scoring import char_distance
from speech_kit.vocab import Vocab

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


def character_errors(to_text: Callable[[list[int]], str], hypotheses: list[list[int]],
                     references: list[list[int]]) -> Tally:
    """Edit distance and reference length summed over a batch, on decoded text as the leaderboard scores it."""
    tally = Tally()
    for hyp_ids, ref_ids in zip(hypotheses, references):
        distance, length = char_distance(to_text(ref_ids), to_text(hyp_ids))
        tally["distance"] += distance
        tally["length"] += length
    return tally


def ctc_best_path(ctc_logits: torch.Tensor, lengths: torch.Tensor, blank: int) -> list[list[int]]:
    """Greedy CTC labels of a batch: ``(B, T', V)`` logits -> ids per utterance (repeats merged, blanks dropped)."""
    best = ctc_logits.argmax(-1).tolist()
    return [[t for i, t in enumerate(row[:n]) if t != blank and (i == 0 or t != row[i - 1])]
            for row, n in zip(best, lengths.tolist())]


class SpeechObjective:
    """Cross-entropy of the attention decoder, CTC over the encoder, and an utterance class, weighted.

    ``loss = (1 - ctc_weight) * CE + ctc_weight * CTC + class_weight * class CE``. CE and CTC are summed over the
    batch and divided by the number of target tokens (not by input frames, as the seed's was), so the two are on
    one scale; the class CE is averaged per utterance. With the defaults it is the seed's objective: decoder
    cross-entropy only. ``label_smoothing`` spreads that much target mass over the other labels. Logits are cast
    to float32 first, so softmax and losses stay in float32 under bf16 autocast.

    Metrics: ``loss``; ``cer`` of the step's argmax output (the decoder's, or CTC's best path for a CTC-only
    model), on text as the leaderboard scores it (``to_text`` turns ids into text, e.g. composing jamo);
    ``class_error`` when there is a class target.
    """

    primary = "loss"

    def __init__(self, vocab: Vocab, ctc_weight: float = 0.0, label_smoothing: float = 0.0,
                 class_weight: float = 0.0, to_text: Callable[[list[int]], str] | None = None):
        if not 0.0 <= ctc_weight <= 1.0:
            raise ValueError(f"ctc_weight must be within [0, 1], got {ctc_weight}")
        self.vocab = vocab
        self.pad_id = vocab.pad_id
        self.ctc_weight, self.class_weight = ctc_weight, class_weight
        self.to_text = to_text or vocab.decode
        self.criterion = nn.CrossEntropyLoss(reduction="sum", ignore_index=vocab.pad_id,
                                             label_smoothing=label_smoothing)
        self.ctc = nn.CTCLoss(blank=vocab.pad_id, reduction="sum", zero_infinity=True)

    def __call__(self, model: nn.Module, batch: Batch, teacher_forcing_ratio: float) -> StepResult:
        target = batch.targets[:, 1:]
        uses_decoder = self.ctc_weight < 1.0
        out = model(batch.feats, batch.feat_lengths, batch.targets if uses_decoder else None,
                    teacher_forcing_ratio, return_all=True)
        tokens = int((target != self.pad_id).sum())
        tally = Tally(tokens=tokens, utterances=target.size(0))
        loss = torch.zeros((), device=batch.feats.device)
        if uses_decoder:
            logits = out.logits.float()
            ce_sum = self.criterion(logits.reshape(-1, logits.size(-1)), target.reshape(-1))
            tally["ce"] = ce_sum.item()
            loss = ce_sum if self.ctc_weight == 0 else (1 - self.ctc_weight) * ce_sum
            hypotheses = logits.detach().argmax(-1).tolist()
        if self.ctc_weight > 0:
            log_probs = out.ctc_logits.float().log_softmax(-1)
            labels = [row[: n - 2] for row, n in zip(target.tolist(), batch.target_lengths.tolist())]  # no </s>
            flat = torch.tensor([i for row in labels for i in row], dtype=torch.long)
            ctc_sum = self.ctc(log_probs.transpose(0, 1), flat, out.lengths.cpu(),
                               torch.tensor([len(r) for r in labels]))
            tally["ctc"] = ctc_sum.item()
            loss = loss + self.ctc_weight * ctc_sum
            if not uses_decoder:
                hypotheses = ctc_best_path(out.ctc_logits.detach(), out.lengths, self.pad_id)
        loss = loss / max(tokens, 1)
        tally["loss"] = loss.item() * max(tokens, 1)
        if self.class_weight > 0:
            class_loss = nn.functional.cross_entropy(out.class_logits.float(), batch.extra)
            loss = loss + self.class_weight * class_loss
            tally["class_errors"] = int((out.class_logits.argmax(-1) != batch.extra).sum())
        tally.update(character_errors(self.to_text, hypotheses, target.tolist()))
        return StepResult(loss, tally)

    def summarize(self, tally: Tally) -> dict[str, float]:
        metrics = {"loss": tally["loss"] / max(tally["tokens"], 1),
                   "cer": tally["distance"] / max(tally["length"], 1)}
        if self.class_weight > 0:
            metrics["class_error"] = tally["class_errors"] / max(tally["utterances"], 1)
        return metrics
