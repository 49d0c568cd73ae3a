"""Line charts as plain SVG geometry, computed on the server: no JavaScript library, nothing fetched from a CDN.

``build`` turns lines of (x, y) points into a ``Chart``: pixel paths, axis ticks with readable labels, vertical
marks (epoch ends), dots with hover titles, a legend. The template ``_chart.html`` writes it out as an inline
``<svg>``, with every label escaped like any other text of the page. A NaN (or None) value breaks a line, as in
``nsml plot``. Long lines are thinned to ``MAX_POINTS`` so a run reporting every few batches still draws fast.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf")
DASHES = ("", "6 3", "2 3", "8 3 2 3")
DASH_NAMES = dict(zip(DASHES, ("solid", "dashed", "dotted", "dash-dotted")))  # for captions
MAX_POINTS = 800  # per line: more than an 640-pixel-wide chart can show
MAX_DOTS = 60  # lines with at most this many points get a dot (with a hover title) per point
MAX_MARK_LABELS = 12
WIDTH, HEIGHT = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 62, 16, 16, 42
TIME_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
              2 * 86400, 7 * 86400, 30 * 86400, 365 * 86400)


@dataclass(frozen=True)
class Line:
    """One series: points in data units; ``titles`` (one per point) become the dots' hover text."""

    label: str
    points: Sequence[tuple[float, float | None]]
    color: str = PALETTE[0]
    dash: str = ""
    titles: Sequence[str] | None = None
    dots: bool | None = None  # None: dots when the line is short enough
    connect: bool = True  # False: dots only (separate events, such as submissions)
    faint: bool = False  # the raw line under a smoothed one: drawn pale, left out of the legend


@dataclass(frozen=True)
class Mark:
    """A vertical line at ``x`` (an epoch's end), labelled at the top."""

    x: float
    label: str


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    color: str
    title: str


@dataclass(frozen=True)
class Path:
    d: str
    color: str
    dash: str
    label: str
    faint: bool = False


@dataclass(frozen=True)
class Tick:
    at: float  # pixels
    label: str


@dataclass(frozen=True)
class Chart:
    """What the template draws, in pixels of a WIDTH x HEIGHT view box."""

    title: str
    x_label: str
    paths: list[Path] = field(default_factory=list)
    dots: list[Dot] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    marks: list[Tick] = field(default_factory=list)
    legend: list[Path] = field(default_factory=list)
    width: int = WIDTH
    height: int = HEIGHT
    x_low: float = 0.0  # the data range across the plot area, for the browser's drag-to-zoom
    x_high: float = 1.0
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM

    @property
    def empty(self) -> bool:
        return not self.paths and not self.dots


def number_label(value: float) -> str:
    text = f"{value:.4g}"
    return "0" if text in ("-0", "0") else text


def nice_step(span: float, count: int) -> float:
    """The tick spacing among 1, 2, 2.5, 5 times a power of ten that gives about ``count`` ticks over ``span``."""
    raw = span / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 2.5, 5, 10):
        if multiple * magnitude >= raw * 0.999:
            return multiple * magnitude
    return 10 * magnitude


def number_ticks(low: float, high: float, count: int = 5, integer: bool = False) -> list[float]:
    """About ``count`` round values from ``low`` to ``high``; whole numbers only when ``integer`` (steps, epochs)."""
    step = nice_step(high - low, count)
    if integer:
        step = max(1, round(step))
    first = math.ceil(low / step - 1e-9) * step
    ticks, index = [], 0
    while (value := first + index * step) <= high + step * 1e-9:
        ticks.append(round(value, 12))
        index += 1
    return ticks


