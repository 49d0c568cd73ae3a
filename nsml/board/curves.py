"""Which charts a session (or several) gets: one per metric family, train and eval on the same one, epochs marked.

Families follow ``nsml plot``: ``train__loss``, ``eval__loss`` and ``train_step__loss`` are the lines
``train/loss``, ``eval/loss`` and ``train_step/loss`` of the chart "loss". Reports of the ``epoch`` metric mark the
steps where epochs ended (a vertical line per epoch). Overlaid sessions keep one colour per session and one dash
per line kind, so ``eval`` of every session is dashed the same way. The leaderboard's history is the primary
metric of every submission over time, with the best so far drawn as a staircase.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from nsml import table
from nsml.board.chart_options import X_LABELS, ChartOptions
from nsml.board.charts import DASHES, PALETTE, Chart, Line, Mark, build, number_label
from nsml.entities import Metric, Submission
from nsml.plot import family_and_label

EPOCH_KEY = "epoch"
DEFAULT = ChartOptions()
KIND_ORDER = ("train", "eval", "train_step")  # solid, dashed, dotted: the usual lines first
Series = dict[str, dict[str, list[tuple[float, float]]]]  # {family: {label: [(x, y)]}}


def _value(metric: Metric) -> float:
    return math.nan if metric.value is None else metric.value


def _x(metric: Metric, count: int, options: ChartOptions, start: float) -> float:
    if options.x == "wall":
        return metric.wall
    if options.x == "relative":
        return metric.wall - start
    return count if metric.step is None else metric.step


def series(points: Sequence[Metric], options: ChartOptions = DEFAULT) -> Series:
    """{family: {label: points}}, families sorted; a value without step takes its report count as x. Smoothing
    comes before the zoom, so zooming in never changes a smoothed value."""
    families: dict[str, dict[str, list[tuple[float, float]]]] = defaultdict(dict)
    start = points[0].wall if points else 0.0
    for point in points:
        family, label = family_and_label(point.key)
        line = families[family].setdefault(label, [])
        line.append((_x(point, len(line) + 1, options, start), _value(point)))
    return {family: families[family] for family in sorted(families)}


def smooth(points: Sequence[tuple[float, float]], weight: float) -> list[tuple[float, float]]:
    """TensorBoard's smoothing: an exponential moving average with ``weight`` on the past, debiased so the first
    values are not pulled towards zero; a NaN stays a gap and does not disturb the average."""
    smoothed, last, count = [], 0.0, 0
    for x, y in points:
        if not math.isfinite(y):
            smoothed.append((x, y))
            continue
        last, count = last * weight + (1 - weight) * y, count + 1
        smoothed.append((x, last / (1 - weight ** count)))
    return smoothed


def drawn_lines(label: str, values: list[tuple[float, float]], color: str, dash: str,
                options: ChartOptions) -> list[Line]:
    """The line of ``label`` as the options ask: smoothed over a faint raw line, cut to the zoomed range."""
    kept = [(x, y) for x, y in values if options.keeps(x)]
    if not options.smoothing:
        return [Line(label, kept, color, dash)]
    smoothed = [(x, y) for x, y in smooth(values, options.smoothing) if options.keeps(x)]
    titles = [f"{label} @ {number_label(x)}: {number_label(y)} (raw {number_label(raw)})"
              for (x, y), (_, raw) in zip(smoothed, kept)]
    return [Line(label, kept, color, dash, dots=False, faint=True), Line(label, smoothed, color, dash, titles)]


def epoch_marks(points: Sequence[Metric], options: ChartOptions = DEFAULT) -> list[Mark]:
    """A mark where each ``epoch`` was reported (the steps, or times, where epochs ended)."""
    start = points[0].wall if points else 0.0
    marks = [Mark(_x(point, 0, options, start), f"epoch {table.number(point.value)}") for point in points
             if point.key == EPOCH_KEY and point.step is not None and point.value is not None]
    return [mark for mark in marks if options.keeps(mark.x)]


def _build(title: str, lines: list[Line], marks: Sequence[Mark], options: ChartOptions) -> Chart:
    return build(title, lines, marks, x_label=X_LABELS[options.x], time_axis=options.x == "wall",
                 relative=options.x == "relative")


def session_charts(points: Sequence[Metric], options: ChartOptions = DEFAULT) -> list[Chart]:
    """One chart per family; the ``epoch`` family itself only when nothing else was reported (its marks say it)."""
    marks = epoch_marks(points, options)
    families = series(points, options)
    if marks and len(families) > 1:
        families.pop(EPOCH_KEY, None)
    charts = []
    for family, lines in families.items():
        drawn = [line for index, (label, values) in enumerate(sorted(lines.items()))
                 for line in drawn_lines(label, values, PALETTE[index % len(PALETTE)], "", options)]
        charts.append(_build(family, drawn, marks if family != EPOCH_KEY else (), options))
    return charts


def line_kind(label: str) -> str:
    """``train/loss`` -> ``train``, ``train_step/loss`` -> ``train_step``; a key without a kind is its own."""
    return label.rsplit("/", 1)[0]


def kind_dashes(labels: Iterable[str]) -> dict[str, str]:
    """{line kind: dash}, the same on every chart of a page: train solid, eval dashed, then the rest by name.

    The caption of the compare page is written from this mapping, so what it says is what is drawn.
    """
    kinds = sorted({line_kind(label) for label in labels},
                   key=lambda kind: (KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER), kind))
    return {kind: DASHES[index % len(DASHES)] for index, kind in enumerate(kinds)}


def overlay_charts(points_by_session: Mapping[str, Sequence[Metric]],
                   options: ChartOptions = DEFAULT) -> tuple[list[Chart], dict[str, str]]:
    """One chart per family with every session's lines, colour by session, dash by line kind; and the kinds'
    dashes ({kind: dash}) for the caption."""
    per_session = {name: series(points, options) for name, points in points_by_session.items()}
    families = sorted({family for found in per_session.values() for family in found})
    dashes = kind_dashes(label for found in per_session.values() for lines in found.values() for label in lines)
    charts = []
    for family in families:
        lines = []
        for index, (name, found) in enumerate(per_session.items()):
            for label, values in sorted(found.get(family, {}).items()):
                lines += drawn_lines(f"{name} {label}", values, PALETTE[index % len(PALETTE)],
                                     dashes[line_kind(label)], options)
        charts.append(_build(family, lines, (), options))
    return charts, dashes


def history_chart(submissions: Sequence[Submission], title: str) -> Chart:
    """Every submission's primary metric against the time it was scored, and the best so far as a staircase."""
    ordered = sorted(submissions, key=lambda s: s.submitted)
    if not ordered:
        return build(title, [], time_axis=True)
    higher = bool(ordered[0].higher_is_better)
    each = Line("submission", [(s.submitted, s.primary) for s in ordered], PALETTE[0], titles=[
        f"{s.session} {s.checkpoint}: {s.primary_metric} {table.number(s.primary)} ({table.when(s.submitted)})"
        for s in ordered], dots=True, connect=False)
    stairs: list[tuple[float, float]] = []
    best = None
    for s in ordered:
        if best is None or (s.primary > best if higher else s.primary < best):
            if best is not None:
                stairs.append((s.submitted, best))
            best = s.primary
            stairs.append((s.submitted, best))
    stairs.append((ordered[-1].submitted, best))
    best_line = Line("best so far", stairs, PALETTE[1], "6 3", dots=False)
    return build(title, [best_line, each], x_label="submitted", time_axis=True)
