"""The ``nsml`` command: the command line read by ``nsml.parser``, the verb run here or (``nsml.server.client``) on a
server, and errors turned into one line.

A wrong command line (an unknown session, checkpoint or dataset, an argument string that does not split, a
dataset name already taken) prints ``nsml: error: ...`` and exits with 2, like argparse's own usage errors; work
that failed (a submit whose entry crashed, a dataset folder missing a file) prints ``nsml: ...`` and exits with 1.
Only a bug in nsml itself shows a traceback. Output cut short by its reader (``nsml ps | head -1``) ends quietly.
"""

from __future__ import annotations

import os
import sys

from nsml import home, scratch
from nsml.errors import NsmlError, UsageError
from nsml.parser import (ENTRY_VERBS, OWN_FLAG_SIMILARITY, Parser, build_parser, join_entry_args, parse,
                         subparser, tokens_of)
from nsml.server import client
from nsml.store import Store
from nsml.verbs.common import say
from speech_kit.cli import fail

__all__ = ["ENTRY_VERBS", "OWN_FLAG_SIMILARITY", "Parser", "build_parser", "main"]

EXIT_BROKEN_PIPE = 128 + 13  # what a shell reports for a program ended by SIGPIPE

# the names this module had before the parser moved to nsml.parser
_subparser = subparser
_parse = parse
_join_entry_args = join_entry_args


def _silence_stdout() -> None:
    """After the reader went away: point stdout at /dev/null so the exit's own flush cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if client.handles(argv):  # nsml server / login / admin, and every verb when a server is set
        return client.main(argv)
    try:
        args = parse(build_parser(), tokens_of(argv))
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
