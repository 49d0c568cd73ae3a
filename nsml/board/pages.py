"""The board's pages, their live fragments and the small JSON endpoints the pages poll.

Each live page is a full HTML page whose changing part is also served alone (``.../live``) and described by a JSON
state with a ``version``; ``static/live.js`` polls the state and, when the version moves, fetches the fragment and
swaps it in. Everything is rendered on the server, so the pages work (without live updates) with scripts off.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request, send_file, url_for

from nsml import compare, datasets, scorers
from nsml.board import audio, downloads, session_view, utterances
from nsml.board.chart_options import X_AXES, ChartOptions
from nsml.board.charts import DASH_NAMES
from nsml.board.curves import history_chart, overlay_charts
from nsml.board.reader import STATUS_FILTERS, Reader
from nsml.entities import Session, Submission
from nsml.leaderboard import Section, sections

blueprint = Blueprint("board", __name__)

SESSIONS_PER_PAGE = 50
UTTERANCES_PER_PAGE = 100
HISTORY_ROWS = 100
MAX_COMPARED = 12
VERSION_HEADER = "X-Board-Version"


def reader() -> Reader:
    return current_app.extensions["nsml_board"]


def _hash(value: Any) -> str:
    return hashlib.sha1(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _finite(values: dict[str, float]) -> dict[str, float | None]:
    return {key: None if math.isnan(value) else value for key, value in values.items()}


def _fragment(html: str, version: str) -> Response:
    response = Response(html, mimetype="text/html")
    response.headers[VERSION_HEADER] = version
    return response


@blueprint.app_context_processor
def _common() -> dict[str, Any]:
    return {"home": current_app.config["BOARD_HOME"], "session_url": session_url, "whole_range_url": whole_range_url}


def whole_range_url() -> str:
    """This page without its zoom (``from``, ``to``), every other query value kept."""
    kept = {key: values for key, values in request.args.to_dict(flat=False).items() if key not in ("from", "to")}
    return url_for(request.endpoint, **(request.view_args or {}), **kept)


def session_url(name: str, endpoint: str = "board.session", **values: Any) -> str:
    """The URL of a session page (``USER/DATASET/N`` is three path parts of its own)."""
    user, dataset, number = name.split("/")
    return url_for(endpoint, user=user, dataset=dataset, number=int(number), **values)


def _session_or_404(user: str, dataset: str, number: int) -> Session:
    found = reader().session(f"{user}/{dataset}/{number}")
    if found is None:
        abort(404, description=f"no session {user}/{dataset}/{number}")
    return found


# the sessions list

def _sessions_filters() -> dict[str, Any]:
    status = request.args.get("status", "")
    return {"dataset": request.args.get("dataset", ""), "status": status if status in STATUS_FILTERS else "",
            "q": request.args.get("q", ""), "page": max(1, request.args.get("page", 1, type=int))}


def _sessions_state() -> dict[str, Any]:
    filters = _sessions_filters()
    found = reader().session_page(filters["page"], SESSIONS_PER_PAGE, filters["dataset"] or None,
                                  filters["status"] or None, filters["q"] or None)
    summaries = reader().summaries([s.name for s in found.sessions])
    best = reader().best_submissions([s.name for s in found.sessions])
    rows = [{"name": s.name, "status": s.describe_status(), "active": s.active, "dataset": s.dataset,
             "args": s.args, "memo": s.memo, "created": s.created, "summary": _finite(summaries[s.name]),
             "best": _best_score(best.get(s.name))} for s in found.sessions]
    state = {"total": found.total, "page": found.page, "pages": found.pages, "sessions": rows}
    return dict(state, version=_hash(state), filters=filters, found=found, summaries=summaries, best=best)


def _best_score(found: Submission | None) -> dict[str, Any] | None:
    if found is None:
        return None
    return {"submission": found.number, "metric": found.primary_metric,
            "value": None if math.isnan(found.primary) else found.primary}


def _filter_query(state: dict[str, Any]) -> dict[str, Any]:
    """The filters given, for the pager's links (which add their own page)."""
    return {key: value for key, value in state["filters"].items() if value and key != "page"}


