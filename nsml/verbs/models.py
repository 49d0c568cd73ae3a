"""Verbs on a session's checkpoints and metrics: ``model ls``, ``model rm``, ``model pull`` and ``plot``."""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import Any

from nsml import backends, checkpoints, home, snapshot, table
from nsml.errors import NsmlError, OutsideHome
from nsml.store import Store
from nsml.text import terminal_columns
from nsml.verbs.common import add_verb, print_json, say, seconds


def cmd_model_ls(store: Store, args: argparse.Namespace) -> int:
    owner = backends.current(store, args.session)
    summaries = store.checkpoint_summaries(owner.name)
    found = []
    for name in checkpoints.names(owner.checkpoint_root):
        saved = checkpoints.published_at(owner.checkpoint_root, name)
        try:
            folder = checkpoints.resolve(owner.checkpoint_root, name, owner.name)
        except OutsideHome as error:  # listed as a warning, never measured or followed
            say(f"warning: {error}")
            continue
        found.append({"checkpoint": name, "saved": saved, "elapsed": saved - owner.created,
                      "summary": summaries.get(name, {}), "size": checkpoints.folder_size(folder),
                      "path": str(owner.checkpoint_root / name)})
    found.sort(key=lambda item: item["saved"])
    if args.json:
        print_json([dict(item, summary={k: None if math.isnan(v) else v for k, v in item["summary"].items()})
                    for item in found])
        return 0
    rows = [(item["checkpoint"], table.when(item["saved"]), table.duration(item["elapsed"]),
             table.metrics(item["summary"]), table.size(item["size"])) for item in found]
    print(table.table(("CHECKPOINT", "LAST MODIFIED", "ELAPSED", "SUMMARY", "SIZE"), rows, width=terminal_columns(),
                      shrink=(3,)))
    return 0


def cmd_model_rm(store: Store, args: argparse.Namespace) -> int:
    owner = backends.current(store, args.session)
    checkpoints.remove(owner.checkpoint_root, args.checkpoint, f"session {owner.name}")
    store.delete_checkpoint(owner.name, args.checkpoint)
    say(f"removed checkpoint {args.checkpoint!r} of {owner.name}")
    return 0


def cmd_model_pull(store: Store, args: argparse.Namespace) -> int:
    owner = backends.current(store, args.session)
    folder = checkpoints.resolve(owner.checkpoint_root, args.checkpoint, f"session {owner.name}")
    print(snapshot.copy_out(folder, args.checkpoint, args.dir))
    return 0


def cmd_plot(store: Store, args: argparse.Namespace) -> int:
    """Draw once, or with ``--watch`` redraw every N seconds (sessions matching again each time) until all ended."""
    from nsml.plot import image_format, plot

    chosen = backends.match(store, args.sessions)
    output = args.out or (chosen[0].dir / "plot.png" if len(chosen) == 1 and not _wildcards(args.sessions)
                          else home.nsml_home() / "plot.png")
    image_format(output)  # a bad --out is refused before anything is drawn
    if args.watch is None:
        print(plot(store, [s.name for s in chosen], output))
        return 0
    drawn = False
    while True:
        try:
            plot(store, [s.name for s in chosen], output)
        except NsmlError:  # nothing reported yet: wait for the first report instead of failing
            done = "nothing reported yet"
        else:
            done = f"drew {output}"
            if not drawn:
                print(output, flush=True)
                drawn = True
        running = [s.name for s in chosen if s.active]
        if not running:
            break
        say(f"{time.strftime('%H:%M:%S')} {done}; {len(running)} of {len(chosen)} session(s) running, next in "
            f"{args.watch:g} s (Ctrl-C stops)")
        time.sleep(args.watch)
        chosen = backends.match(store, args.sessions)
    if not drawn:
        raise NsmlError(f"the sessions ended without reporting any metric: {', '.join(s.name for s in chosen)}")
    say(f"every session has ended; final plot: {output}")
    return 0


def _wildcards(patterns: list[str]) -> bool:
    return any(ch in pattern for pattern in patterns for ch in "*?[")


def register(verbs: Any) -> None:
    model = add_verb(verbs, "model", None, "Checkpoints of a session: ls, rm, pull.")
    models = model.add_subparsers(dest="model_verb", metavar="ACTION", required=True)
    model_ls = add_verb(models, "ls", cmd_model_ls, "List a session's checkpoints: name, last modified, elapsed "
                                                    "since the session started, metrics at save time, size.")
    model_ls.add_argument("session", help="USER/DATASET/N")
    model_ls.add_argument("--json", action="store_true", help="the whole records as JSON (all metrics, paths)")
    model_rm = add_verb(models, "rm", cmd_model_rm, "Delete one checkpoint of a session.")
    model_rm.add_argument("session", help="USER/DATASET/N")
    model_rm.add_argument("checkpoint")
    model_pull = add_verb(models, "pull", cmd_model_pull, "Copy a checkpoint folder out: into DIR/CHECKPOINT when "
                                                          "DIR exists, else to DIR.")
    model_pull.add_argument("session", help="USER/DATASET/N")
    model_pull.add_argument("checkpoint")
    model_pull.add_argument("dir", type=Path)

    plot = add_verb(verbs, "plot", cmd_plot, "Draw every reported metric against step to an image (one panel per "
                                             "family: train__loss and eval__loss share 'loss') and print its path. "
                                             "Several sessions are overlaid (a colour per session).")
    plot.add_argument("sessions", nargs="+", metavar="SESSION",
                      help="USER/DATASET/N, several, or wildcards (quoted: 'me/sample_dataset/*')")
    plot.add_argument("--out", type=Path, help="image to write; its suffix picks the format (.png, .pdf, .svg, ...; "
                                               "default: plot.png in the session folder, or in $NSML_HOME for "
                                               "several sessions)")
    plot.add_argument("--watch", type=seconds, nargs="?", const=10.0, metavar="SECONDS",
                      help="redraw every SECONDS (default 10) until every session has ended")
