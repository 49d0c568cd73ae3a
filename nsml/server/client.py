"""The ``nsml`` command as a client of ``nsml server``: when a server is set, the same verbs run there.

``nsml login URL TOKEN`` keeps the address and token in ``$XDG_CONFIG_HOME/nsml/login.json`` (0600; default
``~/.config``); ``NSML_SERVER`` and ``NSML_TOKEN`` override it, ``nsml logout`` forgets it. Without either the
command works locally, as before. The command line is parsed here first by the local parser, so a mistake is the
same one line; then the verb runs on the server and its output is printed as it comes. ``run`` sends the code
snapshot made exactly as a local run makes it (``.nsmlignore``, the size limit, the same warnings); ``model pull``,
``dataset pull`` and ``plot`` write what the server sends where the local verb would (``nsml.server.downloads``).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from nsml import snapshot, table
from nsml.errors import UsageError
from nsml.parser import build_parser, parse, tokens_of
from nsml.server import downloads
from nsml.server.connection import ENV_SERVER, ClientError, Connection, configured, login_path

OWN_VERBS = ("server", "login", "logout", "admin", "final", "whoami")


def handles(argv: list[str]) -> bool:
    return bool(argv) and (argv[0] in OWN_VERBS or bool(os.environ.get(ENV_SERVER)) or login_path().is_file())


def _print_stream(response: Any, heard: list[str] | None = None) -> int:
    """Print the verb's output as it comes; its stderr is also appended to ``heard``."""
    code = 1
    for line in response.iter_lines():
        if not line:
            continue
        part = json.loads(line)
        if "out" in part:
            sys.stdout.write(part["out"])
            sys.stdout.flush()
        elif "err" in part:
            sys.stderr.write(part["err"])
            sys.stderr.flush()
            if heard is not None:
                heard.append(part["err"])
        elif "rc" in part:
            code = part["rc"]
    return code


def _snapshot(source: Path, max_file_mib: int) -> bytes:
    """The code folder as a local run would copy it, packed as tar.gz; the same warnings for what is left out."""
    with tempfile.TemporaryDirectory() as scratch:
        target = Path(scratch) / "code"
        copied = snapshot.copy_code(source, target, max_file_bytes=max_file_mib << 20)
        for left_out in copied.skipped:
            print(f"nsml: warning: {left_out.path} not copied into the snapshot: {left_out.reason} (list it in "
                  f"{snapshot.IGNORE_FILE}, or raise --max-file-mib)", file=sys.stderr)
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            archive.add(target, arcname=".")
        return buffer.getvalue()


def _submit(conn: Connection, session: str, checkpoint: str, test: bool, timeout: float | None) -> int:
    if sys.stderr.isatty():  # a person waits; a script reads only the outcome
        print(f"nsml: scoring {session} checkpoint {checkpoint!r} on the server...", file=sys.stderr, flush=True)
    result = conn.json("POST", "/api/v1/submit", json={"session": session, "checkpoint": checkpoint, "test": test,
                                                       "timeout": timeout})
    if result.get("stdout"):
        sys.stdout.write(result["stdout"])
    if result.get("stderr"):
        sys.stderr.write(result["stderr"])
    stream = sys.stdout if result["rc"] == 0 else sys.stderr
    for line in result["lines"]:
        print(line, file=stream)
    return result["rc"]


def _competition_of(name: str) -> str:
    """``submit ls`` takes a competition or a session; a session's competition is its dataset."""
    return name.split("/")[1] if name.count("/") == 2 else name


