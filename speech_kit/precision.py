"""One precision context for every forward pass (training, evaluation, decoding), as nanoGPT's ``ctx``.

``bf16`` runs matrix products and convolutions under ``torch.autocast`` in bfloat16 on CPU and GPU; softmax,
log-softmax and the losses stay in float32 (autocast's own policy, and the callers cast logits up). ``fp16`` is
refused: the seed's spectrogram reaches about 1.25e6, far beyond float16's 65504.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

import torch

PRECISIONS = ("fp32", "bf16")


def check_precision(precision: str) -> str:
    if precision == "fp16":
        raise ValueError("precision fp16 is not supported: the seed's features reach ~1.25e6, beyond float16's "
                         "range (65504); use bf16, which has float32's range")
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; choose from {', '.join(PRECISIONS)}")
    return precision


def autocast(device: torch.device | str, precision: str) -> AbstractContextManager:
    """The context every forward pass runs in: bf16 autocast, or nothing for fp32."""
    if check_precision(precision) == "fp32":
        return nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16)
