"""The server's Flask application: the API the ``nsml`` client talks to, the admin API, and (``nsml.server.pages``)
the pages a browser reads: the competition boards, each team's submissions and each team's sessions board.

Every API call carries ``Authorization: Bearer TOKEN``; the token names an organiser or a team's participant.
A team's verbs run as the ordinary ``nsml`` command in the team's sandbox and home (``nsml.server.homes``), their
stdout and stderr streamed back as JSON lines (``{"out": ...}``, ``{"err": ...}``, finally ``{"rc": N}``), so the
client prints exactly what a local command prints; ``model pull``, ``plot`` and ``dataset pull`` come back as a tar
or an image (``nsml.server.exports``). A refusal is one line: ``{"error": "..."}`` with status 400
(the request cannot be done as asked), 401 (no or unknown token) or 403 (not yours, or organisers only).
"""

from __future__ import annotations

import csv
import io
import json
import os
import selectors
import shutil
import signal
import tarfile
import time
import traceback
from collections.abc import Iterator
from pathlib import Path

from flask import Flask, Response, abort, g, jsonify, request
from werkzeug.exceptions import HTTPException

from nsml import home
from nsml.errors import NsmlError, UsageError
from nsml.server import competitions, exports, homes, pages, sandbox
from nsml.server.db import ORGANISER, PARTICIPANT, Account, ServerDB, Team
from nsml.server.scoring import Scorer, utterances_csv
from nsml.server.team_boards import TeamBoards

MAX_UPLOAD_BYTES = 256 << 20  # a snapshot is code: the client already leaves out files over --max-file-mib
TEAM_VERBS = {"run", "fork", "ps", "compare", "logs", "stop", "rm", "memo", "model", "dataset"}
MODEL_ACTIONS = {"ls", "rm"}
DATASET_ACTIONS = {"ls"}


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


TOUCH_EVERY_S = 60.0  # a token's last use is written at most this often


def _account(db: ServerDB) -> Account:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise Refused(401, "no token: log in first with nsml login URL TOKEN (the organiser issues tokens)")
    token = header.removeprefix("Bearer ").strip()
    found = db.account(token)
    if found is None:
        raise Refused(401, "this token is not known to the server (revoked, or mistyped): ask the organiser for "
                           "a new one and run nsml login again")
    now = time.time()
    if found.last_used is None or now - found.last_used > TOUCH_EVERY_S:
        db.touch(token, now)
    return found


def _organiser(account: Account) -> None:
    if not account.organiser:
        raise Refused(403, "organisers only: this token belongs to a participant of team "
                           f"{account.team}")


def _session_team(db: ServerDB, account: Account, tokens: list[str]) -> Team:
    """The team whose home a verb runs in: the participant's own; for an organiser the team its sessions name."""
    named = {token.split("/")[0] for token in tokens if token.count("/") == 2 and not token.startswith("-")}
    if not account.organiser:
        others = sorted(named - {account.team})
        if others:
            raise Refused(403, f"session {next(t for t in tokens if t.split('/')[0] == others[0])} belongs to "
                               f"another team; team {account.team} acts on its own sessions only "
                               f"({account.team}/...)")
        return db.team(account.team)
    if len(named) != 1:
        raise Refused(400, "as organiser name the sessions of one team (TEAM/DATASET/N); nsml ps lists every team's")
    return db.team(named.pop())


def _stream(child: object, cleanup: list[Path]) -> Iterator[str]:
    """The child's stdout and stderr as JSON lines, then its exit status; a client that goes away interrupts it
    (SIGINT to its process group, as Ctrl-C would)."""
    selector = selectors.DefaultSelector()
    selector.register(child.stdout, selectors.EVENT_READ, "out")
    selector.register(child.stderr, selectors.EVENT_READ, "err")
    open_pipes = 2
    finished = False
    try:
        while open_pipes:
            for key, _ in selector.select(timeout=10):
                data = os.read(key.fileobj.fileno(), 65536)
                if not data:
                    selector.unregister(key.fileobj)
                    open_pipes -= 1
                    continue
                yield json.dumps({key.data: data.decode(errors="replace")}) + "\n"
            if not open_pipes:
                break
        code = child.wait()
        finished = True
        yield json.dumps({"rc": code if code >= 0 else 128 - code}) + "\n"
    finally:
        if not finished:
            try:
                os.killpg(child.pid, signal.SIGINT)
            except ProcessLookupError:
                pass
            child.wait()
        selector.close()
        for path in cleanup:
            shutil.rmtree(path, ignore_errors=True)


