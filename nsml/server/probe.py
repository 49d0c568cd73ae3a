"""``python -m nsml.server.probe SESSION CHECKPOINT``: what the server needs to score a team's checkpoint, as JSON.

It runs in the team's sandbox, as the team, on the team's own store: the server never opens a team's store itself
(see ``nsml.server.db``). An unknown session or checkpoint is the ordinary one-line error, exit status 2.
"""

from __future__ import annotations

import json
import sys

from nsml import checkpoints, home
from nsml.backends import current
from nsml.errors import NsmlError
from nsml.store import Store


def main(argv: list[str]) -> int:
    name, checkpoint = argv
    try:
        session = current(Store(home.db_path()), name)
        folder = checkpoints.resolve(session.checkpoint_root, checkpoint, f"session {session.name}")
    except NsmlError as error:
        print(f"nsml: error: {error}", file=sys.stderr)
        return error.code
    print(json.dumps({"name": session.name, "dataset": session.dataset, "entry": session.entry, "args": session.args,
                      "code_dir": str(session.code_dir), "checkpoint": str(folder), "status": session.status}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
