"""Feeding a dataset's test list through a bound ``infer``, as the hackathon's evaluation did at submit time.

Part of the shared core, not of ``evaluation/``: a 2019 entry ships its own ``evaluation/data_loader.py`` in the
user's snapshot, and the platform must feed the test set with code the user cannot shadow.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

from speech_kit.layout import read_wav_list, test_data_dir, test_list_path
from speech_kit.scoring import write_predictions

Progress = Callable[[int, int], None]


def feed_infer(output_file: str | os.PathLike, infer_func: Callable[[str], str], dataset_path: str | os.PathLike,
               limit: int | None = None, on_progress: Progress | None = None) -> int:
    """Run ``infer_func(wav_path)`` over ``test/test_data/test_list.csv`` and write ``<wav-file>,<prediction>`` lines.

    The list holds one wav file name per line (the 2019 form; ``name,script`` lines are read too). Only the first
    ``limit`` files are fed when given. ``on_progress(done, total)`` is called after each file so a caller can
    show how far it got and an ETA. The output appears only once every prediction is in it
    (``write_predictions``). Returns the number of lines written.
    """
    entries = read_wav_list(test_list_path(dataset_path))
    if limit is not None:
        entries = entries[:limit]
    data_dir = test_data_dir(dataset_path)
    total = len(entries)

    def predictions() -> Iterator[tuple[str, str]]:
        for done, entry in enumerate(entries, 1):
            prediction = infer_func(str(data_dir / entry.first))
            if not isinstance(prediction, str):
                raise TypeError(f"infer({entry.first!r}) returned {type(prediction).__name__}, expected str")
            yield entry.first, prediction
            if on_progress is not None:
                on_progress(done, total)

    return write_predictions(output_file, predictions())
