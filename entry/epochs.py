"""What an entry does with ``fit``'s figures: per-batch metrics, and at the end of every epoch a log line, the
epoch's summary metrics, ``nsml.save(save_name)`` always and ``nsml.save("best")`` on the lowest evaluation loss."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

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


@dataclass(frozen=True)
class EpochReporter:
    """``end_epoch`` and ``report_batch``, the ``on_epoch`` and ``on_report`` of ``speech_kit.train.fit``.

    ``export``, when given, runs after each new best is saved (e.g. a copy without the optimizer state).
    """

    state: TrainState
    save_name: str
    log: logging.Logger
    metrics: Sequence[Metric] = SPEECH
    export: Callable[[], None] | None = None
    log_batches: bool = True

    def report_batch(self, epoch: int, step: int, metrics: dict[str, float]) -> None:
        """Every few batches: the seed's per-step metrics."""
        loss, cer = metrics["loss"], metrics["cer"]
        nsml.report(False, step=step, train_step__loss=loss, train_step__cer=cer)
        if self.log_batches:
            self.log.info("epoch %d step %d: loss %.4f cer %.4f", epoch, step, loss, cer)

    def end_epoch(self, report: EpochReport) -> None:
        """Report the epoch, save ``save_name`` always and ``best`` on the lowest evaluation loss."""
        self.log.info("epoch %d: train %s (%.1f s) | eval %s", report.epoch, self._line(report.train),
                      report.seconds, self._line(report.valid))
        figures = {f"{split}__{m.name}": m.value(values) for split, values in (("train", report.train),
                                                                                 ("eval", report.valid))
                   for m in self.metrics}
        nsml.report(True, step=self.state.step, **figures, epoch=report.epoch + 1)
        if report.skipped_batches:
            nsml.report(False, step=self.state.step, skipped_batches=report.skipped_batches)
        nsml.save(self.save_name)
        if report.is_best:
            nsml.save("best")
            first = self.metrics[0]
            self.log.info("epoch %d: new best eval %s %.4f saved as 'best'", report.epoch, first.label or first.name,
                          first.value(report.valid))
            if self.export is not None:
                self.export()

    def _line(self, values: dict[str, float]) -> str:
        return " ".join(f"{m.label or m.name} {m.value(values):.4f}" for m in self.metrics)
