"""The ``nsml`` command: the verbs of ``nsml.verbs`` under one parser, and errors turned into one line.

A wrong command line (an unknown session, checkpoint or dataset, an argument string that does not split, a
dataset name already taken) prints ``nsml: error: ...`` and exits with 2, like argparse's own usage errors; work
that failed (a submit whose entry crashed, a dataset folder missing a file) prints ``nsml: ...`` and exits with 1.
Only a bug in nsml itself shows a traceback. Output cut short by its reader (``nsml ps | head -1``) ends quietly.
"""

from __future__ import annotations

import argparse
import os
import sys

from nsml import home, scratch
from nsml.errors import NsmlError, UsageError
from nsml.store import Store
from nsml.verbs import board, datasets, models, sessions, submissions
from nsml.verbs.common import say
from speech_kit.cli import fail

EXIT_BROKEN_PIPE = 128 + 13  # what a shell reports for a program ended by SIGPIPE


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nsml", description="A local NSML: run hackathon code in recorded sessions, keep its checkpoints and "
                                 "metrics, and submit checkpoints to a dataset's leaderboard. State lives in "
                                 "$NSML_HOME (default ~/.nsml).")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    for module in (sessions, models, submissions, datasets, board):
        module.register(verbs)
    return parser


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
    tokens = submissions.route(_join_entry_args(sys.argv[1:] if argv is None else argv))
    args = build_parser().parse_args(tokens)
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
