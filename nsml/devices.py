"""What ``-g N`` will really get on this machine, said before the run starts.

On the 2019 platform ``-g 1`` meant a GPU. Here the run uses whatever this machine has; on a machine without CUDA
the baseline quietly trains on the CPU, many times slower, and a user waiting for a GPU speed deserves to know at
once. torch is imported only when GPUs were asked for, so ``nsml run`` without ``-g`` stays fast.
"""

from __future__ import annotations

import importlib.util


def gpu_notice(gpus: int, nproc: int) -> str | None:
    """One line when ``gpus`` cannot be honoured as asked; None when they can (or none were asked for)."""
    if gpus < 1:
        return None
    processes = f" in {nproc} processes" if nproc > 1 else ""
    if importlib.util.find_spec("torch") is None:
        return f"-g {gpus}: torch is not installed for this python, so CUDA cannot be checked; entries that " \
               f"fall back to the CPU will train there{processes}"
    import torch

    if not torch.cuda.is_available():
        return (f"-g {gpus}: this machine has no usable CUDA device (torch.cuda.is_available() is False), so the "
                f"session trains on the CPU{processes}; NSML_GPU_NUM is still {gpus}")
    available = torch.cuda.device_count()
    if available < gpus:
        return f"-g {gpus}: this machine has only {available} CUDA device(s); the processes will share them"
    return None
