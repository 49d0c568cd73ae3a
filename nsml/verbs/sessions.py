"""Verbs on sessions: ``run``, ``fork``, ``ps``, ``compare``, ``logs``, ``stop``, ``rm``, ``memo``.

Everything a session is started with is checked before the session exists (the dataset, the entry, the argument
string), so a mistake is a one-line error and never a phantom session in ``nsml ps``.
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar

from nsml import (backends, checkpoints, compare, datasets, devices, entry_args, home, idle, launch, logs, scorers,
                  session, snapshot, table, text)
from nsml.entities import Dataset, Session
from nsml.errors import NoSpace, UsageError
from nsml.store import Store
from nsml.text import terminal_columns
from nsml.verbs import submissions
from nsml.verbs.common import add_verb, non_negative, positive, print_json, say

DEFAULT_DATASET = datasets.BUILTIN
DEFAULT_ENTRY = "main.py"
T = TypeVar("T")


def _exit_status(exit_code: int) -> int:
    """The run's own exit code, or 128 + signal as a shell reports a killed program."""
    return exit_code if exit_code >= 0 else 128 - exit_code


def _check_start(args: argparse.Namespace) -> None:
    """Refuse conflicting start options before any session is created."""
    if args.detach and args.submit:
        raise UsageError("--submit needs a foreground run; submit a detached session later with nsml submit")


def _notice_gpus(gpus: int, nproc: int) -> None:
    notice = devices.gpu_notice(gpus, nproc)
    if notice:
        say(notice)


def _start(store: Store, created: Session, detach: bool, submit_checkpoint: str | None = None) -> int:
    runner = backends.of(created)
    if detach:
        runner.detach(store, created.name)
        say(f"session {created.name} runs in the background; follow it with: nsml logs -f {created.name}")
        print(created.name)
        return 0
    exit_code = runner.supervise(store, created.name, echo=True)
    say(f"session {created.name} {backends.current(store, created.name).describe_status()}")
    if exit_code != 0 or not submit_checkpoint:
        return _exit_status(exit_code)
    say(f"submitting {created.name} checkpoint {submit_checkpoint!r}")
    return submissions.submit_and_show(store, created.name, submit_checkpoint)


def _fill(store: Store, created: Session, fill: Callable[[], T], source: Path) -> T:
    """Fill the new session's ``code/`` from ``source``; a failure removes the half-made session.

    On a full disk the copy is removed before the record (which SQLite may need room to delete), and the error is
    one line saying what needed the space instead of the copy's traceback and then the clean-up's.
    """
    try:
        return fill()
    except BaseException as error:
        code = NoSpace.behind(error)
        if code is None:
            session.discard(store, created)
            raise
        shutil.rmtree(created.code_dir, ignore_errors=True)
        try:
            session.discard(store, created)
        except Exception:  # noqa: BLE001 - a record left behind is harmless; the space error is the news
            pass
        raise NoSpace(f"{NoSpace.where(code, created.dir.parent)}: the code snapshot of {source} did not fit; the "
                      f"session is not started and its partial copy is removed; free some space, or "
                      f"leave large files out with {snapshot.IGNORE_FILE} or --max-file-mib") from error


def _check_submit(args: argparse.Namespace, dataset: Dataset) -> None:
    """``--submit`` on a dataset without a test split would train first and only then fail."""
    if args.submit and not datasets.has_test_split(dataset.root):
        raise UsageError(f"--submit: {datasets.no_test_split(dataset)}")


