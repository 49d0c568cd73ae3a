"""The board's sections: a dataset's submissions grouped by the test set and scorer they were scored with.

Only submissions scored on the same test set (same fingerprint, same scorer) rank against each other, so each test
set is a section of its own: the dataset's current test set first, then older ones, newest first. The CLI's
``dataset board`` and the web board both read these.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from nsml.entities import Submission


@dataclass(frozen=True)
class Section:
    """The submissions of one dataset scored on one test set by one scorer, best first."""

    test_set: str | None
    scorer: str
    rows: list[Submission]
    current: bool

    @property
    def first_scored(self) -> float:
        return min(row.submitted for row in self.rows)


def sections(submissions: list[Submission], current_test_set: str | None) -> list[Section]:
    """Submissions grouped by (test set, scorer): the current test set first, then the newest first."""
    groups: dict[tuple[str | None, str], list[Submission]] = defaultdict(list)
    for row in submissions:
        groups[(row.test_set, row.scorer)].append(row)
    found = [Section(test_set, scorer, sorted(rows, key=Submission.rank_key),
                     current=test_set is not None and test_set == current_test_set)
             for (test_set, scorer), rows in groups.items()]
    return sorted(found, key=lambda s: (not s.current, -s.first_scored))
