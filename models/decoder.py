"""DecoderRNN: a GRU language model over characters, attending to the encoder, in IBM pytorch-seq2seq's shape."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from models.attention import build_attention


@dataclass(frozen=True)
class DecoderState:
    """What the decoder carries from one step to the next: the GRU's ``hidden (layers, B, H)`` and, for
    location-aware attention, the last step's attention weights ``(B, T)`` (None before the first step or with
    dot attention)."""

    hidden: torch.Tensor
    attention: torch.Tensor | None = None

    def select(self, rows: torch.Tensor) -> DecoderState:
        """The states of batch rows ``rows`` (beam search keeps the best hypotheses' states)."""
        return DecoderState(self.hidden[:, rows], None if self.attention is None else self.attention[rows])


class DecoderRNN(nn.Module):
    """A GRU over the previous characters that attends to the encoder; predicts logits ``(B, L, V)``.

    ``forward`` is the training pass: with teacher forcing the whole target prefix is fed at once (one GRU call);
    without it the decoder feeds back its own argmax for as many steps as the targets have, so a loss can be
    computed. ``forward_step`` is the step API that decoding strategies (``models.decoding``) drive.
    """

    def __init__(self, vocab_size: int, hidden_size: int, sos_id: int, eos_id: int, n_layers: int = 1,
                 input_dropout_p: float = 0.0, dropout_p: float = 0.0, use_attention: bool = False,
                 attention: str = "dot"):
        super().__init__()
        self.input_dropout = nn.Dropout(p=input_dropout_p)
        self.rnn = nn.GRU(hidden_size, hidden_size, n_layers, batch_first=True,
                          dropout=dropout_p if n_layers > 1 else 0.0)
        self.embedding = nn.Embedding(vocab_size, hidden_size)
        self.attention = build_attention(attention, hidden_size) if use_attention else None
        self.out = nn.Linear(hidden_size, vocab_size)
        self.sos_id, self.eos_id = sos_id, eos_id
        self.hidden_size = hidden_size

    def forward_step(self, input_var: torch.Tensor, state: DecoderState, encoder_outputs: torch.Tensor,
                     encoder_mask: torch.Tensor | None) -> tuple[torch.Tensor, DecoderState]:
        """``input_var (B, L)`` ids and the state after the previous step -> logits ``(B, L, V)`` and the state
        after the last of these ``L`` steps. ``DecoderState(encoder_hidden)`` is the state before the first."""
        embedded = self.input_dropout(self.embedding(input_var))
        output, hidden = self.rnn(embedded, state.hidden)
        attention = None
        if self.attention is not None:
            output, weights = self.attention(output, encoder_outputs, encoder_mask, state.attention)
            attention = weights[:, -1]
        return self.out(output), DecoderState(hidden, attention)

    def forward(self, inputs: torch.Tensor, encoder_hidden: torch.Tensor, encoder_outputs: torch.Tensor,
                encoder_mask: torch.Tensor | None = None, teacher_forcing: bool = False) -> torch.Tensor:
        """``inputs (B, L+1)``: ``<s>`` + targets (+ padding) -> logits ``(B, L, V)``."""
        state = DecoderState(encoder_hidden)
        if teacher_forcing:
            logits, _ = self.forward_step(inputs[:, :-1], state, encoder_outputs, encoder_mask)
            return logits
        token, outputs = inputs[:, :1], []
        context = encoder_outputs.float()  # the attention reads it in float32: cast once, not at every step
        for _ in range(inputs.size(1) - 1):
            logits, state = self.forward_step(token, state, context, encoder_mask)
            outputs.append(logits)
            token = logits.argmax(-1)
        return torch.cat(outputs, dim=1)
