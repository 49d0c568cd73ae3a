"""``nsml compare``: what differs between sessions and the best each one reached, side by side.

Participants compared runs by hand from ``nsml ps``; here the arguments every session shares are printed once and
only the differing ones become columns, next to each session's best value of every summary metric and its best
CRR on the board.
"""

from __future__ import annotations

import math
import shlex
from dataclasses import dataclass

from nsml.session import Session
from nsml.store import Store

# Metric families where lower is better; every other metric is best at its highest (accuracy, CRR, epoch).
LOWER_IS_BETTER = ("loss", "cer", "wer", "err")


def parse_args(args: str) -> dict[str, str]:
    """``--lr 1e-3 --use_attention`` -> {"--lr": "1e-3", "--use_attention": ""}; other tokens keep their place."""
    options: dict[str, str] = {}
    tokens = shlex.split(args)
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.startswith("-") and "=" in token:
            key, value = token.split("=", 1)
            options[key] = value
        elif token.startswith("-"):
            has_value = i + 1 < len(tokens) and not tokens[i + 1].startswith("--")
            options[token] = tokens[i + 1] if has_value else ""
            i += has_value
        else:
            options[f"#{i}"] = token
        i += 1
    return options


def split_args(sessions: list[Session]) -> tuple[dict[str, str], list[str]]:
    """(the options every session gives the same value, the options that differ between them)."""
    parsed = [parse_args(s.args) for s in sessions]
    keys = sorted({k for p in parsed for k in p})
    common = {k: parsed[0][k] for k in keys if all(k in p and p[k] == parsed[0][k] for p in parsed)}
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
    rows = [r for r in store.metrics(session) if r["value"] is not None and not math.isnan(r["value"])]
    summary = [r for r in rows if r["summary"]] or rows
    best: dict[str, Best] = {}
    for row in summary:
        key, value = row["key"], row["value"]
        current = best.get(key)
        better = current is None or (value < current.value if lower_is_better(key) else value > current.value)
        if better:
            best[key] = Best(value, row["step"])
    return best


def best_crr(store: Store, session: Session) -> float | None:
    scores = [row["crr"] for row in store.board(session.dataset) if row["session"] == session.name]
    return max(scores) if scores else None
