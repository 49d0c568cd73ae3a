"""The platform's records as small frozen dataclasses: the one place where each table and its columns are declared.

Every field names its SQL column type (``column("TEXT NOT NULL")``); ``nsml.schema`` builds the tables from these
declarations and ``nsml.store`` turns rows into these objects, so adding a column is one line here (plus a
migration step when existing stores need a value for it). Fields declared ``json=True`` are stored as JSON text
and handed out decoded. Callers read attributes (``session.status``), never row columns by name.
"""

from __future__ import annotations

import signal
from dataclasses import MISSING, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from nsml import home


def column(sql: str, *, json: bool = False, default: Any = MISSING) -> Any:
    """A dataclass field that also declares its SQL column (``json``: stored as JSON text, decoded on read)."""
    metadata = {"sql": sql, "json": json}
    if default is MISSING:
        return field(metadata=metadata)
    return field(default=default, metadata=metadata)


ACTIVE = ("created", "queued", "running")  # queued: a Slurm job waiting for its resources
STOP_ASKED, STOP_IDLE = 1, 2  # Session.stop_requested: by nsml stop (or a signal); by the idle watchdog (nsml.idle)


@dataclass(frozen=True)
class Session:
    """One ``nsml run`` or ``nsml fork``: what was run, how it ended, and the arguments it really used."""

    TABLE: ClassVar[str] = "sessions"
    CONSTRAINTS: ClassVar[tuple[str, ...]] = ()
    INDEXES: ClassVar[tuple[str, ...]] = ()

    name: str = column("TEXT PRIMARY KEY")  # USER/DATASET/N
    user: str = column("TEXT NOT NULL")
    dataset: str = column("TEXT NOT NULL")
    number: int = column("INTEGER NOT NULL")
    entry: str = column("TEXT NOT NULL")
    args: str = column("TEXT NOT NULL")  # the entry's arguments as one string (a fork's: merged with its parent's)
    extra_args: list = column("TEXT NOT NULL", json=True)  # added by the platform at launch (fork: --pause 1 ...)
    gpus: int = column("INTEGER NOT NULL")
    cpus: int | None = column("INTEGER")
    nproc: int = column("INTEGER NOT NULL")
    memo: str = column("TEXT NOT NULL")
    status: str = column("TEXT NOT NULL")  # created, queued, running, done, failed, stopped, killed
    exit_code: int | None = column("INTEGER")  # negative: killed by that signal
    stop_requested: int = column("INTEGER NOT NULL DEFAULT 0")  # 0, STOP_ASKED or STOP_IDLE
    supervisor_pid: int | None = column("INTEGER")
    child_pid: int | None = column("INTEGER")
    created: float = column("REAL NOT NULL")
    started: float | None = column("REAL")
    ended: float | None = column("REAL")
    parent: str | None = column("TEXT")
    parent_checkpoint: str | None = column("TEXT")
    # {option: value} of the entry's first argparse parse, defaults included; None: not recorded (no argparse)
    params: dict | None = column("TEXT", json=True, default=None)
    # [{"options": [...], "dest": ..., "nargs": int | None}]: how each option takes values, for merging fork args
    param_spec: list | None = column("TEXT", json=True, default=None)
    test_set: str | None = column("TEXT", default=None)  # fingerprint of the dataset's test set at creation
    backend: str = column("TEXT NOT NULL DEFAULT 'local'", default="local")  # where it runs: nsml.backends
    job_id: str | None = column("TEXT", default=None)  # the backend's own id (a Slurm job number)
    # the backend's resources: {"nodes": 2, "mem": "8G", "time": "2:00:00", "partition": ..., "account": ...}
    job: dict | None = column("TEXT", json=True, default=None)
    events_offset: int = column("INTEGER NOT NULL DEFAULT 0", default=0)  # bytes of the job's event file ingested

    @property
    def dir(self) -> Path:
        return home.session_dir(self.name)

    @property
    def code_dir(self) -> Path:
        return self.dir / "code"

    @property
    def log_path(self) -> Path:
        return self.dir / "log.txt"

    @property
    def checkpoint_root(self) -> Path:
        return home.checkpoint_dir(self.name)

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def failed(self) -> bool:
        """Ended without doing its job: a crash or a kill (a stop the user asked for is not a failure)."""
        return self.status in ("failed", "killed")

    def describe_status(self) -> str:
        """``failed(1)``, ``killed(SIGKILL)``, ``stopped(idle)``, ``running`` ...: the status with its exit code
        (or the watchdog's reason) where it tells more."""
        if self.status == "failed" and self.exit_code is not None:
            return f"failed({self.exit_code})"
        if self.status == "killed" and self.exit_code is not None and self.exit_code < 0:
            try:
                return f"killed({signal.Signals(-self.exit_code).name})"
            except ValueError:
                return f"killed({-self.exit_code})"
        if self.status == "stopped" and self.stop_requested == STOP_IDLE:
            return "stopped(idle)"
        return "starting" if self.status == "created" else self.status


