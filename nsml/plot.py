"""``nsml plot``: every reported metric against step, drawn to a PNG without any server.

A key ``a__b`` is drawn as ``a/b`` in the panel of family ``b``, as the platform did, so ``train__loss`` and
``eval__loss`` share the "loss" panel. A metric reported without ``step=`` is drawn against its report count.
Several sessions are overlaid: their lines share the family panels, named ``SESSION train/loss``, one colour per
session and one line style per line kind. The image format follows the ``--out`` suffix (any matplotlib writes:
png, pdf, svg, ...); the file is replaced atomically, so a viewer (or ``--watch`` redrawing it) never shows half
an image.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from nsml.errors import NsmlError, UsageError
from nsml.store import Store
from speech_kit.atomic import atomic_write

PANEL_COLUMNS = 2
LINE_STYLES = ("-", "--", ":", "-.")


def family_and_label(key: str) -> tuple[str, str]:
    """``train__loss`` -> (``loss``, ``train/loss``); a key without ``__`` is its own family."""
    parts = key.split("__")
    return parts[-1], "/".join(parts)


def series(store: Store, session: str) -> dict[str, dict[str, tuple[list[float], list[float]]]]:
    """{family: {label: (steps, values)}} in report order; NaN stays NaN (a gap in the line)."""
    panels: dict[str, dict[str, tuple[list[float], list[float]]]] = defaultdict(dict)
    for metric in store.metrics(session):
        family, label = family_and_label(metric.key)
        steps, values = panels[family].setdefault(label, ([], []))
        steps.append(len(steps) + 1 if metric.step is None else metric.step)
        values.append(math.nan if metric.value is None else metric.value)
    return dict(sorted(panels.items()))


def overlay(store: Store, sessions: Sequence[str]) -> dict[str, dict[tuple[str, str], tuple[list[float], list[float]]]]:
    """{family: {(session, label): (steps, values)}} of every session that reported something."""
    panels: dict[str, dict[tuple[str, str], tuple[list[float], list[float]]]] = defaultdict(dict)
    for session in sessions:
        for family, lines in series(store, session).items():
            for label, points in lines.items():
                panels[family][(session, label)] = points
    return dict(sorted(panels.items()))


def image_format(output: Path) -> str:
    """The format named by ``output``'s suffix; a suffix matplotlib cannot write is a usage error listing those."""
    from matplotlib.backend_bases import FigureCanvasBase

    supported = sorted(FigureCanvasBase.get_supported_filetypes())
    suffix = output.suffix.lower().lstrip(".")
    if suffix not in supported:
        named = f"'.{suffix}'" if suffix else "no suffix"
        raise UsageError(f"--out {output}: {named} is not an image format nsml plot writes; end the name in one of "
                         f"{', '.join('.' + s for s in supported)}")
    return suffix


def plot(store: Store, sessions: str | Sequence[str], output: Path) -> Path:
    """Draw one session, or several overlaid, to ``output``; an error when none has reported anything yet."""
    names = [sessions] if isinstance(sessions, str) else list(sessions)
    fmt = image_format(output)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    panels = overlay(store, names)
    if not panels:
        which = f"session {names[0]} has" if len(names) == 1 else f"none of the sessions {', '.join(names)} has"
        raise NsmlError(f"{which} reported no metrics yet (nsml.report(step=..., name=value))")
    colours = {name: f"C{index % 10}" for index, name in enumerate(names)}
    columns = min(PANEL_COLUMNS, len(panels))
    rows = math.ceil(len(panels) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(6.4 * columns, 4.0 * rows), squeeze=False)
    for ax, (family, lines) in zip(axes.flat, panels.items(), strict=False):
        kinds = sorted({label for _, label in lines})
        for (name, label), (steps, values) in sorted(lines.items(), key=lambda item: (names.index(item[0][0]),
                                                                                       item[0][1])):
            style = {} if len(names) == 1 else {"color": colours[name],
                                                "linestyle": LINE_STYLES[kinds.index(label) % len(LINE_STYLES)]}
            ax.plot(steps, values, marker="o" if len(steps) <= 30 else None, markersize=3,
                    label=label if len(names) == 1 else f"{name} {label}", **style)
        if all(float(step).is_integer() for steps, _ in lines.values() for step in steps):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(family)
        ax.set_xlabel("step")
        ax.set_ylabel(family)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
    figure.suptitle(f"nsml session {shown}" if len(names) == 1 else f"nsml sessions {shown}")
    figure.tight_layout()
    output.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(output, "wb") as image:
        figure.savefig(image, format=fmt, dpi=100)
    plt.close(figure)
    return output
