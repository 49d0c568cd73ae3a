"""One convention for every command-line tool of the kit: a known error prints ``PROG: error: MESSAGE`` on
stderr (one line, no traceback) and exits with status 2, as argparse does for a bad flag."""

from __future__ import annotations

import sys

USAGE_ERROR = 2


def fail(prog: str, message: object) -> int:
    """Print ``prog: error: message`` to stderr and return the exit status to use."""
    print(f"{prog}: error: {message}", file=sys.stderr)
    return USAGE_ERROR