def _value(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _submit_ls(conn: Connection, name: str, team: str | None = None) -> int:
    competition = _competition_of(name)
    rows = conn.json("GET", f"/api/v1/submissions/{competition}", params={"team": team} if team else None)
    if name.count("/") == 2:
        rows = [r for r in rows if r["session"] == name]
    print(table.table(("N", "TEAM", "SESSION", "CHECKPOINT", "PHASE", "STATUS", "PUBLIC", "PRIVATE", "FINAL",
                       "SUBMITTED", "TIME", "REASON"),
                      [(r["number"], r["team"], r["session"], r["checkpoint"], r["phase"], r["status"],
                        _value(_primary(r, "public")), _value(_primary(r, "private")), "yes" if r["selected"] else "",
                        table.when(r["created"]), "-" if r["duration"] is None else f"{r['duration']:.1f} s",
                        r["reason"] or "") for r in rows]))
    return 0


def _primary(row: dict, part: str) -> float | None:
    values = row.get(part)
    return None if not values or not row.get("primary_metric") else values.get(row["primary_metric"])


def _submit_show(conn: Connection, competition: str, number: int, team: str | None, csv_out: str | None) -> int:
    params = {"team": team} if team else None
    if csv_out:
        text = conn.call("GET", f"/api/v1/submissions/{competition}/{number}/utterances.csv", params=params).text
        Path(csv_out).write_text(text, encoding="utf-8")
        print(csv_out)
        return 0
    row = conn.json("GET", f"/api/v1/submissions/{competition}/{number}", params=params)
    print(f"submission {row['number']} of team {row['team']} to {competition}, phase {row['phase']}: "
          f"{row['session']} checkpoint {row['checkpoint']!r}, {row['status']}")
    if row["reason"]:
        print(f"reason: {row['reason']}")
    print(f"public {_value(_primary(row, 'public'))}  private "
          f"{_value(_primary(row, 'private')) if row['private'] else 'hidden until the phase ends'}")
    for name in ("stdout", "stderr"):
        if row[name]:
            print(f"--- {name} of the submission ---")
            sys.stdout.write(row[name] if row[name].endswith("\n") else row[name] + "\n")
    lines = row["utterances"].splitlines()
    print(f"--- {len(lines) - 1} utterances (key,part,reference,hypothesis,errors,size) ---")
    for line in lines[1:]:
        print(line)
    return 0


def _board(conn: Connection, competition: str, phase: str | None) -> int:
    values = conn.json("GET", f"/api/v1/public/board/{competition}", params={"phase": phase} if phase else None)
    from nsml.server.competitions import show_time

    state = "final ranking on private scores of the selected submissions" if values["revealed"] else \
        "public scores; private ones are revealed when the phase ends"
    print(f"{competition} phase {values['phase']} ({values['state']}, {show_time(values['start'])} to "
          f"{show_time(values['end'])}): {state}")
    metric = values["metric"].upper()
    heads = ["RANK", "TEAM", "SUBMISSION", f"PUBLIC {metric}"]
    if values["revealed"]:
        heads += [f"PRIVATE {metric}", "FINAL SELECTION"]
    rows = []
    for r in values["rows"]:
        cells = [r["rank"], r["team"], r["number"], _value(r["public"])]
        if values["revealed"]:
            cells += [_value(r["private"]), " ".join(map(str, r["final"]))]
        rows.append(cells)
    print(table.table(heads + ["SUBMISSIONS"], [c + [r["submissions"]] for c, r in zip(rows, values["rows"])]))
    return 0


def _admin_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nsml admin", description="Organiser commands of nsml server.")
    verbs = parser.add_subparsers(dest="action", required=True)
    team = verbs.add_parser("team", help="add a team: prints its first participant token")
    team.add_argument("add", choices=["add"])
    team.add_argument("name")
    token = verbs.add_parser("token", help="another participant token for a team")
    token.add_argument("team")
    verbs.add_parser("organiser", help="another organiser token")
    verbs.add_parser("tokens", help="every token: role, team, label, created, last used, digest (never the token)")
    revoke = verbs.add_parser("revoke", help="forget one token (by its digest) or every token of a team")
    revoke.add_argument("digest", nargs="?", help="8 or more leading characters of its digest (nsml admin tokens)")
    revoke.add_argument("--team", help="every token of this team")
    comp = verbs.add_parser("competition", help="create a competition from a dataset folder on the server machine")
    comp.add_argument("create", choices=["create"])
    comp.add_argument("name")
    comp.add_argument("path")
    comp.add_argument("--public", type=float, default=0.5, help="fraction of the test set in the public part")
    comp.add_argument("--seed", type=int, default=0, help="seed of the public/private cut")
    comp.add_argument("--scorer", default="crr")
    comp.add_argument("--final", type=int, default=2, help="final submissions a team may select (default 2)")
    phase = verbs.add_parser("phase", help="add or change a phase: submissions are accepted between its times")
    phase.add_argument("competition")
    phase.add_argument("name")
    phase.add_argument("--start", required=True, help="'now', '+10m' or ISO 8601")
    phase.add_argument("--end", required=True)
    quota = verbs.add_parser("quota", help="submission quota (every team's default, or --team's own)")
    quota.add_argument("competition")
    quota.add_argument("--team")
    quota.add_argument("--per-day", type=int)
    quota.add_argument("--interval", type=float, help="minimum seconds between submissions (2019: 3600)")
    quota.add_argument("--total", type=int)
    quota.add_argument("--concurrent", type=int)
    grant = verbs.add_parser("grant", help="allow a team N more submissions (today and in total)")
    grant.add_argument("competition")
    grant.add_argument("team")
    grant.add_argument("extra", type=int)
    rescore = verbs.add_parser("rescore", help="score a phase's submissions again from their kept predictions")
    rescore.add_argument("competition")
    rescore.add_argument("--phase")
    rescore.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    export = verbs.add_parser("export", help="the board as CSV (the final board once the phase has ended)")
    export.add_argument("competition")
    export.add_argument("--phase")
    export.add_argument("--out", help="file to write (default: stdout)")
    subs = verbs.add_parser("submissions", help="every team's submissions")
    subs.add_argument("competition")
    subs.add_argument("--team")
    show = verbs.add_parser("show", help="one submission of a team, with its output")
    show.add_argument("competition")
    show.add_argument("team")
    show.add_argument("number", type=int)
    show.add_argument("--csv", metavar="FILE", help="write its per-utterance CSV instead")
    return parser


def _admin(conn: Connection, argv: list[str]) -> int:
    args = _admin_parser().parse_args(argv)
    if args.action == "team":
        done = conn.json("POST", "/api/v1/admin/team", json={"name": args.name})
        print(f"team {done['team']} added (uid {done['uid']}); its token: {done['token']}")
    elif args.action == "token":
        print(conn.json("POST", "/api/v1/admin/token", json={"team": args.team})["token"])
    elif args.action == "organiser":
        print(conn.json("POST", "/api/v1/admin/organiser", json={})["token"])
    elif args.action == "tokens":
        rows = conn.json("POST", "/api/v1/admin/tokens", json={})["tokens"]
        print(table.table(("DIGEST", "ROLE", "TEAM", "LABEL", "CREATED", "LAST USED"),
                          [(r["digest"][:12], r["role"], r["team"] or "-", r["label"], table.when(r["created"]),
                            table.when(r["last_used"]) if r["last_used"] else "never") for r in rows]))
    elif args.action == "revoke":
        if bool(args.digest) == bool(args.team):
            raise ClientError("name one token by its digest, or --team TEAM for all of a team's")
        body = {"team": args.team} if args.team else {"digest": args.digest}
        done = conn.json("POST", "/api/v1/admin/revoke", json=body)
        print(f"{done['revoked']} token(s) revoked" + (f" of team {args.team}" if args.team else ""))
    elif args.action == "competition":
        done = conn.json("POST", "/api/v1/admin/competition",
                         json={"name": args.name, "path": str(Path(args.path).absolute()), "public": args.public,
                               "seed": args.seed, "scorer": args.scorer, "final": args.final})
        print(f"competition {done['competition']}: {done['public']} public and {done['private']} private test "
              f"utterances; teams train with -d {done['competition']}")
    elif args.action == "phase":
        done = conn.json("POST", "/api/v1/admin/phase", json={"competition": args.competition, "name": args.name,
                                                              "start": args.start, "end": args.end})
        print(f"phase {done['phase']} of {args.competition}: {done['start']} to {done['end']}")
    elif args.action == "quota":
        values = {"competition": args.competition, "team": args.team}
        for key, given in (("per_day", args.per_day), ("min_interval_s", args.interval), ("total", args.total),
                           ("concurrent", args.concurrent)):
            if given is not None:
                values[key] = given
        print(json.dumps(conn.json("POST", "/api/v1/admin/quota", json=values)))
    elif args.action == "grant":
        done = conn.json("POST", "/api/v1/admin/grant", json={"competition": args.competition, "team": args.team,
                                                              "extra": args.extra})
        print(f"team {args.team} may make {done['extra']} more submissions than the quota in {args.competition}")
    elif args.action == "rescore":
        if not args.yes:
            if not sys.stdin.isatty():
                raise ClientError("rescore changes every score of the phase: confirm with --yes")
            answer = input(f"score every submission of {args.competition} again? type its name to confirm: ")
            if answer.strip() != args.competition:
                raise ClientError("not confirmed; nothing was rescored")
        done = conn.json("POST", "/api/v1/admin/rescore", json={"competition": args.competition,
                                                                "phase": args.phase})
        print(f"rescored phase {done['phase']} of {args.competition}: {len(done['lines'])} submissions")
        for line in done["lines"]:
            print(f"  {line}")
    elif args.action == "export":
        text = conn.call("GET", f"/api/v1/admin/board.csv/{args.competition}",
                         params={"phase": args.phase} if args.phase else None).text
        if args.out:
            Path(args.out).write_text(text, encoding="utf-8")
            print(args.out)
        else:
            sys.stdout.write(text)
    elif args.action == "submissions":
        return _submit_ls(conn, args.competition, args.team)
    elif args.action == "show":
        return _submit_show(conn, args.competition, args.number, args.team, args.csv)
    return 0


def _login(argv: list[str]) -> int:
    if len(argv) != 2:
        raise ClientError("usage: nsml login URL TOKEN (the organiser gives you both)")
    url, token = argv[0].rstrip("/"), argv[1]
    who = Connection(url, token).json("GET", "/api/v1/whoami")
    path = login_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"server": url, "token": token}, handle)
    print(f"logged in to {url} as {who['role']}" + (f" of team {who['team']}" if who["team"] else "") +
          f"; saved in {path}")
    return 0