@blueprint.route("/")
def sessions() -> str:
    state = _sessions_state()
    return render_template("sessions.html", state=state, filter_query=_filter_query(state),
                           datasets=reader().dataset_names(), statuses=STATUS_FILTERS)


@blueprint.route("/sessions/live")
def sessions_live() -> Response:
    state = _sessions_state()
    return _fragment(render_template("_sessions_table.html", state=state, filter_query=_filter_query(state)),
                     state["version"])


@blueprint.route("/api/sessions")
def sessions_api() -> Response:
    state = _sessions_state()
    return jsonify({key: state[key] for key in ("version", "total", "page", "pages", "sessions")})


# one session

@blueprint.route("/session/<user>/<dataset>/<int:number>")
def session(user: str, dataset: str, number: int) -> str:
    options = ChartOptions.parse(request.args)
    view = session_view.build(reader(), _session_or_404(user, dataset, number), options)
    return render_template("session.html", view=view, s=view.session, options=options, axes=X_AXES,
                           hidden={})


@blueprint.route("/session/<user>/<dataset>/<int:number>/live")
def session_live(user: str, dataset: str, number: int) -> Response:
    view = session_view.build(reader(), _session_or_404(user, dataset, number), ChartOptions.parse(request.args))
    return _fragment(render_template("_session_live.html", view=view, s=view.session), view.version)


@blueprint.route("/api/session/<user>/<dataset>/<int:number>")
def session_api(user: str, dataset: str, number: int) -> Response:
    return jsonify(session_view.build(reader(), _session_or_404(user, dataset, number)).state())


# one submission

@blueprint.route("/session/<user>/<dataset>/<int:number>/submission/<int:k>")
def submission(user: str, dataset: str, number: int, k: int) -> str:
    name = f"{user}/{dataset}/{number}"
    found = reader().submission(name, k)
    if found is None:
        abort(404, description=f"no submission {k} of {name}")
    show = request.args.get("show", "errors")
    show = show if show in utterances.SHOW else "errors"
    order = request.args.get("order", "worst")
    order = order if order in utterances.ORDERS else "worst"
    text = request.args.get("q", "")
    page = max(1, request.args.get("page", 1, type=int))
    rows = reader().utterances(found.id)
    chosen = utterances.select(rows, show, text, order, (page - 1) * UTTERANCES_PER_PAGE, UTTERANCES_PER_PAGE)
    pages = max(1, math.ceil(chosen.matched / UTTERANCES_PER_PAGE))
    scorer = scorers.SCORERS.get(found.scorer)
    summary = scorer.summary(found.metrics, found.utterances) if scorer is not None else ""
    known = datasets.known(reader()).get(found.dataset)
    playable = set(audio.test_wavs(known.root)) if known is not None else set()
    changed = known is not None and found.test_set is not None and found.test_set != datasets.fingerprint(known.root)
    return render_template("submission.html", sub=found, selection=chosen, summary=summary, show=show, order=order,
                           q=text, page=min(page, pages), pages=pages, session=reader().session(name),
                           route={"user": user, "dataset": dataset, "number": number, "k": k},
                           shows=utterances.SHOW, orders=utterances.ORDERS, playable=playable,
                           test_set_changed=changed)


