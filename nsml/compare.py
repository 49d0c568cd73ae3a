"""``nsml compare``: what differs between sessions and the best each one reached, side by side.

Participants compared runs by hand from ``nsml ps``; here the arguments every session shares are printed once and
only the differing ones become columns, next to each session's best value of every summary metric and its best
score on the board. Arguments are the values the entry really used (recorded from its argparse parse, defaults
included); for an entry without argparse, the ``-a`` string is read as flags instead. A session that failed
before its entry parsed anything has only its ``-a`` string: the flags it gives are compared, the ones it leaves
out are not counted as differences (they are unknown, not different). A file inside the session's own code
snapshot (main.py's default ``--labels``) is compared by its content (``nsml.argvalues``). Sessions that ran on
different datasets, or on different test sets of one dataset, are compared with a warning: their scores are not
measured on the same thing.
"""

from __future__ import annotations

import math
import shlex
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from nsml import entry_args
from nsml.argvalues import by_content
from nsml.entities import Session, Submission
from nsml.store import Store

# Metric families where lower is better; every other metric is best at its highest (accuracy, CRR, epoch).
LOWER_IS_BETTER = ("loss", "cer", "wer", "err")


def parse_args(args: str) -> dict[str, str]:
    """``--lr 1e-3 --use_attention`` -> {"--lr": "1e-3", "--use_attention": "yes"}; other tokens keep their place."""
    options: dict[str, str] = {}
    tokens = entry_args.split(args)
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.startswith("-") and "=" in token:
            key, value = token.split("=", 1)
            options[key] = _number(value)
        elif token.startswith("-"):
            has_value = i + 1 < len(tokens) and not tokens[i + 1].startswith("--")
            options[token] = _number(tokens[i + 1]) if has_value else "yes"
            i += has_value
        else:
            options[f"#{i}"] = token
        i += 1
    return options


def _number(token: str) -> str:
    """A number as a recorded value shows it (``1e-3`` -> ``0.001``), so the two compare; other text as it is."""
    for kind in (int, float):
        try:
            return str(kind(token))
        except ValueError:
            pass
    return token


def _shown(value: object) -> str:
    """A value as a person compares it: flags as yes/no, strings quoted only where the shell would need it."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return " ".join(_shown(item) for item in value)
    if isinstance(value, str):
        return shlex.quote(value)
    return str(value)


def arguments(session: Session) -> dict[str, str]:
    """The session's arguments as {option: shown value}: recorded values when there are some, else the -a string."""
    if session.params is not None:
        return {key: _shown(by_content(value, session.code_dir)) for key, value in session.params.items()}
    return parse_args(session.args)


def unrecorded(session: Session) -> bool:
    """A session that ended (or is still starting) without its entry's parse recorded: only its -a is known."""
    return session.params is None and session.status != "done"


def split_args(sessions: list[Session]) -> tuple[dict[str, str], list[str]]:
    """(the options every session gives the same value, the options that differ between them).

    An option an unrecorded session leaves out does not make it differ; at least the recorded sessions (all of
    them, when none is recorded) must give it."""
    parsed = [arguments(s) for s in sessions]
    known = [p for s, p in zip(sessions, parsed) if not unrecorded(s)] or parsed
    keys = list(dict.fromkeys(k for p in parsed for k in p))
    common = {}
    for key in keys:
        values = {p[key] for p in parsed if key in p}
        if len(values) == 1 and all(key in p for p in known):
            common[key] = values.pop()
    return common, [k for k in keys if k not in common]


def lower_is_better(key: str) -> bool:
    family = key.split("__")[-1].lower()
    return any(word in family for word in LOWER_IS_BETTER)


@dataclass(frozen=True)
class Best:
    value: float
    step: float | None

    def __str__(self) -> str:
        at = "" if self.step is None else f"@{self.step:g}"
        return f"{self.value:.4g}{at}"


def best_values(store: Store, session: str) -> dict[str, Best]:
    """The best value of each summary metric (every metric when none was reported with summary=True)."""
    rows = [m for m in store.metrics(session) if m.value is not None and not math.isnan(m.value)]
    summary = [m for m in rows if m.summary] or rows
    best: dict[str, Best] = {}
    for metric in summary:
        current = best.get(metric.key)
        value = metric.value
        if current is None or (value < current.value if lower_is_better(metric.key) else value > current.value):
            best[metric.key] = Best(value, metric.step)
    return best


def best_submission(submissions: Iterable[Submission]) -> Submission | None:
    ranked = sorted(submissions, key=Submission.rank_key)
    return ranked[0] if ranked else None


def _grouped(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for value, name in pairs:
        groups[value].append(name)
    return dict(groups)


def _listing(groups: dict[str, list[str]]) -> str:
    return "; ".join(f"{value} ({', '.join(names)})" for value, names in groups.items())


def warnings(sessions: list[Session], bests: dict[str, Submission | None]) -> list[str]:
    """Why the sessions' numbers may not be comparable: other datasets, other test sets, scores on other sets."""
    found = []
    datasets = _grouped((s.dataset, s.name) for s in sessions)
    if len(datasets) > 1:
        found.append(f"the sessions ran on different datasets: {_listing(datasets)}")
    for dataset in datasets:
        test_sets = _grouped((s.test_set, s.name) for s in sessions if s.dataset == dataset and s.test_set)
        if len(test_sets) > 1:
            found.append(f"sessions of dataset {dataset} started with different test sets: {_listing(test_sets)}")
    scored = _grouped((b.test_set or "unknown", name) for name, b in bests.items() if b is not None)
    if len(scored) > 1 and len(datasets) == 1:
        found.append(f"the best scores were measured on different test sets: {_listing(scored)}")
    return found
