"""One ad-level report summed up to the ad group, campaign and account levels.

TikTok's QPS is per app (spec §8.2), and a report per level made the sync ask four times for
the same delivery: 10,000 ad accounts at a 15-minute cadence needed ~119 calls/s against the
45/s a 50-QPS app may send (bench/README.md). The sync now asks once, at the ad level, with
each ad's ad group and campaign (`adgroup_id`, `campaign_id` attribute metrics, spec §7.1) and
adds the ads' rows up. That is exact only for additive metrics: every metric the sync stores
(core.sync.SYNC_METRICS — spend, impressions, clicks, conversions, purchase value) is a count
or an amount, and every ratio shown (CTR, CPC, CPA, ROAS…) is derived from their sums. A
non-additive metric (reach, frequency, unique counts) must never be added here: it would have
to come from its own level's report.

Money is added as the Decimals the report gave (3 decimals, spec §7.1), so a sum is exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from core.tiktok import ReportTable

# The attribute metrics naming an ad's parents, asked for with the ad level's metrics.
PARENT_METRICS = ("campaign_id", "adgroup_id")
# What the stored columns hold (core.sync._metric_columns): added up per object and time.
SUMMED = ("spend", "impressions", "clicks", "conversions", "purchase_value")


class RollUpError(ValueError):
    """An ad row came without its ad group or campaign: it cannot be placed."""


def kept_rows(table: ReportTable) -> list[int] | None:
    """Rows core.sync._metric_columns keeps (those with a time), None for all of them."""
    times = table.stat_times
    return [i for i, t in enumerate(times) if t is not None] if None in times else None


def parents(table: ReportTable) -> dict[str, list[str]]:
    """Each kept ad row's ad group and campaign id."""
    keep = kept_rows(table)
    out: dict[str, list[str]] = {}
    for level in ("adgroup", "campaign"):
        values = table.metrics[f"{level}_id"]
        column = values if keep is None else [values[i] for i in keep]
        if not all(column):
            raise RollUpError(f"an ad row of the report has no {level}_id")
        out[level] = [str(v) for v in column]
    return out


def roll_up(
    ads: dict[str, list[Any]], ids: dict[str, list[str]], advertiser_id: str, hourly: bool
) -> dict[str, dict[str, list[Any]]]:
    """The ad level's columns and, summed from them, the ad group, campaign and advertiser
    levels' columns (same names: object_id, day, [hour], then the summed metrics)."""
    out = {"ad": ads}
    n = len(ads["object_id"])
    by_level = {**ids, "advertiser": [advertiser_id] * n}
    for level in ("adgroup", "campaign", "advertiser"):
        out[level] = _sum_by(ads, by_level[level], hourly)
    return out


def _sum_by(ads: dict[str, list[Any]], owners: Sequence[str], hourly: bool) -> dict[str, list[Any]]:
    """Add the ad rows up per (owner, day[, hour]), in the order the keys first appear."""
    days: list[date] = ads["day"]
    hours: Sequence[int | None] = ads["hour"] if hourly else [None] * len(days)
    metrics = [ads[name] for name in SUMMED]
    sums: dict[tuple[str, date, int | None], list[Any]] = {}
    for i, key in enumerate(zip(owners, days, hours, strict=True)):
        acc = sums.get(key)
        if acc is None:
            sums[key] = [m[i] for m in metrics]
        else:
            for k, m in enumerate(metrics):
                acc[k] += m[i]
    keys = list(sums)
    out: dict[str, list[Any]] = {
        "object_id": [k[0] for k in keys],
        "day": [k[1] for k in keys],
    }
    for k, name in enumerate(SUMMED):
        out[name] = [sums[key][k] for key in keys]
    if hourly:
        out["hour"] = [k[2] for k in keys]
    return out


def split_by_advertiser(table: ReportTable) -> dict[str, ReportTable]:
    """A report of several ad accounts (its `advertiser_id` metric) as one table each."""
    owners = table.metrics["advertiser_id"]
    rows: dict[str, list[int]] = {}
    for i, owner in enumerate(owners):
        if not owner:
            raise RollUpError("a row of a several-account report has no advertiser_id")
        rows.setdefault(str(owner), []).append(i)
    return {owner: _take(table, picked) for owner, picked in rows.items()}


def _take(table: ReportTable, picked: list[int]) -> ReportTable:
    return ReportTable(
        table.level,
        [table.object_ids[i] for i in picked],
        [table.stat_times[i] for i in picked],
        {name: [values[i] for i in picked] for name, values in table.metrics.items()},
    )


def empty_like(table: ReportTable) -> ReportTable:
    """No rows, the same metrics (an account the report had nothing for)."""
    return ReportTable(table.level, metrics={name: [] for name in table.metrics})