def _csv(text: str, name: str) -> Response:
    response = Response(text, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@blueprint.route("/session/<user>/<dataset>/<int:number>/submission/<int:k>/utterances.csv")
def submission_csv(user: str, dataset: str, number: int, k: int) -> Response:
    name = f"{user}/{dataset}/{number}"
    found = reader().submission(name, k)
    if found is None:
        abort(404, description=f"no submission {k} of {name}")
    return _csv(downloads.utterances_csv(reader().utterances(found.id)),
                downloads.filename(name, "submission", str(k)))


@blueprint.route("/session/<user>/<dataset>/<int:number>/metrics.csv")
def session_metrics_csv(user: str, dataset: str, number: int) -> Response:
    found = _session_or_404(user, dataset, number)
    return _csv(downloads.metrics_csv(reader().metrics(found.name), found.started or found.created),
                downloads.filename(found.name, "metrics"))


@blueprint.route("/dataset/<name>/audio/<key>.wav")
def test_audio(name: str, key: str) -> Response:
    """A test utterance's wav, found by key in the dataset's test list only (see ``audio``)."""
    known = datasets.known(reader()).get(name)
    path = audio.test_wavs(known.root).get(key) if known is not None else None
    if path is None:
        abort(404, description=f"no test utterance {key} in dataset {name}")
    return send_file(path, mimetype="audio/wav", conditional=True, max_age=0)


# datasets and their boards

@blueprint.route("/datasets")
def datasets_page() -> str:
    known = datasets.known(reader())
    submitted, started = reader().submission_counts(), reader().session_counts()
    rows = []
    for name in sorted(set(known) | set(submitted)):
        dataset = known.get(name)
        train, test = datasets.counts(dataset.root) if dataset is not None else (None, None)
        rows.append({"name": name, "dataset": dataset, "train": train, "test": test,
                     "test_set": datasets.fingerprint(dataset.root) if dataset is not None else None,
                     "sessions": started.get(name, 0), "submissions": submitted.get(name, 0)})
    return render_template("datasets.html", rows=rows)


def _best_per_session(section: Section) -> list[tuple[Submission, int]]:
    """The section's best submission of each session, best first, with how many that session made."""
    counts: dict[str, int] = {}
    for row in section.rows:
        counts[row.session] = counts.get(row.session, 0) + 1
    best: dict[str, Submission] = {}
    for row in section.rows:  # already best first
        best.setdefault(row.session, row)
    return [(row, counts[row.session]) for row in best.values()]


@blueprint.route("/dataset/<name>")
def dataset_board(name: str) -> str:
    known = datasets.known(reader())
    submitted = reader().submissions(dataset=name)
    if name not in known and not submitted:
        abort(404, description=f"no dataset {name}")
    current = datasets.fingerprint(known[name].root) if name in known else None
    boards = []
    for section in sections(submitted, current):
        scorer = scorers.SCORERS.get(section.scorer)
        primary = scorer.columns[0].heading if scorer is not None else section.rows[0].primary_metric
        history = sorted(section.rows, key=lambda s: s.submitted, reverse=True)
        boards.append({"section": section, "columns": scorer.columns if scorer is not None else (),
                       "scorer": scorer, "best": _best_per_session(section),
                       "chart": history_chart(section.rows, f"{primary} of every submission"),
                       "history": history[:HISTORY_ROWS], "history_total": len(history)})
    existing = reader().existing([s.session for s in submitted])
    return render_template("dataset.html", name=name, dataset=known.get(name), current=current, boards=boards,
                           existing=existing)


# compare

def _patterns() -> list[str]:
    return [word for value in request.args.getlist("s") for word in value.split()]


@blueprint.route("/compare")
def compare_page() -> str:
    patterns = _patterns()
    chosen = reader().sessions_matching(patterns, MAX_COMPARED + 1) if patterns else []
    cut = len(chosen) > MAX_COMPARED
    chosen = chosen[:MAX_COMPARED]
    unmatched = [p for p in patterns if not reader().sessions_matching([p], 1)]
    options = ChartOptions.parse(request.args)
    context: dict[str, Any] = {"patterns": patterns, "chosen": chosen, "cut": cut, "unmatched": unmatched,
                               "limit": MAX_COMPARED, "options": options, "axes": X_AXES,
                               "hidden": {"s": " ".join(patterns)}}
    if chosen:
        common, differing = compare.split_args(chosen)
        bests = {s.name: compare.best_values(reader(), s.name) for s in chosen}
        top = {s.name: compare.best_submission(reader().submissions(session=s.name)) for s in chosen}
        context.update(common=common, differing=differing, arguments={s.name: compare.arguments(s) for s in chosen},
                       bests=bests, top=top, metric_keys=sorted({k for values in bests.values() for k in values}),
                       warnings=compare.warnings(chosen, top))
        context["charts"], dashes = overlay_charts({s.name: reader().metrics(s.name) for s in chosen}, options)
        context["line_styles"] = [(kind, DASH_NAMES[dash]) for kind, dash in dashes.items()]
    return render_template("compare.html", **context)
