"""Pieces every verb module uses: messages on stderr, argument types, JSON output, adding a verb to a parser."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from nsml.store import Store

Handler = Callable[[Store, argparse.Namespace], int]


def say(message: str) -> None:
    """A platform message: on stderr, so stdout carries only what a script would read (names, paths, tables)."""
    print(f"nsml: {message}", file=sys.stderr, flush=True)


def print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def add_verb(subparsers: Any, name: str, handler: Handler | None, help_text: str,
             listed: bool = True) -> argparse.ArgumentParser:
    """A verb whose --help shows ``help_text``; groups (model, dataset) take the handler of their action.

    ``listed=False`` keeps it out of the parent's list of verbs (``submit ls`` is reached through ``submit``).
    """
    options = {"help": help_text} if listed else {}
    sub = subparsers.add_parser(name, description=help_text, **options)
    if handler is not None:
        sub.set_defaults(handler=handler)
    return sub


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value
