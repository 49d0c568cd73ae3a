"""Competitions: a dataset's test set cut once into a public and a private part, phases in time, and the boards.

The cut is fixed when the organiser creates the competition (seeded, so the same folder, fraction and seed give
the same cut) and kept with the labels, where only the scorer reads it. Every submission predicts the whole test
set; the scorer scores the two parts apart. While a phase is open its board shows public scores only; once it has
ended the private scores are revealed and the final ranking takes each team's selected submissions (up to the
competition's limit; by default its best public one) at their best private score.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from nsml import scorers
from nsml.errors import UsageError
from nsml.server.db import Competition, Entry, Phase, ServerDB
from nsml.server.homes import Layout
from speech_kit import layout as hackathon

RELATIVE_TIME = re.compile(r"^([+-])(\d+(?:\.\d+)?)([smhd])$")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_time(text: str, now: float | None = None) -> float:
    """``now``, ``+30m`` (from now), ``-1h`` (ago), or an ISO 8601 time (UTC when it names no zone) -> epoch
    seconds."""
    now = time.time() if now is None else now
    if text == "now":
        return now
    relative = RELATIVE_TIME.match(text)
    if relative:
        sign = 1 if relative.group(1) == "+" else -1
        return now + sign * float(relative.group(2)) * UNIT_SECONDS[relative.group(3)]
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"cannot read the time {text!r}: use 'now', '+30m' or '-1h' (s, m, h, d) or ISO 8601 such as "
                         f"2019-10-01T09:00:00+09:00") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def show_time(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _link_or_copy(source: Path, target: Path, mode: int = 0o644) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        target.unlink()
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
    target.chmod(mode)


def split_keys(keys: list[str], public_fraction: float, seed: int) -> tuple[list[str], list[str]]:
    if not 0 < public_fraction < 1:
        raise UsageError(f"--public {public_fraction}: the public part must be a fraction between 0 and 1")
    shuffled = sorted(keys)
    random.Random(seed).shuffle(shuffled)
    count = min(len(keys) - 1, max(1, round(len(keys) * public_fraction)))
    public = set(shuffled[:count])
    return [k for k in keys if k in public], [k for k in keys if k not in public]


def create(db: ServerDB, layout: Layout, name: str, source: Path, public_fraction: float, seed: int,
           scorer: str, final_limit: int) -> Competition:
    """Cut the test set, copy the labels where only the scorer reads them, and publish the audio without them."""
    scorers.get(scorer)
    source = Path(source).absolute()
    labels = hackathon.test_label_path(source)
    test_list = hackathon.test_list_path(source)
    for required in (labels, test_list, source / "train"):
        if not required.exists():
            raise UsageError(f"{required} is missing: a competition needs a dataset in the hackathon layout with a "
                             f"test split (nsml dataset check {source})")
    references = dict(line.split(",", 1) for line in labels.read_text(encoding="utf-8").splitlines()
                      if line.strip())
    public, private = split_keys(list(references), public_fraction, seed)
    secret = layout.private(name)
    secret.mkdir(parents=True, exist_ok=True)
    secret.chmod(0o700)
    shutil.copyfile(labels, secret / "test_label")
    (secret / "test_label").chmod(0o600)
    (secret / "split.json").write_text(json.dumps({"public": public, "private": private, "seed": seed,
                                                   "fraction": public_fraction}))
    audio = layout.audio(name) / "test" / "test_data"
    for path in test_list.parent.iterdir():
        if path.is_file():
            _link_or_copy(path, audio / path.name)
    _publish_tree(source / "train", layout.view(name) / "train")
    competition = Competition(name, scorer, str(source), public, private, final_limit, time.time())
    db.add_competition(competition)
    return competition


def _publish_tree(source: Path, target: Path) -> None:
    for parent, _dirs, files in os.walk(source):
        for file_name in files:
            path = Path(parent) / file_name
            _link_or_copy(path, target / path.relative_to(source))
    for parent, dirs, _files in os.walk(target):
        for folder in dirs:
            (Path(parent) / folder).chmod(0o755)
    target.chmod(0o755)
    target.parent.chmod(0o755)


def current_phase(db: ServerDB, competition: str, now: float) -> Phase:
    """The open phase, or a refusal that gives the times."""
    phases = db.phases(competition)
    if not phases:
        raise UsageError(f"competition {competition!r} has no phase yet; submissions open when the organiser adds "
                         f"one (nsml admin phase {competition} NAME --start ... --end ...)")
    for phase in phases:
        if phase.state(now) == "open":
            return phase
    times = "; ".join(f"{p.name} {show_time(p.start)} to {show_time(p.end)}" for p in phases)
    upcoming = [p for p in phases if p.start > now]
    if upcoming:
        raise UsageError(f"competition {competition!r} is not open for submissions now ({show_time(now)}); the next "
                         f"phase {upcoming[0].name} opens {show_time(upcoming[0].start)} (phases: {times})")
    raise UsageError(f"competition {competition!r} is closed: its last phase ended {show_time(phases[-1].end)} "
                     f"(phases: {times}); the final board: nsml dataset board {competition}")


def phase_named(db: ServerDB, competition: str, name: str | None, now: float) -> Phase:
    """``name``, or the open phase, or the latest that has started."""
    phases = db.phases(competition)
    if not phases:
        raise UsageError(f"competition {competition!r} has no phase yet")
    if name is not None:
        for phase in phases:
            if phase.name == name:
                return phase
        raise UsageError(f"no phase {name!r} in {competition}; phases: {', '.join(p.name for p in phases)}")
    started = [p for p in phases if p.start <= now] or phases[:1]
    open_now = [p for p in started if p.state(now) == "open"]
    return (open_now or started)[-1]


@dataclass(frozen=True)
class Row:
    rank: int
    team: str
    number: int  # the submission that ranks the team
    session: str
    checkpoint: str
    public: float | None
    private: float | None  # None while the phase is open
    submissions: int  # scored submissions of the team in this phase
    final: tuple[int, ...]  # the submissions the final ranking used (after the end)


def final_choice(entries: list[Entry], limit: int) -> list[Entry]:
    """A team's selected submissions (up to ``limit``), or its best public one when it selected none."""
    scored = [e for e in entries if e.status == "scored"]
    chosen = [e for e in scored if e.selected][:limit]
    if chosen or not scored:
        return chosen
    return [min(scored, key=lambda e: _order(e, "public"))]


