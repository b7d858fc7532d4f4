"""Tracker metrics in rules: an affiliate tracker's daily numbers beside TikTok's spend.

The tracker's numbers come from its own daily rows (storage TrackerDaily: per ad account,
level, object and local day; money already in the ad account's currency), summed per window
apart from TikTok's sums (core.metrics.Totals), and combined with TikTok's spend only here:

    revenue             approved revenue
    profit              revenue − spend
    roi                 profit / spend × 100 (none without spend)
    epc                 revenue / tracker clicks (none without clicks)
    tracker_cpa         spend / tracker conversions (none without conversions)
    tracker_clicks, tracker_conversions (approved)

"No data" is never zero revenue. An object has tracker data for a window once the tracker has
reported it on or before the window's last day (its first row); before that — a TikTok object
the tracker never saw (no link, ids not passed) — its tracker metrics are undefined, so a
condition on them never holds, and the rule reports the object as skipped for lack of tracker
data instead of pausing it for a loss it cannot see. After its first row, a window without rows
reads zero: the tracker was reporting the object and saw nothing.

Freshness: a rule reading tracker metrics also needs the account's trackers to have pulled
successfully recently (Tracker.last_ok_at within `tracker_bound`), or it skips the account like
stale TikTok data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from core.rules.model import TRACKER_METRICS, Condition, Group, RuleSpec, Window, reads_tracker

NO_DATA = "no_tracker_data"  # the skip reason: the tracker has no data for the object
TRACKER_FRESH = timedelta(hours=2)  # the tracker's last good pull must be at most this old
_HUNDRED = Decimal(100)


@dataclass(frozen=True)
class TrackerSums:
    """A tracker's summed numbers of one object (or scope) over one window."""

    clicks: int = 0
    conversions: int = 0
    revenue: Decimal = Decimal(0)

    def __add__(self, other: TrackerSums) -> TrackerSums:
        return TrackerSums(
            self.clicks + other.clicks,
            self.conversions + other.conversions,
            self.revenue + other.revenue,
        )


def tracker_metric(name: str, sums: TrackerSums | None, spend: Decimal) -> Decimal | None:
    """Tracker metric `name` from the tracker's sums and TikTok's spend over the same window;
    None when the tracker has no data or the ratio is undefined."""
    if sums is None:
        return None
    if name == "revenue":
        return sums.revenue
    if name == "profit":
        return sums.revenue - spend
    if name == "roi":
        return None if spend == 0 else (sums.revenue - spend) * _HUNDRED / spend
    if name == "epc":
        return None if sums.clicks == 0 else sums.revenue / Decimal(sums.clicks)
    if name == "tracker_cpa":
        return None if sums.conversions == 0 else spend / Decimal(sums.conversions)
    if name == "tracker_clicks":
        return Decimal(sums.clicks)
    if name == "tracker_conversions":
        return Decimal(sums.conversions)
    raise ValueError(f"not a tracker metric: {name!r}")


def _tracked(node: Condition | Group) -> frozenset[Window]:
    if isinstance(node, Condition):
        return frozenset({node.window}) if reads_tracker(node) else frozenset()
    return frozenset().union(*(_tracked(item) for item in node.items))


@lru_cache(maxsize=4096)
def tracker_windows(spec: RuleSpec) -> frozenset[Window]:
    """The windows in which a rule reads tracker metrics (empty: it reads none)."""
    return _tracked(spec.when)


def lacks_data(tracker: dict[Window, TrackerSums] | None, windows: frozenset[Window]) -> bool:
    """Whether an object's tracker data misses any of these windows."""
    return bool(windows) and (tracker is None or any(w not in tracker for w in windows))


def tracker_bound(freshness_minutes: int) -> timedelta:
    """How old the tracker's last good pull may be: two hours, or the rule's own tolerance
    when that is longer."""
    return max(TRACKER_FRESH, timedelta(minutes=freshness_minutes))


def tracker_fresh(last_ok_at: datetime | None, freshness_minutes: int, now: datetime) -> bool:
    """Whether tracker data last pulled at `last_ok_at` is fresh enough for a rule."""
    return last_ok_at is not None and now - last_ok_at <= tracker_bound(freshness_minutes)


__all__ = [
    "NO_DATA",
    "TRACKER_FRESH",
    "TRACKER_METRICS",
    "TrackerSums",
    "lacks_data",
    "tracker_bound",
    "tracker_fresh",
    "tracker_metric",
    "tracker_windows",
]