def _unpack(upload: object, target: Path, uid: int) -> None:
    """The client's snapshot archive into ``target``, owned by the team; links out, devices and absolute names are
    refused by tarfile's ``data`` filter."""
    data = upload.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise Refused(400, f"the code snapshot is over {MAX_UPLOAD_BYTES >> 20} MiB; list large files in .nsmlignore")
    target.mkdir(parents=True)
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            archive.extractall(target, filter="data")
    except (tarfile.TarError, OSError) as error:
        shutil.rmtree(target, ignore_errors=True)
        raise Refused(400, f"the code snapshot could not be unpacked: {error}") from None
    sandbox.chown_tree(target, uid)


def create_app(root: Path, scorer_settings: object, database_url: str | None = None) -> Flask:
    """The server for the server home ``root``; its records in ``database_url`` (default: ``NSML_DATABASE_URL``,
    else SQLite in the home)."""
    layout = homes.Layout(root)
    layout.make()
    db = ServerDB(layout.db, database_url)
    scorer = Scorer(db, layout, scorer_settings)
    app = Flask(__name__, static_folder=str(pages.BOARD_STATIC))  # the board's styles and scripts
    app.config["MAX_CONTENT_LENGTH"] = MAX_UPLOAD_BYTES + (1 << 20)
    boards = TeamBoards(layout)
    app.extensions["nsml_server"] = (db, layout, scorer, boards)
    pages.register(app, db, layout, boards)

    @app.errorhandler(Refused)
    def refused(error: Refused) -> tuple[Response, int]:
        return jsonify(error=str(error)), error.status

    @app.errorhandler(NsmlError)
    def failed(error: NsmlError) -> tuple[Response, int]:
        return jsonify(error=str(error), code=error.code), 400 if isinstance(error, UsageError) else 422

    @app.errorhandler(Exception)
    def broken(error: Exception) -> tuple[Response, int]:
        if isinstance(error, HTTPException):
            return error
        traceback.print_exc()  # the server's stderr keeps the whole story
        return jsonify(error=f"the server failed on this request ({type(error).__name__}: {error}); its log has the "
                             f"traceback", code=1), 500

    @app.before_request
    def authenticate() -> None:
        if request.path.startswith("/api/") and not request.path.startswith("/api/v1/public/"):
            g.account = _account(db)

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.get("/api/v1/public/board/<name>")
    def board_json(name: str) -> Response:
        return jsonify(competitions.board_values(db, name, request.args.get("phase")))

    @app.get("/api/v1/whoami")
    def whoami() -> Response:
        return jsonify(role=g.account.role, team=g.account.team, label=g.account.label)

    @app.post("/api/v1/cli")
    def cli() -> Response:
        argv = json.loads(request.form.get("argv") or "[]")
        if not argv or argv[0] not in TEAM_VERBS:
            raise Refused(400, f"nsml {argv[0] if argv else ''} is not run on the server")
        account = g.account
        if argv[0] == "model" and (len(argv) < 2 or argv[1] not in MODEL_ACTIONS):
            raise Refused(400, "model pull comes from /api/v1/model.tar: update the nsml client")
        if argv[0] == "dataset" and (len(argv) < 2 or argv[1] not in DATASET_ACTIONS):
            raise Refused(400, _dataset_refusal(account, argv[1] if len(argv) > 1 else ""))
        if argv[0] in ("ps", "dataset") and account.organiser:
            return Response(_every_team(db, layout, argv), mimetype="application/x-ndjson")
        team = _session_team(db, account, argv[1:]) if argv[0] != "run" or account.organiser else \
            db.team(account.team)
        if argv[0] == "run" and account.organiser:
            raise Refused(403, "organisers do not run sessions; use a team's token")
        cleanup: list[Path] = []
        cwd = None
        if argv[0] == "run":
            upload = request.files.get("snapshot")
            if upload is None:
                raise Refused(400, "nsml run over the server needs the code snapshot (update the client)")
            cwd = homes.scratch(layout, team)
            _unpack(upload, cwd, team.uid)
            cleanup.append(cwd)
        child = homes.start_verb(layout, team, argv, cwd=cwd)
        return Response(_stream(child, cleanup), mimetype="application/x-ndjson")

    def _name(key: str) -> str:
        value = request.args.get(key)
        if not value:
            raise Refused(400, f"?{key}= is missing")
        return value

    @app.get("/api/v1/model.tar")
    def model_pull() -> Response:
        session = _name("session")
        team = _session_team(db, g.account, [session])
        return Response(exports.checkpoint(layout, team, session, _name("checkpoint")), mimetype="application/x-tar")

    @app.get("/api/v1/plot")
    def plot() -> Response:
        sessions = request.args.getlist("session")
        team = _session_team(db, g.account, sessions)
        image, mimetype = exports.plot(layout, team, sessions, request.args.get("format", "png"))
        return Response(image, mimetype=mimetype)

    @app.get("/api/v1/dataset.tar")
    def dataset_pull() -> Response:
        return Response(exports.dataset(db, layout, _name("name")), mimetype="application/x-tar")

    @app.post("/api/v1/submit")
    def submit() -> Response:
        body = request.get_json(force=True)
        account = g.account
        session = str(body["session"])
        team = _session_team(db, account, [session]) if account.organiser else db.team(account.team)
        result = scorer.submit(account, team, session, str(body["checkpoint"]), bool(body.get("test")),
                               body.get("timeout"))
        return jsonify(result)

    def _team_of(account: Account) -> str | None:
        if account.organiser:
            return request.args.get("team") or None
        return account.team

    @app.get("/api/v1/submissions/<competition>")
    def submissions(competition: str) -> Response:
        db.competition(competition)
        now = time.time()
        ended = {p.name for p in db.phases(competition) if p.state(now) == "ended"}
        rows = []
        for entry in db.entries(competition, _team_of(g.account)):
            values = entry.__dict__.copy()
            if entry.phase not in ended and not g.account.organiser:
                values["private"] = None
            rows.append(values)
        return jsonify(rows)

    def _entry(competition: str, number: int) -> tuple[object, bool]:
        team = _team_of(g.account)
        if team is None:
            raise Refused(400, "as organiser give the team: ?team=NAME")
        entry = db.entry(competition, team, number)
        if entry is None:
            raise Refused(400, f"no submission {number} of team {team} in {competition}")
        ended = any(p.name == entry.phase and p.state(time.time()) == "ended" for p in db.phases(competition))
        return entry, ended or g.account.organiser

    @app.get("/api/v1/submissions/<competition>/<int:number>")
    def submission(competition: str, number: int) -> Response:
        entry, revealed = _entry(competition, number)
        folder = layout.submission(entry.id)
        values = entry.__dict__.copy()
        if not revealed:
            values["private"] = None
        for name in ("stdout", "stderr"):
            path = folder / f"{name}.txt"
            values[name] = path.read_text(errors="replace")[-200_000:] if path.is_file() else ""
        values["utterances"] = utterances_csv(folder, {"public": True, "private": revealed})
        return jsonify(values)

    @app.get("/api/v1/submissions/<competition>/<int:number>/utterances.csv")
    def utterances(competition: str, number: int) -> Response:
        entry, revealed = _entry(competition, number)
        text = utterances_csv(layout.submission(entry.id), {"public": True, "private": revealed})
        return Response(text, mimetype="text/csv")

    @app.post("/api/v1/final/<competition>")
    def final(competition: str) -> Response:
        account = g.account
        if account.organiser:
            raise Refused(403, "final submissions are chosen by each team")
        comp = db.competition(competition)
        numbers = [int(n) for n in request.get_json(force=True).get("numbers", [])]
        if len(numbers) > comp.final_limit:
            raise Refused(400, f"at most {comp.final_limit} final submissions in {competition}; you named "
                               f"{len(numbers)}")
        now = time.time()
        for number in numbers:
            entry = db.entry(competition, account.team, number)
            if entry is None or entry.status != "scored":
                raise Refused(400, f"submission {number} of team {account.team} is not a scored submission of "
                                   f"{competition} (nsml submit ls {competition})")
            if any(p.name == entry.phase and p.state(now) == "ended" for p in db.phases(competition)):
                raise Refused(400, f"submission {number} belongs to phase {entry.phase}, which has ended; the "
                                   f"final selection cannot change after the end")
        db.select(competition, account.team, numbers)
        chosen = [e.number for e in db.entries(competition, account.team) if e.selected]
        return jsonify(selected=chosen, limit=comp.final_limit)

    # organiser

    @app.post("/api/v1/admin/<action>")
    def admin(action: str) -> Response:
        _organiser(g.account)
        body = request.get_json(force=True)
        if action == "team":
            team = db.add_team(home.check_name(body["name"], "team name"))
            layout.make_team_home(team)
            for comp in db.competitions():
                _register(layout, team, comp.name)
            return jsonify(team=team.name, uid=team.uid, token=db.issue_token(PARTICIPANT, team.name, body["name"]))
        if action == "token":
            team = db.team(body["team"])
            return jsonify(team=team.name, token=db.issue_token(PARTICIPANT, team.name, body.get("label", "")))
        if action == "organiser":
            return jsonify(token=db.issue_token(ORGANISER, None, body.get("label", "organiser")))
        if action == "tokens":
            return jsonify(tokens=db.tokens())
        if action == "revoke":
            if body.get("team"):
                db.team(body["team"])
                return jsonify(revoked=db.revoke(team=body["team"]))
            return jsonify(revoked=db.revoke(prefix=str(body.get("digest", ""))))
        if action == "competition":
            name = home.check_name(body["name"], "competition name")
            comp = competitions.create(db, layout, name, Path(body["path"]), float(body["public"]),
                                       int(body["seed"]), body["scorer"], int(body["final"]))
            for team in db.teams():
                _register(layout, team, name)
            return jsonify(competition=name, public=len(comp.public_keys), private=len(comp.private_keys))
        if action == "phase":
            db.competition(body["competition"])
            start = competitions.parse_time(body["start"])
            end = competitions.parse_time(body["end"])
            if end <= start:
                raise Refused(400, f"the phase ends ({competitions.show_time(end)}) before it starts "
                                   f"({competitions.show_time(start)})")
            db.set_phase(competitions.Phase(body["competition"], body["name"], start, end))
            return jsonify(phase=body["name"], start=competitions.show_time(start), end=competitions.show_time(end))
        if action == "quota":
            db.competition(body["competition"])
            team = body.get("team") or ""
            if team:
                db.team(team)
            db.set_quota(body["competition"], team, **{k: body[k] for k in ("per_day", "min_interval_s", "total",
                                                                           "concurrent") if k in body})
            return jsonify(db.quota(body["competition"], team or " ").__dict__)  # " ": no team has it
        if action == "grant":
            db.competition(body["competition"])
            db.team(body["team"])
            return jsonify(extra=db.grant(body["competition"], body["team"], int(body["extra"])))
        if action == "rescore":
            comp = db.competition(body["competition"])
            phase = competitions.phase_named(db, comp.name, body.get("phase"), time.time())
            return jsonify(phase=phase.name, lines=scorer.rescore(comp, phase.name))
        abort(404)

    @app.get("/api/v1/admin/board.csv/<name>")
    def board_csv(name: str) -> Response:
        _organiser(g.account)
        values = competitions.board_values(db, name, request.args.get("phase"), organiser=True)
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        metric = values["metric"]
        writer.writerow(["rank", "team", "submission", "session", "checkpoint", f"public_{metric}",
                         f"private_{metric}", "final_selection", "submissions", "phase", "state"])
        for row in values["rows"]:
            writer.writerow([row["rank"], row["team"], row["number"], row["session"], row["checkpoint"],
                             row["public"], "" if row["private"] is None else row["private"],
                             " ".join(map(str, row["final"])), row["submissions"], values["phase"],
                             values["state"]])
        return Response(buffer.getvalue(), mimetype="text/csv")

    return app


