"""Verbs on datasets: ``dataset ls``, ``add``, ``rm``, ``pull`` and ``board`` (its sections: ``nsml.leaderboard``)."""

from __future__ import annotations

import argparse
import math
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nsml import backends, datasets, home, scorers, table
from nsml.errors import NsmlError, UnknownName, UsageError
from nsml.leaderboard import Section, sections
from nsml.store import Store
from nsml.text import terminal_columns
from nsml.verbs.common import add_verb, positive, say
from speech_kit.findings import Report
from speech_kit.validate import check_dataset
from speech_kit.vocab import LabelTableError, Vocab


def cmd_dataset_ls(store: Store, args: argparse.Namespace) -> int:
    rows = []
    for dataset in datasets.known(store).values():
        train, test = datasets.counts(dataset.root)
        rows.append((dataset.name, dataset.path, "-" if train is None else train, "-" if test is None else test,
                     dataset.scorer, datasets.fingerprint(dataset.root) or "-"))
    print(table.table(("DATASET", "PATH", "TRAIN", "TEST", "SCORER", "TEST SET"), rows))
    return 0


def _label_table(path: Path | None) -> Vocab | None:
    """The ``Vocab`` of ``--labels`` (None without one); a bad table is a one-line usage error."""
    if path is None:
        return None
    try:
        return Vocab.from_file(path)
    except (LabelTableError, OSError, ValueError) as error:
        raise UsageError(f"--labels {path}: {error}") from None


def _print_report(report: Report, to_stdout: bool) -> None:
    for line in report.format(examples=3):
        if to_stdout:
            print(line)
        else:
            say(line)


def _screen(labels: Path | None, allow_bad: bool, splits: tuple[str, ...] = ("train", "test")
            ) -> Callable[[Path], None]:
    """What ``dataset add`` runs on the folder once its layout is right: the whole check of ``splits``, refusing on
    errors."""
    table = _label_table(labels)

    def screen(root: Path) -> None:
        report = check_dataset(root, table, splits=splits)
        if report.findings:
            _print_report(report, to_stdout=False)
        first = report.first_error()
        if first is not None and not allow_bad:
            raise NsmlError(f"{root}: {report.counts()}, first {first}; not registered (fix the files, or "
                            f"register anyway with --allow-bad-samples and train with --on_bad_sample skip)")

    return screen


def max_duration(text: str) -> float:
    """``--max_duration`` of ``dataset check``: a positive number of seconds (0 or less would call every file too
    long; main.py's 0, "from the memory", has no meaning without a device and a batch size)."""
    value = float(text)
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text} (leave the flag out to "
                                         f"not check durations)")
    return value


def cmd_dataset_check(store: Store, args: argparse.Namespace) -> int:
    known = datasets.known(store)
    if args.target in known:
        root = datasets.resolve(store, args.target).root
    elif Path(args.target).expanduser().is_dir():
        root = Path(args.target).expanduser().resolve()
    else:
        raise UsageError(f"no dataset or folder {args.target!r}; datasets: {', '.join(known) or 'none'}")
    if not (root / "train").is_dir() and not (root / "test").is_dir():
        raise UsageError(f"{root} has neither train/ nor test/: not a dataset in the hackathon layout")
    present = tuple(split for split in ("train", "test") if (root / split).is_dir())
    report = check_dataset(root, _label_table(args.labels), splits=args.split or present,
                           max_seconds=args.max_duration)
    _print_report(report, to_stdout=True)
    return 1 if report.errors else 0


def cmd_dataset_add(store: Store, args: argparse.Namespace) -> int:
    """Register a folder; a train-only one (no ``test/``, as the 2019 sample was) is checked on its train split,
    and ``--test_from_train N`` first carves a test split out of the train list into the platform's own folder."""
    if args.split_seed is not None and args.test_from_train is None:
        raise UsageError("--split_seed is the seed of --test_from_train's draw; give both, or neither")
    if args.test_from_train is not None:
        return _add_carved(store, args)
    root = args.path.expanduser().resolve()
    if (root / "train").is_dir() and not datasets.has_test_split(root):
        dataset = datasets.add(store, args.name, args.path, scorer=args.scorer, force=args.force,
                               screen=_screen(args.labels, args.allow_bad_samples, splits=("train",)))
        train, _ = datasets.counts(dataset.root)
        say(f"dataset {dataset.name} -> {dataset.root} ({train} train utterances, scorer {dataset.scorer}); "
            f"train-only (no test/): sessions train on it but cannot be submitted; --test_from_train N carves a "
            f"test split")
        return 0
    dataset = datasets.add(store, args.name, args.path, scorer=args.scorer, force=args.force,
                           screen=_screen(args.labels, args.allow_bad_samples))
    train, test = datasets.counts(dataset.root)
    say(f"dataset {dataset.name} -> {dataset.root} ({train} train, {test} test utterances, scorer {dataset.scorer}, "
        f"test set {datasets.fingerprint(dataset.root)})")
    return 0


