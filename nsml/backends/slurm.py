"""The Slurm backend: a session is a batch job; its folder, dataset and checkpoints are on ``$NSML_SHARED``.

``run``/``fork`` write the job script (``SESSION/slurm/job.sh``: ``nsml.backends.job`` around the command a local
session would run) and the session's record, then ``sbatch --parsable`` it with the session's name, ``-c``,
``--gres=gpu:N`` (only when N > 0), ``--mem``, ``--time``, and the session's ``log.txt`` as its output. Its
status is read back from the job's exit file and from Slurm (``nsml.backends.slurm_cli``): pending is
``queued``; running; done; failed with the exit code; killed (by a signal, a time or memory limit, a lost node,
an ``scancel`` nsml did not ask for); stopped (``nsml stop`` is ``scancel``). Metrics and checkpoint summaries
come from the job's event file (``nsml.backends.events``) whenever the session is looked at.

``nsml submit`` of a Slurm session runs its prediction as a job of the submit partition with the submit's time
limit, so scoring never waits behind, or takes a node from, training.

Settings (environment): ``NSML_SLURM_PARTITION`` (training; default: Slurm's default partition),
``NSML_SLURM_SUBMIT_PARTITION`` (default ``submit``), ``NSML_SLURM_ACCOUNT`` (default: the nsml user, i.e. the
team), ``NSML_SLURM_MEM`` and ``NSML_SLURM_TIME`` (defaults of ``--mem``/``--time``), and the team caps of
``nsml.backends.caps``.
"""

from __future__ import annotations

import math
import os
import shlex
import shutil
import sys
import time
from pathlib import Path

from nsml import checkpoints, datasets, entry, entry_args, home, launch, logs
from nsml import session as sessions
from nsml.backends import ENV_BACKEND, caps, events, job, slurm_cli, staging
from nsml.constants import ENV_DATASET_PATH, ENV_SUBMIT_ID, ENV_SUBMIT_OUTPUT
from nsml.entities import ACTIVE, Dataset, Session
from nsml.errors import NsmlError, SubmitFailed, UsageError
from nsml.store import Store

ENV_PARTITION = "NSML_SLURM_PARTITION"
ENV_SUBMIT_PARTITION = "NSML_SLURM_SUBMIT_PARTITION"
ENV_ACCOUNT = "NSML_SLURM_ACCOUNT"
ENV_MEM = "NSML_SLURM_MEM"
ENV_TIME = "NSML_SLURM_TIME"
DEFAULT_SUBMIT_PARTITION = "submit"
JOB_FOLDER = "slurm"  # in the session folder: job.sh and exit.json
EXIT_FILE = "exit.json"
STOP_WAIT_S = 120.0  # scancel, then at most this long for Slurm to end the job (its KillWait, default 30 s)
POLL_S = 0.2


def _say(message: str) -> None:
    print(f"nsml: {message}", file=sys.stderr, flush=True)


def shared_root() -> Path:
    shared = home.shared_root()
    if shared is None:
        raise UsageError(f"--backend slurm needs {home.ENV_SHARED}: a folder every node mounts at the same path "
                         f"(an NFS mount; the session's code, log and checkpoints go there)")
    return shared


def submit_partition() -> str:
    return os.environ.get(ENV_SUBMIT_PARTITION) or DEFAULT_SUBMIT_PARTITION


def job_options(nodes: int | None, mem: str | None, limit: str | None, inherited: dict | None) -> dict:
    """The job's resources: the ones given, else the parent's (fork), else the platform's defaults."""
    shared_root()
    if shutil.which("sbatch") is None:
        raise UsageError("--backend slurm: sbatch not found; install the Slurm client (apt-get install "
                         "slurm-client) on this machine, or use --backend local")
    if nodes is not None and nodes < 1:
        raise UsageError(f"--nodes must be at least 1, got {nodes}")
    base = dict(inherited or {})
    given = {"nodes": nodes, "mem": mem, "time": limit}
    base.update({key: value for key, value in given.items() if value is not None})
    base.setdefault("nodes", 1)
    base.setdefault("mem", os.environ.get(ENV_MEM) or None)
    base.setdefault("time", os.environ.get(ENV_TIME) or None)
    base["partition"] = os.environ.get(ENV_PARTITION) or base.get("partition")
    base["account"] = os.environ.get(ENV_ACCOUNT) or home.current_user()
    return base


