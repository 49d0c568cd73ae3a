"""Running a session's code: the command and environment, the supervisor that tees its output, and stopping it.

The supervisor is the ``nsml run`` process itself, or with ``--detach`` a ``python -m nsml.launch SESSION``
process in a session of its own. The user's program runs in its own process group (so ``nsml stop`` can signal
all of it) and dies with its supervisor, so a session never keeps running after it was recorded as killed.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nsml import argrecord, checkpoints, datasets, entry, entry_args, home
from nsml.constants import (
    ENV_CPU_NUM,
    ENV_DATASET_NAME,
    ENV_DATASET_PATH,
    ENV_GPU_NUM,
    ENV_HOME,
    ENV_PAUSED,
    ENV_PAUSED_CHECKPOINT,
    ENV_SESSION,
    ENV_SUBMIT_LIMIT,
    ENV_SUBMIT_OUTPUT,
    LOAD_CHECK_FAILED,
    PAUSED_LOAD_CHECK,
)
from nsml.errors import NsmlError, UsageError
from nsml.procs import die_with_parent, pid_alive, terminate_tree
from nsml.session import Session, get
from nsml.store import Store

STOP_GRACE_S = 10.0  # SIGTERM first; SIGKILL after this long
_CHUNK = 65536
# How often torchrun's agent looks at its processes. Its default, 0.1 s, cost about 3 % of a core (7.5 s of CPU in
# 4.5 min of a 2-process CPU run); a crashed process is still noticed within a second.
MONITOR_INTERVAL_S = 1
# How long an entry may take to reach its argument parsing when -a is checked (main.py: about 2 s of imports); one
# that has not parsed by then is let through unchecked.
PROBE_TIMEOUT_S = 60.0
LOAD_CHECK_TIMEOUT_S = 180.0  # a fork's load check: imports, the model built, the checkpoint read


def command(session: Session, extra: list[str] | None = None) -> list[str]:
    """``python ENTRY ARGS`` through the platform's launcher (``nsml.entry``), or torchrun running that per process.

    ``extra`` replaces the session's own launch additions (submit passes ``--mode test --pause 1``).
    """
    user_args = entry_args.split(session.args) + (session.extra_args if extra is None else extra)
    launched = entry.command(session.entry, user_args)
    if session.nproc > 1 and extra is None:
        return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={session.nproc}",
                f"--monitor-interval={MONITOR_INTERVAL_S}", "--no-python", *launched]
    return launched


def environment(session: Session, dataset_path: Path) -> dict[str, str]:
    """The caller's environment plus the platform's contract with user code (see ``nsml.constants``)."""
    env = {key: value for key, value in os.environ.items()
           if key not in (ENV_PAUSED, ENV_PAUSED_CHECKPOINT, ENV_SUBMIT_OUTPUT, ENV_SUBMIT_LIMIT)}
    env.update({
        ENV_DATASET_PATH: str(dataset_path), ENV_DATASET_NAME: session.dataset, ENV_GPU_NUM: str(session.gpus),
        ENV_SESSION: session.name, ENV_HOME: str(home.nsml_home()), "PYTHONPATH": _python_path(),
        "PYTHONUNBUFFERED": "1",  # the log streams as the program prints
    })
    if session.cpus:
        env.update({ENV_CPU_NUM: str(session.cpus), "OMP_NUM_THREADS": str(session.cpus),
                    "MKL_NUM_THREADS": str(session.cpus)})
    if session.parent and session.parent_checkpoint:
        env[ENV_PAUSED] = "fork"
        env[ENV_PAUSED_CHECKPOINT] = str(home.checkpoint_dir(session.parent) / session.parent_checkpoint)
    return env


def _python_path() -> str:
    """``PYTHONPATH`` with the folder holding ``nsml`` and ``speech_kit`` first, so both import in any cwd."""
    current = os.environ.get("PYTHONPATH")
    return os.pathsep.join([str(home.repo_root())] + ([current] if current else []))


def final_status(exit_code: int, stop_requested: bool) -> str:
    if stop_requested:
        return "stopped"
    if exit_code == 0:
        return "done"
    return "killed" if exit_code < 0 else "failed"


class _Tee:
    """Writes the program's output to ``log.txt`` and, for a foreground run, to the terminal."""

    def __init__(self, log_path: Path, echo: bool) -> None:
        self.log = open(log_path, "ab")
        self.echo = echo

    def write(self, data: bytes) -> None:
        self.log.write(data)
        self.log.flush()
        if self.echo:
            try:
                sys.stdout.buffer.write(data)
                sys.stdout.flush()
            except (BrokenPipeError, OSError):  # terminal gone or pipe closed: keep logging
                self.echo = False

    def close(self) -> None:
        self.log.close()


