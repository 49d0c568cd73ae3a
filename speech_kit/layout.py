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


# Legacy encodings a list may arrive in, with who saves them, and the letters real text in them decodes to: Korean
# decoded as cp1251 is half symbols, Russian decoded as cp949 is hanja, so the share of those letters tells them apart.
LEGACY_ENCODINGS: dict[str, tuple[str, tuple[tuple[int, int], ...]]] = {
    "cp949": ("Korean Windows, euc-kr", ((0xAC00, 0xD7A3), (0x3131, 0x318E))),  # Hangul syllables and jamo
    "cp1251": ("Russian Windows", ((0x0410, 0x044F), (0x0401, 0x0401), (0x0451, 0x0451))),  # А-я, Ё, ё
}
PLAUSIBLE_SHARE = 0.8  # of the non-ASCII characters, at least this many must be the encoding's letters

# Files that are not text at all, by their first bytes (only looked at when the bytes are not UTF-8 or hold NUL)
_SIGNATURES: tuple[tuple[str, bytes, int, bytes], ...] = (
    ("an audio file (WAV)", b"RIFF", 8, b"WAVE"),
    ("an audio file (FLAC)", b"fLaC", 0, b""),
    ("an audio or video file (Ogg)", b"OggS", 0, b""),
    ("an audio file (MP3)", b"ID3", 0, b""),
    ("a zip archive", b"PK\x03\x04", 0, b""),
    ("a gzip archive", b"\x1f\x8b", 0, b""),
)


def iconv_hint(path: str | os.PathLike, encoding: str = "cp949") -> str:
    """The one command that turns a text file saved in ``encoding`` into the UTF-8 the kit reads."""
    quoted = shlex.quote(str(path))
    return f"iconv -f {encoding} -t utf-8 {quoted} > {quoted}.utf8"


def binary_kind(data: bytes) -> str:
    """What ``data`` is when it is not text ('' when it may be): an audio file, an archive, NUL bytes.

    Only for bytes that failed to decode or hold a NUL: a list whose first file is named ``ID3_1.wav`` stays text.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return ""  # text in UTF-16: the encoding hint names it
    for kind, magic, at, more in _SIGNATURES:
        if data.startswith(magic) and data[at:at + len(more)] == more:
            return kind
    if len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0:
        return "an audio file (MP3)"
    nul = data.find(b"\0")
    return f"a binary file (a NUL byte at byte {nul})" if nul >= 0 else ""


def likely_encodings(data: bytes) -> list[str]:
    """The legacy encodings (``LEGACY_ENCODINGS``) that decode ``data`` into plausible text, most likely first."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return ["utf-16"]
    scored = []
    for encoding, (_who, letters) in LEGACY_ENCODINGS.items():
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        foreign = [ord(ch) for ch in text if ord(ch) > 0x7F]
        if not foreign:
            continue
        share = sum(any(lo <= code <= hi for lo, hi in letters) for code in foreign) / len(foreign)
        if share >= PLAUSIBLE_SHARE:
            scored.append((share, encoding))
    return [encoding for _share, encoding in sorted(scored, reverse=True)]


def encoding_hint(path: str | os.PathLike, data: bytes) -> str:
    """How to convert a file that is not UTF-8: the legacy encoding its bytes decode to cleanly, or both guesses."""
    found = likely_encodings(data)
    if found == ["utf-16"]:
        return f"it was saved as UTF-16 (Windows 'Unicode'); convert it with: {iconv_hint(path, 'utf-16')}"
    if len(found) == 1:
        return (f"it reads as {found[0]} ({LEGACY_ENCODINGS[found[0]][0]}); convert it with: "
                f"{iconv_hint(path, found[0])}")
    names = " or ".join(f"{name} ({who})" for name, (who, _letters) in LEGACY_ENCODINGS.items())
    return (f"if it was saved as {names}, convert it with: {iconv_hint(path)} (or -f "
            f"{' / -f '.join(list(LEGACY_ENCODINGS)[1:])})")


def not_text(path: str | os.PathLike, data: bytes, what: str, offset: int | None = None, reason: str = "") -> str:
    """The one-line message for a file the kit expected as UTF-8 text: what it is instead and what to give or run."""
    kind = binary_kind(data)
    if kind:
        return f"{path}: this is {kind}, not text; expected {what}"
    where = f" (byte {offset}: {reason})" if offset is not None else ""
    return f"{path}: not UTF-8 text{where}; {encoding_hint(path, data)}"


def read_text(path: str | os.PathLike, what: str) -> str:
    """The whole of a text file the kit reads, decoded from UTF-8 with any BOM dropped.

    Every reader of user-made text (lists, labels, label tables, predictions) goes through here, so a file saved
    by a Korean or Russian Windows editor (cp949/euc-kr, cp1251) or with a BOM is handled the same way everywhere:
    the BOM is not part of the first key, and non-UTF-8 bytes give one line naming the file, the byte offset and the
    ``iconv`` command that converts it (from the encoding its bytes read as), instead of a ``UnicodeDecodeError``
    traceback; an audio file or other binary given instead is named as such. ``what`` describes the expected
    content for those messages. Line ends are normalised to ``\n`` as ``open`` would.
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
        raise DatasetError(not_text(path, data, what, bom + err.start, err.reason)) from None
    if "\0" in text:
        raise DatasetError(not_text(path, data, what))
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
