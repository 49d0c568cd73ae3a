"""The ``nsml`` command: the verbs of ``nsml.verbs`` under one parser, and errors turned into one line.

A wrong command line (an unknown session, checkpoint or dataset, an argument string that does not split, a
dataset name already taken) prints ``nsml: error: ...`` and exits with 2, like argparse's own usage errors; work
that failed (a submit whose entry crashed, a dataset folder missing a file) prints ``nsml: ...`` and exits with 1.
Only a bug in nsml itself shows a traceback. Output cut short by its reader (``nsml ps | head -1``) ends quietly.
A mistyped verb or choice is answered with the closest one ("did you mean run?"), and a flag of the entry given
to ``nsml run`` itself is pointed to ``-a``.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys

from nsml import argrecord, entry_args, home, scratch
from nsml.errors import NsmlError, UsageError
from nsml.store import Store
from nsml.verbs import board, cluster, models, sessions, submissions
from nsml.verbs import datasets as dataset_verbs
from nsml.verbs.common import say
from speech_kit.cli import fail

EXIT_BROKEN_PIPE = 128 + 13  # what a shell reports for a program ended by SIGPIPE
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


def _subparser(parser: argparse.ArgumentParser, *path: str) -> argparse.ArgumentParser:
    for name in path:
        parser = next(action.choices[name] for action in parser._actions
                      if isinstance(action, argparse._SubParsersAction))
    return parser


def _parse(parser: argparse.ArgumentParser, tokens: list[str]) -> argparse.Namespace:
    """The command line; unknown flags of ``run``/``fork`` are a one-line error pointing to ``-a``."""
    args, extras = parser.parse_known_args(tokens)
    if not extras:
        return args
    if args.verb not in ENTRY_VERBS:
        parser.error(f"unrecognized arguments: {' '.join(extras)}")
    message = f"{entry_args.UNRECOGNIZED}{' '.join(extras)}"
    close = entry_args.suggestions(message, argrecord.option_strings(_subparser(parser, args.verb)),
                                   cutoff=OWN_FLAG_SIMILARITY)
    if close:
        raise UsageError(f"nsml {args.verb}: {message}; {entry_args.did_you_mean(close)}")
    wanted = entry_args.join([*entry_args.split(args.args or ""), *extras])
    raise UsageError(f"{' '.join(extras)}: not an option of nsml {args.verb}; the entry's arguments go in one -a "
                     f"string: nsml {args.verb} ... -a {entry_args.quoted(wanted)}")


def _join_entry_args(argv: list[str]) -> list[str]:
    """``-a --use_attention`` would read as a missing value to argparse; make it ``--args=--use_attention``."""
    joined, tokens = [], iter(argv)
    for token in tokens:
        if token in ("-a", "--args"):
            value = next(tokens, None)
            joined.append(token if value is None else f"--args={value}")
        else:
            joined.append(token)
    return joined


def _silence_stdout() -> None:
    """After the reader went away: point stdout at /dev/null so the exit's own flush cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def main(argv: list[str] | None = None) -> int:
    from nsml.server import client  # nsml server / login / admin, and every verb when a server is set

    if client.handles(sys.argv[1:] if argv is None else argv):
        return client.main(sys.argv[1:] if argv is None else argv)
    tokens = submissions.route(_join_entry_args(sys.argv[1:] if argv is None else argv))
    try:
        args = _parse(build_parser(), tokens)
    except UsageError as error:
        return fail("nsml", error)
    store = Store(home.db_path())
    scratch.sweep_all()  # what a killed submit left: its scratch folder and the processes it started
    try:
        status = args.handler(store, args)
        sys.stdout.flush()  # inside the try: a reader that went away is noticed here, not at exit
        return status
    except UsageError as error:
        return fail("nsml", error)
    except NsmlError as error:
        say(str(error))
        return error.code
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
