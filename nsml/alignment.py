"""Showing where a hypothesis goes wrong: reference and hypothesis aligned column by column, errors marked.

```
  ref: 감 사 해 요 ·
  hyp: 감 사 합 니 다
       . . S  S  I
```
The alignment is ``speech_kit.scoring.align`` (spaces removed, as scored), so the marks count exactly the edits
behind the CER. ``S`` is a substitution, ``I`` an insertion (a character the reference does not have), ``D`` a
deletion (a reference character the hypothesis lacks); the missing side of an insertion or deletion shows ``·``.
Columns are padded in display columns, so Hangul (two columns wide) lines up with the marks.
"""

from __future__ import annotations

from nsml import text
from speech_kit.scoring import align

MARKS = {"equal": ".", "sub": "S", "ins": "I", "del": "D"}
GAP = "·"


def aligned_lines(reference: str, hypothesis: str) -> tuple[str, str, str]:
    """(reference line, hypothesis line, marks line) with one column per aligned position."""
    refs, hyps, marks = [], [], []
    for op, ref, hyp in align(reference, hypothesis):
        ref, hyp = text.escape(ref) or GAP, text.escape(hyp) or GAP
        columns = max(text.width(ref), text.width(hyp), 1)
        refs.append(text.pad(ref, columns))
        hyps.append(text.pad(hyp, columns))
        marks.append(text.pad(MARKS[op], columns))
    return " ".join(refs).rstrip(), " ".join(hyps).rstrip(), " ".join(marks).rstrip()


def counts(reference: str, hypothesis: str) -> dict[str, int]:
    """How many substitutions, insertions and deletions the alignment has."""
    found = {"sub": 0, "ins": 0, "del": 0}
    for op, _, _ in align(reference, hypothesis):
        if op in found:
            found[op] += 1
    return found
