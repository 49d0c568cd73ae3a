"""Dot-product attention with an output projection, as IBM pytorch-seq2seq's ``Attention``."""

from __future__ import annotations

import torch
from torch import nn


class Attention(nn.Module):
    """``output (B, L, H)`` attends over ``context (B, T, H)``.

    ``attn = softmax(output · contextᵀ)`` over the unmasked frames, ``mix = attn · context``, and the result is
    ``tanh(linear_out([mix; output]))`` of shape ``(B, L, H)``; the weights ``(B, L, T)`` are returned too.
    """

    def __init__(self, dim: int):
        super().__init__()
        self.linear_out = nn.Linear(dim * 2, dim)

    def forward(self, output: torch.Tensor, context: torch.Tensor, mask: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        scores = torch.bmm(output, context.transpose(1, 2))
        if mask is not None:  # mask: (B, T), True on real frames
            scores = scores.masked_fill(~mask.unsqueeze(1), float("-inf"))
        attn = torch.softmax(scores, dim=-1)
        mix = torch.bmm(attn, context)
        return torch.tanh(self.linear_out(torch.cat((mix, output), dim=2))), attn
