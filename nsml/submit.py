"""``nsml submit``: re-run a session's own code on a checkpoint, score its predictions, record them on the board.

The child is the session's code snapshot with the session's own arguments plus ``--mode test --pause 1`` (flags
such as ``--use_attention`` must match the checkpoint, and could not be changed on the platform either). It runs
with ``NSML_PAUSED=submit``, so ``nsml.paused()`` loads the checkpoint and feeds the test list through ``infer``
with the platform's feeder, then exits. The predictions are scored here by the dataset's scorer
(``nsml.scorers``), never by the ``evaluation`` package a user's snapshot may ship. A recorded submit keeps its
predictions in the session folder and its per-utterance scores in the store, for ``submit show``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from nsml import backends, checkpoints, datasets, home, scorers
from nsml.constants import (ENV_PAUSED, ENV_PAUSED_CHECKPOINT, ENV_SUBMIT_ERRORS, ENV_SUBMIT_ID,
                            ENV_SUBMIT_KEEP_GOING, ENV_SUBMIT_LIMIT, ENV_SUBMIT_OUTPUT, SUBMIT_FAILURE_HEADER)
from nsml.entities import ScoredUtterance, Session, Submission
from nsml.errors import NsmlError, SubmitFailed, UsageError
from nsml.launch import command, environment
from nsml.procs import die_with_parent, kill_marked, terminate_tree
from nsml.scratch import submit_folder
from nsml.runtime import EXIT_FEED_FAILED, EXIT_INFER_FAILED, EXIT_LOAD_FAILED, EXIT_NOT_BOUND
from nsml.store import Store
from speech_kit import layout, scoring
from speech_kit.atomic import atomic_write

DEFAULT_TIMEOUT_S = 3600.0
TEST_LIMIT = 5  # files fed through infer by ``submit -t``
WORST_SHOWN = 5
ERRORS_FILE = "infer_errors.log"  # tracebacks of a --keep_going submit, one block per failed file
_POLL_S = 0.05

_REASONS = {
    EXIT_LOAD_FAILED: "your load() raised (traceback above)",
    EXIT_INFER_FAILED: "your infer() raised (traceback above)",
    EXIT_NOT_BOUND: "nothing was bound: call nsml.bind(save=..., load=..., infer=...) before nsml.paused()",
    EXIT_FEED_FAILED: "feeding the test list failed (traceback above)",
    2: "the entry exited with code 2 (a usage error? it must accept --mode and --pause)",
}


@dataclass(frozen=True)
class Outcome:
    """A scored submit: what ``nsml submit`` prints, and the stored record unless it was ``-t``."""

    session: str
    checkpoint: str
    scorer: scorers.Scorer
    result: scorers.Result
    duration: float
    peak_memory_kib: int
    missing: int  # references without a prediction (scored as empty)
    recorded: Submission | None
    predictions: Path | None  # where a recorded submit keeps its predictions
    infer_failures: int = 0  # files whose infer raised, predicted as "" (--keep_going)
    errors_log: Path | None = None  # their tracebacks: kept beside the predictions (recorded), else shown

    def worst(self, count: int = WORST_SHOWN) -> list[scorers.Utterance]:
        wrong = [u for u in self.result.utterances if u.errors > 0]
        return sorted(wrong, key=lambda u: (-u.errors / (u.size or 1), -u.errors, u.key))[:count]


def predictions_path(session: Session, number: int) -> Path:
    return session.dir / "submissions" / str(number) / "predictions.csv"


def _reason(exit_code: int) -> str:
    if exit_code < 0:
        return f"the entry was killed by {signal.Signals(-exit_code).name}"
    return _REASONS.get(exit_code, f"the entry exited with code {exit_code}")


def _peak_kib(usage: os.struct_rusage) -> int:
    return usage.ru_maxrss // 1024 if sys.platform == "darwin" else usage.ru_maxrss  # bytes on macOS, KiB on Linux


def _wait(child: subprocess.Popen, timeout: float) -> tuple[int, int]:
    """(exit code, peak memory in KiB) of ``child`` itself, read from ``wait4``'s rusage of that one process.

    ``getrusage(RUSAGE_CHILDREN)`` would report the largest of every child this process ever waited for (the
    training run of ``run --submit``, say), not the submit's own.
    """
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            child.returncode = os.waitstatus_to_exitcode(status)
            return child.returncode, _peak_kib(usage)
        if time.monotonic() > deadline:
            raise subprocess.TimeoutExpired(child.args, timeout)
        time.sleep(_POLL_S)


def _predict(session: Session, dataset_root: Path, folder: Path, output: Path, test: bool, timeout: float,
             submit_id: str, keep_going: bool = False) -> int:
    """Run the entry paused for submit; returns its peak memory in KiB.

    The child runs in a session and process group of its own, marked ``NSML_SUBMIT_ID=submit_id``; when it has
    ended (done, failed, timed out or interrupted) every process still carrying that mark is killed, daemons that
    detached themselves with ``setsid`` included.
    """
    env = environment(session, dataset_root)
    env.update({ENV_PAUSED: "submit", ENV_PAUSED_CHECKPOINT: str(folder), ENV_SUBMIT_OUTPUT: str(output),
                ENV_SUBMIT_LIMIT: str(TEST_LIMIT if test else 0), ENV_SUBMIT_ID: submit_id,
                ENV_SUBMIT_KEEP_GOING: "1" if keep_going else "0",
                ENV_SUBMIT_ERRORS: str(output.parent / ERRORS_FILE)})
    argv = command(session, extra=["--mode", "test", "--pause", "1"])
    if session.backend != "local":  # a job of the cluster's submit partition, waited for (nsml.backends.slurm)
        exit_code, peak = backends.of(session).predict(session, argv, env, timeout,
                                                       None if test else session.dir / "submit.log")
        return _checked(exit_code, output, peak)
    log = None if test else open(session.dir / "submit.log", "ab")  # -t shows stdout; a full submit logs it
    try:
        child = subprocess.Popen(argv, cwd=session.code_dir, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                 start_new_session=True, preexec_fn=die_with_parent())
        try:
            exit_code, peak = _wait(child, timeout)
        except subprocess.TimeoutExpired:
            terminate_tree(child.pid, grace=5.0)
            child.wait()
            raise SubmitFailed(f"submit failed: no predictions within {timeout:g} s; the entry was killed "
                               f"(raise the limit with --timeout)") from None
        except KeyboardInterrupt:
            terminate_tree(child.pid, grace=5.0)
            child.wait()
            raise SubmitFailed("submit interrupted; nothing recorded") from None
    finally:
        kill_marked(ENV_SUBMIT_ID, submit_id)
        if log is not None:
            log.close()
    return _checked(exit_code, output, peak)


def _checked(exit_code: int, output: Path, peak: int) -> int:
    """``peak`` when the entry ended well and wrote its predictions; else why not, as ``SubmitFailed``."""
    if exit_code != 0:
        raise SubmitFailed(f"submit failed: {_reason(exit_code)}")
    if not output.is_file():
        raise SubmitFailed("submit failed: the entry exited without writing predictions; does it call "
                           "nsml.paused(scope=locals()) when --pause 1 is given?")
    return peak


def _keep_predictions(source: Path, target: Path) -> None:
    home.contained(target.parent)  # never through a link planted in the session folder
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(source, "rb") as read, atomic_write(target, "wb") as write:
        shutil.copyfileobj(read, write)


def _count_failures(errors: Path) -> int:
    if not errors.is_file():
        return 0
    return sum(1 for line in errors.read_text(encoding="utf-8", errors="replace").splitlines()
               if line.startswith(SUBMIT_FAILURE_HEADER))


def submit(store: Store, name: str, checkpoint: str, test: bool = False,
           timeout: float = DEFAULT_TIMEOUT_S, keep_going: bool = False) -> Outcome:
    """Predict, score with the dataset's scorer and (unless ``test``) record on the dataset's board.

    ``keep_going``: a file whose ``infer`` raises is predicted as an empty transcript (scored as all errors) and
    its traceback kept with the submission, instead of failing the whole submit.
    """
    session = backends.current(store, name)
    folder = checkpoints.resolve(session.checkpoint_root, checkpoint, f"session {session.name}")
    dataset = datasets.resolve(store, session.dataset)
    scorer = scorers.get(dataset.scorer)
    labels = layout.test_label_path(dataset.root)
    if not datasets.has_test_split(dataset.root):
        raise NsmlError(datasets.no_test_split(dataset))
    for required in (layout.test_list_path(dataset.root), labels):
        if not required.is_file():
            raise NsmlError(f"dataset {session.dataset!r} has no {required}; submit needs the test split")
    test_set = datasets.fingerprint(dataset.root)
    started = time.time()
    with submit_folder(session.dir) as (scratch, submit_id):
        output = scratch / "predictions.csv"
        peak = _predict(session, dataset.root, folder, output, test, timeout, submit_id, keep_going)
        errors = scratch / ERRORS_FILE
        failures = _count_failures(errors)
        duration = time.time() - started
        try:
            references, hypotheses = scoring.paired_files(output, labels, only_predicted=test)
            result = scorer.score(references, hypotheses)
        except layout.DatasetError as error:
            raise SubmitFailed(f"submit failed: {error}") from None
        missing = len(set(references) - set(hypotheses))
        if test:
            if failures:
                sys.stderr.write(errors.read_text(encoding="utf-8", errors="replace"))
            return Outcome(session.name, str(checkpoint), scorer, result, duration, peak, missing, None, None,
                           failures)
        recorded = store.add_submission(
            {"dataset": session.dataset, "session": session.name, "checkpoint": str(checkpoint),
             "scorer": scorer.name, "metrics": result.metrics, "primary_metric": scorer.primary,
             "higher_is_better": int(scorer.higher_is_better), "utterances": len(result.utterances),
             "test_set": test_set, "submitted": started, "duration": duration, "peak_memory_kib": peak,
             "args": session.args},
            ({"key": u.key, "reference": u.reference, "hypothesis": u.hypothesis, "errors": u.errors,
              "size": u.size} for u in result.utterances))
        kept = predictions_path(session, recorded.number)
        _keep_predictions(output, kept)
        errors_log = kept.parent / ERRORS_FILE if failures else None
        if errors_log is not None:
            _keep_predictions(errors, errors_log)
    return Outcome(session.name, str(checkpoint), scorer, result, duration, peak, missing, recorded, kept,
                   failures, errors_log)


def reopen(store: Store, name: str, number: int) -> tuple[Submission, list[ScoredUtterance]]:
    """A recorded submission of a session and its utterances (also after the session was removed)."""
    found = store.submission(name, number)
    if found is None:
        numbers = [str(s.number) for s in store.submissions(session=name)]
        if not numbers:
            backends.current(store, name)  # an unknown session is named as such
        raise UsageError(f"no submission {number} of {name}; submissions: {', '.join(numbers) or 'none'}")
    return found, store.scored_utterances(found.id)