def supervise(store: Store, name: str, echo: bool) -> int:
    """Run the session to its end, tee its output, and record its status and exit code; returns the exit code."""
    session = get(store, name, refresh_status=False)
    if session.stop_requested:  # stopped before it started
        store.update_session(name, status="stopped", ended=time.time())
        return 0
    try:
        env = environment(session, datasets.resolve(store, session.dataset).root)
        child = subprocess.Popen(command(session), cwd=session.code_dir, env=env, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                                 preexec_fn=die_with_parent())
    except (NsmlError, OSError):
        store.update_session(name, status="failed", ended=time.time())
        raise
    store.update_session(name, status="running", supervisor_pid=os.getpid(), child_pid=child.pid,
                         started=time.time())
    tee = _Tee(session.log_path, echo)
    kill_at: list[float] = []

    def request_stop(signum: int, _frame: object) -> None:
        if not kill_at:
            store.update_session(name, stop_requested=1)
            _signal_group(child.pid, signal.SIGTERM)
            kill_at.append(time.monotonic() + STOP_GRACE_S)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, request_stop)
    try:
        _pump(child, tee, kill_at)
    finally:
        tee.close()
    exit_code = child.wait()
    checkpoints.sweep(session.checkpoint_root)  # a save cut short by a kill leaves a pending folder
    stopped = bool(get(store, name, refresh_status=False).stop_requested)
    store.update_session(name, status=final_status(exit_code, stopped), exit_code=exit_code, ended=time.time())
    return exit_code


def _pump(child: subprocess.Popen, tee: _Tee, kill_at: list[float]) -> None:
    """Copy output until the program has exited and its pipe is quiet; escalate to SIGKILL after a stop."""
    fd = child.stdout.fileno()
    while True:
        if kill_at and time.monotonic() > kill_at[0] and child.poll() is None:
            terminate_tree(child.pid, grace=0)
            kill_at[0] = float("inf")
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            data = os.read(fd, _CHUNK)
            if not data:
                break
            tee.write(data)
        elif child.poll() is not None:
            break  # exited; whatever kept the pipe open (an orphaned grandchild) is not waited for
    child.stdout.close()


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def detach(store: Store, name: str) -> int:
    """Start a supervisor that outlives this command; returns its pid."""
    session = get(store, name, refresh_status=False)
    env = dict(os.environ, PYTHONPATH=_python_path())
    with open(session.log_path, "ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "nsml.launch", name], cwd=session.dir, env=env,
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
                                   start_new_session=True)
    store.update_session(name, supervisor_pid=process.pid)
    return process.pid


def stop(store: Store, session: Session, grace: float = STOP_GRACE_S) -> Session:
    """SIGTERM the session's processes, SIGKILL them after ``grace`` s, and wait for the status to say stopped."""
    store.update_session(session.name, stop_requested=1)
    deadline = time.monotonic() + grace + 5.0
    current = session
    while current.active and time.monotonic() < deadline:
        if current.child_pid and pid_alive(current.child_pid):
            terminate_tree(current.child_pid, grace)
        time.sleep(0.05)
        current = get(store, session.name)  # the supervisor records the end (or is found dead)
    if current.active:  # a supervisor that never started the program or does not answer
        store.update_session(session.name, only_if_status=current.status, status="stopped", ended=time.time())
        current = get(store, session.name)
    return current


