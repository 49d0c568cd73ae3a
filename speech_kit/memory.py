"""How long a training utterance may be before one batch of such utterances no longer fits in memory.

Training memory grows with the padded length of a batch: every utterance is padded to the longest, and the
convolutions, GRUs and their gradients keep activations for each frame. One ten-minute file in a batch of 8 took a
run from 0.63 GB to past 14 GB. ``--max_duration`` caps the length (longer files are reported by the dataset
check and fail the run or are skipped); its default is derived from the device's memory and the batch size.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from speech_kit.audio import SAMPLE_RATE
from speech_kit.features import HOP_LENGTH, N_FFT

# Measured: peak memory of one training step of the seed's model (STFT features, --hidden_size 512,
# --layer_size 3, --use_attention) grows by about 8 MiB per second of padded audio in the batch (10 s -> 30 s -> 60 s
# of one utterance: +161 MiB, +238 MiB; 1 -> 4 utterances of 10 s: +213 MiB). Smaller features and models cost
# less, so the limit is conservative for them.
TRAIN_BYTES_PER_SECOND = 8 << 20
BUDGET_FRACTION = 0.5  # of the device's memory, for activations; the rest: weights, optimizer, loader, system
_CGROUP_LIMITS = (Path("/sys/fs/cgroup/memory.max"), Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"))


def physical_memory() -> int:
    """Bytes of memory this process may use: the machine's, or its container's limit when that is lower.

    The machine's total rather than what is free at this moment, so the default limit (and with it which files a
    run skips) is the same on every start on the same machine.
    """
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for limit_file in _CGROUP_LIMITS:
        try:
            text = limit_file.read_text().strip()
        except OSError:
            continue
        if text.isdigit():
            total = min(total, int(text))
    return total


def default_max_duration(memory: int, batch_utterances: int, batch_frames: int = 0) -> float:
    """Whole seconds such that ``batch_utterances`` padded utterances of that length fit in ``BUDGET_FRACTION``
    of ``memory``; with length-bucketed batches (``batch_frames``) one utterance must also fit a batch."""
    seconds = float(int(memory * BUDGET_FRACTION / (TRAIN_BYTES_PER_SECOND * max(1, batch_utterances))))
    if batch_frames:
        seconds = min(seconds, frames_to_seconds(batch_frames))
    return max(1.0, seconds)


def frames_to_seconds(frames: int) -> float:
    """The duration whose spectrogram has ``frames`` frames (the inverse of ``loader.feature_frames``)."""
    return ((frames - 1) * HOP_LENGTH + N_FFT) / SAMPLE_RATE


def device_memory(device: torch.device) -> int:
    """Bytes of memory the activations of training live in: the GPU's own on CUDA, else the machine's."""
    if device.type == "cuda":
        return int(torch.cuda.get_device_properties(device).total_memory)
    return physical_memory()
