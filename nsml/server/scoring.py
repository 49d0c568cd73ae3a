"""Scoring a team's checkpoint on the server: predictions made in a sandbox, scored here, apart, on the labels.

The team's code runs paused for submit (``--mode test --pause 1``) exactly as a local ``nsml submit`` runs it, but
inside a sandbox (``nsml.server.sandbox``) that holds its code and checkpoint read-only, the test audio and list
without labels, and one writable output folder; its own PID namespace, no network, the team's uid, and CPU, memory
and time limits. Whatever it prints is kept with the submission and shown to the team. Its predictions are then
read by this process, which alone can read the labels, and scored on the public and the private part apart.
A submission whose load or infer raised, that timed out or wrote nothing is recorded as failed with the reason and
is not counted against the quota.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from nsml import entry, entry_args, scorers
from nsml.errors import NsmlError, UsageError
from nsml.server import competitions, homes, quotas, sandbox
from nsml.server.db import Account, Competition, Entry, ServerDB, Team
from nsml.submit import TEST_LIMIT, _reason
from speech_kit import scoring
from speech_kit.layout import DatasetError

DATA_INSIDE = "/nsml/data"  # where the sandbox sees the test audio
MAX_PREDICTIONS_BYTES = 64 << 20
OUTPUT_TAIL = 4000  # characters of stderr shown with a failure


@dataclass(frozen=True)
class Settings:
    """Per-server limits of a scored submission."""

    timeout_s: float = 1800.0
    memory_bytes: int = 8 << 30
    cpu_seconds: int = 3600
    processes: int = 256
    workers: int = 1  # submissions scored at once; the others wait their turn


@dataclass(frozen=True)
class Session:
    name: str
    dataset: str
    entry: str
    args: str
    code_dir: str
    checkpoint: str


class Scorer:
    """Runs and scores submissions, ``settings.workers`` at a time."""

    def __init__(self, db: ServerDB, layout: homes.Layout, settings: Settings) -> None:
        self.db = db
        self.layout = layout
        self.settings = settings
        self._turns = threading.BoundedSemaphore(settings.workers)

    def probe(self, team: Team, session: str, checkpoint: str) -> Session:
        child = sandbox.popen(homes.team_jail(self.layout, team),
                              [sys.executable, "-m", "nsml.server.probe", session, checkpoint],
                              self.layout.team_home(team.name), homes.team_env(self.layout, team),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        out, err = child.communicate(timeout=120)
        if child.returncode != 0:
            line = err.decode(errors="replace").strip().splitlines()
            text = line[-1] if line else f"cannot read session {session}"
            raise UsageError(text.removeprefix("nsml: error: "))
        values = json.loads(out)
        return Session(values["name"], values["dataset"], values["entry"], values["args"], values["code_dir"],
                       values["checkpoint"])

    def submit(self, account: Account, team: Team, session_name: str, checkpoint: str, test: bool,
               timeout: float | None = None) -> dict:
        """Score ``checkpoint`` of the team's session; returns what the client prints (and the record)."""
        if session_name.split("/")[0] != team.name:
            raise UsageError(f"session {session_name} belongs to another team; team {team.name} acts on its own "
                             f"sessions only ({team.name}/...)")
        session = self.probe(team, session_name, checkpoint)
        competition = self.db.competition(session.dataset)
        now = time.time()
        phase = competitions.current_phase(self.db, competition.name, now)
        timeout = min(timeout or self.settings.timeout_s, self.settings.timeout_s)
        if test:
            with self._turns:
                return self._test(team, session, competition, timeout)
        quota = self.db.quota(competition.name, team.name)

        def admit(entries: list[Entry]) -> None:
            if not account.organiser:  # organisers are exempt: their submissions are not counted either
                quotas.check(quota, entries, now)

        record = self.db.reserve(competition.name, phase.name, team.name, session.name, checkpoint, admit,
                                 account.role)
        try:
            with self._turns:
                return self._run(team, session, competition, record, timeout)
        except BaseException as error:
            self.db.finish(record.id, status="failed", reason=f"server error: {error}", counted=0,
                           finished=time.time())
            raise

    def _sandboxed(self, team: Team, session: Session, competition: Competition, out: Path, logs: Path,
                   limit: int, timeout: float) -> tuple[str | None, float]:
        """Run the session's code paused for submit; (why it failed or None, seconds)."""
        out.mkdir(parents=True, exist_ok=True)
        out.chmod(0o700)
        os.chown(out, team.uid, team.uid)
        jail = sandbox.Jail(uid=team.uid, own_pids=True, read_only=[Path(session.code_dir), Path(session.checkpoint)],
                            writable=[out], mounted={DATA_INSIDE: self.layout.audio(competition.name)},
                            hidden=[self.layout.root],
                            limits=sandbox.Limits(cpu_seconds=self.settings.cpu_seconds,
                                                  memory_bytes=self.settings.memory_bytes,
                                                  processes=self.settings.processes, file_bytes=MAX_PREDICTIONS_BYTES))
        env = {"NSML_PAUSED": "submit", "NSML_PAUSED_CHECKPOINT": session.checkpoint,
               "NSML_SUBMIT_OUTPUT": str(out / "predictions.csv"), "NSML_SUBMIT_LIMIT": str(limit),
               "NSML_SUBMIT_ID": uuid.uuid4().hex, "NSML_DATASET_PATH": DATA_INSIDE,
               "NSML_DATASET_NAME": competition.name, "NSML_SESSION": session.name, "NSML_GPU_NUM": "0",
               "NSML_HOME": "/nsml/home-not-mounted", "PYTHONPATH": str(homes.home.repo_root()),
               "PYTHONUNBUFFERED": "1"}
        argv = entry.command(session.entry, [*entry_args.split(session.args), "--mode", "test", "--pause", "1"])
        logs.mkdir(parents=True, exist_ok=True)
        started = time.time()
        with open(logs / "stdout.txt", "wb") as stdout, open(logs / "stderr.txt", "wb") as stderr:
            child = sandbox.popen(jail, argv, Path(session.code_dir), env, stdin=subprocess.DEVNULL, stdout=stdout,
                                  stderr=stderr, start_new_session=True)
            try:
                code = child.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
                return f"no predictions within {timeout:g} s; the entry was killed", time.time() - started
        seconds = time.time() - started
        if code != 0:
            if code == -signal.SIGKILL or code == 137:
                return "the entry was killed (CPU or memory limit of the sandbox)", seconds
            return _reason(code), seconds
        predictions = out / "predictions.csv"
        if not predictions.is_file() or predictions.is_symlink():
            return "the entry exited without writing predictions (does it call nsml.paused(scope=locals()) under " \
                   "--pause 1?)", seconds
        if predictions.stat().st_size > MAX_PREDICTIONS_BYTES:
            return f"the predictions are over {MAX_PREDICTIONS_BYTES >> 20} MiB", seconds
        return None, seconds

    def _score(self, competition: Competition, predictions: Path, only_predicted: bool
               ) -> tuple[scorers.Scorer, scorers.Result, scorers.Result | None]:
        labels = self.layout.private(competition.name) / "test_label"
        try:
            references, hypotheses = scoring.paired_files(predictions, labels, only_predicted=only_predicted)
        except DatasetError as error:
            raise NsmlError(str(error).replace(str(labels), "the test labels")) from None
        scorer = scorers.get(competition.scorer)
        public = {k: references[k] for k in competition.public_keys if k in references}
        private = {k: references[k] for k in competition.private_keys if k in references}
        hyps = dict(hypotheses)
        return (scorer, scorer.score(public, hyps) if public else scorers.Result({}, []),
                scorer.score(private, hyps) if private else None)

    def _test(self, team: Team, session: Session, competition: Competition, timeout: float) -> dict:
        scratch = self.layout.root / "work" / f"test-{uuid.uuid4().hex}"
        failure, seconds = self._sandboxed(team, session, competition, scratch / "out", scratch, TEST_LIMIT, timeout)
        stdout = (scratch / "stdout.txt").read_text(errors="replace")
        stderr = (scratch / "stderr.txt").read_text(errors="replace")
        lines = [f"test submit (not recorded) of {session.name} to {competition.name}, {TEST_LIMIT} files"]
        if failure is None:
            try:
                scorer, public, _ = self._score(competition, scratch / "out" / "predictions.csv", True)
            except NsmlError as error:
                failure = str(error)
            else:
                lines.append("public part: " + (scorer.summary(public.metrics, len(public.utterances))
                                                if public.utterances else "none of these files is in it"))
        _remove(scratch)
        if failure:
            return {"rc": 1, "stdout": stdout, "stderr": stderr, "lines": [f"nsml: submit failed: {failure}"]}
        lines.append(f"time {seconds:.1f} s")
        return {"rc": 0, "stdout": stdout, "stderr": "", "lines": lines}

    def _run(self, team: Team, session: Session, competition: Competition, record: Entry, timeout: float) -> dict:
        logs = self.layout.submission(record.id)
        work = self.layout.work(record.id)
        failure, seconds = self._sandboxed(team, session, competition, work, logs, 0, timeout)
        stderr = (logs / "stderr.txt").read_text(errors="replace")
        if failure is None:
            try:
                kept = logs / "predictions.csv"
                kept.write_bytes((work / "predictions.csv").read_bytes())
                scorer, public, private = self._score(competition, kept, False)
            except (NsmlError, OSError) as error:
                failure = str(error)
        _remove(work)
        if failure is not None:
            self.db.finish(record.id, status="failed", reason=failure, counted=0, finished=time.time(),
                           duration=seconds)
            tail = stderr[-OUTPUT_TAIL:]
            return {"rc": 1, "number": record.number, "status": "failed", "stderr": tail, "lines": [
                f"nsml: submit failed: {failure}; recorded as failed submission {record.number} of team {team.name} "
                f"(not counted against your quota); its output: nsml submit show {competition.name} {record.number}"]}
        write_utterances(logs, public, private)
        finished = self.db.finish(record.id, status="scored", public=public.metrics,
                                  private=private.metrics if private else None, primary_metric=scorer.primary,
                                  higher_is_better=int(scorer.higher_is_better), finished=time.time(),
                                  duration=seconds)
        left = quotas.remaining(self.db.quota(competition.name, team.name),
                                self.db.entries(competition.name, team.name), time.time())
        if not record.counted:
            left = f"made by an organiser: not counted against the team's quota; the team has {left}"
        return {"rc": 0, "number": record.number, "status": "scored", "lines": [
            f"submit of {session.name} checkpoint {finished.checkpoint!r} to {competition.name}, phase {record.phase}",
            "public part: " + scorer.summary(public.metrics, len(public.utterances)),
            "private part: scored, revealed when the phase ends",
            f"time {seconds:.1f} s",
            f"recorded as submission {record.number} of team {team.name} ({left}); every public utterance: "
            f"nsml submit show {competition.name} {record.number}"]}

    def rescore(self, competition: Competition, phase: str) -> list[str]:
        """Score every scored submission of ``phase`` again from its kept predictions, on the labels as they are."""
        lines = []
        for record in self.db.entries(competition.name):
            if record.phase != phase or record.status != "scored":
                continue
            logs = self.layout.submission(record.id)
            scorer, public, private = self._score(competition, logs / "predictions.csv", False)
            write_utterances(logs, public, private)
            before = record.primary("public"), record.primary("private")
            after = self.db.finish(record.id, public=public.metrics, private=private.metrics if private else None)
            lines.append(f"{record.team} submission {record.number}: public {_num(before[0])} -> "
                         f"{_num(after.primary('public'))}, private {_num(before[1])} -> "
                         f"{_num(after.primary('private'))}")
        return lines


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


UTTERANCE_FIELDS = ("key", "part", "reference", "hypothesis", "errors", "size")


def write_utterances(folder: Path, public: scorers.Result, private: scorers.Result | None) -> None:
    for part, result in (("public", public), ("private", private)):
        if result is None:
            continue
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(UTTERANCE_FIELDS)
        for u in result.utterances:
            writer.writerow((u.key, part, u.reference, u.hypothesis, f"{u.errors:g}", f"{u.size:g}"))
        (folder / f"{part}.csv").write_text(buffer.getvalue(), encoding="utf-8")


def utterances_csv(folder: Path, parts: Mapping[str, bool]) -> str:
    """The per-utterance CSV of the parts allowed (``{"public": True, "private": revealed}``)."""
    rows = [",".join(UTTERANCE_FIELDS) + "\n"]
    for part, allowed in parts.items():
        path = folder / f"{part}.csv"
        if allowed and path.is_file():
            rows.extend(path.read_text(encoding="utf-8").splitlines(keepends=True)[1:])
    return "".join(rows)