@dataclass(frozen=True)
class Metric:
    """One reported value: ``nsml.report(step=..., key=value)``."""

    TABLE: ClassVar[str] = "metrics"
    CONSTRAINTS: ClassVar[tuple[str, ...]] = ()
    INDEXES: ClassVar[tuple[str, ...]] = ("CREATE INDEX IF NOT EXISTS metrics_by_session ON metrics (session, key)",)

    id: int = column("INTEGER PRIMARY KEY")
    session: str = column("TEXT NOT NULL")
    step: float | None = column("REAL")  # None: reported without step=
    key: str = column("TEXT NOT NULL")
    value: float | None = column("REAL")  # None: NaN (SQLite has no NaN)
    summary: int = column("INTEGER NOT NULL")
    wall: float = column("REAL NOT NULL")


@dataclass(frozen=True)
class CheckpointRecord:
    """What ``model ls`` shows next to a checkpoint: when it was saved and the metrics of that moment."""

    TABLE: ClassVar[str] = "checkpoints"
    CONSTRAINTS: ClassVar[tuple[str, ...]] = ("PRIMARY KEY (session, name)",)
    INDEXES: ClassVar[tuple[str, ...]] = ()

    session: str = column("TEXT NOT NULL")
    name: str = column("TEXT NOT NULL")
    saved: float = column("REAL NOT NULL")
    summary: dict = column("TEXT NOT NULL", json=True)  # the latest value of every metric when it was saved


@dataclass(frozen=True)
class Submission:
    """One scored ``nsml submit``: metrics by name, which one ranks the board, and the test set it was scored on."""

    TABLE: ClassVar[str] = "submissions"
    CONSTRAINTS: ClassVar[tuple[str, ...]] = ()
    INDEXES: ClassVar[tuple[str, ...]] = (
        "CREATE INDEX IF NOT EXISTS submissions_by_dataset ON submissions (dataset)",
        "CREATE UNIQUE INDEX IF NOT EXISTS submissions_by_session ON submissions (session, number)",
    )

    id: int = column("INTEGER PRIMARY KEY")
    dataset: str = column("TEXT NOT NULL")
    session: str = column("TEXT NOT NULL")
    number: int = column("INTEGER NOT NULL")  # 1, 2, ... per session: nsml submit show SESSION N
    checkpoint: str = column("TEXT NOT NULL")
    scorer: str = column("TEXT NOT NULL")
    metrics: dict = column("TEXT NOT NULL", json=True)  # {name: value}
    primary_metric: str = column("TEXT NOT NULL")  # the metric the board ranks by
    higher_is_better: int = column("INTEGER NOT NULL")
    utterances: int = column("INTEGER NOT NULL")
    test_set: str | None = column("TEXT")  # fingerprint of test_list + test_label; None: scored before fingerprints
    submitted: float = column("REAL NOT NULL")
    duration: float = column("REAL NOT NULL")
    peak_memory_kib: int = column("INTEGER NOT NULL")  # of the submit's own process tree
    args: str | None = column("TEXT")  # the session's arguments (None: recorded before they were kept)

    @property
    def primary(self) -> float:
        return self.metrics[self.primary_metric]

    def rank_key(self) -> tuple[float, float]:
        """Sort key: best primary value first, then the earlier submission."""
        value = self.primary
        return (-value if self.higher_is_better else value, self.submitted)


@dataclass(frozen=True)
class ScoredUtterance:
    """One test utterance of a submission: reference, hypothesis and its errors (edits, or 0/1 for exact match)."""

    TABLE: ClassVar[str] = "utterance_scores"
    CONSTRAINTS: ClassVar[tuple[str, ...]] = ("PRIMARY KEY (submission, position)",)
    INDEXES: ClassVar[tuple[str, ...]] = ()

    submission: int = column("INTEGER NOT NULL")  # Submission.id
    position: int = column("INTEGER NOT NULL")  # order of the test labels
    key: str = column("TEXT NOT NULL")
    reference: str = column("TEXT NOT NULL")
    hypothesis: str = column("TEXT NOT NULL")
    errors: float = column("REAL NOT NULL")
    size: float = column("REAL NOT NULL")  # what the errors are counted against (reference characters, or 1)

    @property
    def rate(self) -> float:
        return self.errors / self.size if self.size else float(self.errors > 0)


@dataclass(frozen=True)
class Dataset:
    """A named folder in the hackathon layout and the scorer its board uses."""

    TABLE: ClassVar[str] = "datasets"
    CONSTRAINTS: ClassVar[tuple[str, ...]] = ()
    INDEXES: ClassVar[tuple[str, ...]] = ()

    name: str = column("TEXT PRIMARY KEY")
    path: str = column("TEXT NOT NULL")
    added: float = column("REAL NOT NULL")
    scorer: str = column("TEXT NOT NULL DEFAULT 'crr'")

    @property
    def root(self) -> Path:
        return Path(self.path)


ENTITIES: tuple[type, ...] = (Session, Metric, CheckpointRecord, Submission, ScoredUtterance, Dataset)
