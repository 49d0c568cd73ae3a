"""The training loop any entry can call: ``fit()`` runs epochs over the threaded loaders, validates, and hands each
epoch's figures to the caller (who reports and saves, e.g. through NSML).

What a step minimises is an ``Objective`` (``speech_kit.objectives``); how utterances are grouped into batches is a
batch sampler (``loader.FixedSizeBatches``); every forward pass runs in one precision context
(``speech_kit.precision.autocast``). A progress line (batch i/N, loss, ETA) is logged at least every
``progress_seconds``.
"""

from __future__ import annotations

import logging
import math
import queue
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields, replace

import torch
from torch import nn
from tqdm import tqdm

from speech_kit.batching import (BaseDataLoader, Batch, FixedSizeBatches, FrameBudgetBatches, MultiLoader,
                                  iterate_batches)
from speech_kit.dataset import BaseDataset, DataSplit
from speech_kit.distributed import DistributedContext, min_across_ranks, wrap_model
from speech_kit.finite import NonFiniteLoss, describe_batch, is_finite, restore_buffers, snapshot_buffers
from speech_kit.objectives import Objective, Tally
from speech_kit.precision import autocast, choose_module_precisions
from speech_kit.steady_memory import release_free_memory

logger = logging.getLogger("train")


DECAYS = ("none", "cosine")
BAD_SAMPLE_POLICIES = ("fail", "skip")  # what a bad file, or a batch with a non-finite loss, does to a run


@dataclass(frozen=True)
class TrainConfig:
    """Run-time training options (the architecture is ``models.ModelConfig``)."""

    batch_size: int = 32
    workers: int = 4
    max_epochs: int = 10
    lr: float = 1e-4
    teacher_forcing: float = 0.5
    seed: int = 1
    precision: str = "fp32"
    warmup_steps: int = 0  # learning rate rises linearly from 0 over these steps
    decay: str = "none"  # "cosine": then falls to 0 at the last step of max_epochs
    clip_norm: float = 0.0  # > 0: gradients are rescaled to at most this global norm
    max_minutes: float = 0.0  # > 0: no new epoch starts after this much training time (equal-budget comparisons)
    report_every: int = 10  # batches between per-step reports
    progress_seconds: float = 30.0  # longest silence in the log during an epoch
    on_bad_sample: str = "fail"  # a non-finite loss or gradient: "fail" stops the run, "skip" skips the batch
    steady_memory: bool = False  # return freed memory to the system after every step (speech_kit.steady_memory)


def learning_rate(config: TrainConfig, step: int, total_steps: int) -> float:
    """The learning rate at global ``step`` (0-based): warm-up, then constant or cosine decay. A function of the
    step alone, so a resumed run continues the schedule without saved scheduler state."""
    if config.warmup_steps and step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    if config.decay == "cosine" and total_steps > config.warmup_steps:
        progress = min(1.0, (step - config.warmup_steps) / (total_steps - config.warmup_steps))
        return config.lr * 0.5 * (1.0 + math.cos(math.pi * progress))
    return config.lr


@dataclass
class TrainState:
    """Where training stands; travels inside every checkpoint so a fork resumes at the right epoch."""

    epoch: int = 0
    step: int = 0
    best_loss: float = math.inf

    def to_dict(self) -> dict:
        return asdict(self)

    def update(self, values: dict) -> None:
        for f in fields(self):
            if f.name in values:
                setattr(self, f.name, type(getattr(self, f.name))(values[f.name]))


@dataclass(frozen=True)
class EpochReport:
    epoch: int  # 0-based index of the epoch just finished
    train: dict[str, float]
    valid: dict[str, float]
    seconds: float
    is_best: bool
    skipped_batches: int = 0  # batches left out for a non-finite loss or gradient (--on_bad_sample skip)


def to_device(batch: Batch, device: torch.device) -> Batch:
    """Features, targets and extra targets to ``device``; lengths stay on the CPU (packing wants them there)."""
    extra = batch.extra.to(device) if batch.extra is not None else None
    return replace(batch, feats=batch.feats.to(device), targets=batch.targets.to(device), extra=extra)


class _Progress:
    """A log line at least every ``every`` seconds: batch i/N, running loss, ETA for the epoch and, with
    ``epochs_after`` more epochs to come, for the whole run (each taken to last as long as this one)."""

    def __init__(self, description: str, total: int, every: float, enabled: bool, epochs_after: int = 0):
        self.description, self.total, self.every, self.enabled = description, total, every, enabled
        self.epochs_after = epochs_after
        self.started = self.last = time.monotonic()

    def update(self, index: int, loss: float) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self.last < self.every and index != self.total):
            return
        self.last = now
        elapsed = now - self.started
        per_batch = elapsed / index
        eta = per_batch * (self.total - index)
        logger.info("%s: batch %d/%d, loss %.4f, %.0f s elapsed, ETA %.0f s (run %.0f s)", self.description, index,
                    self.total, loss, elapsed, eta, eta + self.epochs_after * per_batch * self.total)


