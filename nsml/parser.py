"""The ``nsml`` command line: every verb of ``nsml.verbs`` under one parser, the entry's ``-a`` joined, and parsing
with one-line errors. Both ways of running a verb read it here: locally (``nsml.cli``) and over a server
(``nsml.server.client``, which parses first so that a mistake is the same line).

A mistyped verb or choice is answered with the closest one ("did you mean run?"), and a flag of the entry given to
``nsml run`` itself is pointed to ``-a``.
"""

from __future__ import annotations

import argparse
import difflib

from nsml import argrecord, entry_args
from nsml.errors import UsageError
from nsml.verbs import board, cluster, models, sessions, submissions
from nsml.verbs import datasets as dataset_verbs

ENTRY_VERBS = ("run", "fork")  # verbs whose unknown flags are most likely the entry's
OWN_FLAG_SIMILARITY = 0.8  # an unknown flag this close to one of run's own is a typo of it (--detatch), not the entry's


class Parser(argparse.ArgumentParser):
    """argparse, with the closest choice suggested for a mistyped verb or option value."""

    def _check_value(self, action: argparse.Action, value: object) -> None:
        if action.choices is not None and value not in action.choices:
            choices = [str(choice) for choice in action.choices]
            close = difflib.get_close_matches(str(value), choices, n=1)
            if close:
                raise argparse.ArgumentError(action, f"invalid choice: {value!r}; did you mean {close[0]}? "
                                                     f"(choose from {', '.join(map(repr, choices))})")
        super()._check_value(action, value)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="nsml", description="A local NSML: run hackathon code in recorded sessions, keep its checkpoints and "
                                 "metrics, and submit checkpoints to a dataset's leaderboard. State lives in "
                                 "$NSML_HOME (default ~/.nsml).")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    for module in (sessions, models, submissions, dataset_verbs, board, cluster):
        module.register(verbs)
    return parser


def subparser(parser: argparse.ArgumentParser, *path: str) -> argparse.ArgumentParser:
    """The parser of verb ``path`` (``"run"``, or ``"model", "pull"``)."""
    for name in path:
        parser = next(action.choices[name] for action in parser._actions
                      if isinstance(action, argparse._SubParsersAction))
    return parser


def parse(parser: argparse.ArgumentParser, tokens: list[str]) -> argparse.Namespace:
    """The command line; unknown flags of ``run``/``fork`` are a one-line error pointing to ``-a``."""
    args, extras = parser.parse_known_args(tokens)
    if not extras:
        return args
    if args.verb not in ENTRY_VERBS:
        parser.error(f"unrecognized arguments: {' '.join(extras)}")
    message = f"{entry_args.UNRECOGNIZED}{' '.join(extras)}"
    close = entry_args.suggestions(message, argrecord.option_strings(subparser(parser, args.verb)),
                                   cutoff=OWN_FLAG_SIMILARITY)
    if close:
        raise UsageError(f"nsml {args.verb}: {message}; {entry_args.did_you_mean(close)}")
    wanted = entry_args.join([*entry_args.split(args.args or ""), *extras])
    raise UsageError(f"{' '.join(extras)}: not an option of nsml {args.verb}; the entry's arguments go in one -a "
                     f"string: nsml {args.verb} ... -a {entry_args.quoted(wanted)}")


def join_entry_args(argv: list[str]) -> list[str]:
    """``-a --use_attention`` would read as a missing value to argparse; make it ``--args=--use_attention``."""
    joined, tokens = [], iter(argv)
    for token in tokens:
        if token in ("-a", "--args"):
            value = next(tokens, None)
            joined.append(token if value is None else f"--args={value}")
        else:
            joined.append(token)
    return joined


def tokens_of(argv: list[str]) -> list[str]:
    """The command line as the parser reads it: ``-a`` joined to its value, ``submit ls``/``submit show`` one verb."""
    return submissions.route(join_entry_args(argv))
