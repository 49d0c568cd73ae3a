"""Character label tables: the hackathon's ``id<TAB>char<TAB>freq`` format and the vocabulary built on it.

The 2019 baseline shipped ``hackathon.labels``, one character per line, ``#`` comment lines, an empty (or blank)
character field meaning the space, ``_`` (padding) at id 0 and ``<s>`` / ``</s>`` at the end. ``load_label`` keeps
the seed's signature; ``Vocab`` wraps the same table so code passes one object around instead of module globals.
``label_loader`` (the seed's module name) re-exports these names.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from speech_kit.atomic import atomic_write
from speech_kit.layout import DatasetError, read_lines

PAD_CHAR = "_"
SOS_CHAR = "<s>"
EOS_CHAR = "</s>"
HEADER = "#id\tchar\tfreq"


class LabelTableError(ValueError):
    """A label table or a label sequence that does not fit its table; the message names file and line."""


@dataclass(frozen=True)
class Vocab:
    """An immutable character table: ``chars[i]`` is the character of label id ``i``."""

    chars: tuple[str, ...]
    freqs: tuple[int, ...]
    source: str = "<memory>"
    char2index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.chars) != len(self.freqs):
            raise LabelTableError(f"{self.source}: {len(self.chars)} characters but {len(self.freqs)} frequencies")
        for special in (PAD_CHAR, SOS_CHAR, EOS_CHAR):
            if special not in self.chars:
                raise LabelTableError(f"{self.source}: the label table has no {special!r} entry")
        first: dict[str, int] = {}
        for index, char in enumerate(self.chars):
            if char in first:
                raise LabelTableError(f"{self.source}: character {char!r} has two ids, {first[char]} and {index}")
            first[char] = index
        object.__setattr__(self, "char2index", {c: i for i, c in enumerate(self.chars)})

    def __len__(self) -> int:
        return len(self.chars)

    @property
    def index2char(self) -> dict[int, str]:
        return dict(enumerate(self.chars))

    @property
    def pad_id(self) -> int:
        return self.char2index[PAD_CHAR]

    @property
    def sos_id(self) -> int:
        return self.char2index[SOS_CHAR]

    @property
    def eos_id(self) -> int:
        return self.char2index[EOS_CHAR]

    def encode(self, text: str) -> list[int]:
        """Text → label ids (no ``<s>``/``</s>``); a character outside the table is an error naming it."""
        try:
            return [self.char2index[c] for c in text]
        except KeyError as err:
            raise LabelTableError(f"character {err.args[0]!r} of {text!r} is not in the label table "
                                  f"{self.source}") from None

    def decode(self, ids: Iterable[int]) -> str:
        """Label ids → text, stopping at ``</s>`` and skipping padding and ``<s>``, as the seed's label_to_string."""
        out = []
        skip = {self.pad_id, self.sos_id}
        for i in ids:
            i = int(i)
            if i == self.eos_id:
                break
            if i not in skip:
                out.append(self.chars[i])
        return "".join(out)

    def to_rows(self) -> list[list]:
        """The table as plain ``[id, char, freq]`` rows, the form checkpoints store it in."""
        return [[i, c, f] for i, (c, f) in enumerate(zip(self.chars, self.freqs, strict=True))]

    @classmethod
    def from_rows(cls, rows: Sequence[Sequence], source: str = "<checkpoint>") -> Vocab:
        chars: dict[int, str] = {}
        freqs: dict[int, int] = {}
        for index, char, freq in rows:
            chars[int(index)] = str(char)
            freqs[int(index)] = int(freq)
        missing = sorted(set(range(len(chars))) - set(chars))
        if missing:
            raise LabelTableError(f"{source}: label ids are not contiguous; id {missing[0]} is missing")
        return cls(tuple(chars[i] for i in range(len(chars))), tuple(freqs[i] for i in range(len(freqs))), source)

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> Vocab:
        return cls.from_rows(_read_rows(path), source=str(path))

    @classmethod
    def from_counts(cls, counts: Counter, source: str = "<counts>") -> Vocab:
        """Padding first, then characters by falling frequency (ties by code point), ``<s>``/``</s>`` last."""
        ordered = sorted((c for c in counts if c not in (PAD_CHAR, SOS_CHAR, EOS_CHAR)), key=lambda c: (-counts[c], c))
        chars = (PAD_CHAR, *ordered, SOS_CHAR, EOS_CHAR)
        freqs = (0, *(counts[c] for c in ordered), 0, 0)
        return cls(chars, freqs, source)

    def write(self, path: str | os.PathLike) -> None:
        """Write the table in the hackathon format, atomically."""
        with atomic_write(path) as f:
            f.write(HEADER + "\n")
            for i, c, n in self.to_rows():
                f.write(f"{i}\t{c}\t{n}\n")


def _read_rows(path: str | os.PathLike) -> list[tuple[int, str, int]]:
    """The ``(id, char, freq)`` rows of a table file; a repeated id or character is refused naming both lines.

    A character listed twice would silently map to its later id only, so text encodes differently from how the
    table reads; that is always a mistake in the table. The text is read by ``speech_kit.layout.read_lines``
    (BOM dropped, a cp949 file named with its ``iconv`` fix).
    """
    rows = []
    seen: dict[int, int] = {}
    seen_chars: dict[str, int] = {}
    try:
        lines = read_lines(path, "a label table of 'id<TAB>char<TAB>freq' lines")
    except DatasetError as err:
        raise LabelTableError(f"label table {err}") from None
    for lineno, line in lines:
        if line.startswith("#") or not line:
            continue
        parts = line.split("\t")
        if len(parts) != 3:
            raise LabelTableError(f"{path}:{lineno}: expected 'id<TAB>char<TAB>freq', got {line.rstrip()!r}")
        index_s, char, freq_s = parts
        try:
            index, freq = int(index_s), int(freq_s or 0)
        except ValueError:
            raise LabelTableError(f"{path}:{lineno}: id and freq must be integers, got {line.rstrip()!r}") from None
        if index in seen:
            raise LabelTableError(f"{path}:{lineno}: id {index} already defined on line {seen[index]}")
        char = char.strip() or " "
        if char in seen_chars:
            raise LabelTableError(f"{path}:{lineno}: character {char!r} already listed on line {seen_chars[char]}")
        seen[index], seen_chars[char] = lineno, lineno
        rows.append((index, char, freq))
    if not rows:
        raise LabelTableError(f"{path}: the label table is empty")
    return rows


def load_label(label_path: str | os.PathLike) -> tuple[dict[str, int], dict[int, str]]:
    """The seed's API: ``(char2index, index2char)`` of a label table file."""
    vocab = Vocab.from_file(label_path)
    return dict(vocab.char2index), vocab.index2char
