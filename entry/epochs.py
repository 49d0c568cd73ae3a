"""What an entry does with ``fit``'s figures: per-batch metrics, and at the end of every epoch a log line ("epoch
k/N", counted from 1 like the board and the stored ``epoch`` metric), the epoch's summary metrics,
``nsml.save(save_name)`` always and ``nsml.save("best")`` on the lowest evaluation loss; and, when asked, snapshots
named by the run's elapsed time, for accuracy-against-time curves."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import nsml
from speech_kit.train import EpochReport, TrainState


@dataclass(frozen=True)
class Metric:
    """One figure of the objective's metrics: reported as ``train__NAME``/``eval__NAME``, logged as ``LABEL``."""

    name: str
    key: str = ""  # the objective's key (default: the name)
    label: str = ""  # in the log line (default: the name)

    def value(self, metrics: dict[str, float]) -> float:
        return metrics[self.key or self.name]


SPEECH = (Metric("loss"), Metric("cer"))  # what both entries report; the first is the one logged with 'best'
SNAPSHOT_PREFIX = "elapsed_"  # elapsed_00300: the weights 300 s after the run started
UNTRAINED_CER = 0.95  # a final evaluation CER at least this high: the model outputs (almost) nothing right yet


def snapshot_name(seconds: float) -> str:
    """The checkpoint name of a snapshot taken ``seconds`` after the run started (``elapsed_00300``)."""
    return f"{SNAPSHOT_PREFIX}{int(seconds):05d}"


def snapshot_seconds(name: str) -> int | None:
    """The elapsed seconds a snapshot's checkpoint name records; None for any other checkpoint name."""
    digits = name[len(SNAPSHOT_PREFIX):] if name.startswith(SNAPSHOT_PREFIX) else ""
    return int(digits) if digits.isdigit() else None


@dataclass
class Snapshots:
    """Checkpoints that say when they were taken: one every ``minutes`` of the run (checked every few batches) and one
    at the end of every epoch, each named by the seconds since ``started`` (``snapshot_name``). A participant waits
    from the start, so time counts from it, feature extraction and evaluation included;
    ``benchmarks.time_to_accuracy`` scores them afterwards, away from the run's clock."""

    minutes: float
    started: float = field(default_factory=time.time)
    last: float = 0.0  # the elapsed seconds of the latest snapshot

    def due(self) -> bool:
        return time.time() - self.started - self.last >= self.minutes * 60

    def save(self) -> None:
        elapsed = time.time() - self.started
        if self.last and int(elapsed) <= int(self.last):
            # names count whole seconds: a second snapshot within the same second (a fast epoch's end right after a
            # between-batch one) is named for the next second instead of overwriting the first
            elapsed = int(self.last) + 1
        self.last = elapsed
        nsml.save(snapshot_name(self.last))


@dataclass(frozen=True)
class EpochReporter:
    """``end_epoch`` and ``report_batch``, the ``on_epoch`` and ``on_report`` of ``speech_kit.train.fit``.

    ``export``, when given, runs after each new best is saved (e.g. a copy without the optimizer state);
    ``snapshots``, when given, are taken when due between batches and at every epoch end.
    """

    state: TrainState
    save_name: str
    log: logging.Logger
    metrics: Sequence[Metric] = SPEECH
    export: Callable[[], None] | None = None
    log_batches: bool = True
    max_epochs: int = 0  # the run's --max_epochs, shown as "epoch k/N" (0: unknown, "epoch k")
    snapshots: Snapshots | None = None
    last: list[EpochReport] = field(default_factory=list, compare=False)  # the latest epoch's report, once there

    def report_batch(self, epoch: int, step: int, metrics: dict[str, float]) -> None:
        """Every few batches: the seed's per-step metrics."""
        loss, cer = metrics["loss"], metrics["cer"]
        nsml.report(False, step=step, train_step__loss=loss, train_step__cer=cer)
        if self.log_batches:
            self.log.info("epoch %s step %d: loss %.4f cer %.4f", self._epoch(epoch), step, loss, cer)
        if self.snapshots is not None and self.snapshots.due():
            self.snapshots.save()

    def start_from(self, valid: dict[str, float]) -> None:
        """Before fine-tuning's first epoch: report the starting weights' evaluation metrics (as epoch 0) and save
        them as ``best``, which an epoch then replaces only by doing better."""
        self.log.info("epoch 0/%s (the starting weights): eval %s; saved as 'best', which an epoch replaces only by "
                      "a lower eval %s", self.max_epochs or "?", self._line(valid),
                      self.metrics[0].label or self.metrics[0].name)
        nsml.report(True, step=self.state.step, **{f"eval__{m.name}": m.value(valid) for m in self.metrics},
                    epoch=0)
        nsml.save("best")
        if self.export is not None:
            self.export()

    def end_epoch(self, report: EpochReport) -> None:
        """Report the epoch, save ``save_name`` always and ``best`` on the lowest evaluation loss."""
        self.last[:] = [report]
        self.log.info("epoch %s: train %s (%.1f s) | eval %s", self._epoch(report.epoch), self._line(report.train),
                      report.seconds, self._line(report.valid))
        figures = {f"{split}__{m.name}": m.value(values) for split, values in (("train", report.train),
                                                                                 ("eval", report.valid))
                   for m in self.metrics}
        nsml.report(True, step=self.state.step, **figures, epoch=report.epoch + 1)
        if report.skipped_batches:
            nsml.report(False, step=self.state.step, skipped_batches=report.skipped_batches)
        nsml.save(self.save_name)
        if self.snapshots is not None:
            self.snapshots.save()
        if report.is_best:
            nsml.save("best")
            first = self.metrics[0]
            self.log.info("epoch %s: new best eval %s %.4f saved as 'best'", self._epoch(report.epoch),
                          first.label or first.name, first.value(report.valid))
            if self.export is not None:
                self.export()

    def untrained_notice(self, read: str) -> str | None:
        """One line when the last epoch's evaluation CER is still at least ``UNTRAINED_CER``: a first run that ends
        like this has usually trained too briefly, and the person running it should learn that here, not from the
        board. ``read`` says where to read on."""
        if not self.last or "cer" not in self.last[0].valid or self.last[0].valid["cer"] < UNTRAINED_CER:
            return None
        return (f"notice: the final evaluation CER is {self.last[0].valid['cer']:.2f} (at least {UNTRAINED_CER}): "
                f"the model does not recognise speech yet; likely causes: too few epochs (--max_epochs) or too "
                f"little data for training from scratch; {read}")

    def _epoch(self, index: int) -> str:
        """People count epochs from 1, as the board and the stored ``epoch`` metric do; ``fit`` counts from 0."""
        return f"{index + 1}/{self.max_epochs}" if self.max_epochs else str(index + 1)

    def _line(self, values: dict[str, float]) -> str:
        return " ".join(f"{m.label or m.name} {m.value(values):.4f}" for m in self.metrics)