def _remote(conn: Connection, argv: list[str]) -> int:
    """A platform verb on the server: parsed here as locally, then run there."""
    tokens = tokens_of(argv)
    if tokens[0] == "submit show" and "--csv" in tokens:  # the per-utterance CSV of a scored submission
        where = tokens.index("--csv")
        if where + 1 >= len(tokens) or len(tokens) != 5:
            raise ClientError("usage: nsml submit show COMPETITION N --csv FILE")
        rest = tokens[1:where] + tokens[where + 2:]
        return _submit_show(conn, _competition_of(rest[0]), int(rest[1]), None, tokens[where + 1])
    try:
        args = parse(build_parser(), tokens)
    except UsageError as error:
        raise ClientError(str(error)) from None
    verb = args.verb
    if verb == "submit":
        return _submit(conn, args.session, str(args.checkpoint), args.test, args.timeout)
    if verb == "submit ls":
        return _submit_ls(conn, args.session)
    if verb == "submit show":
        return _submit_show(conn, _competition_of(args.session), args.number, None, None)
    if tokens[:2] == ["dataset", "board"]:
        return _board(conn, tokens[2], None)
    if verb == "board":
        print(f"the board of the server: {conn.url}/")
        return 0
    if verb == "plot":
        return downloads.plot(conn, args)
    if verb == "model" and args.model_verb == "pull":
        return downloads.model_pull(conn, args)
    if verb == "dataset" and args.dataset_verb == "pull":
        return downloads.dataset_pull(conn, args)
    files = None
    forwarded = list(tokens)
    submit_after = None
    if verb == "run":
        submit_after = getattr(args, "submit", None)
        if submit_after:
            where = forwarded.index("--submit")
            del forwarded[where:where + 2]
        files = {"snapshot": ("code.tar.gz", _snapshot(Path.cwd(), args.max_file_mib), "application/gzip")}
    response = conn.call("POST", "/api/v1/cli", stream=True, data={"argv": json.dumps(forwarded)}, files=files)
    heard: list[str] = []
    code = _print_stream(response, heard)
    started = re.search(r"session (\S+/\S+/\d+)", "".join(heard))
    if code == 0 and submit_after and started:
        return _submit(conn, started.group(1), submit_after, False, None)
    return code