def cmd_run(store: Store, args: argparse.Namespace) -> int:
    _check_start(args)
    entry_args.split(args.args)
    dataset = datasets.resolve(store, args.dataset)
    _check_submit(args, dataset)
    source = Path.cwd()
    if not (source / args.entry).is_file():
        raise UsageError(f"no entry {args.entry!r} in {source} (choose one with -e)")
    backend, job = backends.choose(args)
    launch.check_arguments(source, args.entry, args.args, dataset.name, dataset.root, args.gpus)
    nproc = args.nproc or (args.gpus if args.gpus > 1 else 1)
    backends.check_caps(backend, job, args.cpus, args.gpus, nproc)
    if backend == "local":  # a cluster node's GPUs are not this machine's
        _notice_gpus(args.gpus, nproc)
    created = session.create(store, args.dataset, args.entry, args.args, gpus=args.gpus, cpus=args.cpus,
                             nproc=nproc, memo=args.memo, test_set=datasets.fingerprint(dataset.root),
                             backend=backend, job=job)
    copied = _fill(store, created, lambda: snapshot.copy_code(source, created.code_dir, skip=[home.nsml_home()],
                                                              max_file_bytes=args.max_file_mib << 20), source)
    say(f"session {created.name}: {copied.files} files ({table.size(copied.bytes)}) of code from {source}")
    for left_out in copied.skipped:
        say(f"warning: {left_out.path} not copied into the snapshot: {left_out.reason} (list it in "
            f"{snapshot.IGNORE_FILE}, or raise --max-file-mib)")
    return _start(store, created, args.detach, args.submit)


def fork_arguments(parent: Session, given: str | None, replace: bool) -> str:
    """The fork's argument string: the parent's with the flags of ``given`` replaced (or ``given`` alone)."""
    override = entry_args.split(given) if given is not None else []
    if replace:
        return entry_args.join(override)
    return entry_args.join(entry_args.merge(entry_args.split(parent.args), override, parent.param_spec))


def cmd_fork(store: Store, args: argparse.Namespace) -> int:
    _check_start(args)
    parent = backends.current(store, args.session)
    source = checkpoints.resolve(parent.checkpoint_root, args.checkpoint, f"session {parent.name}")
    dataset = datasets.resolve(store, parent.dataset)
    _check_submit(args, dataset)
    arguments = fork_arguments(parent, args.args, args.replace_args)
    if args.args is not None:
        launch.check_arguments(parent.code_dir, parent.entry, arguments, dataset.name, dataset.root, parent.gpus)
    extra = ["--pause", "1"]
    if launch.accepts_option(parent, dataset.root, "--iteration"):
        extra += ["--iteration", args.checkpoint]
    if args.args is not None:
        launch.check_load(parent.code_dir, parent.entry, arguments, extra, source, dataset.name, dataset.root,
                          f"{parent.name} checkpoint {args.checkpoint!r}")
    backend, job = backends.choose(args, parent)
    backends.check_caps(backend, job, parent.cpus, parent.gpus, parent.nproc)
    if backend == "local":
        _notice_gpus(parent.gpus, parent.nproc)
    memo = args.memo or f"fork of {parent.name} checkpoint {args.checkpoint}"
    created = session.create(store, parent.dataset, parent.entry, arguments, gpus=parent.gpus, cpus=parent.cpus,
                             nproc=parent.nproc, memo=memo,
                             parent=parent.name, parent_checkpoint=args.checkpoint, extra_args=extra,
                             test_set=datasets.fingerprint(dataset.root), backend=backend, job=job)
    summary = store.checkpoint_summaries(parent.name).get(str(args.checkpoint), {})

    def fill() -> None:
        shutil.copytree(parent.code_dir, created.code_dir, symlinks=True)
        checkpoints.adopt(created.checkpoint_root, "best", source)  # a fork that never improves still has a best
        store.record_checkpoint(created.name, "best", time.time(), summary)

    _fill(store, created, fill, parent.code_dir)
    say(f"session {created.name}: forked from {parent.name} checkpoint {args.checkpoint!r} (its 'best' until it "
        f"saves a better one), arguments: {arguments or '-'}")
    return _start(store, created, args.detach, args.submit)


def _summary(store: Store, name: str) -> dict[str, float]:
    return store.latest_metrics(name, summary_only=True) or store.latest_metrics(name)


def _finite(values: dict[str, float]) -> dict[str, float | None]:
    return {key: None if math.isnan(value) else value for key, value in values.items()}


def _status_shown(store: Store, target: Session, idle_limit: float) -> str:
    """The status, with ``idle 12m`` after a running session idle longer than the limit (``nsml.idle``)."""
    marker = idle.marker(store, target, idle_limit)
    return f"{target.describe_status()} {marker}" if marker else target.describe_status()


