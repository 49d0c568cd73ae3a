"""Everything the session page shows, gathered once per request: curves, checkpoints, log tail, submissions.

The page, its live fragment and its JSON endpoint are built from the same ``SessionView``, so what the polling
script sees change (``version``) is exactly what the fragment then shows. The version is a hash of what can
change while a run goes on: status, memo, the newest metric, checkpoint saves, submissions and the log's size.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nsml import checkpoints
from nsml.board.charts import Chart
from nsml.board.chart_options import ChartOptions
from nsml.board.curves import DEFAULT, session_charts
from nsml.board.reader import Reader
from nsml.entities import Session, Submission
from nsml.errors import NsmlError

LOG_TAIL_BYTES = 16 * 1024
LOG_TAIL_LINES = 120


@dataclass(frozen=True)
class CheckpointRow:
    name: str
    saved: float | None
    elapsed: float | None
    summary: dict[str, float]
    size: int | None  # None: recorded, but its folder is gone (nsml model rm, or a removed session)


@dataclass(frozen=True)
class SessionView:
    session: Session
    charts: list[Chart]
    latest: dict[str, float]
    reported: int
    checkpoints: list[CheckpointRow]
    submissions: list[Submission]
    log_tail: str
    log_size: int
    version: str

    def state(self) -> dict[str, Any]:
        """The JSON the page polls: enough to tell that something changed, and the newest values themselves."""
        return {"name": self.session.name, "status": self.session.describe_status(), "active": self.session.active,
                "version": self.version, "reported": self.reported,
                "latest": {key: None if math.isnan(value) else value for key, value in self.latest.items()},
                "checkpoints": [row.name for row in self.checkpoints],
                "submissions": [s.number for s in self.submissions], "log_bytes": self.log_size}


def log_tail(path: Path) -> tuple[str, int]:
    """The last lines of the session log (progress bars rewritten with ``\\r`` show their last state) and its size."""
    try:
        with open(path, "rb") as log:
            size = log.seek(0, os.SEEK_END)
            log.seek(max(0, size - LOG_TAIL_BYTES))
            data = log.read()
    except OSError:
        return "", 0
    lines = data.decode("utf-8", errors="replace").split("\n")
    if size > LOG_TAIL_BYTES:
        lines = lines[1:]  # the first one is cut
    shown = [line.rsplit("\r", 1)[-1] if line.rstrip("\r") else "" for line in lines]
    return "\n".join(shown[-LOG_TAIL_LINES:]).rstrip("\n"), size


def checkpoint_rows(session: Session, records: list[Any]) -> list[CheckpointRow]:
    """Checkpoints on disk with the metrics recorded when each was saved; records whose folder is gone last."""
    root = session.checkpoint_root
    summaries = {record.name: record.summary for record in records}
    rows = []
    for name in checkpoints.names(root):
        try:
            saved = checkpoints.published_at(root, name)
            size = checkpoints.folder_size(checkpoints.resolve(root, name, session.name))
        except (OSError, NsmlError):  # replaced or removed while we looked, or a link leading out: not measured
            continue
        rows.append(CheckpointRow(name, saved, saved - session.created, summaries.get(name, {}), size))
    rows.sort(key=lambda row: row.saved or 0)
    on_disk = {row.name for row in rows}
    rows += [CheckpointRow(r.name, r.saved, r.saved - session.created, r.summary, None) for r in records
             if r.name not in on_disk]
    return rows


def build(reader: Reader, session: Session, options: ChartOptions = DEFAULT) -> SessionView:
    metrics = reader.metrics(session.name)
    records = reader.checkpoints(session.name)
    submissions = reader.submissions(session=session.name)
    tail, size = log_tail(session.log_path)
    mark = (len(metrics), metrics[-1].id if metrics else 0)
    version = hashlib.sha1(json.dumps([session.status, session.exit_code, session.memo, mark,
                                       [(r.name, r.saved) for r in records], [s.id for s in submissions], size])
                           .encode()).hexdigest()[:16]
    latest: dict[str, float] = {}
    for metric in metrics:
        latest[metric.key] = math.nan if metric.value is None else metric.value
    return SessionView(session, session_charts(metrics, options), dict(sorted(latest.items())), len(metrics),
                       checkpoint_rows(session, records), submissions, tail, size, version)
