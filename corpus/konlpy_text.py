"""Korean sentences from the two text corpora that the konlpy package ships: kolaw (the Constitution of the
Republic of Korea) and kobill (ten bills put before the National Assembly).

They add written, formal Korean that nobody on this project wrote, so a model trained on the synthetic corpus
meets vocabulary beyond our own phrasing. The files are read straight from the installed package folder,
found with ``importlib.util.find_spec`` so that konlpy itself is never imported: importing it may want a Java
runtime, reading its text files does not.

Both files are typeset documents rather than one sentence per line, so this module first rebuilds paragraphs
(undoing line wrapping), splits them after ``.``, ``?`` and ``!``, strips article and list markers
(``제1조``, ``①``, ``1.``), and keeps what ``korean_text.clean`` accepts.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from corpus.korean_text import FINAL_PUNCTUATION, clean

KONLPY_CORPORA = ("kolaw", "kobill")
INSTALL_HINT = "pip install konlpy==0.6.0"


class TextSourceError(RuntimeError):
    """A text source cannot be read (konlpy missing, its corpus folder gone); the message says what to do."""


# Markers that open an article, clause or list item; they are layout, not speech.
_MARKER = re.compile(
    r"^\s*(?:제\s*\d+\s*(?:조|장|절|관|항|호)(?:의\s*\d+)?(?:\([^)]*\))?\s*|[\u2460-\u2473]\s*|\d+\.\s+|[가-하]\.\s+"
    r"|\(\d+\)\s*)+"
)
# A wrapped line fills the page width; shorter lines end a heading, a table cell or a paragraph.
_WRAPPED_LINE_CHARS = 30
# kobill: everything from the old-versus-new comparison table on is two interleaved columns, not prose.
_TABLE_START = "구조문대비표"
# A sentence that starts with one of these was cut out of a longer one (its start held symbols or a table).
_BOUND_STARTS = frozenset(("을", "를", "의", "에", "로", "으로", "및", "부터", "까지", "에서", "와", "과", "은", "는",
                           "가", "중", "에는", "이나", "또는", "등", "내지"))
_SENTENCE_END = re.compile(r"(?<=[" + re.escape(FINAL_PUNCTUATION) + r"])\s+")


def corpus_folder(name: str) -> Path:
    """The folder of one konlpy corpus; ``TextSourceError`` with the install command when konlpy is missing."""
    if name not in KONLPY_CORPORA:
        raise ValueError(f"konlpy ships the corpora {', '.join(KONLPY_CORPORA)}, not {name!r}")
    spec = importlib.util.find_spec("konlpy")
    if spec is None or not spec.submodule_search_locations:
        raise TextSourceError(f"the {name} sentences come from the konlpy package, which is not installed; "
                              f"install it with: {INSTALL_HINT}")
    folder = Path(next(iter(spec.submodule_search_locations))) / "data" / "corpus" / name
    if not folder.is_dir():
        raise TextSourceError(f"konlpy is installed but has no {folder}; reinstall it with: {INSTALL_HINT}")
    return folder


def paragraphs(text: str) -> list[str]:
    """Undo the line wrapping of a typeset document.

    A line continues the paragraph before it when that paragraph's last line was full (wrapped), did not end a
    sentence, and the new line is not indented and does not open with a marker. Wrapping may cut a word in two
    (``필요`` / ``한``), so lines are joined as they are: a space at the end of a line is kept, none is added.
    """
    out: list[str] = []
    last_line = ""
    for line in text.splitlines():
        if not line.strip():
            continue
        continues = (
            out
            and len(last_line) >= _WRAPPED_LINE_CHARS
            and not last_line.rstrip().endswith(tuple(FINAL_PUNCTUATION))
            and not line[0].isspace()
            and not _MARKER.match(line)
        )
        if continues:
            out[-1] += line
        else:
            out.append(line)
        last_line = line
    return out


def sentences_of(text: str) -> list[str]:
    """Cleaned sentences of one document, in document order, duplicates kept.

    Only complete sentences are kept: they end with a final mark, have at least two words and do not start with
    a particle (a sign that their beginning was cut off).
    """
    kept = []
    for paragraph in paragraphs(text):
        for piece in _SENTENCE_END.split(paragraph.strip()):
            sentence = clean(_MARKER.sub("", piece))
            if (
                sentence is not None
                and sentence[-1] in FINAL_PUNCTUATION
                and " " in sentence
                and sentence.split(" ", 1)[0] not in _BOUND_STARTS
            ):
                kept.append(sentence)
    return kept


def read_konlpy_corpus(name: str) -> list[str]:
    """Sentences of every file of konlpy's ``name`` corpus (files in name order)."""
    kept = []
    for path in sorted(corpus_folder(name).glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        cut = text.find(_TABLE_START)
        kept.extend(sentences_of(text if cut < 0 else text[:cut]))
    return kept
