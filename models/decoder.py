"""DecoderRNN: a GRU language model over characters, attending to the encoder, in IBM pytorch-seq2seq's shape."""

from __future__ import annotations

import torch
from torch import nn

from models.attention import Attention


class DecoderRNN(nn.Module):
    """A GRU over the previous characters that attends to the encoder; predicts logits ``(B, L, V)``.

    ``forward`` is the training pass: with teacher forcing the whole target prefix is fed at once (one GRU call);
    without it the decoder feeds back its own argmax for as many steps as the targets have, so a loss can be
    computed. ``forward_step`` is the step API that decoding strategies (``models.decoding``) drive.
    """

    def __init__(self, vocab_size: int, hidden_size: int, sos_id: int, eos_id: int, n_layers: int = 1,
                 input_dropout_p: float = 0.0, dropout_p: float = 0.0, use_attention: bool = False):
        super().__init__()
        self.input_dropout = nn.Dropout(p=input_dropout_p)
        self.rnn = nn.GRU(hidden_size, hidden_size, n_layers, batch_first=True,
                          dropout=dropout_p if n_layers > 1 else 0.0)
        self.embedding = nn.Embedding(vocab_size, hidden_size)
        self.attention = Attention(hidden_size) if use_attention else None
        self.out = nn.Linear(hidden_size, vocab_size)
        self.sos_id, self.eos_id = sos_id, eos_id
        self.hidden_size = hidden_size

    def forward_step(self, input_var: torch.Tensor, hidden: torch.Tensor, encoder_outputs: torch.Tensor,
                     encoder_mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """``input_var (B, L)`` ids, ``hidden (layers, B, H)`` -> logits ``(B, L, V)`` and the new hidden state."""
        embedded = self.input_dropout(self.embedding(input_var))
        output, hidden = self.rnn(embedded, hidden)
        if self.attention is not None:
            output, _ = self.attention(output, encoder_outputs, encoder_mask)
        return self.out(output), hidden

    def forward(self, inputs: torch.Tensor, encoder_hidden: torch.Tensor, encoder_outputs: torch.Tensor,
                encoder_mask: torch.Tensor | None = None, teacher_forcing: bool = False) -> torch.Tensor:
        """``inputs (B, L+1)``: ``<s>`` + targets (+ padding) -> logits ``(B, L, V)``."""
        if teacher_forcing:
            logits, _ = self.forward_step(inputs[:, :-1], encoder_hidden, encoder_outputs, encoder_mask)
            return logits
        hidden, token, outputs = encoder_hidden, inputs[:, :1], []
        for _ in range(inputs.size(1) - 1):
            logits, hidden = self.forward_step(token, hidden, encoder_outputs, encoder_mask)
            outputs.append(logits)
            token = logits.argmax(-1)
        return torch.cat(outputs, dim=1)
