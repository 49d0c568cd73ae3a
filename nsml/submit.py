"""``nsml submit``: re-run a session's own code on a checkpoint, score its predictions, record them on the board.

The child is the session's code snapshot with the session's own arguments plus ``--mode test --pause 1`` (flags
such as ``--use_attention`` must match the checkpoint, and could not be changed on the platform either). It runs
with ``NSML_PAUSED=submit``, so ``nsml.paused()`` loads the checkpoint, writes predictions and exits. Unlike the
platform, a failing load or infer shows the user's traceback, and the score comes with the worst utterances.
"""

from __future__ import annotations

import resource
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from speech_kit import layout
from nsml import checkpoints, datasets
from nsml.constants import ENV_PAUSED, ENV_PAUSED_CHECKPOINT, ENV_SUBMIT_LIMIT, ENV_SUBMIT_OUTPUT
from nsml.errors import NsmlError
from nsml.launch import environment
from nsml.procs import die_with_parent, terminate_tree
from nsml.runtime import EXIT_FEED_FAILED, EXIT_INFER_FAILED, EXIT_LOAD_FAILED, EXIT_NOT_BOUND
from nsml.session import Session, get
from nsml.store import Store

DEFAULT_TIMEOUT_S = 3600.0
TEST_LIMIT = 5  # files fed through infer by ``submit -t``
WORST_SHOWN = 5

_REASONS = {
    EXIT_LOAD_FAILED: "your load() raised (traceback above)",
    EXIT_INFER_FAILED: "your infer() raised (traceback above)",
    EXIT_NOT_BOUND: "nothing was bound: call nsml.bind(save=..., load=..., infer=...) before nsml.paused()",
    EXIT_FEED_FAILED: "feeding the test list failed (traceback above)",
    2: "the entry exited with code 2 (a usage error? it must accept --mode and --pause)",
}


class SubmitFailed(NsmlError):
    """The child could not produce predictions; nothing is recorded."""


@dataclass(frozen=True)
class Submission:
    session: str
    checkpoint: str
    crr: float
    cer: float
    distance: int
    length: int
    utterances: int
    duration: float
    peak_memory_kib: int
    worst: list  # evaluation.metrics.UtteranceScore, worst first
    missing: int  # references without a prediction (scored as empty)


def _reason(exit_code: int) -> str:
    if exit_code < 0:
        return f"the entry was killed by {signal.Signals(-exit_code).name}"
    return _REASONS.get(exit_code, f"the entry exited with code {exit_code}")


def _peak_memory_kib() -> int:
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # bytes on macOS, KiB on Linux


def _predict(session: Session, dataset_path: Path, folder: Path, output: Path, test: bool,
             timeout: float) -> None:
    env = environment(session, dataset_path)
    env.update({ENV_PAUSED: "submit", ENV_PAUSED_CHECKPOINT: str(folder), ENV_SUBMIT_OUTPUT: str(output),
                ENV_SUBMIT_LIMIT: str(TEST_LIMIT if test else 0)})
    argv = [sys.executable, session.entry, *shlex.split(session.args), "--mode", "test", "--pause", "1"]
    log = None if test else open(session.dir / "submit.log", "ab")  # -t shows stdout; a full submit logs it
    try:
        child = subprocess.Popen(argv, cwd=session.code_dir, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                 start_new_session=True, preexec_fn=die_with_parent())
        try:
            exit_code = child.wait(timeout=timeout)
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
        if log is not None:
            log.close()
    if exit_code != 0:
        raise SubmitFailed(f"submit failed: {_reason(exit_code)}")
    if not output.is_file():
        raise SubmitFailed("submit failed: the entry exited without writing predictions; does it call "
                           "nsml.paused(scope=locals()) when --pause 1 is given?")


def submit(store: Store, name: str, checkpoint: str, test: bool = False,
           timeout: float = DEFAULT_TIMEOUT_S) -> Submission:
    """Predict, score and (unless ``test``) record on the dataset's board."""
    try:
        from evaluation.metrics import per_utterance, score, worst
        from evaluation.score import paired_files
    except ImportError as error:
        raise NsmlError(f"submit needs the repository's evaluation package next to nsml: {error}") from None

    session = get(store, name)
    folder = checkpoints.resolve(session.checkpoint_root, checkpoint, f"session {session.name}")
    dataset_path = datasets.resolve(store, session.dataset)
    for required in (layout.test_list_path(dataset_path), layout.test_label_path(dataset_path)):
        if not required.is_file():
            raise NsmlError(f"dataset {session.dataset!r} has no {required}; submit needs the test split")
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="nsml-submit-") as scratch:
        output = Path(scratch) / "predictions.csv"
        _predict(session, dataset_path, folder, output, test, timeout)
        duration = time.time() - started
        try:
            references, hypotheses = paired_files(output, layout.test_label_path(dataset_path), only_predicted=test)
        except layout.DatasetError as error:
            raise SubmitFailed(f"submit failed: {error}") from None
    result = score(references, hypotheses)
    submission = Submission(session.name, str(checkpoint), result.crr, result.cer, result.distance, result.length,
                            result.utterances, duration, _peak_memory_kib(),
                            worst(per_utterance(references, hypotheses), WORST_SHOWN),
                            len(set(references) - set(hypotheses)))
    if not test:
        store.add_submission(dataset=session.dataset, session=session.name, checkpoint=submission.checkpoint,
                             crr=submission.crr, cer=submission.cer, distance=submission.distance,
                             length=submission.length, utterances=submission.utterances, submitted=started,
                             duration=duration, peak_memory_kib=submission.peak_memory_kib)
    return submission
