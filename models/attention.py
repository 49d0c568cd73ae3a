"""The decoder's attention over the encoder: the seed's dot product (IBM pytorch-seq2seq's ``Attention``) and a
location-aware one (Chorowski et al., 2015) that also sees where it looked at the previous step.

Both take the decoder GRU's outputs ``(B, L, H)``, the encoder's ``(B, T, H)``, its mask and the previous step's
weights ``(B, T)`` (None at the start), and return ``tanh(linear_out([mix; output]))`` ``(B, L, H)`` with the
weights ``(B, L, T)``. Both compute in float32 even under bf16 autocast: rounding ``mix`` to bfloat16 keeps an
attention Seq2seq from learning (``speech_kit.precision``).
"""

from __future__ import annotations

import torch
from torch import nn

from speech_kit.precision import full_precision


KINDS = ("dot", "location")


class Attention(nn.Module):
    """Dot product: ``attn = softmax(output · contextᵀ)`` over the unmasked frames, all steps at once (it does not
    depend on the previous step's weights)."""

    def __init__(self, dim: int):
        super().__init__()
        self.linear_out = nn.Linear(dim * 2, dim)

    def forward(self, output: torch.Tensor, context: torch.Tensor, mask: torch.Tensor | None = None,
                previous: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        with full_precision(output.device):
            output, context = output.float(), context.float()
            attn = torch.softmax(_masked(torch.bmm(output, context.transpose(1, 2)), mask), dim=-1)
            return self._combine(attn, output, context), attn

    def _combine(self, attn: torch.Tensor, output: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        mix = torch.bmm(attn, context)
        return torch.tanh(self.linear_out(torch.cat((mix, output), dim=2)))


class LocationAttention(Attention):
    """Location-aware: ``e_j = wᵀ tanh(W·output + V·context_j + U·(F * previous)_j)``, where ``F`` convolves the
    previous step's weights, so the attention can learn to move forward monotonically instead of finding its
    place anew at every step. Steps run one after another inside (each needs the last one's weights); at the
    start, ``previous`` is uniform over the utterance's frames."""

    def __init__(self, dim: int, attention_dim: int = 128, channels: int = 10, kernel: int = 15):
        super().__init__(dim)
        self.query = nn.Linear(dim, attention_dim, bias=False)
        self.key = nn.Linear(dim, attention_dim)
        self.location_conv = nn.Conv1d(1, channels, kernel, padding=kernel // 2, bias=False)
        self.location = nn.Linear(channels, attention_dim, bias=False)
        self.energy = nn.Linear(attention_dim, 1, bias=False)

    def forward(self, output: torch.Tensor, context: torch.Tensor, mask: torch.Tensor | None = None,
                previous: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        with full_precision(output.device):
            output, context = output.float(), context.float()
            if mask is None:
                mask = torch.ones(context.shape[:2], dtype=torch.bool, device=context.device)
            previous = (mask.float() / mask.sum(1, keepdim=True).clamp(min=1)) if previous is None else previous.float()
            keys, queries = self.key(context), self.query(output)  # (B, T, A), (B, L, A)
            steps = []
            for step in range(output.size(1)):
                where = self.location(self.location_conv(previous.unsqueeze(1)).transpose(1, 2))
                energy = self.energy(torch.tanh(queries[:, step: step + 1] + keys + where)).squeeze(2)  # (B, T)
                previous = torch.softmax(_masked(energy, mask), dim=-1)
                steps.append(previous)
            attn = torch.stack(steps, dim=1)
            return self._combine(attn, output, context), attn


def _masked(scores: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """``scores (B, [L,] T)`` with -inf on padded frames (``mask (B, T)``, True on real frames)."""
    if mask is None:
        return scores
    return scores.masked_fill(~(mask.unsqueeze(1) if scores.dim() == 3 else mask), float("-inf"))


def build_attention(kind: str, dim: int) -> Attention:
    if kind not in KINDS:
        raise ValueError(f"attention must be one of {', '.join(KINDS)}, got {kind!r}")
    return LocationAttention(dim) if kind == "location" else Attention(dim)