def check_caps(spec: dict, cpus: int | None, gpus: int, nproc: int) -> None:
    """Refuse a new session beyond its team's caps (``nsml.backends.caps``) before it exists: ``-c`` per process,
    ``-g`` and ``nproc`` per node, as ``_per_node`` will ask for them."""
    nodes = int(spec.get("nodes") or 1)
    caps.precheck(shared_root(), spec.get("account") or home.current_user(), (cpus or 1) * max(nproc, 1) * nodes,
                  gpus * nodes, submit_partition())


def _job(session: Session) -> dict:
    return session.job or {"nodes": 1}


def _per_node(session: Session) -> tuple[int, int]:
    """(CPUs, GPUs) per node: -c for each process (default 1), -g as given."""
    return (session.cpus or 1) * max(session.nproc, 1), session.gpus


def _options(session: Session, name: str, log: Path, partition: str | None, limit: str | None,
             error_log: Path | None = None) -> list[str]:
    spec = _job(session)
    cpus, gpus = _per_node(session)
    nodes = int(spec.get("nodes") or 1)
    options = [f"--job-name={name}", f"--output={log}", f"--error={error_log or log}", "--open-mode=append",
               f"--chdir={session.code_dir}", f"--nodes={nodes}", "--ntasks-per-node=1", f"--cpus-per-task={cpus}"]
    if gpus > 0:
        options.append(f"--gres=gpu:{gpus}")
    for flag, value in (("--mem", spec.get("mem")), ("--time", limit), ("--partition", partition),
                        ("--account", spec.get("account"))):
        if value:
            options.append(f"{flag}={value}")
    return options


def _environment(session: Session, dataset_path: Path, events_file: Path) -> dict[str, str]:
    env = launch.environment(session, dataset_path)
    for key in list(env):  # a command run inside another job must not hand that job's settings on
        if (key.startswith("SLURM_") and key != "SLURM_CONF") or key.startswith("SBATCH_") or key == ENV_BACKEND:
            del env[key]
    env.update({events.ENV_EVENTS: str(events_file), home.ENV_SHARED: str(shared_root())})
    return env


