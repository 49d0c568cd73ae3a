"""One precision context for every forward pass (training, evaluation, decoding), as nanoGPT's ``ctx``, and the
one place that says what runs in bfloat16.

``bf16`` is ``torch.autocast`` in bfloat16. On a CPU it moves the convolutions, the linear layers, attention's
matrix products and softmax, and the GRUs (whose internal matrix products it casts, so their gates and hidden
states are bfloat16 too) to bfloat16; checked op by op in ``tests/test_performance.py``. The losses stay float32
(objectives cast logits up first); batch normalisation keeps float32 statistics.

One module must not follow: the attention. On the memorisation test, a model all in bfloat16 never leaves the
language-model plateau, and putting the attention's ``linear_out`` over ``[mix; output]`` back in float32 alone is
enough to learn (the measurement: ``docs/performance.md``, "Precision"). While the attention is still nearly
uniform, what tells one utterance from another is a small variation of ``mix`` that bfloat16's 8-bit
mantissa rounds away. So the attention runs in float32 inside bf16 autocast (``full_precision``, used by
``models.attention.Attention``); it is a small part of the work (``B x L x T'`` and ``2H -> H`` products).

The GRUs stay in bfloat16: on a CPU with AMX their forward and backward passes are faster so
(``python -m benchmarks.train_step --gru``). On a CPU without AVX-512 BF16, bfloat16 is emulated and slower than
float32; the benchmarks print the measured ratio first.

``fp16`` is refused: the seed's spectrogram reaches about 1.25e6, far beyond float16's 65504.
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


def feature_dtype(precision: str) -> torch.dtype:
    """The dtype features may be kept in (the feature cache's entries) for a model computing in ``precision``:
    under bf16 the model's first operation, a convolution, rounds its input to bfloat16 anyway."""
    return torch.bfloat16 if check_precision(precision) == "bf16" else torch.float32


def autocast(device: torch.device | str, precision: str) -> AbstractContextManager:
    """The context every forward pass runs in: bf16 autocast, or nothing for fp32."""
    if check_precision(precision) == "fp32":
        return nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16)


def full_precision(device: torch.device | str) -> AbstractContextManager:
    """Autocast off inside: operations run in their inputs' dtype, so a module that casts its inputs to float32
    computes in float32 even under bf16 autocast (the attention does: see the module docstring)."""
    return torch.autocast(device_type=torch.device(device).type, enabled=False)
