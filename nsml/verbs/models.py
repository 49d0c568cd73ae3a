"""Verbs on a session's checkpoints and metrics: ``model ls``, ``model rm``, ``model pull`` and ``plot``."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from nsml import checkpoints, session, snapshot, table
from nsml.store import Store
from nsml.text import terminal_columns
from nsml.verbs.common import add_verb, print_json, say


def cmd_model_ls(store: Store, args: argparse.Namespace) -> int:
    owner = session.get(store, args.session)
    summaries = store.checkpoint_summaries(owner.name)
    found = []
    for name in checkpoints.names(owner.checkpoint_root):
        saved = checkpoints.published_at(owner.checkpoint_root, name)
        folder = checkpoints.resolve(owner.checkpoint_root, name, owner.name)
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
    owner = session.get(store, args.session)
    checkpoints.remove(owner.checkpoint_root, args.checkpoint, f"session {owner.name}")
    store.delete_checkpoint(owner.name, args.checkpoint)
    say(f"removed checkpoint {args.checkpoint!r} of {owner.name}")
    return 0


def cmd_model_pull(store: Store, args: argparse.Namespace) -> int:
    owner = session.get(store, args.session)
    folder = checkpoints.resolve(owner.checkpoint_root, args.checkpoint, f"session {owner.name}")
    print(snapshot.copy_out(folder, args.checkpoint, args.dir))
    return 0


def cmd_plot(store: Store, args: argparse.Namespace) -> int:
    from nsml.plot import image_format, plot

    owner = session.get(store, args.session)
    output = args.out or owner.dir / "plot.png"
    image_format(output)  # a bad --out is refused before anything is drawn
    print(plot(store, owner.name, output))
    return 0


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
                                             "family: train__loss and eval__loss share 'loss') and print its path.")
    plot.add_argument("session", help="USER/DATASET/N")
    plot.add_argument("--out", type=Path, help="image to write; its suffix picks the format (.png, .pdf, .svg, ...; "
                                               "default: plot.png in the session folder)")
