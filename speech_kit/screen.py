"""The dataset check at the start of a training run, and what its findings do to the run.

``fail`` (the default) stops before any training with the whole report and one line naming the first problem's
file and line, so a dataset is fixed once rather than one file per attempt. ``skip`` trains on the usable rest and
leaves a record of every utterance it left out and why; warnings (clipped, silent, converted audio) never stop a
run, they are logged.
"""

from __future__ import annotations

import logging
import os

from speech_kit.findings import Report
from speech_kit.layout import DatasetError
from speech_kit.validate import check_dataset
from speech_kit.vocab import Vocab

logger = logging.getLogger("screen")
EXCLUSIONS_FILE = "bad_samples.tsv"


def screen_training_data(root: str | os.PathLike, table: Vocab, policy: str, max_seconds: float | None,
                         show: bool = True) -> Report:
    """Check ``train/`` of ``root``; raise ``DatasetError`` on errors under ``fail``; return the report otherwise.

    ``show`` (rank 0 of a job) logs the report; other processes check silently and decide the same way.
    """
    report = check_dataset(root, table, splits=("train",), max_seconds=max_seconds)
    if not report.findings:
        if show:
            for line in report.format():
                logger.info("dataset check: %s", line)
        return report
    first = report.first_error()
    log = logger.error if first is not None and policy == "fail" else logger.warning
    if show:
        for line in report.format():
            log("dataset check: %s", line)
    if first is None:
        return report
    if policy == "fail":
        more = len(report.errors) - 1
        raise DatasetError(f"{first} ({'the only problem' if not more else f'and {more} more, listed above'}; "
                           f"--on_bad_sample skip trains on the rest)")
    if show:
        excluded = report.excluded()
        logger.warning("dataset check: --on_bad_sample skip: training on %d of %d utterances, %d left out",
                       len(report.train) - len(excluded), len(report.train), len(excluded))
    return report
