"""Output units: how a transcript is spelled for the model, and back.

``char`` keeps the label table's characters (Korean syllables, as the 2019 baseline). ``jamo`` decomposes each
Hangul syllable into its conjoining jamo (Unicode NFD: 안 -> ᄋ ᅡ ᆫ), so about 70 units spell every syllable, including
syllables that never occur in the training text; NFC composes them back. The unit kind is stored in the
checkpoint next to the label table of units.
"""

from __future__ import annotations

import unicodedata
from collections import Counter

from speech_kit.vocab import Vocab

UNIT_KINDS = ("char", "jamo")
# Every conjoining jamo a modern syllable decomposes into: 19 initials, 21 medials, 27 finals.
ALL_JAMO = "".join(map(chr, [*range(0x1100, 0x1113), *range(0x1161, 0x1176), *range(0x11A8, 0x11C3)]))


class TextUnits:
    """``encode(text) -> unit string`` and ``decode(unit string) -> text`` for one unit kind."""

    def __init__(self, kind: str = "char"):
        if kind not in UNIT_KINDS:
            raise ValueError(f"unknown output units {kind!r}; choose from {', '.join(UNIT_KINDS)}")
        self.kind = kind

    def encode(self, text: str) -> str:
        return unicodedata.normalize("NFD", text) if self.kind == "jamo" else text

    def decode(self, units: str) -> str:
        return unicodedata.normalize("NFC", units) if self.kind == "jamo" else units

    def vocab(self, table: Vocab) -> Vocab:
        """The label table of units for a dataset's character table: the table itself for ``char``; for ``jamo``
        all 67 conjoining jamo (so any syllable can be spelled) plus the table's other characters, in a fixed
        order (padding first, ``<s>``/``</s>`` last)."""
        if self.kind == "char":
            return table
        specials = {table.chars[i] for i in (table.pad_id, table.sos_id, table.eos_id)}
        units = set(ALL_JAMO) | {u for c in table.chars if c not in specials for u in self.encode(c)}
        return Vocab.from_counts(Counter(sorted(units)), source=f"<jamo units of {table.source}>")


def retarget(targets: dict[str, list[int]], source: Vocab, units: TextUnits, target: Vocab) -> dict[str, list[int]]:
    """Label ids of the dataset's table -> ids of the model's unit table, utterance by utterance."""
    if source is target:
        return targets
    return {key: target.encode(units.encode(source.decode(ids))) for key, ids in targets.items()}
