"""The ``nsml`` command: argparse verbs that call the platform modules and print their results.

Errors the user can fix (an unknown session, checkpoint or dataset, a bad layout) print one ``nsml: ...`` line and
exit with status 2 (unknown names) or 1; only bugs in nsml itself show a traceback.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Callable, TypeVar

from nsml import checkpoints, datasets, home, launch, logs, session, snapshot, table
from nsml.errors import NsmlError
from nsml.store import Store
from nsml.submit import DEFAULT_TIMEOUT_S, submit

DEFAULT_DATASET = datasets.BUILTIN
DEFAULT_ENTRY = "main.py"
T = TypeVar("T")


def say(message: str) -> None:
    print(f"nsml: {message}", file=sys.stderr, flush=True)


def _exit_status(exit_code: int) -> int:
    """The run's own exit code, or 128 + signal as a shell reports a killed program."""
    return exit_code if exit_code >= 0 else 128 - exit_code


def _check_start(args: argparse.Namespace) -> None:
    """Refuse conflicting start options before any session is created."""
    if args.detach and args.submit:
        raise NsmlError("--submit needs a foreground run; submit a detached session later with nsml submit")


def _start(store: Store, created: session.Session, detach: bool, submit_checkpoint: str | None = None) -> int:
    if detach:
        launch.detach(store, created.name)
        say(f"session {created.name} runs in the background; follow it with: nsml logs -f {created.name}")
        print(created.name)
        return 0
    exit_code = launch.supervise(store, created.name, echo=True)
    say(f"session {created.name} {session.get(store, created.name).describe_status()}")
    if exit_code != 0 or not submit_checkpoint:
        return _exit_status(exit_code)
    say(f"submitting {created.name} checkpoint {submit_checkpoint!r}")
    return _submit(store, created.name, submit_checkpoint)


def _fill(store: Store, created: session.Session, fill: Callable[[], T]) -> T:
    """Fill the new session's ``code/``; a failure removes the half-made session."""
    try:
        return fill()
    except BaseException:
        session.discard(store, created)
        raise


def cmd_run(store: Store, args: argparse.Namespace) -> int:
    _check_start(args)
    datasets.resolve(store, args.dataset)
    source = Path.cwd()
    if not (source / args.entry).is_file():
        raise NsmlError(f"no entry {args.entry!r} in {source} (choose one with -e)")
    nproc = args.nproc or (args.gpus if args.gpus > 1 else 1)
    created = session.create(store, args.dataset, args.entry, args.args, gpus=args.gpus, cpus=args.cpus,
                             nproc=nproc, memo=args.memo)
    copied = _fill(store, created, lambda: snapshot.copy_code(source, created.code_dir, skip=[home.nsml_home()]))
    say(f"session {created.name}: {copied.files} files ({table.size(copied.bytes)}) of code from {source}")
    return _start(store, created, args.detach, args.submit)


def cmd_fork(store: Store, args: argparse.Namespace) -> int:
    _check_start(args)
    parent = session.get(store, args.session)
    checkpoints.resolve(parent.checkpoint_root, args.checkpoint, f"session {parent.name}")
    dataset_path = datasets.resolve(store, parent.dataset)
    extra = ["--pause", "1"]
    if launch.accepts_option(parent, dataset_path, "--iteration"):
        extra += ["--iteration", args.checkpoint]
    created = session.create(store, parent.dataset, parent.entry, parent.args if args.args is None else args.args,
                             gpus=parent.gpus, cpus=parent.cpus, nproc=parent.nproc,
                             memo=args.memo or f"fork of {parent.name} checkpoint {args.checkpoint}",
                             parent=parent.name, parent_checkpoint=args.checkpoint, extra_args=extra)
    _fill(store, created, lambda: shutil.copytree(parent.code_dir, created.code_dir, symlinks=True))
    say(f"session {created.name}: forked from {parent.name} checkpoint {args.checkpoint!r}")
    return _start(store, created, args.detach, args.submit)


def _summary(store: Store, name: str) -> str:
    return table.metrics(store.latest_metrics(name, summary_only=True) or store.latest_metrics(name))


def cmd_ps(store: Store, args: argparse.Namespace) -> int:
    rows = [(s.name, table.when(s.created), s.args or "-", s.describe_status(), _summary(store, s.name), s.memo)
            for s in session.all_sessions(store)]
    print(table.table(("SESSION", "CREATED", "ARGS", "STATUS", "SUMMARY", "MEMO"), rows))
    return 0


