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

import codecs
import os
import shlex
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


def iconv_hint(path: str | os.PathLike) -> str:
    """The one command that turns a Korean Windows (cp949/euc-kr) text file into the UTF-8 the kit reads."""
    quoted = shlex.quote(str(path))
    return f"iconv -f cp949 -t utf-8 {quoted} > {quoted}.utf8"


def read_text(path: str | os.PathLike, what: str) -> str:
    """The whole of a text file the kit reads, decoded from UTF-8 with any BOM dropped.

    Every reader of user-made text (lists, labels, label tables, predictions) goes through here, so a file saved
    by a Korean Windows editor (cp949/euc-kr) or with a BOM is handled the same way everywhere: the BOM is not part
    of the first key, and non-UTF-8 bytes give one line naming the file, the byte offset and the ``iconv`` command
    that converts it, instead of a ``UnicodeDecodeError`` traceback. ``what`` describes the expected content for
    the message of a missing file. Line ends are normalised to ``\n`` as ``open`` would.
    """
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found (expected {what})") from None
    except IsADirectoryError:
        raise DatasetError(f"{path}: is a folder, expected a file of {what}") from None
    except OSError as err:
        raise DatasetError(f"{path}: cannot read: {err.strerror}") from None
    bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        text = data[bom:].decode("utf-8")
    except UnicodeDecodeError as err:
        raise DatasetError(f"{path}: not UTF-8 text (byte {bom + err.start}: {err.reason}); if it was saved as "
                           f"cp949/euc-kr, convert it with: {iconv_hint(path)}") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_lines(path: str | os.PathLike, what: str) -> list[tuple[int, str]]:
    """``(line number, line without its end)`` for every line of a text file read by ``read_text``."""
    lines = read_text(path, what).split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return list(enumerate(lines, 1))


def read_pairs(path: str | os.PathLike, what: str) -> list[Pair]:
    """Read ``first,second`` lines (blank lines skipped; the second field may itself contain commas).

    ``what`` describes the expected line (``"<wav-file>,<script-file>"``) for the error message.
    """
    pairs = []
    for lineno, line in read_lines(path, f"lines '{what}'"):
        if not line.strip():
            continue
        first, sep, second = line.partition(",")
        if not sep or not first.strip():
            raise DatasetError(f"{path}:{lineno}: expected '{what}', got {line!r}")
        pairs.append(Pair(lineno, first.strip(), second.strip()))
    return pairs


def read_wav_list(path: str | os.PathLike) -> list[Pair]:
    """A test list: one wav file name per line, as the 2019 platform's ``feed_infer`` read it (``line.strip()``).

    Lines of the ``<wav-file>,<script-file>`` form are accepted too (the script part is kept in ``second``; it is
    empty for bare lines), so lists written by older generators keep working.
    """
    entries = []
    for lineno, line in read_lines(path, "one wav file name per line"):
        if not line.strip():
            continue
        first, _, second = line.strip().partition(",")
        if not first.strip():
            raise DatasetError(f"{path}:{lineno}: expected a wav file name, got {line.rstrip()!r}")
        entries.append(Pair(lineno, first.strip(), second.strip()))
    return entries
