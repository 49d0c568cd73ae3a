"""What the dataset check found, and how it is reported: the kinds of problem, one finding per file and line, and
a report that gives each kind's count with its first few occurrences.

A dataset of a hundred thousand files with three hundred bad ones needs one screen, not three hundred lines or
only the first: hence counts per kind plus examples with their ``FILE:LINE``. Errors make a file unusable (training
stops, or leaves it out with ``--on_bad_sample skip``); warnings describe files that are used as they are.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from speech_kit.audio import AudioInfo

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Kind:
    name: str
    severity: str
    title: str


# In report order: what stops a file from being read, what makes its audio useless, then its labels and lines.
KINDS: tuple[Kind, ...] = (
    Kind("list_unreadable", ERROR, "list or label file that cannot be read"),
    Kind("bad_fields", ERROR, "line with the wrong number of fields"),
    Kind("duplicate_key", ERROR, "duplicate key or file"),
    Kind("label_invalid", ERROR, "label line without integer ids"),
    Kind("label_out_of_range", ERROR, "label id outside the label table"),
    Kind("label_missing", ERROR, "key without a label line"),
    Kind("missing", ERROR, "missing audio file"),
    Kind("not_regular", ERROR, "not a regular file"),
    Kind("unreadable", ERROR, "unreadable audio"),
    Kind("truncated", ERROR, "truncated audio"),
    Kind("too_short", ERROR, "empty or too short audio"),
    Kind("non_finite", ERROR, "NaN or infinite samples"),
    Kind("out_of_range", ERROR, "samples far beyond full scale"),
    Kind("too_long", ERROR, "too long for the memory budget"),
    Kind("text_outside_table", WARNING, "transcript with characters outside the label table"),
    Kind("clipped", WARNING, "clipped audio"),
    Kind("silent", WARNING, "silent audio"),
    Kind("converted", WARNING, "not 16 kHz 16-bit mono (converted when read)"),
)
BY_NAME: dict[str, Kind] = {kind.name: kind for kind in KINDS}


@dataclass(frozen=True)
class Finding:
    """One problem: its kind, the list or label file and line that name the thing, and what is wrong."""

    kind: str
    file: str
    line: int | None
    detail: str

    @property
    def severity(self) -> str:
        return BY_NAME[self.kind].severity

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.detail}"


@dataclass
class Entry:
    """A ``data_list.csv`` line: the utterance it names and, when it cannot be trained on, why."""

    list_file: str
    line: int
    wav: str
    script: str
    key: str
    reasons: list[str] = field(default_factory=list)
    audio: AudioInfo | None = None  # its header facts when the audio could be read

    @property
    def usable(self) -> bool:
        return not self.reasons


@dataclass
class Report:
    """Everything one check found in a dataset.

    ``train`` holds every listed training utterance with the reasons it is unusable (none for good ones) and
    ``targets`` the label ids of the keys whose label line is good, so a run can train on the usable rest.
    """

    root: str
    splits: tuple[str, ...]
    findings: list[Finding] = field(default_factory=list)
    train: list[Entry] = field(default_factory=list)
    targets: dict[str, list[int]] = field(default_factory=dict)
    audio_read: int = 0
    audio_cached: int = 0
    listed: int = 0
    notes: list[str] = field(default_factory=list)

    def add(self, kind: str, file: str, line: int | None, detail: str) -> Finding:
        if kind not in BY_NAME:
            raise ValueError(f"unknown finding kind {kind!r}")
        finding = Finding(kind, file, line, detail)
        self.findings.append(finding)
        return finding

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == WARNING]

    def by_kind(self) -> list[tuple[Kind, list[Finding]]]:
        grouped: dict[str, list[Finding]] = {}
        for finding in self.findings:
            grouped.setdefault(finding.kind, []).append(finding)
        return [(kind, grouped[kind.name]) for kind in KINDS if kind.name in grouped]

    def first_error(self) -> Finding | None:
        """The error a one-line message names: of the first kind in report order, its first occurrence."""
        for kind, found in self.by_kind():
            if kind.severity == ERROR:
                return found[0]
        return None

    def excluded(self) -> list[Entry]:
        return [entry for entry in self.train if not entry.usable]

    def usable(self) -> list[Entry]:
        return [entry for entry in self.train if entry.usable]

    def counts(self) -> str:
        """``3 errors (2 kinds), 1 warning`` or ``no problems``."""
        errors, warnings = self.errors, self.warnings
        if not errors and not warnings:
            return "no problems"
        kinds = len({f.kind for f in errors})
        parts = [f"{len(errors)} error{'s' * (len(errors) != 1)} ({kinds} kind{'s' * (kinds != 1)})"] if errors else []
        if warnings:
            parts.append(f"{len(warnings)} warning{'s' * (len(warnings) != 1)}")
        return ", ".join(parts)

    def format(self, examples: int = 3) -> list[str]:
        """The report as lines: a heading, each kind with its count and first ``examples`` occurrences, notes."""
        lines = [f"checked {self.root} ({' and '.join(self.splits)}): {self.listed} listed utterances, "
                 f"{self.audio_read + self.audio_cached} audio files ({self.audio_cached} known from the cache)"]
        for kind, found in self.by_kind():
            lines.append(f"{kind.severity}: {kind.title}: {len(found)}")
            lines.extend(f"  {finding}" for finding in found[:examples])
            if len(found) > examples:
                lines.append(f"  ... and {len(found) - examples} more")
        lines.extend(self.notes)
        lines.append(f"result: {self.counts()}")
        return lines


def exclusion_table(entries: Iterable[Entry]) -> str:
    """Tab-separated ``list file, line, wav, reason`` rows of the utterances a run left out, with a header."""
    rows = ["list_file\tline\twav\treason"]
    for entry in entries:
        reason = "; ".join(entry.reasons).replace("\t", " ").replace("\n", " ")
        rows.append(f"{entry.list_file}\t{entry.line}\t{entry.wav}\t{reason}")
    return "\n".join(rows) + "\n"