def cmd_compare(store: Store, args: argparse.Namespace) -> int:
    from nsml import compare

    chosen = session.match(store, args.sessions)
    common, differing = compare.split_args(chosen)
    bests = {s.name: compare.best_values(store, s.name) for s in chosen}
    metric_keys = sorted({key for values in bests.values() for key in values})
    rows = []
    for s in chosen:
        options = compare.parse_args(s.args)
        crr = compare.best_crr(store, s)
        rows.append((s.name, s.describe_status(), *(options.get(k, "-") or "yes" for k in differing),
                     *(str(bests[s.name].get(k, "-")) for k in metric_keys), "-" if crr is None else f"{crr:.2f}"))
    shared = " ".join(f"{k} {v}".strip() if not k.startswith("#") else v for k, v in common.items())
    print(f"common arguments: {shared or '-'}")
    print(table.table(("SESSION", "STATUS", *differing, *(f"best {k}" for k in metric_keys), "best CRR"), rows))
    return 0


def cmd_logs(store: Store, args: argparse.Namespace) -> int:
    logs.show(store, session.get(store, args.session), sys.stdout.buffer, args.follow)
    return 0


def cmd_stop(store: Store, args: argparse.Namespace) -> int:
    target = session.get(store, args.session)
    if not target.active:
        say(f"session {target.name} is not running ({target.describe_status()})")
        return 0
    say(f"session {target.name} {launch.stop(store, target).describe_status()}")
    return 0


def cmd_rm(store: Store, args: argparse.Namespace) -> int:
    for target in session.match(store, args.sessions):
        if target.active and args.force:
            target = launch.stop(store, target)
        session.remove(store, target)
        say(f"removed {target.name}")
    return 0


def cmd_memo(store: Store, args: argparse.Namespace) -> int:
    session.set_memo(store, args.session, args.text)
    return 0


def cmd_model_ls(store: Store, args: argparse.Namespace) -> int:
    owner = session.get(store, args.session)
    summaries = store.checkpoint_summaries(owner.name)
    rows = []
    for name in checkpoints.names(owner.checkpoint_root):
        saved = checkpoints.published_at(owner.checkpoint_root, name)
        folder = checkpoints.resolve(owner.checkpoint_root, name, owner.name)
        rows.append((name, table.when(saved), table.duration(saved - owner.created),
                     table.metrics(summaries.get(name, {})), table.size(checkpoints.folder_size(folder))))
    rows.sort(key=lambda row: row[1])
    print(table.table(("CHECKPOINT", "LAST MODIFIED", "ELAPSED", "SUMMARY", "SIZE"), rows))
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
    from nsml.plot import plot

    owner = session.get(store, args.session)
    print(plot(store, owner.name, args.out or owner.dir / "plot.png"))
    return 0


def cmd_submit(store: Store, args: argparse.Namespace) -> int:
    return _submit(store, args.session, args.checkpoint, args.test, args.timeout)


def _submit(store: Store, name: str, checkpoint: str, test: bool = False,
            timeout: float = DEFAULT_TIMEOUT_S) -> int:
    result = submit(store, name, checkpoint, test=test, timeout=timeout)
    kind = "test submit (not recorded)" if test else "submit"
    print(f"{kind} of {result.session} checkpoint {result.checkpoint!r}")
    print(f"CRR {result.crr:.2f}  CER {result.cer:.4f}  ({result.utterances} utterances, "
          f"edit distance {result.distance} over {result.length} characters)")
    print(f"time {result.duration:.1f} s  peak memory {table.size(result.peak_memory_kib * 1024)}")
    if result.missing:
        print(f"{result.missing} test utterances had no prediction and were scored as empty")
    if result.worst:
        print("worst utterances (distance/length):")
        for row in result.worst:
            print(f"  {row.key}  {row.distance}/{row.length}\n    ref: {row.reference}\n    hyp: {row.hypothesis}")
    if not test:
        print(f"recorded on the board of {session.get(store, result.session).dataset}")
    return 0


def cmd_dataset_ls(store: Store, args: argparse.Namespace) -> int:
    rows = []
    for name, path in datasets.known(store).items():
        train, test = datasets.counts(path)
        rows.append((name, path, "-" if train is None else train, "-" if test is None else test))
    print(table.table(("DATASET", "PATH", "TRAIN", "TEST"), rows))
    return 0


