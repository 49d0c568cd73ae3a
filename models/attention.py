"""Dot-product attention with an output projection, as IBM pytorch-seq2seq's ``Attention``."""

from __future__ import annotations

import torch
from torch import nn

from speech_kit.precision import full_precision


class Attention(nn.Module):
    """``output (B, L, H)`` attends over ``context (B, T, H)``.

    ``attn = softmax(output · contextᵀ)`` over the unmasked frames, ``mix = attn · context``, and the result is
    ``tanh(linear_out([mix; output]))`` of shape ``(B, L, H)``; the weights ``(B, L, T)`` are returned too.
    It computes in float32 even under bf16 autocast: rounding ``mix`` to bfloat16 keeps an attention Seq2seq
    from learning (``speech_kit.precision``).
    """

    def __init__(self, dim: int):
        super().__init__()
        self.linear_out = nn.Linear(dim * 2, dim)

    def forward(self, output: torch.Tensor, context: torch.Tensor, mask: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        with full_precision(output.device):
            return self._attend(output.float(), context.float(), mask)

    def _attend(self, output: torch.Tensor, context: torch.Tensor, mask: torch.Tensor | None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        scores = torch.bmm(output, context.transpose(1, 2))
        if mask is not None:  # mask: (B, T), True on real frames
            scores = scores.masked_fill(~mask.unsqueeze(1), float("-inf"))
        attn = torch.softmax(scores, dim=-1)
        mix = torch.bmm(attn, context)
        return torch.tanh(self.linear_out(torch.cat((mix, output), dim=2))), attn