def cmd_ps(store: Store, args: argparse.Namespace) -> int:
    found = backends.all_sessions(store)
    idle_limit = idle.limit()
    if args.json:
        print_json([dict(asdict(s), status_shown=s.describe_status(), summary=_finite(_summary(store, s.name)),
                         idle_s=idle.idle_seconds(store, s)) for s in found])
        return 0
    width = terminal_columns()
    shown = [s.args for s in found]
    if width is not None and len(found) > 1:  # a pipe gets every session's whole argument string
        common, rest = entry_args.shared([(s.args, s.param_spec) for s in found])
        if common:
            print(text.cut(f"arguments of every session: {entry_args.join(common)}", width))
            shown = [entry_args.join(tokens) for tokens in rest]
    rows = [(s.name, table.when(s.created), args or "-", _status_shown(store, s, idle_limit),
             table.metrics(_summary(store, s.name)), s.memo) for s, args in zip(found, shown)]
    print(table.table(("SESSION", "CREATED", "ARGS", "STATUS", "SUMMARY", "MEMO"), rows, width=width,
                      shrink=(2, 4, 5)))
    return 0


def cmd_compare(store: Store, args: argparse.Namespace) -> int:
    chosen = backends.match(store, args.sessions)
    common, differing = compare.split_args(chosen)
    bests = {s.name: compare.best_values(store, s.name) for s in chosen}
    top = {s.name: compare.best_submission(store.submissions(session=s.name)) for s in chosen}
    for warning in compare.warnings(chosen, top):
        say(f"warning: {warning}")
    metric_keys = sorted({key for values in bests.values() for key in values})
    rows = []
    for s in chosen:
        options = compare.arguments(s)
        best = top[s.name]
        rows.append((s.name, s.describe_status(), *(options.get(k, "-") for k in differing),
                     *(str(bests[s.name].get(k, "-")) for k in metric_keys),
                     "-" if best is None else f"{best.primary:.2f}"))
    shared = " ".join(f"{k} {v}".strip() if not k.startswith("#") else v for k, v in common.items())
    print(f"common arguments: {shared or '-'}")
    print(table.table(("SESSION", "STATUS", *differing, *(f"best {k}" for k in metric_keys),
                       f"best {_score_heading(store, chosen)}"), rows))
    return 0


def _score_heading(store: Store, chosen: list[Session]) -> str:
    """The heading of the sessions' board score (CRR), or 'score' when their datasets score differently."""
    known = datasets.known(store)
    names = {known[s.dataset].scorer if s.dataset in known else None for s in chosen}
    if len(names) != 1 or None in names:
        return "score"
    return scorers.get(names.pop()).columns[0].heading


def cmd_logs(store: Store, args: argparse.Namespace) -> int:
    final = logs.show(store, backends.current(store, args.session), sys.stdout.buffer, args.follow,
                      current=backends.current)
    if not args.follow:
        return 0
    say(f"session {final.name} {final.describe_status()}")
    return logs.exit_status(final)


def cmd_stop(store: Store, args: argparse.Namespace) -> int:
    target = backends.current(store, args.session)
    if not target.active:
        say(f"session {target.name} is not running ({target.describe_status()})")
        return 0
    say(f"session {target.name} {backends.of(target).stop(store, target).describe_status()}")
    return 0


def cmd_rm(store: Store, args: argparse.Namespace) -> int:
    for target in backends.match(store, args.sessions):
        if target.active and args.force:
            target = backends.of(target).stop(store, target)
        session.remove(store, target)
        say(f"removed {target.name}")
    return 0


def cmd_memo(store: Store, args: argparse.Namespace) -> int:
    session.set_memo(store, args.session, args.text)
    return 0


def _start_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--detach", action="store_true", help="return at once (prints the session name); the run "
                                                              "goes on in the background")
    parser.add_argument("--submit", metavar="CHECKPOINT", type=checkpoints.argument,
                        help="when the run ends successfully, submit this checkpoint (e.g. best) to the board")


