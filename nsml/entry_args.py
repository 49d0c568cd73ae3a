"""The entry's argument string: splitting it like a shell, and merging a fork's ``-a`` into its parent's.

A fork usually changes one or two flags (``--max_epochs 10``) and must keep the rest: architecture flags such as
``--use_attention`` have to match the checkpoint it loads. So the two strings are merged flag by flag: a flag the
fork gives replaces every occurrence of that flag in the parent's string, values included, and the parent's
other flags stay. How many values a flag takes comes from the parent's recorded argparse actions when there are
some (``store_true`` takes none, ``nargs=2`` two, ``-b`` and ``--batch_size`` are one option); otherwise a flag
owns the tokens up to the next flag.

The same grouping tells ``nsml ps`` which flags all listed sessions share, and an argument string the entry's
parser refused (see ``nsml.argrecord``'s probe) is explained with the options it comes close to.
"""

from __future__ import annotations

import difflib
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from nsml.errors import UsageError

_NUMBER = re.compile(r"^-\.?\d")  # -1, -1e-3, -.5: values, not flags (argparse reads them the same way)


def split(text: str, what: str = "-a") -> list[str]:
    """Shell-split ``text``; a string that does not split (an unbalanced quote) is a usage error."""
    try:
        return shlex.split(text)
    except ValueError as error:
        raise UsageError(f"cannot split the {what} string {text!r}: {error} (check its quotes)") from None


@dataclass(frozen=True)
class Option:
    """One option of the entry's parser as recorded at run time."""

    options: tuple[str, ...]
    dest: str
    nargs: int | None  # None: any number of values (nargs '?', '*', '+' or unknown)


def options_from_spec(spec: Iterable[Mapping] | None) -> list[Option]:
    return [Option(tuple(item["options"]), item["dest"], item["nargs"]) for item in spec or () if item["options"]]


def _is_flag(token: str) -> bool:
    return token.startswith("-") and token != "-" and not _NUMBER.match(token)


def _lookup(flag: str, options: list[Option]) -> Option | None:
    """The option a flag names, also by a unique prefix of a long option (argparse's abbreviations)."""
    for option in options:
        if flag in option.options:
            return option
    if flag.startswith("--"):
        hits = {o.dest: o for o in options for name in o.options if name.startswith(flag)}
        if len(hits) == 1:
            return next(iter(hits.values()))
    return None


@dataclass(frozen=True)
class _Group:
    key: str | None  # the option's dest (or the flag itself when unknown); None for positional tokens
    tokens: tuple[str, ...]


def _groups(tokens: list[str], options: list[Option]) -> list[_Group]:
    groups: list[_Group] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token == "--":  # everything after it is positional
            groups.append(_Group(None, tuple(tokens[i:])))
            break
        if not _is_flag(token):
            groups.append(_Group(None, (token,)))
            i += 1
            continue
        flag, has_value, _ = token.partition("=")
        option = _lookup(flag, options)
        end = i + 1
        if not has_value:
            if option is not None and option.nargs is not None:
                end = min(i + 1 + option.nargs, len(tokens))
            else:
                while end < len(tokens) and not _is_flag(tokens[end]) and tokens[end] != "--":
                    end += 1
        groups.append(_Group(option.dest if option else flag, tuple(tokens[i:end])))
        i = end
    return groups


def merge(parent: list[str], override: list[str], spec: Iterable[Mapping] | None = None) -> list[str]:
    """The parent's tokens with every flag that ``override`` gives replaced by the override's occurrence.

    Positional tokens of ``override``, if any, replace the parent's positional tokens. The parent's kept tokens
    come first, in their order, then the override's.
    """
    options = options_from_spec(spec)
    given = _groups(override, options)
    replaced = {group.key for group in given if group.key is not None}
    new_positionals = any(group.key is None for group in given)
    kept = [group for group in _groups(parent, options)
            if (group.key is None and not new_positionals) or (group.key is not None and group.key not in replaced)]
    return [token for group in (*kept, *given) for token in group.tokens]


def join(tokens: list[str]) -> str:
    return shlex.join(tokens)


def shared(strings: list[tuple[str, Iterable[Mapping] | None]]) -> tuple[list[str], list[list[str]]]:
    """(the flags, with their values, that every ``(argument string, recorded spec)`` gives alike, in the first
    string's order; each string's other tokens). A string that does not split counts as one token."""
    grouped = []
    for text, spec in strings:
        try:
            tokens = split(text)
        except UsageError:
            tokens = [text]
        grouped.append([(group.key, group.tokens) for group in _groups(tokens, options_from_spec(spec))])
    common = [group for group in grouped[0] if group[0] is not None and all(group in other for other in grouped)]
    common = list(dict.fromkeys(common))
    rest = [[token for group in groups if group not in common for token in group[1]] for groups in grouped]
    return [token for group in common for token in group[1]], rest


UNRECOGNIZED = "unrecognized arguments: "


def suggestions(message: str, options: Iterable[str], cutoff: float = 0.6) -> list[tuple[str, str]]:
    """``(flag given, option meant)`` for each flag of argparse's "unrecognized arguments: ..." that is close to one
    of ``options`` (a typo, ``-`` for ``_``; ``cutoff``: difflib's least similarity); nothing for other messages."""
    if UNRECOGNIZED not in message:
        return []
    known = list(options)
    found = []
    for token in message.split(UNRECOGNIZED, 1)[1].split():
        flag = token.partition("=")[0]
        if _is_flag(flag) and flag not in known:
            close = difflib.get_close_matches(flag, known, n=1, cutoff=cutoff)
            if close:
                found.append((flag, close[0]))
    return found


def did_you_mean(pairs: list[tuple[str, str]]) -> str:
    """"did you mean --max_epochs?", or for several flags "did you mean --lr (for --rl), --mode (for --mdoe)?"."""
    if len(pairs) == 1:
        return f"did you mean {pairs[0][1]}?"
    return "did you mean " + ", ".join(f"{meant} (for {given})" for given, meant in pairs) + "?"


def quoted(text: str) -> str:
    """``text`` as one shell word for ``-a``: in double quotes as people write it, unless it needs stronger ones."""
    return f'"{text}"' if not any(ch in text for ch in '"$`\\!') else shlex.quote(text)
