"""The ``nsml`` command: the verbs of ``nsml.verbs`` under one parser, and errors turned into one line.

A wrong command line (an unknown session, checkpoint or dataset, an argument string that does not split, a
dataset name already taken) prints ``nsml: error: ...`` and exits with 2, like argparse's own usage errors; work
that failed (a submit whose entry crashed, a dataset folder missing a file) prints ``nsml: ...`` and exits with 1.
Only a bug in nsml itself shows a traceback. Output cut short by its reader (``nsml ps | head -1``) ends quietly.
A mistyped verb or choice is answered with the closest one ("did you mean run?"), and a flag of the entry given
to ``nsml run`` itself is pointed to ``-a``.

``dataset add`` is extended here for the folders its verb module does not take: a train-only folder (no ``test/``,
as the 2019 sample was), checked on its train split only, and ``--test_from_train N``, which carves a test split
(``nsml.datasets.carve_test_split``) and registers that through the verb's own handler.
"""

from __future__ import annotations

import argparse
import difflib
import os
import shutil
import sys
from pathlib import Path

from nsml import argrecord, datasets, entry_args, home, scratch, session
from nsml.errors import NsmlError, UsageError
from nsml.store import Store
from nsml.verbs import board, models, sessions, submissions
from nsml.verbs import datasets as dataset_verbs
from nsml.verbs.common import Handler, positive, say
from speech_kit.cli import fail
from speech_kit.validate import check_dataset
from speech_kit.vocab import LabelTableError, Vocab

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
    for module in (sessions, models, submissions, dataset_verbs, board):
        module.register(verbs)
    _extend_dataset_add(_subparser(parser, "dataset", "add"))
    return parser


def _subparser(parser: argparse.ArgumentParser, *path: str) -> argparse.ArgumentParser:
    for name in path:
        parser = next(action.choices[name] for action in parser._actions
                      if isinstance(action, argparse._SubParsersAction))
    return parser


def _extend_dataset_add(add: argparse.ArgumentParser) -> None:
    """``dataset add`` for a folder without ``test/`` (train-only) and with ``--test_from_train N``."""
    add.add_argument("--test_from_train", type=positive, metavar="N",
                     help="carve a test split of N utterances out of the folder's train list (seeded, "
                          "deterministic) and register it with the remaining utterances as train: written to "
                          "$NSML_HOME/datasets/NAME, the folder itself is only read; test transcripts are read "
                          "from train_label's ids with --labels (default hackathon.labels)")
    add.add_argument("--split_seed", type=int, metavar="S", help="the seed of --test_from_train's draw (default 0)")
    add.set_defaults(handler=_dataset_add(add.get_default("handler")))


def _dataset_add(register: Handler) -> Handler:
    """The ``dataset add`` handler: carved and train-only folders here, every other folder to ``register``."""
    def handler(store: Store, args: argparse.Namespace) -> int:
        if args.test_from_train is not None:
            return _add_carved(store, args, register)
        if args.split_seed is not None:
            raise UsageError("--split_seed is the seed of --test_from_train's draw; give both, or neither")
        root = args.path.expanduser().resolve()
        if (root / "train").is_dir() and not datasets.has_test_split(root):
            return _add_train_only(store, args)
        return register(store, args)

    return handler


def _add_carved(store: Store, args: argparse.Namespace, register: Handler) -> int:
    home.check_name(args.name, "dataset name")
    existing = datasets.known(store).get(args.name)
    if existing is not None and not args.force:
        raise datasets.taken(existing)
    running = [s.name for s in session.all_sessions(store) if s.dataset == args.name and s.active]
    if running:
        raise NsmlError(f"dataset {args.name!r} is in use by running session(s) {', '.join(running)}; stop them "
                        f"first")
    seed = args.split_seed or 0
    target = datasets.carve_test_split(args.path, datasets.carved_root(args.name), args.test_from_train, seed,
                                       args.labels)
    say(f"test split: {args.test_from_train} utterances of {args.path.expanduser().resolve()}'s train list (seed "
        f"{seed}), the rest as train, written to {target}")
    args.path = target
    try:
        return register(store, args)
    except BaseException:
        registered = datasets.known(store).get(args.name)
        if registered is None or registered.root != target:
            shutil.rmtree(target, ignore_errors=True)
        raise


def _add_train_only(store: Store, args: argparse.Namespace) -> int:
    labels = None
    if args.labels is not None:
        try:
            labels = Vocab.from_file(args.labels)
        except (LabelTableError, OSError, ValueError) as error:
            raise UsageError(f"--labels {args.labels}: {error}") from None

    def screen(root: Path) -> None:
        report = check_dataset(root, labels, splits=("train",))
        for line in report.format(examples=3) if report.findings else ():
            say(line)
        first = report.first_error()
        if first is not None and not args.allow_bad_samples:
            raise NsmlError(f"{root}: {report.counts()}, first {first}; not registered (fix the files, or "
                            f"register anyway with --allow-bad-samples and train with --on_bad_sample skip)")

    dataset = datasets.add(store, args.name, args.path, scorer=args.scorer, force=args.force, screen=screen)
    train, _ = datasets.counts(dataset.root)
    say(f"dataset {dataset.name} -> {dataset.root} ({train} train utterances, scorer {dataset.scorer}); train-only "
        f"(no test/): sessions train on it but cannot be submitted; --test_from_train N carves a test split")
    return 0


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