def _dataset_refusal(account: Account, action: str) -> str:
    """Why ``dataset ACTION`` is not run on the server: its datasets are the competitions the organiser creates."""
    if account.organiser:
        return (f"dataset {action} is not run on the server: its datasets are its competitions, made with nsml admin "
                f"competition create NAME PATH (the training split published to every team as dataset NAME, the "
                f"test set cut into a public and a private part, the labels kept for the scorer)")
    return ("datasets are added by the organiser (nsml admin competition ...); participants have dataset ls, "
            "dataset pull and dataset board")


def _register(layout: homes.Layout, team: Team, competition: str) -> None:
    """Register the competition's training split in the team's store under the competition's name."""
    done = homes.run_verb(layout, team, ["dataset", "add", competition, str(layout.view(competition)), "--force"])
    if done.returncode != 0:
        raise NsmlError(f"registering {competition} for team {team.name} failed: "
                        f"{(done.stderr or done.stdout).strip().splitlines()[-1:]}")


def _every_team(db: ServerDB, layout: homes.Layout, argv: list[str]) -> Iterator[str]:
    """An organiser's ``ps`` / ``dataset ls``: the verb in every team's home, one after another."""
    status = 0
    for team in db.teams():
        yield json.dumps({"out": f"== team {team.name}\n"}) + "\n"
        done = homes.run_verb(layout, team, argv)
        yield json.dumps({"out": done.stdout}) + "\n"
        if done.stderr:
            yield json.dumps({"err": done.stderr}) + "\n"
        status = status or done.returncode
    yield json.dumps({"rc": status}) + "\n"
