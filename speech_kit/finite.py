"""Catching NaN and infinity in training before they spread: in a step's loss and gradients, and in a model about to
be saved.

One NaN sample in a float wav makes its batch's loss NaN; one optimizer step on that loss makes every weight NaN,
and from then on every checkpoint is NaN, is saved, can be submitted, and transcribes everything as nothing. The
errors here name what was non-finite (the batch's files, the tensors) so the cause can be found.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import nn


class NonFiniteLoss(RuntimeError):
    """A training step whose loss or gradients are NaN or infinite; the message names the batch's files."""


class NonFiniteModel(RuntimeError):
    """Weights or optimizer state that are NaN or infinite: such a model is never saved as a checkpoint."""


def is_finite(value: torch.Tensor) -> bool:
    return bool(torch.isfinite(value).all())


def describe_batch(where: str, index: int, total: int, files: Sequence[str], shown: int = 8) -> str:
    """``epoch 3 batch 5/40 (a.wav, b.wav, ...)``: enough to find the file that broke a step."""
    names = ", ".join(files[:shown]) + (f", ... ({len(files)} files)" if len(files) > shown else "")
    return f"{where} batch {index}/{total} ({names or 'files unknown'})"


def snapshot_buffers(model: nn.Module) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Copies of the model's floating-point buffers (batch-norm running statistics).

    A training forward pass updates them before any loss exists: one NaN batch leaves NaN running statistics
    even when its step is skipped, and every later evaluation is NaN. They are small (a few KB for the seed's model),
    so each step keeps a copy to restore.
    """
    return [(buffer, buffer.detach().clone()) for buffer in model.buffers() if buffer.is_floating_point()]


def restore_buffers(snapshot: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
    with torch.no_grad():
        for buffer, saved in snapshot:
            buffer.copy_(saved)


def non_finite_tensors(named: Iterable[tuple[str, torch.Tensor]]) -> list[str]:
    """Names of the floating-point tensors holding a NaN or an infinity."""
    return [name for name, tensor in named
            if isinstance(tensor, torch.Tensor) and tensor.is_floating_point() and not is_finite(tensor)]


def _optimizer_tensors(optimizer: torch.optim.Optimizer) -> Iterable[tuple[str, torch.Tensor]]:
    for index, state in enumerate(optimizer.state.values()):
        for key, value in state.items():
            yield f"optimizer state {index}.{key}", value


def check_finite_model(model: nn.Module, optimizer: torch.optim.Optimizer | None = None) -> None:
    """Raise ``NonFiniteModel`` naming the first tensors that are NaN or infinite (weights, buffers, Adam moments)."""
    bad = non_finite_tensors(model.state_dict().items())
    if optimizer is not None:
        bad += non_finite_tensors(_optimizer_tensors(optimizer))
    if bad:
        shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise NonFiniteModel(f"the model holds NaN or infinite values ({shown}); a non-finite model is not saved "
                             f"as a checkpoint")
