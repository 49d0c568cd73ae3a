"""What a corpus sentence may look like, and the clean-up that brings raw Korean text to that form.

The synthetic corpus only keeps text that a Korean TTS voice reads as written and that a character table can
hold: Hangul syllables separated by single spaces, with at most one sentence-final ``.``, ``?`` or ``!`` (the
2019 metric counts that punctuation, so it stays in the transcript). Everything else is either rewritten into
that form when the rewrite says exactly what a reader says (digits become Hangul number words; commas, which
are read as a pause, are dropped), or the sentence is refused: espeak-ng would read Latin letters, hanja or
symbols its own way and the audio would no longer match the transcript.
"""

from __future__ import annotations

import os
import re

from corpus.numbers_ko import spell_digits

FINAL_PUNCTUATION = ".?!"
DEFAULT_MIN_CHARS = 4
DEFAULT_MAX_CHARS = 40
# Precomposed Hangul syllables (U+AC00..U+D7A3) in words separated by one space, then one optional final mark.
_SENTENCE = re.compile(r"[\uac00-\ud7a3]+(?: [\uac00-\ud7a3]+)*[" + re.escape(FINAL_PUNCTUATION) + r"]?")


def normalise(line: str) -> str:
    """Collapse runs of whitespace to one space and trim the ends, so one sentence has one spelling."""
    return " ".join(line.split())


def is_allowed(text: str) -> bool:
    """True when ``text`` is Hangul words separated by single spaces with at most one final ``.``, ``?`` or ``!``."""
    return bool(_SENTENCE.fullmatch(text))


def clean(raw: str) -> str | None:
    """``raw`` in corpus form (numbers spelled out, commas dropped, spaces normalised), or None if it cannot be.

    A space before the final mark is dropped as well (``네 .`` -> ``네.``): the mark belongs to the last word.
    """
    text = normalise(spell_digits(raw).replace(",", " "))
    if len(text) >= 2 and text[-1] in FINAL_PUNCTUATION and text[-2] == " ":
        text = text[:-2] + text[-1]
    return text if is_allowed(text) else None


def fits(text: str, min_chars: int | None = DEFAULT_MIN_CHARS, max_chars: int | None = DEFAULT_MAX_CHARS) -> bool:
    """True when ``text`` has between ``min_chars`` and ``max_chars`` characters (spaces and marks count)."""
    return (min_chars is None or len(text) >= min_chars) and (max_chars is None or len(text) <= max_chars)


def read_sentences(
    path: str | os.PathLike, min_chars: int | None = None, max_chars: int | None = None
) -> list[str]:
    """Sentences of one file (one per line), cleaned; blank lines and lines that cannot be cleaned are skipped."""
    try:
        with open(path, encoding="utf-8-sig") as f:
            lines = f.read().splitlines()
    except OSError as err:
        raise OSError(f"cannot read sentence file {path}: {err.strerror}") from None
    except UnicodeDecodeError as err:
        raise ValueError(f"sentence file {path} is not UTF-8 text: {err.reason} at byte {err.start}") from None
    kept = []
    for line in lines:
        text = clean(line)
        if text is not None and fits(text, min_chars, max_chars):
            kept.append(text)
    return kept