def _add_carved(store: Store, args: argparse.Namespace) -> int:
    """``--test_from_train N``: a seeded test split of the folder's train list, written (with the rest as train)
    to ``$NSML_HOME/datasets/NAME`` and registered from there; the user's folder is only read."""
    home.check_name(args.name, "dataset name")
    existing = datasets.known(store).get(args.name)
    if existing is not None and not args.force:
        raise datasets.taken(existing)
    running = [s.name for s in backends.all_sessions(store) if s.dataset == args.name and s.active]
    if running:
        raise NsmlError(f"dataset {args.name!r} is in use by running session(s) {', '.join(running)}; stop them "
                        f"first")
    seed = args.split_seed or 0
    target = datasets.carve_test_split(args.path, datasets.carved_root(args.name), args.test_from_train, seed,
                                       args.labels)
    say(f"test split: {args.test_from_train} utterances of {args.path.expanduser().resolve()}'s train list (seed "
        f"{seed}), the rest as train, written to {target}")
    args.path, args.test_from_train, args.split_seed = target, None, None
    try:
        return cmd_dataset_add(store, args)
    except BaseException:
        registered = datasets.known(store).get(args.name)
        if registered is None or registered.root != target:
            shutil.rmtree(target, ignore_errors=True)
        raise


def cmd_dataset_rm(store: Store, args: argparse.Namespace) -> int:
    removed = datasets.remove(store, args.name, backends.all_sessions(store))
    say(f"removed dataset {removed.name}; its folder {removed.path} is untouched and its board stays")
    return 0


def cmd_dataset_pull(store: Store, args: argparse.Namespace) -> int:
    print(datasets.pull(store, args.name, args.dir))
    return 0


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
    dataset = add_verb(verbs, "dataset", None, "Datasets: ls, add, check, rm, pull, board.")
    actions = dataset.add_subparsers(dest="dataset_verb", metavar="ACTION", required=True)
    add_verb(actions, "ls", cmd_dataset_ls, "List datasets with their folder, train/test utterance counts, scorer and "
                                            "the fingerprint of their current test set.")
    add = add_verb(actions, "add", cmd_dataset_add,
                   "Register a folder in the hackathon layout (train/train_data/data_list.csv, train/train_label, "
                   "and for submissions test/test_data/test_list.csv, test/test_label) under a name. A folder "
                   "without test/ registers train-only. An existing name is refused unless --force.")
    add.add_argument("name")
    add.add_argument("path", type=Path)
    add.add_argument("--scorer", default=scorers.DEFAULT, choices=sorted(scorers.SCORERS),
                     help=f"what the board measures (default {scorers.DEFAULT}): "
                          + "; ".join(f"{s.name}: {s.description}" for s in scorers.SCORERS.values()))
    add.add_argument("--force", action="store_true", help="replace a dataset of the same name (its board keeps "
                                                          "the old submissions, in a section of their own)")
    add.add_argument("--labels", type=Path, help="the dataset's label table: train_label ids and test_label "
                                                 "texts are checked against it")
    add.add_argument("--allow-bad-samples", action="store_true",
                     help="register even when the check finds errors (train with --on_bad_sample skip)")
    add.add_argument("--test_from_train", type=positive, metavar="N",
                     help="carve a test split of N utterances out of the folder's train list (seeded, "
                          "deterministic) and register it with the remaining utterances as train: written to "
                          "$NSML_HOME/datasets/NAME, the folder itself is only read; test transcripts are read "
                          "from train_label's ids with --labels (default hackathon.labels)")
    add.add_argument("--split_seed", type=int, metavar="S", help="the seed of --test_from_train's draw (default 0)")
    check = add_verb(actions, "check", cmd_dataset_check,
                     "Check a dataset (a registered name or a folder): every list and label line and every listed "
                     "file read once; prints each kind of problem with its count and first files (FILE:LINE). "
                     "Exit status 1 when there are errors. Results per audio file are cached by size and mtime.")
    check.add_argument("target", metavar="NAME|PATH")
    check.add_argument("--labels", type=Path, help="the dataset's label table: train_label ids and test_label "
                                                   "texts are checked against it (not checked without one)")
    check.add_argument("--max_duration", type=max_duration, metavar="S",
                       help="report training files longer than S seconds (main.py's --max_duration; its default "
                            "depends on the memory and --batch_size)")
    check.add_argument("--split", action="append", choices=("train", "test"),
                       help="check only this split (repeatable; default the splits the folder has)")
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