def time_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Tick times on whole local minutes, hours or days, whichever gives about ``count`` ticks; a span shorter than
    the smallest step (every report within one second) gets one tick at its start, so the axis still says when."""
    step = next((s for s in TIME_STEPS if s >= (high - low) / max(count, 1)), TIME_STEPS[-1])
    offset = time.localtime(low).tm_gmtoff
    first = math.ceil((low + offset) / step) * step - offset
    return [first + i * step for i in range(int((high - first) // step) + 1)] or [low]


def time_label(step: float) -> Callable[[float], str]:
    if step < 60:
        fmt = "%H:%M:%S"
    elif step < 86400:
        fmt = "%m-%d %H:%M"
    else:
        fmt = "%Y-%m-%d"
    return lambda value: time.strftime(fmt, time.localtime(value))


def _span(values: list[float], pad: float | None = None) -> tuple[float, float]:
    """(low, high) of ``values``, widened by ``pad`` (default a tenth of the value, or 1) when they are all equal."""
    low, high = min(values), max(values)
    if high - low < 1e-12 * max(abs(low), abs(high), 1.0):
        pad = pad or abs(low) * 0.1 or 1.0
        return low - pad, high + pad
    return low, high


def _thin(points: Sequence[tuple[float, float | None]]) -> list[tuple[float, float | None]]:
    if len(points) <= MAX_POINTS:
        return list(points)
    stride = math.ceil(len(points) / MAX_POINTS)
    kept = list(points[::stride])
    if kept[-1] != points[-1]:
        kept.append(points[-1])
    return kept


def _finite(y: float | None) -> bool:
    return y is not None and math.isfinite(y)


def relative_label(high: float) -> Callable[[float], str]:
    """Seconds since the start as m:ss, or h:mm:ss once the axis reaches an hour."""
    def label(value: float) -> str:
        whole = int(round(value))
        hours, minutes, seconds = whole // 3600, whole % 3600 // 60, whole % 60
        return f"{hours}:{minutes:02d}:{seconds:02d}" if high >= 3600 else f"{minutes}:{seconds:02d}"
    return label


def relative_ticks(low: float, high: float, count: int = 5) -> list[float]:
    step = next((s for s in TIME_STEPS if s >= (high - low) / max(count, 1)), TIME_STEPS[-1])
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) // step) + 1)]


def build(title: str, lines: Sequence[Line], marks: Sequence[Mark] = (), x_label: str = "step",
          time_axis: bool = False, relative: bool = False) -> Chart:
    """Scale ``lines`` and ``marks`` into a chart; a chart with no finite point is empty (the template says so).

    ``time_axis``: x is a wall-clock time, ticked on whole local minutes, hours or days; ``relative``: x is seconds
    since a start, ticked on whole seconds, minutes or hours."""
    drawn = [(line, _thin(line.points)) for line in lines]
    xs = [x for _, points in drawn for x, y in points if _finite(y)] + [mark.x for mark in marks]
    ys = [y for _, points in drawn for _, y in points if _finite(y)]
    if not ys:
        return Chart(title, x_label)
    (x_low, x_high), (y_low, y_high) = _span(xs, 60.0 if time_axis or relative else 1.0), _span(ys)
    chart = Chart(title, x_label, x_low=x_low, x_high=x_high)
    y_step = nice_step(y_high - y_low, 5)  # the value axis starts and ends on a tick
    y_low, y_high = math.floor(y_low / y_step) * y_step, math.ceil(y_high / y_step) * y_step
    y_values = number_ticks(y_low, y_high)

    def px(x: float) -> float:
        return round(chart.left + (x - x_low) / (x_high - x_low) * (chart.right - chart.left), 1)

    def py(y: float) -> float:
        return round(chart.bottom - (y - y_low) / (y_high - y_low) * (chart.bottom - chart.top), 1)

    if time_axis:
        x_values = time_ticks(x_low, x_high)
        step = x_values[1] - x_values[0] if len(x_values) > 1 else 60
        x_text = time_label(step)
    elif relative:
        x_values, x_text = relative_ticks(x_low, x_high), relative_label(x_high)
    else:
        whole = all(float(x).is_integer() for x in xs)
        x_values, x_text = number_ticks(x_low, x_high, integer=whole), number_label
    chart.x_ticks.extend(Tick(px(x), x_text(x)) for x in x_values if x_low <= x <= x_high)
    chart.y_ticks.extend(Tick(py(y), number_label(y)) for y in y_values)
    every = max(1, math.ceil(len(marks) / MAX_MARK_LABELS))
    chart.marks.extend(Tick(px(mark.x), mark.label if index % every == 0 else "") for index, mark in enumerate(marks))
    for line, points in drawn:
        segments, current = [], []
        for x, y in points:
            if _finite(y):
                current.append(f"{px(x)},{py(y)}")
            elif current:
                segments.append(current)
                current = []
        if current:
            segments.append(current)
        d = " ".join("M" + " L".join(segment) for segment in segments)
        path = Path(d, line.color, line.dash, line.label, line.faint)
        if not line.faint:
            chart.legend.append(path)
        if d and line.connect:
            chart.paths.append(path)
        if line.dots or (line.dots is None and len(line.points) <= MAX_DOTS):
            titles = line.titles or [f"{line.label} @ {number_label(x)}: {number_label(y) if _finite(y) else y}"
                                     for x, y in line.points]
            chart.dots.extend(Dot(px(x), py(y), line.color, text)
                              for (x, y), text in zip(line.points, titles) if _finite(y))
    return chart
