"""The functions 2019 hackathon code calls: ``bind``, ``save``, ``load``, ``report``, ``paused`` and ``infer``.

Inside a session (``NSML_SESSION`` set) checkpoints and metrics go to the session; outside one they go to a local
checkpoint root (``$NSML_CHECKPOINT_DIR`` or ``./checkpoints``) with its own small database, so a plain
``python main.py`` loses nothing. Under torchrun only rank 0 saves and reports.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from nsml import checkpoints, home
from nsml.backends import events
from nsml.backends.events import EventFile
from nsml.constants import (
    ENV_CHECKPOINT_DIR,
    ENV_DATASET_PATH,
    ENV_PAUSED,
    ENV_PAUSED_CHECKPOINT,
    ENV_SESSION,
    ENV_SUBMIT_ERRORS,
    ENV_SUBMIT_KEEP_GOING,
    ENV_SUBMIT_LIMIT,
    ENV_SUBMIT_OUTPUT,
    LOAD_CHECK_FAILED,
    PAUSED_LOAD_CHECK,
    SUBMIT_FAILURE_HEADER,
)
from nsml.store import Store
from nsml.tensorboard_events import EventLog, hparams

LOCAL_SESSION = "local"  # the session name of records made outside any session

# Exit codes of a paused process, read by ``nsml submit`` and ``nsml fork`` to say what went wrong.
EXIT_LOAD_FAILED = 3
EXIT_INFER_FAILED = 4
EXIT_NOT_BOUND = 5
EXIT_FEED_FAILED = 6


@dataclass
class _Bound:
    save: Callable[..., Any] | None = None
    load: Callable[..., Any] | None = None
    infer: Callable[..., Any] | None = None


_bound = _Bound()
_events = EventLog()  # this process's TensorBoard writer, opened on the first report


def bind(save: Callable | None = None, load: Callable | None = None, infer: Callable | None = None,
         **kwargs: Any) -> None:
    """Register the user's ``save(dir)``, ``load(dir)`` and ``infer(wav_path)``; a later bind replaces all three.

    Extra keyword arguments were accepted (and ignored) by the 2019 platform, so they are here too.
    """
    _bound.save, _bound.load, _bound.infer = save, load, infer


def _silent() -> bool:
    """Non-zero torchrun ranks and submit processes must not write checkpoints or metrics."""
    rank = os.environ.get("RANK")
    return (rank not in (None, "", "0")) or os.environ.get(ENV_PAUSED) == "submit"


def _session() -> str | None:
    return os.environ.get(ENV_SESSION) or None


def _checkpoint_root(session: str | None) -> Path:
    if session:
        return home.checkpoint_dir(session)
    return Path(os.environ.get(ENV_CHECKPOINT_DIR) or "checkpoints").absolute()


def _records() -> tuple[Store | EventFile, str]:
    session = _session()
    job_events = events.from_environment()  # a cluster job: records go to its event file, never the database
    if session and job_events is not None:
        return job_events, session
    if session:
        return Store(home.db_path()), session
    return Store(_checkpoint_root(None) / "nsml.sqlite"), LOCAL_SESSION


def _require(kind: str) -> Callable[..., Any]:
    function = getattr(_bound, kind)
    if function is None:
        raise RuntimeError(f"nsml.{kind}: no {kind} function bound; call nsml.bind(save=..., load=..., infer=...) "
                           f"first")
    return function


def save(checkpoint: int | str | None = None, iteration: int | str | None = None) -> None:
    """Save checkpoint ``checkpoint`` (``iteration=`` in older code) through the bound ``save(dir)``, atomically.

    The summary shown by ``nsml model ls`` is the latest value of every metric at this moment (the platform showed
    the previous epoch's, which confused users).
    """
    name = checkpoint if checkpoint is not None else iteration
    if name is None:
        raise TypeError("nsml.save() needs a checkpoint name, e.g. nsml.save(epoch) or nsml.save('best')")
    if _silent():
        return
    user_save = _require("save")
    session = _session()
    checkpoints.publish(_checkpoint_root(session), name, user_save)
    store, owner = _records()
    store.record_checkpoint(owner, checkpoints.check_name(name), time.time(), store.latest_metrics(owner))


def load(checkpoint: int | str, session: str | None = None) -> None:
    """Call the bound ``load(dir)`` on a checkpoint of this session, or of another session ``USER/DATASET/N``."""
    user_load = _require("load")
    if session is not None and not home.session_dir(session).is_dir():
        raise FileNotFoundError(f"nsml.load: no session {session!r} in {home.nsml_home()}")
    owner = session or _session()
    folder = checkpoints.resolve(_checkpoint_root(owner), checkpoint, owner or str(_checkpoint_root(None)))
    user_load(str(folder))


def infer(input: Any) -> Any:  # noqa: A002 - the 2019 signature
    return _require("infer")(input)


def _number(key: str, value: Any) -> float:
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"nsml.report: {key}={value!r} is not a number")
    try:
        return float(value)  # int, float, numpy and torch scalars, without importing either
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(f"nsml.report: {key}={value!r} is not a number (a scalar is needed)") from None


def report(summary: bool = False, scope: Any = None, **kwargs: Any) -> None:
    """Record scalar metrics; ``step`` is the x axis, the wall time is added, ``a__b`` keys plot as ``a/b``.

    ``summary=True`` values are what ``nsml ps`` shows. ``scope`` (the caller's ``locals()``) is not needed.
    The values also go to TensorBoard event files in the session folder (``nsml.tensorboard_events``).
    """
    if _silent():
        return
    step = kwargs.pop("step", None)
    step_value = None if step is None else _number("step", step)
    values = {key: _number(key, value) for key, value in kwargs.items()}
    if not values:
        return
    store, owner = _records()
    wall = time.time()
    store.add_metrics(owner, step_value, values, bool(summary), wall)
    _events.write(home.session_dir(owner) if _session() else _checkpoint_root(None), step_value, values, wall,
                  lambda: _hyperparameters(store, owner))


def _hyperparameters(store: Store, owner: str) -> dict[str, Any] | None:
    """The session's resolved arguments for TensorBoard's HPARAMS tab (none outside a session)."""
    found = store.session(owner) if owner != LOCAL_SESSION else None
    return None if found is None else hparams(found.params, found.args, found.code_dir)


def _fail(code: int, header: str, error: BaseException | None = None) -> NoReturn:
    """Show what failed in the user's code, with the user's own traceback, and exit with a code submit explains."""
    sys.stdout.flush()
    print(header, file=sys.stderr)
    if error is not None:
        traceback.print_exception(error)
    sys.stderr.flush()
    sys.exit(code)


def paused(scope: Any = None) -> None:
    """Hand control to the platform when this process was started paused by ``submit`` or ``fork``.

    Not paused: return at once. ``fork``: load the parent's checkpoint and return, so training continues.
    ``submit``: load the checkpoint, write predictions for the test list through ``infer`` (showing how far it
    got on stderr), exit with code 0.
    """
    mode = os.environ.get(ENV_PAUSED)
    if not mode:
        return
    if mode == PAUSED_LOAD_CHECK:
        _check_load()
    if mode not in ("fork", "submit"):
        raise ValueError(f"{ENV_PAUSED}={mode!r}: expected 'fork' or 'submit'")
    needed = ("load",) if mode == "fork" else ("load", "infer")
    missing = [kind for kind in needed if getattr(_bound, kind) is None]
    if missing:
        _fail(EXIT_NOT_BOUND, f"nsml: nsml.paused() under {mode} needs a bound {' and '.join(missing)}; "
                              f"call nsml.bind(save=..., load=..., infer=...) before nsml.paused()")
    folder = str(Path(os.environ[ENV_PAUSED_CHECKPOINT]).resolve())
    try:
        _bound.load(folder)
    except Exception as error:  # noqa: BLE001 - any failure of user code is reported, not re-raised
        _fail(EXIT_LOAD_FAILED, f"nsml: your load({folder!r}) raised:", error)
    if mode == "submit":
        _write_predictions()
        sys.stdout.flush()
        sys.exit(0)


def _check_load() -> NoReturn:
    """``nsml fork``'s check before a session exists: load the checkpoint with this run's flags, say in one line
    why that failed (a changed architecture flag, mostly), and end the process either way: nothing after
    ``paused()`` (training) runs."""
    status = 0
    try:
        if _bound.load is not None:
            _bound.load(str(Path(os.environ[ENV_PAUSED_CHECKPOINT]).resolve()))
    except Exception as error:  # noqa: BLE001 - any failure of user code is reported, not re-raised
        text = " ".join(line.strip() for line in str(error).splitlines() if line.strip())
        print(f"{LOAD_CHECK_FAILED}{type(error).__name__}: {text[:400]}", file=sys.stderr)
        status = EXIT_LOAD_FAILED
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(status)


def _keep_tracebacks(blocks: list[str]) -> None:
    """Write the tracebacks of a --keep_going submit where ``nsml submit`` keeps them (else to stderr)."""
    from speech_kit.atomic import atomic_write

    print(f"nsml: infer raised on {len(blocks)} test file(s); predicted as empty (--keep_going)", file=sys.stderr)
    target = os.environ.get(ENV_SUBMIT_ERRORS)
    if not target:
        sys.stderr.write("".join(blocks))
        return
    with atomic_write(target) as f:
        f.write("".join(blocks))


class _InferFailed(Exception):
    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


def _write_predictions() -> None:
    """Feed the test list through the bound ``infer`` with the platform's own feeder (``speech_kit.feed``).

    Never ``evaluation.data_loader``: a 2019 snapshot ships its own ``evaluation`` package, which comes first on
    the user process's ``sys.path`` and would decide what gets scored.
    """
    from nsml.progress import FeedProgress
    from speech_kit.feed import feed_infer

    user_infer = _require("infer")
    failures: list[tuple[str, BaseException]] = []
    keep_going = os.environ.get(ENV_SUBMIT_KEEP_GOING) == "1"
    kept_going: list[str] = []  # tracebacks of the files predicted as "" under --keep_going

    def guarded(path: str) -> Any:
        try:
            prediction = user_infer(path)
        except Exception as error:
            if keep_going:
                kept_going.append(f"{SUBMIT_FAILURE_HEADER}{path!r}) raised:\n" + "".join(
                    traceback.format_exception(error)))
                return ""
            failures.append((path, error))
            raise _InferFailed(path) from error
        if keep_going and not isinstance(prediction, str):
            kept_going.append(f"{SUBMIT_FAILURE_HEADER}{path!r}) returned {type(prediction).__name__}, not str\n")
            return ""
        return prediction

    limit = int(os.environ.get(ENV_SUBMIT_LIMIT) or 0) or None
    try:
        feed_infer(os.environ[ENV_SUBMIT_OUTPUT], guarded, os.environ[ENV_DATASET_PATH], limit=limit,
                   on_progress=FeedProgress())
    except Exception as error:  # noqa: BLE001
        if not failures:
            _fail(EXIT_FEED_FAILED, "nsml: feeding the test list through your infer failed:", error)
    if kept_going:
        _keep_tracebacks(kept_going)
    if failures:  # also when the feeder swallowed the error: one failed file fails the submit
        path, error = failures[0]
        _fail(EXIT_INFER_FAILED, f"nsml: your infer({path!r}) raised:", error)
