"""Running an ``nn.GRU`` over a padded batch without packing: same results as ``pack_padded_sequence``, less work.

Why: on the CPU, a GRU fed a ``PackedSequence`` projects its input one time step at a time, and the backward pass
of each step's slice of the packed input allocates and zero-fills a gradient as large as the whole input. For the
seed's encoder (4,128 inputs per frame) that costs time quadratic in the utterance length, most of a training
step at the seed's settings (``docs/performance.md``). Fed a padded tensor, the same GRU projects every frame
in one matrix product and its backward pass is linear in the length.

Padding changes nothing: a unidirectional layer's output at a frame depends only on the frames before it, so the
outputs inside each utterance are those of packing, and each layer's final state is read at the utterance's last
frame (layers run one at a time for that). A backward direction runs over each utterance reversed within its own
length, so it too starts at the utterance's end, never in the padding. Outputs past an utterance's end are zero,
as ``pad_packed_sequence`` leaves them.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def reverse_within_lengths(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """``x (B, T, ...)`` with the first ``lengths[b]`` frames of row ``b`` reversed; the padding stays in place.

    The permutation is its own inverse, so applying it twice gives ``x`` back.
    """
    steps = torch.arange(x.size(1), device=x.device)[None, :]
    last = (lengths.to(x.device) - 1)[:, None]
    index = torch.where(steps <= last, last - steps, steps)  # (B, T)
    return x.gather(1, index.view(*index.shape, *([1] * (x.dim() - 2))).expand_as(x))


def _layer_weights(rnn: nn.GRU, layer: int, reverse: bool) -> list[torch.Tensor]:
    suffix = f"l{layer}" + ("_reverse" if reverse else "")
    names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if rnn.bias else [])
    return [getattr(rnn, f"{name}_{suffix}") for name in names]


def _one_direction(rnn: nn.GRU, x: torch.Tensor, layer: int, reverse: bool) -> torch.Tensor:
    """One layer, one direction, over ``x (B, T, I)`` from a zero state -> outputs ``(B, T, H)``.

    ``torch._VF.gru`` is the very call ``nn.GRU.forward`` makes, here with the weights of one layer.
    """
    h0 = torch.zeros(1, x.size(0), rnn.hidden_size, dtype=x.dtype, device=x.device)
    outputs, _ = torch._VF.gru(x, h0, _layer_weights(rnn, layer, reverse), rnn.bias, 1, 0.0, rnn.training,
                               False, True)
    return outputs


def run_gru(rnn: nn.GRU, x: torch.Tensor, lengths: torch.Tensor | None = None
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """Padded ``x (B, T, I)`` (``batch_first``) and valid ``lengths (B,)`` -> ``outputs (B, T, H·dirs)`` and
    ``hidden (layers·dirs, B, H)``, equal to running ``rnn`` on the packed batch and unpacking to ``T`` frames.

    ``lengths=None`` means no padding. Dropout between layers is applied in training mode as ``nn.GRU`` does.
    """
    if not rnn.batch_first:
        raise ValueError("run_gru expects a batch_first GRU")
    batch, frames = x.shape[:2]
    if lengths is None:
        lengths = torch.full((batch,), frames, dtype=torch.long)
    lengths = lengths.to(x.device).clamp(max=frames)
    if bool((lengths == frames).all()):
        return rnn(x)  # nothing padded: the stacked call is the same computation
    last = (lengths - 1).view(batch, 1, 1)
    valid = (torch.arange(frames, device=x.device)[None, :] < lengths[:, None]).unsqueeze(-1)  # (B, T, 1)
    finals: list[torch.Tensor] = []
    layer_input = x
    for layer in range(rnn.num_layers):
        if layer > 0 and rnn.dropout > 0:
            layer_input = F.dropout(layer_input, rnn.dropout, rnn.training)
        directions = [_one_direction(rnn, layer_input, layer, reverse=False)]
        if rnn.bidirectional:
            backward = _one_direction(rnn, reverse_within_lengths(layer_input, lengths), layer, reverse=True)
            directions.append(reverse_within_lengths(backward, lengths))
        for index, out in enumerate(directions):
            # forward direction ends at the last valid frame; the backward one at frame 0
            at = last if index == 0 else torch.zeros_like(last)
            finals.append(out.gather(1, at.expand(batch, 1, out.size(2))).squeeze(1))
        layer_input = torch.cat(directions, dim=2) if rnn.bidirectional else directions[0]
    outputs = layer_input * valid.to(layer_input.dtype)
    return outputs, torch.stack(finals)
