"""A job's records without database access: metrics, checkpoint summaries and arguments as lines of a file.

A Slurm job runs on a node that must not hold the platform's database (SQLite on NFS loses writes, and the
participant's code would hold its credentials). So in a job ``nsml.report``, ``nsml.save`` and the argument
recorder append JSON lines to ``SESSION/events.jsonl`` on the shared file system, and the platform adds them to
its store whenever it looks at the session (``ps``, ``logs``, ``model ls``, ``plot``, the board's sync): up to
the last whole line, in one transaction with the offset reached, so every line is added exactly once.

The job also reads its own record from ``SESSION/session.json``, written when the job was submitted, so the
TensorBoard writer finds the session's arguments as it does locally.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import Any

from nsml.entities import Session
from nsml.store import Store

ENV_EVENTS = "NSML_EVENTS"  # set in a job: the event file its nsml.report/save write instead of the store
EVENTS_FILE = "events.jsonl"
RECORD_FILE = "session.json"
_READ_LIMIT = 64 << 20  # ingested per look at most; the rest at the next one


def events_path(session: Session) -> Path:
    return session.dir / EVENTS_FILE


def write_record(session: Session) -> None:
    """The session's record as the job will read it (``EventFile.session``)."""
    from speech_kit.atomic import atomic_write

    with atomic_write(session.dir / RECORD_FILE) as f:
        json.dump(asdict(session), f)


class EventFile:
    """The job side: the few store methods ``nsml.runtime`` and ``nsml.entry`` call, appending lines instead."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _append(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)  # one write of a whole line: a reader never sees half of one as whole
        finally:
            os.close(fd)

    def _records(self) -> list[dict[str, Any]]:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in data[:data.rfind(b"\n") + 1].splitlines() if line.strip()]

    def add_metrics(self, session: str, step: float | None, values: dict[str, float], summary: bool,
                    wall: float) -> None:
        self._append({"kind": "metrics", "step": step, "summary": bool(summary), "wall": wall,
                      "values": {key: None if math.isnan(value) else value for key, value in values.items()}})

    def record_checkpoint(self, session: str, name: str, saved: float, summary: dict[str, float]) -> None:
        self._append({"kind": "checkpoint", "name": name, "saved": saved,
                      "summary": {key: None if math.isnan(value) else value for key, value in summary.items()}})

    def record_params(self, name: str, params: dict[str, Any], spec: list) -> bool:
        self._append({"kind": "params", "params": params, "spec": spec})
        return True

    def latest_metrics(self, session: str, summary_only: bool = False) -> dict[str, float]:
        latest: dict[str, float] = {}
        for record in self._records():
            if record["kind"] == "metrics" and (record["summary"] or not summary_only):
                latest.update({key: math.nan if value is None else value
                               for key, value in record["values"].items()})
        return dict(sorted(latest.items()))

    def session(self, name: str) -> Session | None:
        try:
            stored = json.loads((self.path.parent / RECORD_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        known = {f.name for f in fields(Session)}
        found = Session(**{key: value for key, value in stored.items() if key in known})
        params = [r for r in self._records() if r["kind"] == "params"]
        return replace(found, params=params[0]["params"], param_spec=params[0]["spec"]) if params else found


def from_environment() -> EventFile | None:
    """The job's event file when this process runs in a job (``NSML_EVENTS``), else None (the store is used)."""
    path = os.environ.get(ENV_EVENTS)
    return EventFile(Path(path)) if path else None


def pending(session: Session) -> bool:
    """Whether the event file holds lines not ingested yet (a stat, no read)."""
    try:
        return events_path(session).stat().st_size > session.events_offset
    except OSError:
        return False


def ingest(store: Store, session: Session) -> bool:
    """Add the whole lines written since the last ingest to the store; False when there was nothing new."""
    if not pending(session):
        return False
    with open(events_path(session), "rb") as f:
        f.seek(session.events_offset)
        data = f.read(_READ_LIMIT)
    whole = data[:data.rfind(b"\n") + 1]
    if not whole:
        return False
    metrics, saved, params = [], [], None
    for line in whole.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a damaged line is skipped, never the rest of the run's records
        kind = record.get("kind")
        if kind == "metrics":
            metrics.append(record)
        elif kind == "checkpoint":
            saved.append({**record, "summary": {k: math.nan if v is None else v
                                                for k, v in record["summary"].items()}})
        elif kind == "params" and params is None:
            params = record
    return store.ingest_events(session.name, session.events_offset, session.events_offset + len(whole), metrics,
                               saved, params)