def train_epoch(model: nn.Module, objective: Objective, dataset: BaseDataset, worker_batches: Sequence[list[list[int]]],
                optimizer: torch.optim.Optimizer, config: TrainConfig, device: torch.device,
                on_report: Callable[[int, dict[str, float]], None] | None = None, show_progress: bool = True,
                log_progress: bool = True, description: str = "train",
                schedule: Callable[[int], float] | None = None, epochs_after: int = 0
                ) -> tuple[dict[str, float], Tally]:
    """One pass over ``worker_batches`` (index lists per loader thread); ``on_report(batch_index, metrics)`` every
    ``config.report_every`` batches with the metrics of that window; ``schedule(batch_index)`` gives the learning
    rate of each step (None: leave the optimizer's). Returns the epoch's metrics and sums."""
    model.train()
    order = delivery_order(worker_batches)
    skipped = 0
    workers = len(worker_batches)
    batch_count = sum(len(b) for b in worker_batches)
    batch_queue: queue.Queue = queue.Queue(workers * 2)
    loader = MultiLoader([dataset] * workers, batch_queue, config.batch_size, workers,
                         objective.pad_id, worker_batches)
    loader.start()
    totals, window = Tally(), Tally()
    progress = _Progress(description, batch_count, config.progress_seconds, log_progress, epochs_after)
    with tqdm(total=batch_count, desc=description, unit="batch", disable=not show_progress, leave=False) as bar:
        for index, batch in enumerate(iterate_batches(batch_queue, workers), 1):
            batch = to_device(batch, device)
            buffers = snapshot_buffers(model)
            with autocast(device, config.precision):
                step = objective(model, batch, config.teacher_forcing)
            loss_finite = is_finite(step.loss)
            if not loss_finite and config.on_bad_sample != "skip":
                restore_buffers(buffers)  # the forward pass already fed the batch into batch-norm statistics
                files = [dataset.wav_paths[i] for i in order[index - 1]]
                raise NonFiniteLoss(f"the loss is {step.loss.item()} in "
                                    f"{describe_batch(description, index, batch_count, files)}")
            optimizer.zero_grad(set_to_none=True)
            step.loss.backward()  # also for a skipped batch: under DDP every process must join each all-reduce
            norm = gradient_norm(model, config.clip_norm)
            if not (loss_finite and is_finite(norm)):
                files = [dataset.wav_paths[i] for i in order[index - 1]]
                message = (f"{'the loss' if not loss_finite else 'the gradient norm'} is not finite in "
                           f"{describe_batch(description, index, batch_count, files)}"
                           + ("" if not loss_finite else " (under DDP another process's batch may be the cause)"))
                restore_buffers(buffers)  # after backward, which may still need them
                if config.on_bad_sample != "skip":
                    raise NonFiniteLoss(message)
                optimizer.zero_grad(set_to_none=True)
                skipped += 1
                logger.warning("%s: batch skipped (--on_bad_sample skip)", message)
                bar.update(1)
                continue
            if schedule is not None:
                for group in optimizer.param_groups:
                    group["lr"] = schedule(index - 1)
            optimizer.step()
            totals.update(step.tally)
            window.update(step.tally)
            running = objective.summarize(totals)
            bar.update(1)
            bar.set_postfix(loss=f"{running['loss']:.3f}")
            progress.update(index, running["loss"])
            if on_report is not None and index % config.report_every == 0:
                on_report(index, objective.summarize(window))
                window = Tally()
            if config.steady_memory:
                del batch, step  # this step's tensors go first, so that their memory is returned too
                release_free_memory()
    loader.join()
    totals["skipped_batches"] = skipped
    return objective.summarize(totals), totals


def delivery_order(worker_batches: Sequence[list[list[int]]]) -> list[list[int]]:
    """The batches in the order the loader threads deliver them: they take turns (``loader.RoundRobin``), each
    worker's batches in its own order, a finished worker leaving the turn. So the i-th batch a step receives can
    be named by its files when its loss is not finite."""
    pending = [list(batches) for batches in worker_batches]
    order: list[list[int]] = []
    while any(pending):
        for batches in pending:
            if batches:
                order.append(batches.pop(0))
    return order


def gradient_norm(model: nn.Module, clip_norm: float) -> torch.Tensor:
    """The global gradient norm, clipping it to ``clip_norm`` when that is positive."""
    if clip_norm > 0:
        return torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    return torch.nn.utils.get_total_norm(grads) if grads else torch.zeros(())


