"""Turning features into text with a trained Seq2seq (greedy decoding)."""

from __future__ import annotations

import torch

from label_loader import Vocab
from models.seq2seq import Seq2seq


@torch.no_grad()
def greedy_decode(model: Seq2seq, feats: torch.Tensor, lengths: torch.Tensor | None, vocab: Vocab) -> list[str]:
    """Features ``(B, T, F)`` -> one transcript per utterance, argmax at every step up to ``</s>`` or max_len."""
    was_training = model.training
    model.eval()
    try:
        logits = model(feats, lengths, None, 0.0)
    finally:
        model.train(was_training)
    return [vocab.decode(row) for row in logits.argmax(-1).tolist()]
