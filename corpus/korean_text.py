"""Korean sentences for the synthetic corpus: the bundled ``sentences_ko.txt`` plus any text files a user adds.

The synthetic corpus only keeps text a Korean TTS voice reads as written and a character table can hold:
Hangul syllables, spaces and a little punctuation. Digits and Latin letters are refused rather than dropped
silently, because espeak-ng would read ``3500`` in its own way and the audio would no longer match the transcript.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable

BUNDLED_SENTENCES = Path(__file__).with_name("sentences_ko.txt")
PUNCTUATION = ".?,!"
# Precomposed Hangul syllables (U+AC00..U+D7A3), the space and PUNCTUATION, nothing else.
_ALLOWED = re.compile(r"[\uac00-\ud7a3 " + re.escape(PUNCTUATION) + r"]+")


def normalise(line: str) -> str:
    """Collapse runs of whitespace to one space and trim the ends, so one sentence has one spelling."""
    return " ".join(line.split())


def is_allowed(text: str) -> bool:
    """True when ``text`` holds only Hangul syllables, spaces and ``.?,!``."""
    return bool(_ALLOWED.fullmatch(text))


def read_sentences(path: str | os.PathLike, max_chars: int | None = None) -> list[str]:
    """Sentences of one file (one per line), normalised; blank, too long or non-Hangul lines are skipped."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as err:
        raise OSError(f"cannot read sentence file {path}: {err.strerror}") from None
    except UnicodeDecodeError as err:
        raise ValueError(f"sentence file {path} is not UTF-8 text: {err.reason} at byte {err.start}") from None
    kept = []
    for line in lines:
        text = normalise(line)
        if text and is_allowed(text) and (max_chars is None or len(text) <= max_chars):
            kept.append(text)
    return kept


def load_sentences(
    extra: Iterable[str | os.PathLike] = (), max_chars: int | None = None, bundled: bool = True
) -> list[str]:
    """The bundled sentences, then those of ``extra`` files, without duplicates, in file order.

    Keeping file order (rather than a set) makes a seeded shuffle of the result reproducible.
    """
    paths = ([BUNDLED_SENTENCES] if bundled else []) + list(extra)
    return list(dict.fromkeys(text for path in paths for text in read_sentences(path, max_chars)))
