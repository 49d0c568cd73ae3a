"""Text as a terminal shows it: escaping control characters, display width (Hangul takes two columns), cutting.

A memo is free text from the user: a newline or an escape sequence in it must not break the table or recolour
the terminal, so cells show such characters escaped (``\\n``, ``\\x1b``). Korean characters are twice as wide as
Latin ones, so columns are measured in display columns, not in code points.
"""

from __future__ import annotations

import os
import shutil
import sys
import unicodedata

ELLIPSIS = "…"


def escape(text: str) -> str:
    """``text`` with every non-printable character written as its Python escape (``\\n``, ``\\x1b``, ``\\u200b``)."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def char_width(ch: str) -> int:
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def width(text: str) -> int:
    return sum(char_width(ch) for ch in text)


def pad(text: str, columns: int) -> str:
    return text + " " * max(columns - width(text), 0)


def cut(text: str, columns: int) -> str:
    """``text`` shortened to at most ``columns`` display columns, ending in ``…`` when something was cut."""
    if width(text) <= columns:
        return text
    if columns <= 0:
        return ""
    kept, used = [], 0
    for ch in text:
        if used + char_width(ch) > columns - 1:
            break
        kept.append(ch)
        used += char_width(ch)
    return "".join(kept) + ELLIPSIS


def terminal_columns() -> int | None:
    """The width to fit tables to: the terminal's (or ``$COLUMNS``); None when output goes to a pipe or file.

    Piped output (``nsml ps | grep ...``) is left whole; ``--json`` gives whole records either way.
    """
    if os.environ.get("COLUMNS") or sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    return None
