"""Submission quotas per team: per day (the last 24 hours), a minimum interval (2019: one an hour), a total, and
how many may run at once.

Submissions that failed (load or infer raised, timed out, wrote nothing) are not counted; running ones are, so two
submits sent at once cannot both take the last one. Grants (``nsml admin grant``) add to the daily and the total
allowance. A refusal says what was used, what remains and when the next one is allowed.
"""

from __future__ import annotations

from nsml.errors import UsageError
from nsml.server.competitions import show_time
from nsml.server.db import Entry, Quota

DAY_S = 86400.0


class QuotaRefused(UsageError):
    """A submit the team's quota does not allow now."""


def check(quota: Quota, entries: list[Entry], now: float) -> None:
    """Raise ``QuotaRefused`` when one more submission would break ``quota``; ``entries`` are the team's."""
    counted = [e for e in entries if e.counted]
    running = [e for e in entries if e.status == "running"]
    if quota.concurrent is not None and len(running) >= quota.concurrent:
        raise QuotaRefused(f"quota: {len(running)} of your submissions are still being scored (at most "
                           f"{quota.concurrent} at once); submit again when one has finished")
    total_left = None
    if quota.total is not None:
        allowed = quota.total + quota.extra
        total_left = allowed - len(counted)
        if total_left <= 0:
            raise QuotaRefused(f"quota: all {allowed} submissions of this competition used (0 remain; failed ones "
                               f"are not counted); ask the organiser for more (nsml admin grant)")
    if quota.per_day is not None:
        allowed = quota.per_day + quota.extra
        today = sorted(e.created for e in counted if e.created > now - DAY_S)
        if len(today) >= allowed:
            next_at = today[len(today) - allowed] + DAY_S
            rest = f", {total_left} remain in total" if total_left is not None else ""
            raise QuotaRefused(f"quota: {len(today)} of {allowed} submissions in the last 24 h used, 0 remain "
                               f"today{rest}; the next is allowed at {show_time(next_at)}")
    if quota.min_interval_s is not None and counted:
        last = max(e.created for e in counted)
        if now - last < quota.min_interval_s:
            left = remaining(quota, entries, now)
            raise QuotaRefused(f"quota: one submission every {quota.min_interval_s:g} s; the last was "
                               f"{now - last:.0f} s ago, the next is allowed at "
                               f"{show_time(last + quota.min_interval_s)} ({left})")


def remaining(quota: Quota, entries: list[Entry], now: float) -> str:
    """How many are left today and in total, as one phrase."""
    counted = [e for e in entries if e.counted]
    parts = []
    if quota.per_day is not None:
        today = sum(1 for e in counted if e.created > now - DAY_S)
        parts.append(f"{max(0, quota.per_day + quota.extra - today)} remain today")
    if quota.total is not None:
        parts.append(f"{max(0, quota.total + quota.extra - len(counted))} remain in total")
    return ", ".join(parts) or "no limit on the number"
