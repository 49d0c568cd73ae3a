"""How a page's curves are drawn, from its query string: smoothing, the x axis, and a zoomed x range.

``?smooth=0.6`` smooths every line with TensorBoard's exponential moving average (the raw line stays, faint),
``?x=step|relative|wall`` picks the axis (the reported step, time since the session's first report, or the wall
clock), ``?from=&to=`` zooms to an x range in that axis's units (the value axis fits what is left). Values that do
not parse fall back to the defaults: a page never fails on its query string.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

X_AXES = ("step", "relative", "wall")
X_LABELS = {"step": "step", "relative": "time since the first report", "wall": "wall clock"}
MAX_SMOOTHING = 0.99


def _number(text: str | None) -> float | None:
    try:
        value = float(text) if text not in (None, "") else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


@dataclass(frozen=True)
class ChartOptions:
    smoothing: float = 0.0
    x: str = "step"
    x_from: float | None = None
    x_to: float | None = None

    @classmethod
    def parse(cls, args: Mapping[str, str]) -> ChartOptions:
        smoothing = min(max(_number(args.get("smooth")) or 0.0, 0.0), MAX_SMOOTHING)
        x = args.get("x", "step")
        low, high = _number(args.get("from")), _number(args.get("to"))
        if low is not None and high is not None and low > high:
            low, high = high, low
        return cls(smoothing, x if x in X_AXES else "step", low, high)

    @property
    def zoomed(self) -> bool:
        return self.x_from is not None or self.x_to is not None

    def keeps(self, x: float) -> bool:
        return (self.x_from is None or x >= self.x_from) and (self.x_to is None or x <= self.x_to)

    def query(self) -> dict[str, str]:
        """The non-default options as query values, for links that keep them (the live fragment's)."""
        found = {"smooth": f"{self.smoothing:g}" if self.smoothing else "", "x": "" if self.x == "step" else self.x,
                 "from": "" if self.x_from is None else repr(self.x_from),
                 "to": "" if self.x_to is None else repr(self.x_to)}
        return {key: value for key, value in found.items() if value}
