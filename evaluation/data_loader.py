"""Feeding the test list through a bound ``infer``, as the hackathon's evaluation did at submit time."""

from __future__ import annotations

import os
from typing import Callable, Iterator

from speech_kit.layout import read_wav_list, test_data_dir, test_list_path
from evaluation.score import write_predictions


def feed_infer(output_file: str | os.PathLike, infer_func: Callable[[str], str],
               dataset_path: str | os.PathLike | None = None, limit: int | None = None) -> int:
    """Run ``infer_func(wav_path)`` over ``test/test_data/test_list.csv`` and write ``<wav-file>,<prediction>`` lines.

    The file appears only once every prediction is in it (``write_predictions``). Returns the number written.
    """
    if dataset_path is None:
        import nsml

        dataset_path = nsml.DATASET_PATH
        if dataset_path is None:
            raise ValueError("feed_infer: no dataset_path given and nsml.DATASET_PATH is not set")
    entries = read_wav_list(test_list_path(dataset_path))
    if limit is not None:
        entries = entries[:limit]
    data_dir = test_data_dir(dataset_path)

    def predictions() -> Iterator[tuple[str, str]]:
        for entry in entries:
            prediction = infer_func(str(data_dir / entry.first))
            if not isinstance(prediction, str):
                raise TypeError(f"infer({entry.first!r}) returned {type(prediction).__name__}, expected str")
            yield entry.first, prediction

    return write_predictions(output_file, predictions())