@torch.no_grad()
def evaluate(model: nn.Module, objective: Objective, dataset: BaseDataset, config: TrainConfig,
             device: torch.device) -> dict[str, float]:
    """Free-running (no teacher forcing) metrics on ``dataset``, read by one loader thread as in the seed."""
    model.eval()
    batch_queue: queue.Queue = queue.Queue(2)
    loader = BaseDataLoader(dataset, batch_queue, config.batch_size, 0, objective.pad_id)
    loader.start()
    totals = Tally()
    for batch in iterate_batches(batch_queue, 1):
        with autocast(device, config.precision):
            totals.update(objective(model, to_device(batch, device), 0.0).tally)
    loader.join()
    return objective.summarize(totals)


def equal_batch_counts(plans: list[list[list[int]]], ctx: DistributedContext) -> list[list[list[int]]]:
    """Under DDP, drop batches (from the workers with most) until every rank runs the same number."""
    target = min_across_ranks(sum(len(p) for p in plans), ctx)
    while sum(len(p) for p in plans) > target:
        max(plans, key=len).pop()
    return plans


def fit(model: nn.Module, objective: Objective, data: DataSplit, optimizer: torch.optim.Optimizer,
        config: TrainConfig, state: TrainState, ctx: DistributedContext,
        on_epoch: Callable[[EpochReport], None] | None = None,
        on_report: Callable[[int, int, dict[str, float]], None] | None = None,
        sampler: FixedSizeBatches | FrameBudgetBatches | None = None, show_progress: bool = False,
        on_start: Callable[[dict[str, float]], None] | None = None) -> TrainState:
    """Train from ``state.epoch`` to ``config.max_epochs``; rank 0 validates and calls ``on_epoch`` each epoch.

    ``on_report(epoch, step, metrics)`` receives the per-window training metrics (rank 0 only). Under DDP every
    rank trains its own shards of ``data`` and the gradients are averaged by ``DistributedDataParallel``.
    ``on_start(valid_metrics)``, for a run that starts from trained weights (fine-tuning): before the first epoch
    (not on resuming) rank 0 validates those weights, they become the loss to beat, and ``on_start`` records them,
    so a run none of whose epochs does better keeps its starting point as its best.
    """
    sampler = sampler or FixedSizeBatches(config.batch_size)
    if config.precision == "bf16":  # modules that compute faster in float32 here keep float32
        for line in choose_module_precisions(model, ctx.device):
            if ctx.is_main:
                logger.info("precision: %s", line)
    trained = wrap_model(model, ctx)
    rng = random.Random(config.seed + ctx.rank)
    if state.epoch >= config.max_epochs and ctx.is_main:
        logger.warning("nothing to train: the loaded checkpoint has done %d epochs and --max_epochs is %d "
                       "(fork with a larger --max_epochs to continue)", state.epoch, config.max_epochs)
    if on_start is not None and state.epoch == 0 and ctx.is_main:
        start_metrics = evaluate(model, objective, data.valid, config, ctx.device)
        state.best_loss = start_metrics[objective.primary]
        on_start(start_metrics)
    budget_started = time.time()
    for epoch in range(state.epoch, config.max_epochs):
        if config.max_minutes and time.time() - budget_started >= config.max_minutes * 60:
            if ctx.is_main:
                logger.info("time budget of %g min spent after %d epoch(s): stopping", config.max_minutes, epoch)
            break
        plans = equal_batch_counts(sampler.plan(data.shards, rng), ctx)
        step0, started = state.step, time.time()
        total_steps = config.max_epochs * sum(len(p) for p in plans)
        schedule = None
        if config.warmup_steps or config.decay != "none":
            def schedule(index: int, step0: int = step0, total: int = total_steps) -> float:
                return learning_rate(config, step0 + index, total)

        def report(index: int, metrics: dict[str, float], epoch: int = epoch, step0: int = step0) -> None:
            if ctx.is_main and on_report is not None:
                on_report(epoch, step0 + index, metrics)

        train_metrics, train_totals = train_epoch(trained, objective, data.train, plans, optimizer, config,
                                                  ctx.device, report, show_progress=show_progress and ctx.is_main,
                                                  log_progress=ctx.is_main,
                                                  description=f"epoch {epoch + 1}/{config.max_epochs}",
                                                  schedule=schedule, epochs_after=config.max_epochs - epoch - 1)
        seconds = time.time() - started
        state.epoch, state.step = epoch + 1, step0 + sum(len(p) for p in plans)
        if not ctx.is_main:
            continue
        valid_metrics = evaluate(model, objective, data.valid, config, ctx.device)
        is_best = valid_metrics[objective.primary] < state.best_loss
        if is_best:
            state.best_loss = valid_metrics[objective.primary]
        if on_epoch is not None:
            on_epoch(EpochReport(epoch, train_metrics, valid_metrics, seconds, is_best,
                                 int(train_totals["skipped_batches"])))
    return state
