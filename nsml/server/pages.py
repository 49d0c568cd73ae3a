"""The server's pages for a browser: the competitions, their boards, each team's submissions, and each team's own
sessions board (``nsml board``'s pages, run in the team's sandbox: ``nsml.server.team_boards``).

Anyone may read the competition boards: public scores while a phase is open, the final ranking once it has ended.
Everything else needs a login: the token ``nsml login`` takes, pasted once into ``/login`` and kept in an HttpOnly,
SameSite=Strict cookie. A participant then sees its own team's submissions (output, traceback, per-utterance
results, private scores only after the end) and sessions; an organiser sees every team's, and the private scores
before the end. The pages only read; what changes anything stays in the API, behind the bearer header.
"""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path
from urllib.parse import quote, urlencode

from flask import Flask, Response, redirect, render_template, request, send_from_directory

from nsml import table
from nsml.board.app import CSP, number
from nsml.errors import NsmlError, UsageError
from nsml.server import competitions, homes
from nsml.server.db import Account, Entry, ServerDB
from nsml.server.scoring import utterances_csv
from nsml.server.team_boards import TeamBoards

COOKIE = "nsml_token"
COOKIE_DAYS = 30
BOARD_STATIC = Path(__file__).resolve().parent.parent / "board" / "static"


class Denied(Exception):
    """A page this viewer may not see: its status and the one line that says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _viewer(db: ServerDB) -> Account | None:
    token = request.cookies.get(COOKIE)
    return db.account(token) if token else None


def _login_first() -> Response:
    target = request.full_path.rstrip("?")
    return redirect(f"/login?{urlencode({'next': target})}")


def _safe_next(target: str | None) -> str:
    """Only a path of this server: never another site (``//host``, ``https://...``)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _revealed(db: ServerDB, competition: str, phase: str, now: float) -> bool:
    return any(p.name == phase and p.state(now) == "ended" for p in db.phases(competition))


def _entry_values(db: ServerDB, entry: Entry, viewer: Account, now: float) -> dict:
    values = entry.__dict__.copy()
    shown = viewer.organiser or _revealed(db, entry.competition, entry.phase, now)
    values["public_primary"] = entry.primary("public")
    values["private_primary"] = entry.primary("private") if shown else None
    return values


def register(app: Flask, db: ServerDB, layout: homes.Layout, boards: TeamBoards) -> None:
    """Add the browser pages to the server's ``app``."""
    app.jinja_env.filters.update(when=table.when, num=number, metrics=table.metrics)

    @app.context_processor
    def viewer_of_page() -> dict:
        return {"viewer": _viewer(db)}

    @app.errorhandler(Denied)
    def denied(error: Denied) -> tuple[str, int]:
        return render_template("message.html", title="Not shown", message=str(error)), error.status

    @app.after_request
    def page_headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = CSP
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        return response

    def member(team: str) -> Account:
        """The logged-in viewer, when it may see ``team``'s pages."""
        viewer = _viewer(db)
        if viewer is None:
            raise Denied(401, "log in first (the token the organiser gave your team)")
        if not viewer.organiser and viewer.team != team:
            raise Denied(403, f"team {viewer.team} sees its own sessions and submissions only")
        return viewer

    @app.get("/")
    def index() -> str:
        now = time.time()
        rows = []
        for comp in db.competitions():
            phases = db.phases(comp.name)
            phase = competitions.phase_named(db, comp.name, None, now) if phases else None
            rows.append({"name": comp.name, "scorer": comp.scorer, "final": comp.final_limit,
                         "phase": phase.name if phase else None, "state": phase.state(now) if phase else None,
                         "start": competitions.show_time(phase.start) if phase else None,
                         "end": competitions.show_time(phase.end) if phase else None})
        return render_template("index.html", rows=rows)

    @app.route("/login", methods=["GET", "POST"])
    def login() -> Response | str | tuple[str, int]:
        target = _safe_next(request.values.get("next"))
        if request.method == "GET":
            return render_template("login.html", next=target, message=None)
        token = request.form.get("token", "").strip()
        if db.account(token) is None:
            return render_template("login.html", next=target, message="this token is not known to the server "
                                   "(revoked, or mistyped): ask the organiser for a new one"), 401
        response = redirect(target)
        response.set_cookie(COOKIE, token, max_age=COOKIE_DAYS * 86400, httponly=True, samesite="Strict",
                            secure=request.is_secure)
        return response

    @app.get("/logout")
    def logout() -> Response:
        response = redirect("/")
        response.delete_cookie(COOKIE)
        return response

    @app.get("/board/<name>")
    def board_page(name: str) -> str:
        viewer = _viewer(db)
        values = competitions.board_values(db, name, request.args.get("phase"),
                                           organiser=viewer is not None and viewer.organiser)
        return render_template("board.html", b=values, phases=[p.name for p in db.phases(name)],
                               start=competitions.show_time(values["start"]),
                               end=competitions.show_time(values["end"]))

    @app.get("/board/<name>/submissions")
    def submissions_page(name: str) -> Response | str:
        viewer = _viewer(db)
        if viewer is None:
            return _login_first()
        db.competition(name)
        team = viewer.team if not viewer.organiser else request.args.get("team") or None
        now = time.time()
        rows = [_entry_values(db, e, viewer, now) for e in db.entries(name, team)]
        return render_template("submissions.html", name=name, team=team, rows=rows)

    def _submission(name: str, team: str, number: int) -> tuple[Entry, Account, bool]:
        viewer = member(team)
        found = db.entry(name, team, number)
        if found is None:
            raise Denied(404, f"no submission {number} of team {team} in {name}")
        return found, viewer, viewer.organiser or _revealed(db, name, found.phase, time.time())

    @app.get("/board/<name>/submissions/<team>/<int:number>")
    def submission_page(name: str, team: str, number: int) -> Response | str:
        if _viewer(db) is None:
            return _login_first()
        entry, _viewer_account, revealed = _submission(name, team, number)
        folder = layout.submission(entry.id)
        outputs = []
        for title, file_name in (("stdout", "stdout.txt"), ("stderr and traceback", "stderr.txt")):
            path = folder / file_name
            outputs.append((title, path.read_text(errors="replace")[-200_000:] if path.is_file() else ""))
        text = utterances_csv(folder, {"public": True, "private": revealed})
        return render_template("submission.html", name=name, e=entry, revealed=revealed, outputs=outputs,
                               public=entry.public or {}, private=entry.private or {},
                               utterances=list(csv.reader(io.StringIO(text))))

    @app.get("/board/<name>/submissions/<team>/<int:number>.csv")
    def submission_csv(name: str, team: str, number: int) -> Response:
        entry, _viewer_account, revealed = _submission(name, team, number)
        text = utterances_csv(layout.submission(entry.id), {"public": True, "private": revealed})
        response = Response(text, mimetype="text/csv")
        response.headers["Content-Disposition"] = f"attachment; filename={quote(f'{name}-{team}-{number}.csv')}"
        return response

    @app.get("/teams")
    def teams_page() -> Response | str:
        viewer = _viewer(db)
        if viewer is None:
            return _login_first()
        if not viewer.organiser:
            raise Denied(403, f"organisers only; team {viewer.team}'s sessions: /teams/{viewer.team}/")
        return render_template("teams.html", teams=db.teams())

    @app.get("/teams/<team>/static/<path:filename>")
    def team_static(team: str, filename: str) -> Response:
        return send_from_directory(BOARD_STATIC, filename)

    @app.get("/teams/<team>/", defaults={"rest": ""})
    @app.get("/teams/<team>/<path:rest>")
    def team_board(team: str, rest: str) -> Response:
        if _viewer(db) is None:
            return _login_first()
        member(team)
        try:
            found = db.team(team)
        except UsageError as error:
            raise Denied(404, str(error)) from None
        query = request.query_string.decode()
        try:
            answer = boards.get(found, "/" + rest + (f"?{query}" if query else ""), dict(request.headers),
                                f"/teams/{team}")
        except NsmlError as error:
            raise Denied(502, str(error)) from None
        response = Response(answer.body, status=answer.status)
        for key, value in answer.headers.items():
            response.headers[key] = value
        return response