def register(verbs: Any) -> None:
    run = add_verb(verbs, "run", cmd_run,
                   "Snapshot the current folder (honouring .nsmlignore) into a new session USER/DATASET/N and run "
                   "'python ENTRY ARGS' there with the dataset attached; output streams here and to the session log.")
    run.add_argument("-d", "--dataset", default=DEFAULT_DATASET, help=f"dataset name (default {DEFAULT_DATASET})")
    run.add_argument("-e", "--entry", default=DEFAULT_ENTRY, help=f"script to run (default {DEFAULT_ENTRY})")
    run.add_argument("-a", "--args", default="", help='arguments for the entry, one string: -a "--batch_size 8"')
    run.add_argument("-g", "--gpus", type=non_negative, default=0,
                     help="GPUs (NSML_GPU_NUM); more than 1 launches one process per GPU with torchrun; on a "
                          "machine without CUDA you are told that it trains on the CPU")
    run.add_argument("-c", "--cpus", type=positive, help="CPU cores: sets OMP_NUM_THREADS for the run")
    run.add_argument("-m", "--memo", default="", help="a note shown by 'nsml ps'")
    run.add_argument("--nproc", type=positive, help="processes under torchrun (default: -g when above 1)")
    run.add_argument("--max-file-mib", type=positive, default=snapshot.DEFAULT_MAX_FILE_MIB, metavar="MIB",
                     help="files larger than this are left out of the code snapshot, with a warning "
                          f"(default {snapshot.DEFAULT_MAX_FILE_MIB})")
    _start_options(run)
    backends.add_options(run)

    ps = add_verb(verbs, "ps", cmd_ps, "List sessions: name, created, args, status, latest summary metrics, memo "
                                       "(long args and memos cut to the terminal's width). A running session "
                                       "whose log and metrics have not advanced for longer than "
                                       f"${idle.ENV_LIMIT} s (default {idle.DEFAULT_LIMIT_S:g}) is marked "
                                       "'idle 12m' (nsml watchdog lists and stops them).")
    ps.add_argument("--json", action="store_true", help="every session's whole record as JSON, including the "
                                                        "arguments the entry resolved")

    compare_verb = add_verb(verbs, "compare", cmd_compare,
                            "Compare sessions: the arguments that differ (the values the entry really used, defaults "
                            "included), each session's best value of every summary metric (lowest for loss/cer, "
                            "highest otherwise, @step) and its best score on the board; warns when the sessions "
                            "used different datasets or test sets.")
    compare_verb.add_argument("sessions", nargs="+", metavar="SESSION", help="names, wildcards allowed (quoted)")

    logs_verb = add_verb(verbs, "logs", cmd_logs, "Print a session's output (stdout and stderr of the run).")
    logs_verb.add_argument("session", help="USER/DATASET/N")
    logs_verb.add_argument("-f", "--follow", action="store_true",
                           help="keep printing until the session ends, then print its final status; exits non-zero "
                                "when it failed or was killed")

    stop = add_verb(verbs, "stop", cmd_stop, "Stop a running session: SIGTERM to all its processes, SIGKILL after "
                                             f"{launch.STOP_GRACE_S:g} s.")
    stop.add_argument("session", help="USER/DATASET/N")

    rm = add_verb(verbs, "rm", cmd_rm, "Remove sessions with their code, log, checkpoints and metrics (wildcards "
                                       "allowed, quoted: 'me/sample_dataset/*'). Board entries stay.")
    rm.add_argument("sessions", nargs="+", metavar="SESSION")
    rm.add_argument("-f", "--force", action="store_true", help="stop running sessions first instead of refusing")

    memo = add_verb(verbs, "memo", cmd_memo, "Set the note shown by 'nsml ps' for a session.")
    memo.add_argument("session", help="USER/DATASET/N")
    memo.add_argument("text")

    fork = add_verb(verbs, "fork", cmd_fork,
                    "Start a new session from a session's checkpoint: same dataset, entry and code snapshot, the "
                    "parent's arguments with the flags given in -a replaced, started with '--pause 1' so "
                    "nsml.paused() loads the checkpoint and training continues. The checkpoint is the fork's "
                    "'best' until the fork saves a better one.")
    fork.add_argument("session", help="USER/DATASET/N")
    fork.add_argument("checkpoint")
    fork.add_argument("-a", "--args", help="flags to change, one string: each replaces that flag (and its values) "
                                           "in the parent's arguments; the others are kept")
    fork.add_argument("--replace-args", action="store_true",
                      help="use -a as the whole argument string instead (the parent's are dropped)")
    fork.add_argument("-m", "--memo", help="a note shown by 'nsml ps' (default: where it was forked from)")
    _start_options(fork)
    backends.add_options(fork)