def _order(entry: Entry, part: str) -> tuple[float, float]:
    value = entry.primary(part)
    if value is None:
        return (float("inf"), entry.created)
    return (-value if entry.higher_is_better else value, entry.created)


def board(db: ServerDB, competition: Competition, phase: Phase, now: float,
          show_private: bool = False) -> tuple[bool, list[Row]]:
    """(revealed, rows): public ranking while ``phase`` is open, the final ranking on private scores after it.
    ``show_private`` (the organiser's view) adds the private scores to the public ranking before the end."""
    revealed = phase.state(now) == "ended"
    by_team: dict[str, list[Entry]] = {}
    for entry in db.entries(competition.name):
        if entry.phase == phase.name and entry.status == "scored":
            by_team.setdefault(entry.team, []).append(entry)
    ranked: list[tuple[tuple[float, float], Row]] = []
    for team, entries in by_team.items():
        if revealed:
            final = final_choice(entries, competition.final_limit)
            best = min(final, key=lambda e: _order(e, "private"))
            key = _order(best, "private")
            chosen = tuple(e.number for e in final)
        else:
            best = min(entries, key=lambda e: _order(e, "public"))
            key = _order(best, "public")
            chosen = ()
        ranked.append((key, Row(0, team, best.number, best.session, best.checkpoint, best.primary("public"),
                                best.primary("private") if revealed or show_private else None, len(entries), chosen)))
    ranked.sort(key=lambda pair: pair[0])
    return revealed, [replace(row, rank=i) for i, (_, row) in enumerate(ranked, 1)]


def board_values(db: ServerDB, name: str, phase_name: str | None, organiser: bool = False) -> dict:
    """The board of competition ``name`` as JSON-ready values: its phase, state, metric and ranked rows."""
    competition = db.competition(name)
    now = time.time()
    phase = phase_named(db, name, phase_name, now)
    revealed, rows = board(db, competition, phase, now, show_private=organiser)
    return {"competition": name, "phase": phase.name, "state": phase.state(now), "start": phase.start,
            "end": phase.end, "revealed": revealed, "show_private": revealed or organiser,
            "organiser_view": organiser and not revealed, "metric": scorers.get(competition.scorer).primary,
            "rows": [row.__dict__ | {"final": list(row.final)} for row in rows]}
