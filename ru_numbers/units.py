"""Output units of the recogniser, as label tables in the kit's format, and conversions to and from transcriptions.

Two tables: ``digits`` (the ten digits; the recogniser writes the answer directly) and ``words`` (the 41 canonical
Russian number words; the recogniser writes words and the normaliser turns them into digits). The kit's
``Vocab`` treats a label as one character: ``encode`` walks a string character by character and ``decode``
joins characters. So that the shared Vocab and CTC code work unchanged, every number word is stored as one
character of Unicode's Private Use Area (U+E000 onwards), which no real text contains; the word itself is kept
beside it in a comment line of the table file so a reader can still see what each id means.

``python -m ru_numbers.units --kind words --out words.labels train.csv`` writes a table whose frequency column
counts the units of the utterances of the given manifests. The ids do not depend on those counts (units
keep their natural order), so models trained on different data sets share one numbering.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ru_numbers.lexicon import CANONICAL_WORDS
from ru_numbers.manifest import ManifestError, read_manifest
from ru_numbers.normalize import number_to_words, parse_transcription, split_words, words_to_number
from speech_kit.atomic import atomic_write
from speech_kit.cli import fail
from speech_kit.vocab import EOS_CHAR, HEADER, PAD_CHAR, SOS_CHAR, LabelTableError, Vocab

PRIVATE_USE_START = 0xE000
KINDS: tuple[str, ...] = ("digits", "words")


@dataclass(frozen=True)
class UnitTable:
    """One output alphabet: ``units[i]`` is written as the single label character ``chars[i]``."""

    kind: str
    units: tuple[str, ...]
    chars: tuple[str, ...]
    unit_of_char: dict[str, str] = field(init=False, repr=False, compare=False)
    char_of_unit: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.units) != len(self.chars) or any(len(c) != 1 for c in self.chars):
            raise ValueError(f"{self.kind}: every unit needs exactly one label character")
        object.__setattr__(self, "unit_of_char", dict(zip(self.chars, self.units, strict=True)))
        object.__setattr__(self, "char_of_unit", dict(zip(self.units, self.chars, strict=True)))

    def to_units(self, transcription: str) -> list[str]:
        """Digits transcription -> unit sequence: "2001" -> ['2','0','0','1'] or ['две', 'тысячи', 'один']."""
        n = parse_transcription(transcription)
        return list(str(n)) if self.kind == "digits" else number_to_words(n).split()

    def from_units(self, units: Sequence[str], strict: bool = False) -> str:
        """Unit sequence -> digits transcription; a ValueError when the units do not spell a number in range.

        Word agreement is not enforced unless ``strict``: "две тысяч" from a recogniser still names 2000
        unambiguously, whereas word order mistakes ("сто двести") raise either way.
        """
        unknown = [u for u in units if u not in self.char_of_unit]
        if unknown:
            raise ValueError(f"{unknown[0]!r} is not a unit of the {self.kind} table")
        if self.kind == "digits":
            return str(parse_transcription("".join(units)))
        return str(words_to_number(" ".join(units), strict=strict))

    def to_text(self, transcription: str) -> str:
        """Digits transcription -> the label-character string that ``Vocab.encode`` takes."""
        return "".join(self.char_of_unit[u] for u in self.to_units(transcription))

    def from_text(self, text: str, strict: bool = False) -> str:
        """Label-character string (``Vocab.decode`` output) -> digits transcription."""
        units = []
        for position, char in enumerate(text, 1):
            if char not in self.unit_of_char:
                raise ValueError(f"character {position} ({char!r}, U+{ord(char):04X}) of the decoded text is not "
                                 f"in the {self.kind} table")
            units.append(self.unit_of_char[char])
        return self.from_units(units, strict=strict)

    def units_of_speech(self, text: str) -> list[str]:
        """The target units of an utterance that says ``text`` (the manifest's ``text`` column).

        For the words table these are the words as said, so "тысяча двести" stays two units rather than
        becoming the canonical "одна тысяча двести" that the transcription alone would give.
        """
        if self.kind == "digits":
            return list(str(words_to_number(text)))
        words = split_words(text)
        words_to_number(" ".join(words))  # strict: a training target must be a well-formed number
        for position, word in enumerate(words, 1):
            if word not in self.char_of_unit:
                raise ValueError(f"word {position} {word!r} of {text!r} is not a unit of the words table "
                                 f"(the generator says only nominative forms)")
        return words

    def vocab(self, unit_sequences: Iterable[Sequence[str]] = ()) -> Vocab:
        """The label table: ``_`` first, the units in natural order, ``<s>``/``</s>`` last; freq counts the units
        of ``unit_sequences``."""
        counter: Counter = Counter()
        for units in unit_sequences:
            counter.update(units)
        unknown = sorted(set(counter) - set(self.units))
        if unknown:
            raise ValueError(f"{unknown[0]!r} is not a unit of the {self.kind} table")
        chars = (PAD_CHAR, *self.chars, SOS_CHAR, EOS_CHAR)
        freqs = (0, *(counter[u] for u in self.units), 0, 0)
        return Vocab(chars, freqs, source=f"<{self.kind} units>")

    def check(self, vocab: Vocab) -> None:
        """Raise ``LabelTableError`` unless ``vocab`` holds every character of this table (a wrong table file)."""
        missing = [u for u, c in zip(self.units, self.chars, strict=True) if c not in vocab.char2index]
        if missing:
            raise LabelTableError(f"{vocab.source} is not a {self.kind} unit table: it lacks {missing[0]!r} "
                                  f"and {len(missing) - 1} more unit(s)")

    def write(self, path: str | os.PathLike, unit_sequences: Iterable[Sequence[str]] = ()) -> Vocab:
        """Write the label table (``id<TAB>char<TAB>freq``), a ``# unit`` comment above each word, atomically."""
        vocab = self.vocab(unit_sequences)
        with atomic_write(path) as f:
            f.write(f"# ru_numbers {self.kind} units: one label character per unit\n")
            f.write(HEADER + "\n")
            for index, char, freq in vocab.to_rows():
                unit = self.unit_of_char.get(char)
                if unit is not None and unit != char:
                    f.write(f"# {unit} (U+{ord(char):04X})\n")
                f.write(f"{index}\t{char}\t{freq}\n")
        return vocab


DIGITS = UnitTable("digits", tuple("0123456789"), tuple("0123456789"))
WORDS = UnitTable("words", CANONICAL_WORDS,
                  tuple(chr(PRIVATE_USE_START + i) for i in range(len(CANONICAL_WORDS))))


def table(kind: str) -> UnitTable:
    """The table named ``kind`` (``digits`` or ``words``)."""
    if kind not in KINDS:
        raise ValueError(f"unknown unit table {kind!r}; choose one of {', '.join(KINDS)}")
    return DIGITS if kind == "digits" else WORDS


def words_to_units(text: str) -> list[str]:
    """Spoken words -> word units as said ("тысяча двести" -> ['тысяча', 'двести']), checked to spell a number."""
    return WORDS.units_of_speech(text)


def units_to_text(units: Sequence[str]) -> str:
    """Word units -> the words as one string, after checking that they spell a number (agreement relaxed)."""
    WORDS.from_units(units)
    return " ".join(units)


def manifest_units(table: UnitTable, manifest: str | os.PathLike) -> list[list[str]]:
    """The target units of every row of a manifest: from its ``text`` column when it has one (checked against
    the transcription), from the transcription otherwise. Errors name the file and line."""
    sequences = []
    for line, row in enumerate(read_manifest(manifest), 2):
        try:
            number = parse_transcription(row["transcription"])
            spoken = row.get("text") or ""
            if spoken and words_to_number(spoken) != number:
                raise ValueError(f"text {spoken!r} does not say the transcription {row['transcription']}")
            sequences.append(table.units_of_speech(spoken) if spoken else table.to_units(row["transcription"]))
        except ValueError as err:
            raise ManifestError(f"{manifest}:{line}: {err}") from None
    return sequences


def main(argv: Sequence[str] | None = None) -> int:
    prog = "python -m ru_numbers.units"
    parser = argparse.ArgumentParser(prog=prog, description="Write a label table of the spoken-numbers recogniser.")
    parser.add_argument("--kind", choices=KINDS, required=True, help="digits: 0-9; words: the 41 number words")
    parser.add_argument("--out", required=True, help="label table file to write")
    parser.add_argument("manifests", nargs="*", help="manifest CSVs whose utterances give the freq column")
    args = parser.parse_args(argv)
    units_table = table(args.kind)
    sequences: list[list[str]] = []
    try:
        for manifest in args.manifests:
            sequences += manifest_units(units_table, manifest)
        vocab = units_table.write(args.out, sequences)
    except (ManifestError, ValueError) as err:
        return fail(prog, err)
    except OSError as err:
        return fail(prog, f"cannot write {args.out}: {err.strerror}")
    print(f"{args.out}: {len(vocab)} labels ({args.kind}) counted over {len(sequences)} utterance(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
