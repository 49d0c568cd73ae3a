"""How far a submit got: ``nsml: inferred 12/16 test utterances, 0:00:09 elapsed, about 0:00:03 left``.

A full test set took the 2019 platform up to an hour with nothing on the screen; this is the ``on_progress`` of
``speech_kit.feed.feed_infer``, run in the submit process and written to its stderr (the terminal of ``nsml
submit``). On a terminal one line is rewritten in place; elsewhere (a log, a pipe) a line is written at most
every ``interval`` seconds, plus the first and the last, so logs stay short.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO


def clock_text(seconds: float) -> str:
    whole = int(max(seconds, 0) + 0.5)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


class FeedProgress:
    """``on_progress(done, total)``: utterances done out of the total, time spent and an estimate of what is left."""

    def __init__(self, stream: TextIO | None = None, interval: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.live = self.stream.isatty()
        self.interval = interval if interval is not None else (0.2 if self.live else 10.0)
        self.clock = clock
        self.started = clock()
        self.shown_at: float | None = None

    def line(self, done: int, total: int, now: float) -> str:
        elapsed = now - self.started
        text = f"nsml: inferred {done}/{total} test utterances, {clock_text(elapsed)} elapsed"
        if 0 < done < total:
            text += f", about {clock_text(elapsed / done * (total - done))} left"
        return text

    def __call__(self, done: int, total: int) -> None:
        now = self.clock()
        last = done >= total
        if not last and self.shown_at is not None and now - self.shown_at < self.interval:
            return
        self.shown_at = now
        text = self.line(done, total, now)
        if self.live:
            self.stream.write("\r" + text + "\x1b[K" + ("\n" if last else ""))  # clear what a longer line left
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
