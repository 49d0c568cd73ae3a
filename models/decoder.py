"""DecoderRNN: a GRU language model over characters, attending to the encoder, in IBM pytorch-seq2seq's shape."""

from __future__ import annotations

import torch
from torch import nn

from models.attention import Attention


class DecoderRNN(nn.Module):
    """Predicts character logits ``(B, L, V)``.

    With teacher forcing the whole target prefix is fed at once (one GRU call); without it the decoder feeds back
    its own argmax step by step, ``L`` steps when targets are given (so a loss can be computed) or up to
    ``max_len`` steps, stopping early once every sequence has produced ``</s>``.
    """

    def __init__(self, vocab_size: int, max_len: int, hidden_size: int, sos_id: int, eos_id: int, n_layers: int = 1,
                 input_dropout_p: float = 0.0, dropout_p: float = 0.0, use_attention: bool = False):
        super().__init__()
        self.input_dropout = nn.Dropout(p=input_dropout_p)
        self.rnn = nn.GRU(hidden_size, hidden_size, n_layers, batch_first=True,
                          dropout=dropout_p if n_layers > 1 else 0.0)
        self.embedding = nn.Embedding(vocab_size, hidden_size)
        self.attention = Attention(hidden_size) if use_attention else None
        self.out = nn.Linear(hidden_size, vocab_size)
        self.max_len, self.sos_id, self.eos_id = max_len, sos_id, eos_id
        self.hidden_size = hidden_size

    def forward_step(self, input_var: torch.Tensor, hidden: torch.Tensor, encoder_outputs: torch.Tensor,
                     encoder_mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """``input_var (B, L)`` ids -> logits ``(B, L, V)`` and the new hidden state."""
        embedded = self.input_dropout(self.embedding(input_var))
        output, hidden = self.rnn(embedded, hidden)
        if self.attention is not None:
            output, _ = self.attention(output, encoder_outputs, encoder_mask)
        return self.out(output), hidden

    def forward(self, inputs: torch.Tensor | None, encoder_hidden: torch.Tensor, encoder_outputs: torch.Tensor,
                encoder_mask: torch.Tensor | None = None, teacher_forcing: bool = False) -> torch.Tensor:
        """``inputs (B, L+1)``: ``<s>`` + targets (+ padding); None for free decoding."""
        hidden = encoder_hidden
        if inputs is not None and teacher_forcing:
            logits, _ = self.forward_step(inputs[:, :-1], hidden, encoder_outputs, encoder_mask)
            return logits
        batch = encoder_outputs.size(0)
        steps = inputs.size(1) - 1 if inputs is not None else self.max_len
        token = torch.full((batch, 1), self.sos_id, dtype=torch.long, device=encoder_outputs.device)
        finished = torch.zeros(batch, dtype=torch.bool, device=encoder_outputs.device)
        outputs = []
        for _ in range(steps):
            logits, hidden = self.forward_step(token, hidden, encoder_outputs, encoder_mask)
            outputs.append(logits)
            token = logits.argmax(-1)
            if inputs is None:
                finished |= token.squeeze(1) == self.eos_id
                if bool(finished.all()):
                    break
        return torch.cat(outputs, dim=1)