def _script(folder: Path, argv: list[str], what: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "job.sh"
    path.write_text(f"#!/bin/sh\n# {what}, submitted by nsml (nsml.backends.slurm)\nexec {shlex.join(argv)}\n")
    path.chmod(0o755)
    return path


def _read_exit(path: Path) -> dict | None:
    import json

    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _append_log(session: Session, message: str) -> None:
    try:
        with open(session.log_path, "a", encoding="utf-8") as log:
            log.write(f"nsml: {message}\n")
    except OSError:
        pass


def _dataset_path(store: Store, session: Session) -> Path:
    return staging.stage(datasets.resolve(store, session.dataset), shared_root())


class SlurmBackend:
    name = "slurm"

    def detach(self, store: Store, name: str) -> None:
        current = sessions.get(store, name, refresh_status=False)
        spec = _job(current)
        nodes = int(spec.get("nodes") or 1)
        cpus, gpus = _per_node(current)
        folder = current.dir / JOB_FOLDER
        exit_path = folder / EXIT_FILE
        try:
            env = _environment(current, _dataset_path(store, current), events.events_path(current))
            if nodes > 1:
                program = entry.command(current.entry, entry_args.split(current.args) + current.extra_args)
                wrapper = job.command("nodes", str(exit_path), str(nodes), str(max(current.nproc, 1)), "--",
                                      *program)
            else:
                wrapper = job.command("run", str(exit_path), "--", *launch.command(current))
            script = _script(folder, wrapper, f"nsml session {current.name}")
            exit_path.unlink(missing_ok=True)
            events.write_record(current)
            current.log_path.touch()
            with caps.held(shared_root(), spec.get("account") or home.current_user(), cpus * nodes, gpus * nodes,
                           submit_partition()):
                job_id = slurm_cli.sbatch(_options(current, current.name, current.log_path, spec.get("partition"),
                                                   spec.get("time")), script, env)
        except caps.CapReached:
            sessions.discard(store, current)
            raise
        except (NsmlError, OSError) as error:
            store.update_session(name, status="failed", ended=time.time())
            _append_log(current, f"the job could not be submitted: {error}")
            raise
        store.update_session(name, status="queued", job_id=job_id, supervisor_pid=None)
        _say(f"session {name} is Slurm job {job_id}")

    def supervise(self, store: Store, name: str, echo: bool) -> int:
        self.detach(store, name)
        current = self.current(store, name)
        out = sys.stdout.buffer if echo else open(os.devnull, "wb")
        try:
            final = logs.show(store, current, out, follow=True, current=self.current)
        except KeyboardInterrupt:
            final = self.stop(store, self.current(store, name))
        if final.exit_code is not None:
            return final.exit_code
        return 0 if final.status in ("done", "stopped") else 1

    def current(self, store: Store, name: str) -> Session:
        """The session ``name`` as ``nsml.backends.current`` reads it: from Slurm once it has its job id, else
        corrected locally (the submitting command died before ``sbatch``)."""
        found = sessions.get(store, name, refresh_status=False)
        return self.refresh(store, found) if found.job_id is not None else sessions.refresh(store, found)

    def refresh(self, store: Store, session: Session) -> Session:
        events.ingest(store, session)
        current = store.session(session.name) or session
        if not current.active:
            return current
        ended = _read_exit(current.dir / JOB_FOLDER / EXIT_FILE)
        try:
            found = slurm_cli.state(current.job_id) if ended is None else None
        except slurm_cli.SlurmUnavailable:
            return current  # the controller is down: nothing is known, nothing is changed
        status, code = _status(current, found, ended)
        if status == current.status:
            return current
        values: dict = {"status": status}
        if status == "running" and current.started is None:
            values["started"] = time.time()
        if status not in ACTIVE:
            values.update(exit_code=code, ended=time.time())
        if store.update_session(current.name, only_if_status=current.status, **values) and status not in ACTIVE:
            checkpoints.sweep(current.checkpoint_root)  # the job has ended: its unfinished saves are debris
            if found is not None and found.state not in ("COMPLETED", "FAILED", "CANCELLED"):
                _append_log(current, f"Slurm ended job {current.job_id}: {found.state}")
        current = store.session(current.name) or current
        events.ingest(store, current)  # the lines written just before the end
        return store.session(current.name) or current

    def stop(self, store: Store, session: Session) -> Session:
        store.update_session(session.name, stop_requested=1)
        if session.job_id is None:  # not submitted yet: the submitting command gives up on it
            store.update_session(session.name, only_if_status=session.status, status="stopped", ended=time.time())
            return self.current(store, session.name)
        slurm_cli.scancel(session.job_id)
        deadline = time.monotonic() + STOP_WAIT_S
        current = self.current(store, session.name)
        while current.active and time.monotonic() < deadline:
            time.sleep(POLL_S)
            current = self.current(store, session.name)
        return current

    def predict(self, session: Session, argv: list[str], env: dict[str, str], timeout: float,
                stdout: Path | None) -> tuple[int, int]:
        """The submit's prediction as a job of the submit partition; waits for it, scancels it on a timeout or
        Ctrl-C. Its output is shown (``-t``) or appended to ``stdout``, its stderr shown, once it has ended."""
        scratch = Path(env[ENV_SUBMIT_OUTPUT]).parent
        exit_path, out, err = scratch / EXIT_FILE, stdout or scratch / "stdout.txt", scratch / "stderr.txt"
        env = dict(env)
        for key in list(env):  # Slurm ends whatever the job leaves behind: no local marks to hunt them with
            if (key.startswith("SLURM_") and key != "SLURM_CONF") or key.startswith("SBATCH_") or key == ENV_SUBMIT_ID:
                del env[key]
        env.update({events.ENV_EVENTS: str(scratch / events.EVENTS_FILE), home.ENV_SHARED: str(shared_root())})
        if ENV_DATASET_PATH in env:
            where = Dataset(session.dataset, env[ENV_DATASET_PATH], 0.0, "crr")
            env[ENV_DATASET_PATH] = str(staging.stage(where, shared_root()))
        script = _script(scratch, job.command("run", str(exit_path), "--", *argv), f"nsml submit of {session.name}")
        minutes = max(1, math.ceil(timeout / 60))
        job_id = slurm_cli.sbatch(_options(session, f"nsml-submit:{session.name}", out, submit_partition(),
                                           str(minutes), err), script, env)
        started = None
        try:
            while True:
                ended = _read_exit(exit_path)
                found = slurm_cli.state(job_id) if ended is None else None
                if ended is not None or found is None or found.ended:
                    _wait_end(job_id)
                    break
                if started is None and found.state not in slurm_cli.PENDING:
                    started = time.monotonic()
                if started is not None and time.monotonic() - started > timeout:
                    slurm_cli.scancel(job_id)
                    raise SubmitFailed(f"submit failed: no predictions within {timeout:g} s; Slurm job {job_id} "
                                       f"was cancelled (raise the limit with --timeout)")
                time.sleep(POLL_S)
        except KeyboardInterrupt:
            slurm_cli.scancel(job_id)
            raise SubmitFailed("submit interrupted; its Slurm job was cancelled, nothing recorded") from None
        finally:
            _show(out if stdout is None else None, err)
        if ended is None:
            state = found.state if found is not None else "forgotten by Slurm"
            raise SubmitFailed(f"submit failed: Slurm job {job_id} ended {state} without an exit record (a time "
                               f"limit, a lost node, scancel?)")
        return int(ended["exit_code"]), int(ended.get("peak_kib") or 0)


def _wait_end(job_id: str, limit: float = 30.0) -> None:
    """Until Slurm has ended the job (its wrapper writes the exit record just before it exits), so that removing
    the submit's scratch folder never races the job's last moments."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        found = slurm_cli.state(job_id)
        if found is None or found.ended:
            return
        time.sleep(POLL_S)


def _show(stdout: Path | None, stderr: Path) -> None:
    """A submit job's output, once it has ended: stdout (``-t``) to ours, stderr to ours."""
    for path, stream in ((stdout, sys.stdout), (stderr, sys.stderr)):
        if path is not None and path.is_file():
            stream.flush()
            stream.buffer.write(path.read_bytes())
            stream.flush()


def _status(session: Session, found: slurm_cli.JobState | None, ended: dict | None) -> tuple[str, int | None]:
    """(status, exit code) from the job's exit file, else from Slurm's state."""
    if ended is not None:
        code = int(ended["exit_code"])
        return launch.final_status(code, bool(session.stop_requested)), code
    if found is None:  # Slurm forgot the job, which wrote no exit record: it did not end by itself
        return ("stopped" if session.stop_requested else "killed"), None
    state = found.state
    if state in slurm_cli.PENDING:
        return "queued", None
    if state in slurm_cli.RUNNING:
        return "running", None
    if state == "COMPLETED":
        return "done", 0
    if session.stop_requested and state == "CANCELLED":
        return "stopped", found.exit_code
    if state == "FAILED" and found.exit_code is not None and found.exit_code > 0:
        return "failed", found.exit_code
    return "killed", found.exit_code if found.exit_code is not None and found.exit_code < 0 else None


BACKEND = SlurmBackend()
