"""Verbs on datasets: ``dataset ls``, ``add``, ``rm``, ``pull`` and ``board``.

The board ranks only submissions scored on the same test set (same fingerprint, same scorer) against each other:
each test set is a section of its own, the dataset's current test set first, then older ones, newest first.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nsml import datasets, scorers, session, table
from nsml.entities import Submission
from nsml.errors import UnknownName
from nsml.store import Store
from nsml.text import terminal_columns
from nsml.verbs.common import add_verb, say


def cmd_dataset_ls(store: Store, args: argparse.Namespace) -> int:
    rows = []
    for dataset in datasets.known(store).values():
        train, test = datasets.counts(dataset.root)
        rows.append((dataset.name, dataset.path, "-" if train is None else train, "-" if test is None else test,
                     dataset.scorer, datasets.fingerprint(dataset.root) or "-"))
    print(table.table(("DATASET", "PATH", "TRAIN", "TEST", "SCORER", "TEST SET"), rows))
    return 0


def cmd_dataset_add(store: Store, args: argparse.Namespace) -> int:
    dataset = datasets.add(store, args.name, args.path, scorer=args.scorer, force=args.force)
    train, test = datasets.counts(dataset.root)
    say(f"dataset {dataset.name} -> {dataset.root} ({train} train, {test} test utterances, scorer {dataset.scorer}, "
        f"test set {datasets.fingerprint(dataset.root)})")
    return 0


def cmd_dataset_rm(store: Store, args: argparse.Namespace) -> int:
    removed = datasets.remove(store, args.name, session.all_sessions(store))
    say(f"removed dataset {removed.name}; its folder {removed.path} is untouched and its board stays")
    return 0


def cmd_dataset_pull(store: Store, args: argparse.Namespace) -> int:
    print(datasets.pull(store, args.name, args.dir))
    return 0


@dataclass(frozen=True)
class Section:
    """The submissions of one dataset scored on one test set by one scorer, best first."""

    test_set: str | None
    scorer: str
    rows: list[Submission]
    current: bool

    @property
    def first_scored(self) -> float:
        return min(row.submitted for row in self.rows)


def sections(submissions: list[Submission], current_test_set: str | None) -> list[Section]:
    """Submissions grouped by (test set, scorer): the current test set first, then the newest first."""
    groups: dict[tuple[str | None, str], list[Submission]] = defaultdict(list)
    for row in submissions:
        groups[(row.test_set, row.scorer)].append(row)
    found = [Section(test_set, scorer, sorted(rows, key=Submission.rank_key),
                     current=test_set is not None and test_set == current_test_set)
             for (test_set, scorer), rows in groups.items()]
    return sorted(found, key=lambda s: (not s.current, -s.first_scored))


def _section_heading(section: Section) -> str:
    if section.test_set is None:
        where = "test set unknown (scored before test sets were fingerprinted)"
    else:
        where = f"test set {section.test_set} ({'current' if section.current else 'no longer the dataset test set'})"
    return f"{where}, scorer {section.scorer}, {len(section.rows)} submission(s)"


def _section_table(section: Section) -> str:
    scorer = scorers.SCORERS.get(section.scorer)
    columns = scorer.columns if scorer is not None else ()
    rows = []
    for rank, row in enumerate(section.rows, 1):
        metrics = ([scorer.format(row.metrics, c) for c in columns] if scorer is not None else [])
        rows.append((rank, row.session, row.checkpoint, *metrics, row.utterances, table.when(row.submitted),
                     f"{row.duration:.1f} s", table.size(row.peak_memory_kib * 1024),
                     "-" if row.args is None else (row.args or "-")))
    headings = ("RANK", "SESSION", "CHECKPOINT", *(c.heading for c in columns), "UTTERANCES", "SUBMITTED", "TIME",
                "PEAK MEMORY", "ARGS")
    return table.table(headings, rows, width=terminal_columns(), shrink=(len(headings) - 1,))


def cmd_dataset_board(store: Store, args: argparse.Namespace) -> int:
    known = datasets.known(store)
    submitted = store.submissions(dataset=args.name)
    if args.name not in known and not submitted:  # a removed dataset's board stays readable
        raise UnknownName("dataset", args.name, known)
    current = datasets.fingerprint(known[args.name].root) if args.name in known else None
    found = sections(submitted, current)
    if not found:
        say(f"no submissions on the board of {args.name} yet")
    for index, section in enumerate(found):
        if index:
            print()
        print(_section_heading(section))
        print(_section_table(section))
    return 0


def register(verbs: Any) -> None:
    dataset = add_verb(verbs, "dataset", None, "Datasets: ls, add, rm, pull, board.")
    actions = dataset.add_subparsers(dest="dataset_verb", metavar="ACTION", required=True)
    add_verb(actions, "ls", cmd_dataset_ls, "List datasets with their folder, train/test utterance counts, scorer and "
                                            "the fingerprint of their current test set.")
    add = add_verb(actions, "add", cmd_dataset_add,
                   "Register a folder in the hackathon layout (train/train_data/data_list.csv, train/train_label, "
                   "test/test_data/test_list.csv, test/test_label) under a name. An existing name is refused "
                   "unless --force.")
    add.add_argument("name")
    add.add_argument("path", type=Path)
    add.add_argument("--scorer", default=scorers.DEFAULT, choices=sorted(scorers.SCORERS),
                     help=f"what the board measures (default {scorers.DEFAULT}): "
                          + "; ".join(f"{s.name}: {s.description}" for s in scorers.SCORERS.values()))
    add.add_argument("--force", action="store_true", help="replace a dataset of the same name (its board keeps "
                                                          "the old submissions, in a section of their own)")
    remove = add_verb(actions, "rm", cmd_dataset_rm, "Forget a registered dataset (its files are not touched, its "
                                                     "board stays); refused while a session runs on it.")
    remove.add_argument("name")
    pull = add_verb(actions, "pull", cmd_dataset_pull,
                    "Copy a dataset out: into DIR/NAME when DIR exists, else to DIR.")
    pull.add_argument("name")
    pull.add_argument("dir", type=Path)
    board = add_verb(actions, "board", cmd_dataset_board,
                     "The dataset's leaderboard, best first, one section per test set: submissions scored on "
                     "different test files are never ranked together.")
    board.add_argument("name")