def accepts_option(session: Session, dataset_path: Path, option: str) -> bool:
    """Whether the entry's ``--help`` mentions ``option`` (the 2019 baseline's parser rejected ``--iteration``)."""
    probe = [sys.executable, session.entry, "--help"]
    env = environment(session, dataset_path)
    env.pop(ENV_PAUSED, None)
    try:
        result = subprocess.run(probe, cwd=session.code_dir, env=env,
                                stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return False
    return option in result.stdout + result.stderr


def _uses_argparse(path: Path) -> bool:
    try:
        return "argparse" in path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def _probe(code_dir: Path, entry_name: str, tokens: list[str], env: dict[str, str]) -> tuple[dict | None, str]:
    """(the verdict of the entry's parser on ``tokens``, or None when it gave none; the entry's stderr)."""
    with tempfile.TemporaryDirectory(prefix="nsml-args-") as scratch:
        verdict_path = Path(scratch) / "verdict.json"
        child = subprocess.Popen(argrecord.probe_command(str(home.repo_root()), entry_name, tokens), cwd=code_dir,
                                 env=dict(env, **{argrecord.PROBE_ENV: str(verdict_path)}),
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                 start_new_session=True, preexec_fn=die_with_parent())
        try:
            _, stderr = child.communicate(timeout=PROBE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            terminate_tree(child.pid, grace=1.0)
            child.communicate()
            return None, ""
        try:
            verdict = json.loads(verdict_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            verdict = None
    return verdict, stderr.decode("utf-8", errors="replace")


def check_arguments(code_dir: Path, entry_name: str, args: str, dataset: str, dataset_path: Path,
                    gpus: int = 0) -> None:
    """Refuse ``args`` when the entry's own argparse parser rejects them, before any session exists.

    The entry runs in ``code_dir`` with the session's dataset environment, only up to its first parse of the command
    line (``nsml.argrecord``'s probe), so a mistyped flag is one line with the option it comes close to instead of a
    failed session. Nothing is checked for an empty string or an entry that does not mention argparse; an entry
    that crashes before it parses, or has not parsed within ``PROBE_TIMEOUT_S``, is let through (its session shows
    what happens).
    """
    tokens = entry_args.split(args)
    if not tokens or not _uses_argparse(code_dir / entry_name):
        return
    env = {key: value for key, value in os.environ.items()
           if key not in (ENV_SESSION, ENV_PAUSED, ENV_PAUSED_CHECKPOINT, ENV_SUBMIT_OUTPUT, ENV_SUBMIT_LIMIT)}
    env.update({ENV_DATASET_PATH: str(dataset_path), ENV_DATASET_NAME: dataset, ENV_GPU_NUM: str(gpus),
                "PYTHONPATH": _python_path()})
    verdict, stderr = _probe(code_dir, entry_name, tokens, env)
    if verdict is None or verdict.get("ok"):
        return
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    message = verdict.get("message") or (lines[-1] if lines else "its argument parser refused them")
    hints = entry_args.suggestions(message, verdict.get("options") or [])
    hint = f"; {entry_args.did_you_mean(hints)}" if hints else ""
    raise UsageError(f"{entry_name} rejects -a {entry_args.quoted(args)}: {message}{hint} (no session was started)")


def check_load(code_dir: Path, entry_name: str, args: str, extra: list[str], checkpoint: Path, dataset: str,
               dataset_path: Path, what: str) -> None:
    """Refuse a fork whose entry, run with ``args``, cannot load ``checkpoint`` (an architecture flag changed by
    ``-a``), before any session exists.

    The entry runs as the fork would start it, up to its ``nsml.paused()``, which loads the checkpoint and ends the
    process (``NSML_PAUSED=check``). Only a load that raised refuses the fork; an entry that fails earlier, never
    calls ``paused()`` or takes longer than ``LOAD_CHECK_TIMEOUT_S`` is let through (its session shows what
    happens).
    """
    env = {key: value for key, value in os.environ.items()
           if key not in (ENV_SESSION, ENV_SUBMIT_OUTPUT, ENV_SUBMIT_LIMIT)}
    env.update({ENV_DATASET_PATH: str(dataset_path), ENV_DATASET_NAME: dataset, "PYTHONPATH": _python_path(),
                ENV_PAUSED: PAUSED_LOAD_CHECK, ENV_PAUSED_CHECKPOINT: str(checkpoint)})
    child = subprocess.Popen(entry.command(entry_name, entry_args.split(args) + extra), cwd=code_dir, env=env,
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             start_new_session=True, preexec_fn=die_with_parent())
    try:
        _, stderr = child.communicate(timeout=LOAD_CHECK_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        terminate_tree(child.pid, grace=1.0)
        child.communicate()
        return
    failed = [line for line in stderr.decode("utf-8", errors="replace").splitlines()
              if line.startswith(LOAD_CHECK_FAILED)]
    if child.returncode != 0 and failed:
        reason = failed[-1][len(LOAD_CHECK_FAILED):]
        raise UsageError(f"{entry_name} with -a {entry_args.quoted(args)} cannot load {what}: {reason} (a changed "
                         f"architecture flag? leave it out of -a; no session was started)")


def _detached_main(name: str) -> int:
    """The background supervisor; its stderr is the session log, so errors go there as one line."""
    try:
        return supervise(Store(home.db_path()), name, echo=False)
    except NsmlError as error:
        print(f"nsml: {error}", file=sys.stderr)
        return error.code


if __name__ == "__main__":
    sys.exit(_detached_main(sys.argv[1]))
