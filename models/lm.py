"""A character (output-unit) n-gram language model for beam search, trained on the corpus text.

Interpolated Witten-Bell smoothing: the probability of a unit after a context mixes the context's own counts
with the next shorter context's estimate, weighted by how many different units the context has been seen with.
It needs no tuning, never gives zero probability, and its counts fit in a small JSON file beside a checkpoint.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter, defaultdict
from collections.abc import Iterable

from speech_kit.atomic import atomic_write

BOS = "\x02"  # the start-of-text context symbol; never a unit
FORMAT = "speech-kit-ngram/1"
LM_FILE = "lm.json"  # its name inside a checkpoint folder
CACHE_LIMIT = 1_000_000  # memoised probabilities kept at most (a decoding run revisits the same contexts)


class NgramLM:
    """``log_prob(context, unit)`` for contexts of up to ``order - 1`` units; ``</s>`` is the empty string."""

    def __init__(self, order: int, counts: dict[str, Counter], vocab_size: int):
        self.order = order
        self.counts = counts  # context -> Counter(next unit -> count); "" is the unigram context
        self.vocab_size = vocab_size
        self._totals = {ctx: sum(c.values()) for ctx, c in counts.items()}
        self._cache: dict[tuple[str, str], float] = {}

    @classmethod
    def train(cls, texts: Iterable[str], order: int = 6, units: Iterable[str] = ()) -> NgramLM:
        """Count every unit (and end of text) after every context of length 0..order-1 in ``texts``;
        ``units`` names units that may occur without being in the texts (they share the add-one mass)."""
        counts: dict[str, Counter] = defaultdict(Counter)
        units: set[str] = set(units)
        for text in texts:
            padded = BOS * (order - 1) + text
            units.update(text)
            for i in range(order - 1, len(padded) + 1):
                unit = padded[i] if i < len(padded) else ""
                for n in range(order):
                    counts[padded[i - n: i]][unit] += 1
        return cls(order, dict(counts), len(units) + 1)

    def pruned(self, min_count: int) -> NgramLM:
        """This LM without the contexts of two or more units seen fewer than ``min_count`` times: their
        predictions back off to the shorter context, and a high order on a large text stays small on disk."""
        if min_count <= 1:
            return self
        kept = {ctx: c for ctx, c in self.counts.items() if len(ctx) < 2 or self._totals[ctx] >= min_count}
        return NgramLM(self.order, kept, self.vocab_size)

    def _prob(self, context: str, unit: str) -> float:
        if not context:
            seen = self.counts.get("", Counter())
            return (seen[unit] + 1) / (self._totals.get("", 0) + self.vocab_size)  # add-one: never zero
        lower = self._prob(context[1:], unit)
        seen = self.counts.get(context)
        if not seen:
            return lower
        total, types = self._totals[context], len(seen)
        return (seen[unit] + types * lower) / (total + types)

    def log_prob(self, context: str, unit: str) -> float:
        """Natural-log probability of ``unit`` ("" = end of text) after the units ``context``."""
        context = (BOS * (self.order - 1) + context)[-(self.order - 1):] if self.order > 1 else ""
        key = (context, unit)
        if key not in self._cache:
            if len(self._cache) > CACHE_LIMIT:
                self._cache.clear()
            self._cache[key] = math.log(self._prob(context, unit))
        return self._cache[key]

    def score(self, text: str) -> float:
        """Log probability of a whole text, end included."""
        return sum(self.log_prob(text[:i], u) for i, u in enumerate(text)) + self.log_prob(text, "")

    def save(self, path: str | os.PathLike) -> None:
        payload = {"format": FORMAT, "order": self.order, "vocab_size": self.vocab_size,
                   "counts": {ctx: dict(c) for ctx, c in self.counts.items()}}
        with atomic_write(path) as f:
            json.dump(payload, f, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def load(cls, path: str | os.PathLike) -> NgramLM:
        with open(path, encoding="utf-8") as f:
            payload = json.load(f)
        if payload.get("format") != FORMAT:
            raise ValueError(f"{path}: not a {FORMAT} language model")
        return cls(payload["order"], {ctx: Counter(c) for ctx, c in payload["counts"].items()},
                   payload["vocab_size"])
