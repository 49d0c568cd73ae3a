"""The hackathon dataset layout, in one place: where each file lives and how its ``a,b`` lines are read.

```
ROOT/train/train_data/data_list.csv   <wav-file>,<script-file>
ROOT/train/train_data/*.wav
ROOT/train/train_label                <key>,<label ids separated by spaces>
ROOT/test/test_data/test_list.csv     <wav-file>   (the 2019 platform's form; '<wav-file>,<script-file>' is read too)
ROOT/test/test_data/*.wav
ROOT/test/test_label                  <key>,<transcript text>
```
A key is a file name without its extension (``wav_001.label`` -> ``wav_001``), as in the seed's ``get_script``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple


class DatasetError(ValueError):
    """Bad dataset input; the message names the file (and line) and what is wrong with it."""


class Pair(NamedTuple):
    lineno: int
    first: str
    second: str


def train_data_dir(root: str | os.PathLike) -> Path:
    return Path(root) / "train" / "train_data"


def data_list_path(root: str | os.PathLike) -> Path:
    return train_data_dir(root) / "data_list.csv"


def train_label_path(root: str | os.PathLike) -> Path:
    return Path(root) / "train" / "train_label"


def test_data_dir(root: str | os.PathLike) -> Path:
    return Path(root) / "test" / "test_data"


def test_list_path(root: str | os.PathLike) -> Path:
    return test_data_dir(root) / "test_list.csv"


def test_label_path(root: str | os.PathLike) -> Path:
    return Path(root) / "test" / "test_label"


def key_of(filename: str) -> str:
    """``wav_001.label`` / ``dir/wav_001.wav`` -> ``wav_001``."""
    return os.path.basename(filename).split(".")[0]


def read_pairs(path: str | os.PathLike, what: str) -> list[Pair]:
    """Read ``first,second`` lines (blank lines skipped; the second field may itself contain commas).

    ``what`` describes the expected line (``"<wav-file>,<script-file>"``) for the error message.
    """
    try:
        f = open(path, encoding="utf-8-sig")  # a BOM (Windows editors) is not part of the first key
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found (expected lines '{what}')") from None
    except OSError as err:
        raise DatasetError(f"{path}: cannot read: {err.strerror}") from None
    pairs = []
    with f:
        try:
            for lineno, line in enumerate(f, 1):
                line = line.rstrip("\r\n")
                if not line.strip():
                    continue
                first, sep, second = line.partition(",")
                if not sep or not first.strip():
                    raise DatasetError(f"{path}:{lineno}: expected '{what}', got {line!r}")
                pairs.append(Pair(lineno, first.strip(), second.strip()))
        except UnicodeDecodeError as err:
            raise DatasetError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    return pairs


def read_wav_list(path: str | os.PathLike) -> list[Pair]:
    """A test list: one wav file name per line, as the 2019 platform's ``feed_infer`` read it (``line.strip()``).

    Lines of the ``<wav-file>,<script-file>`` form are accepted too (the script part is kept in ``second``; it is
    empty for bare lines).
    """
    try:
        f = open(path, encoding="utf-8-sig")
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found (expected one wav file name per line)") from None
    except OSError as err:
        raise DatasetError(f"{path}: cannot read: {err.strerror}") from None
    entries = []
    with f:
        try:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                first, _, second = line.strip().partition(",")
                if not first.strip():
                    raise DatasetError(f"{path}:{lineno}: expected a wav file name, got {line.rstrip()!r}")
                entries.append(Pair(lineno, first.strip(), second.strip()))
        except UnicodeDecodeError as err:
            raise DatasetError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    return entries
