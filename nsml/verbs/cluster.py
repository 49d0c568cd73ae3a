"""Organiser verbs: ``watchdog`` (running sessions that make no progress: list them, stop them) and
``cluster caps`` (how many jobs, CPUs and GPUs each team may hold at once on a Slurm cluster).

Both act for every participant: the watchdog on every session of the store it is pointed at (``$NSML_HOME``), the
caps on ``$NSML_SHARED/caps.json``, which every team's ``nsml run --backend slurm`` reads. docs/cluster.md says
how an organiser runs them (cron, a shell loop) and what a production cluster adds (Slurm QOS limits).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from nsml import backends, home, idle, table
from nsml.backends import caps
from nsml.errors import NsmlError, UsageError
from nsml.store import Store
from nsml.verbs.common import add_verb, print_json, say, seconds

NO_CAP = "none"  # --max_jobs none: no cap for the team, whatever the defaults say
DEFAULT = "default"  # --max_jobs default: the team's own value is dropped, the default applies again


def cmd_watchdog(store: Store, args: argparse.Namespace) -> int:
    limit_s = idle.limit(args.limit)
    stopping = idle.stop_asked(args.stop)
    while True:
        _watch_once(store, limit_s, stopping)
        if args.every is None:
            return 0
        time.sleep(args.every)


def _watch_once(store: Store, limit_s: float, stopping: bool) -> None:
    """One look at every running session: print the idle ones (stopping them when asked) and a summary line."""
    running = [s for s in backends.all_sessions(store) if s.status == "running"]
    found = idle.find(store, running, limit_s)
    rows, stopped = [], 0
    for each in found:
        action = "-"
        if stopping:
            try:
                action = idle.stop(store, each, limit_s).describe_status()
                stopped += action.startswith("stopped")
            except NsmlError as error:  # one session that cannot be stopped (scancel refused) is not all of them
                action = f"not stopped: {error}"
        where = each.session.backend + (f" job {each.session.job_id}" if each.session.job_id else "")
        rows.append((each.session.name, where, idle.span(each.seconds), table.when(each.since), action))
    if rows:
        print(table.table(("SESSION", "BACKEND", "IDLE", "LAST PROGRESS", "ACTION"), rows), flush=True)
    outcome = f"; {stopped} stopped" if stopping else ("; stop them with --stop (or NSML_IDLE_STOP=1)" if found else "")
    say(f"{time.strftime('%Y-%m-%d %H:%M:%S')} watchdog: {len(running)} running session(s), {len(found)} idle for "
        f"longer than {idle.span(limit_s)}{outcome}")


def cap_value(text: str) -> int | str:
    """A cap as given on the command line: a whole number, ``none`` (no cap) or ``default``."""
    lowered = text.strip().lower()
    if lowered in (NO_CAP, DEFAULT):
        return lowered
    if not lowered.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number, {NO_CAP} (no cap) or {DEFAULT} (the default "
                                         f"applies), got {text!r}")
    return int(lowered)


def _shared() -> Any:
    shared = home.shared_root()
    if shared is None:
        raise UsageError(f"nsml cluster caps needs {home.ENV_SHARED}: the caps live in ${home.ENV_SHARED}/"
                         f"{caps.CAPS_FILE}, on the folder every cluster node mounts; set it as the participants' "
                         f"nsml sees it")
    return shared


def _shown(value: int | None) -> str:
    return "-" if value is None else str(value)


def cmd_caps(store: Store, args: argparse.Namespace) -> int:
    shared = _shared()
    if args.team is not None and not home.NAME_RE.match(args.team):
        raise UsageError(f"--team {args.team!r}: a Slurm account name is letters, digits, '.', '_' and '-' (the "
                         f"team's NSML_SLURM_ACCOUNT, else its nsml user name)")
    team = caps.EVERY_TEAM if args.team is None else args.team
    changes = {name: (None if value == NO_CAP else value) for name in caps.FIELDS
               if (value := getattr(args, f"max_{name}")) is not None}
    label = "every team" if team == caps.EVERY_TEAM else f"team {team}"
    if changes:
        written = caps.set_team(shared, team, changes)
        now = written.get(team, {})
        say(f"caps of {label} in {caps.caps_path(shared)}: " +
            (", ".join(f"max_{name}={NO_CAP if now[name] is None else now[name]}" for name in caps.FIELDS
                       if name in now) or "none of its own"))
    teams = [team] if args.team is not None else [caps.EVERY_TEAM] + sorted(t for t in caps.read_file(shared)
                                                                            if t != caps.EVERY_TEAM)
    effective = {t: caps.for_account(shared, t) for t in teams}
    if args.json:
        print_json({"file": str(caps.caps_path(shared)),
                    "caps": {t: {name: getattr(c, name) for name in caps.FIELDS} for t, c in effective.items()}})
        return 0
    rows = [("(every team)" if t == caps.EVERY_TEAM else t, *(_shown(getattr(c, name)) for name in caps.FIELDS))
            for t, c in effective.items()]
    print(table.table(("TEAM", "MAX_JOBS", "MAX_CPUS", "MAX_GPUS"), rows))
    if not changes:
        say(f"'-' is no cap; a team not listed has the caps of every team; kept in {caps.caps_path(shared)} (over "
            f"{', '.join(caps.ENVIRONMENT.values())}); set one with: nsml cluster caps --team T --max_jobs N")
    return 0


def register(verbs: Any) -> None:
    watchdog = add_verb(verbs, "watchdog", cmd_watchdog,
                        "For organisers: list running sessions (local or Slurm) whose log and metrics have not "
                        "advanced for longer than the limit (no output, no nsml.report: stuck, or idle on their "
                        "GPUs) and, with --stop, stop them (scancel for Slurm) with the reason written in their log "
                        "and their status shown as stopped(idle). Run it from cron, or with --every.")
    watchdog.add_argument("--limit", type=seconds, metavar="SECONDS",
                          help=f"idle longer than this is reported (default ${idle.ENV_LIMIT}, else "
                               f"{idle.DEFAULT_LIMIT_S:g}); nsml ps marks such sessions 'idle 12m'")
    watchdog.add_argument("--stop", action="store_true",
                          help=f"stop the idle sessions (default: only list them, unless ${idle.ENV_STOP}=1)")
    watchdog.add_argument("--every", type=seconds, metavar="SECONDS",
                          help="look again every SECONDS until interrupted (instead of a cron entry)")

    cluster = add_verb(verbs, "cluster", None, "For organisers of a Slurm cluster: per-team caps (caps).")
    actions = cluster.add_subparsers(dest="cluster_verb", metavar="{caps}", required=True)
    caps_verb = add_verb(actions, "caps", cmd_caps,
                         f"Show or set how many jobs, CPUs and GPUs a team (its Slurm account) may hold queued or "
                         f"running at once; a run beyond them is refused before sbatch. Kept in "
                         f"${home.ENV_SHARED}/{caps.CAPS_FILE}; a team's own value comes first, then the value for "
                         f"every team (no --team), then {', '.join(caps.ENVIRONMENT.values())}. Without a --max "
                         f"option it only shows them. A production cluster with slurmdbd may use Slurm QOS limits "
                         f"instead (docs/cluster.md).")
    caps_verb.add_argument("--team", metavar="ACCOUNT",
                           help="the team's Slurm account (NSML_SLURM_ACCOUNT, else its nsml user name); "
                                "default: the caps of every team")
    for name, what in (("jobs", "jobs"), ("cpus", "CPUs"), ("gpus", "GPUs")):
        caps_verb.add_argument(f"--max_{name}", type=cap_value, metavar="N",
                               help=f"most {what} queued or running at once: a number, {NO_CAP} (no cap) or "
                                    f"{DEFAULT} (drop this team's own value)")
    caps_verb.add_argument("--json", action="store_true", help="the caps in force, as JSON")
