"""PyTorch's own distributed engine for ``main.py``: one process per GPU (or per CPU slot) under torchrun.

torchrun sets ``RANK``, ``LOCAL_RANK`` and ``WORLD_SIZE``; a plain ``python main.py`` has none and runs alone.
gloo on CPU, nccl on GPU. Only rank 0 validates, saves and reports (``nsml`` itself also ignores other ranks).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

PROCESS_GROUP_TIMEOUT = timedelta(hours=3)


@dataclass(frozen=True)
class DistributedContext:
    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def setup_distributed(use_cuda: bool) -> DistributedContext:
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if use_cuda:
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    else:
        device = torch.device("cpu")
    if world_size > 1 and not dist.is_initialized():
        # Rank 0 validates and saves alone while the others wait in the next epoch's first collective; on a CPU a
        # full validation pass can outlast the default 30 min timeout.
        dist.init_process_group(backend="nccl" if use_cuda else "gloo", timeout=PROCESS_GROUP_TIMEOUT)
    return DistributedContext(rank, world_size, local_rank, device)


def wrap_model(model: torch.nn.Module, ctx: DistributedContext) -> torch.nn.Module:
    """DDP around ``model`` when running distributed; the bare model otherwise (no ``.module`` leaking)."""
    if not ctx.enabled:
        return model
    return DistributedDataParallel(model, device_ids=[ctx.local_rank] if ctx.device.type == "cuda" else None)


def cleanup(ctx: DistributedContext) -> None:
    if ctx.enabled and dist.is_initialized():
        dist.destroy_process_group()


def min_across_ranks(value: int, ctx: DistributedContext) -> int:
    """The smallest ``value`` of all ranks (itself when alone): ranks must run the same number of steps, or the
    ones with more would wait forever in an all-reduce."""
    if not ctx.enabled:
        return value
    tensor = torch.tensor([value], device=ctx.device)
    dist.all_reduce(tensor, op=dist.ReduceOp.MIN)
    return int(tensor.item())
