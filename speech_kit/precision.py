"""One precision context for every forward pass (training, evaluation, decoding), as nanoGPT's ``ctx``.

``bf16`` is ``torch.autocast`` in bfloat16. What it changes on a CPU was checked op by op (a dispatch trace of a
training step, ``docs/performance.md``): the convolutions, the linear layers, attention's matrix products, and
the GRUs, whose internal matrix products autocast casts, so their gates and hidden states are bfloat16 too; so is
attention's softmax (CPU autocast does not lift it to float32). The losses stay float32: objectives cast logits up
first. Batch normalisation keeps float32 statistics.

Why the GRUs stay inside: measured fwd+bwd of the seed's encoder GRU (32 utterances, 183 frames) takes half the
time in bfloat16 as in float32 on a CPU with AMX. Whether a bf16 run learns as a float32 one does is not
settled: one memorisation test of the attention Seq2seq reached CRR 100 in float32 and 0 in bf16
(tests/test_performance.py, xfail), while the shipped CTC model trained in bf16. On a CPU without AVX-512 BF16,
bfloat16 is emulated and slower than float32: ``benchmarks.common`` prints the measured ratio before every benchmark.

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


def autocast(device: torch.device | str, precision: str) -> AbstractContextManager:
    """The context every forward pass runs in: bf16 autocast, or nothing for fp32."""
    if check_precision(precision) == "fp32":
        return nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16)