def main(argv: list[str]) -> int:
    try:
        if argv[0] == "server":
            from nsml.server import serve

            return serve.main(argv[1:])
        if argv[0] == "login":
            return _login(argv[1:])
        if argv[0] == "logout":
            login_path().unlink(missing_ok=True)
            print("logged out: nsml works locally again")
            return 0
        found = configured()
        if found is None:
            raise ClientError(f"nsml {argv[0]} talks to a server: nsml login URL TOKEN first")
        conn = Connection(*found)
        if argv[0] == "admin":
            return _admin(conn, argv[1:])
        if argv[0] == "whoami":
            who = conn.json("GET", "/api/v1/whoami")
            print(f"{who['role']}" + (f" of team {who['team']}" if who["team"] else "") + f" at {conn.url}")
            return 0
        if argv[0] == "final":
            return _final(conn, argv[1:])
        return _remote(conn, argv)
    except ClientError as error:
        prefix = "nsml: error: " if error.code == 2 else "nsml: "
        print(prefix + str(error), file=sys.stderr)
        return error.code
    except KeyboardInterrupt:
        print("nsml: interrupted", file=sys.stderr)
        return 130


def _final(conn: Connection, argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="nsml final", description="Choose your team's final submissions (up to "
                                     "the competition's limit; none chosen: your best public one counts).")
    parser.add_argument("competition")
    parser.add_argument("numbers", type=int, nargs="*", metavar="N")
    args = parser.parse_args(argv)
    if not args.numbers:
        return _submit_ls(conn, args.competition)
    done = conn.json("POST", f"/api/v1/final/{args.competition}", json={"numbers": args.numbers})
    print(f"final submissions of {args.competition}: {', '.join(map(str, done['selected']))} "
          f"(at most {done['limit']})")
    return 0