def cmd_dataset_add(store: Store, args: argparse.Namespace) -> int:
    root = datasets.add(store, args.name, args.path)
    train, test = datasets.counts(root)
    say(f"dataset {args.name} -> {root} ({train} train, {test} test utterances)")
    return 0


def cmd_dataset_pull(store: Store, args: argparse.Namespace) -> int:
    print(datasets.pull(store, args.name, args.dir))
    return 0


def cmd_dataset_board(store: Store, args: argparse.Namespace) -> int:
    datasets.resolve(store, args.name)
    rows = [(rank, row["session"], row["checkpoint"], f"{row['crr']:.2f}", f"{row['cer']:.4f}", row["utterances"],
             table.when(row["submitted"]), f"{row['duration']:.1f} s", table.size(row["peak_memory_kib"] * 1024))
            for rank, row in enumerate(store.board(args.name), 1)]
    print(table.table(("RANK", "SESSION", "CHECKPOINT", "CRR", "CER", "UTTERANCES", "SUBMITTED", "TIME",
                       "PEAK MEMORY"), rows))
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nsml", description="A local NSML: run hackathon code in recorded sessions, keep its checkpoints and "
                                 "metrics, and submit checkpoints to a dataset's leaderboard. State lives in "
                                 "$NSML_HOME (default ~/.nsml).")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)

    def verb(subparsers, name: str, handler: Callable | None, help_text: str) -> argparse.ArgumentParser:
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        if handler is not None:  # groups (model, dataset) take the handler of their action
            sub.set_defaults(handler=handler)
        return sub

    run = verb(verbs, "run", cmd_run,
               "Snapshot the current folder (honouring .nsmlignore) into a new session USER/DATASET/N and run "
               "'python ENTRY ARGS' there with the dataset attached; output streams here and to the session log.")
    run.add_argument("-d", "--dataset", default=DEFAULT_DATASET, help=f"dataset name (default {DEFAULT_DATASET})")
    run.add_argument("-e", "--entry", default=DEFAULT_ENTRY, help=f"script to run (default {DEFAULT_ENTRY})")
    run.add_argument("-a", "--args", default="", help='arguments for the entry, one string: -a "--batch_size 8"')
    run.add_argument("-g", "--gpus", type=_non_negative, default=0,
                     help="GPUs (NSML_GPU_NUM); more than 1 launches one process per GPU with torchrun")
    run.add_argument("-c", "--cpus", type=_positive, help="CPU cores: sets OMP_NUM_THREADS for the run")
    run.add_argument("-m", "--memo", default="", help="a note shown by 'nsml ps'")
    run.add_argument("--nproc", type=_positive, help="processes under torchrun (default: -g when above 1)")
    run.add_argument("--detach", action="store_true", help="return at once (prints the session name); the run "
                                                           "goes on in the background")
    run.add_argument("--submit", metavar="CHECKPOINT",
                     help="when the run ends successfully, submit this checkpoint (e.g. best) to the board")

    verb(verbs, "ps", cmd_ps, "List sessions: name, created, args, status, latest summary metrics, memo.")

    compare_verb = verb(verbs, "compare", cmd_compare,
                        "Compare sessions: the arguments that differ, each session's best value of every summary "
                        "metric (lowest for loss/cer, highest otherwise, @step) and its best CRR on the board.")
    compare_verb.add_argument("sessions", nargs="+", metavar="SESSION", help="names, wildcards allowed (quoted)")

    logs_verb = verb(verbs, "logs", cmd_logs, "Print a session's output (stdout and stderr of the run).")
    logs_verb.add_argument("session", help="USER/DATASET/N")
    logs_verb.add_argument("-f", "--follow", action="store_true", help="keep printing until the session ends")

    stop = verb(verbs, "stop", cmd_stop, "Stop a running session: SIGTERM to all its processes, SIGKILL after "
                                         f"{launch.STOP_GRACE_S:g} s.")
    stop.add_argument("session", help="USER/DATASET/N")

    rm = verb(verbs, "rm", cmd_rm, "Remove sessions with their code, log, checkpoints and metrics (wildcards "
                                   "allowed, quoted: 'me/sample_dataset/*'). Board entries stay.")
    rm.add_argument("sessions", nargs="+", metavar="SESSION")
    rm.add_argument("-f", "--force", action="store_true", help="stop running sessions first instead of refusing")

    memo = verb(verbs, "memo", cmd_memo, "Set the note shown by 'nsml ps' for a session.")
    memo.add_argument("session", help="USER/DATASET/N")
    memo.add_argument("text")

    model = verb(verbs, "model", None, "Checkpoints of a session: ls, rm, pull.")
    models = model.add_subparsers(dest="model_verb", metavar="ACTION", required=True)
    model_ls = verb(models, "ls", cmd_model_ls, "List a session's checkpoints: name, last modified, elapsed since "
                                               "the session started, metrics at save time, size.")
    model_ls.add_argument("session", help="USER/DATASET/N")
    model_rm = verb(models, "rm", cmd_model_rm, "Delete one checkpoint of a session.")
    model_rm.add_argument("session", help="USER/DATASET/N")
    model_rm.add_argument("checkpoint")
    model_pull = verb(models, "pull", cmd_model_pull, "Copy a checkpoint folder out: into DIR/CHECKPOINT when DIR "
                                                     "exists, else to DIR.")
    model_pull.add_argument("session", help="USER/DATASET/N")
    model_pull.add_argument("checkpoint")
    model_pull.add_argument("dir", type=Path)

    plot = verb(verbs, "plot", cmd_plot, "Draw every reported metric against step to a PNG (one panel per family: "
                                         "train__loss and eval__loss share 'loss') and print its path.")
    plot.add_argument("session", help="USER/DATASET/N")
    plot.add_argument("--out", type=Path, help="PNG to write (default: plot.png in the session folder)")

    submit_verb = verb(verbs, "submit", cmd_submit,
                  "Re-run the session's code snapshot with its own arguments plus '--mode test --pause 1' on a "
                  "checkpoint, score the predictions (CRR) and record them on the dataset's board.")
    submit_verb.add_argument("session", help="USER/DATASET/N")
    submit_verb.add_argument("checkpoint")
    submit_verb.add_argument("-t", "--test", action="store_true",
                        help="quick check: only the first 5 test files, stdout shown, nothing recorded")
    submit_verb.add_argument("--timeout", type=_seconds, default=DEFAULT_TIMEOUT_S, metavar="S",
                        help="kill the submit after S seconds (default 3600, as on the platform)")

    fork = verb(verbs, "fork", cmd_fork,
                "Start a new session from a session's checkpoint: same dataset, entry and code snapshot, started "
                "with '--pause 1' so nsml.paused() loads the checkpoint and training continues.")
    fork.add_argument("session", help="USER/DATASET/N")
    fork.add_argument("checkpoint")
    fork.add_argument("-a", "--args", help="arguments for the entry (default: the parent's)")
    fork.add_argument("-m", "--memo", help="a note shown by 'nsml ps' (default: where it was forked from)")
    fork.add_argument("--detach", action="store_true", help="return at once; the run goes on in the background")
    fork.add_argument("--submit", metavar="CHECKPOINT",
                      help="when the run ends successfully, submit this checkpoint (e.g. best) to the board")

    dataset = verb(verbs, "dataset", None, "Datasets: ls, add, pull, board.")
    dataset_verbs = dataset.add_subparsers(dest="dataset_verb", metavar="ACTION", required=True)
    verb(dataset_verbs, "ls", cmd_dataset_ls, "List datasets with their folder and train/test utterance counts.")
    dataset_add = verb(dataset_verbs, "add", cmd_dataset_add,
                       "Register a folder in the hackathon layout (train/train_data/data_list.csv, train/train_label,"
                       " test/test_data/test_list.csv, test/test_label) under a name.")
    dataset_add.add_argument("name")
    dataset_add.add_argument("path", type=Path)
    dataset_pull = verb(dataset_verbs, "pull", cmd_dataset_pull,
                        "Copy a dataset out: into DIR/NAME when DIR exists, else to DIR.")
    dataset_pull.add_argument("name")
    dataset_pull.add_argument("dir", type=Path)
    board = verb(dataset_verbs, "board", cmd_dataset_board, "The dataset's leaderboard, best CRR first.")
    board.add_argument("name")
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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(_join_entry_args(sys.argv[1:] if argv is None else argv))
    store = Store(home.db_path())
    try:
        return args.handler(store, args)
    except NsmlError as error:
        say(str(error))
        return error.code
    except KeyboardInterrupt:
        say("interrupted")
        return 130
