"""Feeding the test list through a bound ``infer``, with the 2019 signature ``feed_infer(output_file, infer_func)``.

The work is done by ``speech_kit.feed`` (which the platform uses directly); this wrapper only finds the dataset
the way 2019 code expected, from ``NSML_DATASET_PATH``. It reads the environment rather than importing ``nsml`` so
that it runs (and can be tested) outside a session.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from speech_kit.feed import Progress
from speech_kit.feed import feed_infer as _feed_infer

DATASET_PATH_ENV = "NSML_DATASET_PATH"


def feed_infer(output_file: str | os.PathLike, infer_func: Callable[[str], str],
               dataset_path: str | os.PathLike | None = None, limit: int | None = None,
               on_progress: Progress | None = None) -> int:
    """Run ``infer_func`` over the dataset's test list and write ``<wav-file>,<prediction>`` lines.

    ``dataset_path`` defaults to ``$NSML_DATASET_PATH`` (set by ``nsml run``/``nsml submit``). Returns the number of
    lines written.
    """
    if dataset_path is None:
        dataset_path = os.environ.get(DATASET_PATH_ENV) or None
        if dataset_path is None:
            raise ValueError(f"feed_infer: no dataset_path given and {DATASET_PATH_ENV} is not set")
    return _feed_infer(output_file, infer_func, dataset_path, limit=limit, on_progress=on_progress)
