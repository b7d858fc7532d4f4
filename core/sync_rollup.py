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
# What the stored columns hold (core.sync_writes.metric_columns): added up per object and time.
SUMMED = ("spend", "impressions", "clicks", "conversions", "purchase_value")


class RollUpError(ValueError):
    """An ad row came without its ad group or campaign: it cannot be placed."""


def kept_rows(table: ReportTable) -> list[int] | None:
    """Rows core.sync_writes.metric_columns keeps (those with a time), None for all of them."""
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
        # Ids are parsed as text already (core.tiktok.reports); str() only for anything else.
        str_only = set(map(type, column)) == {str}
        out[level] = list(column) if str_only else [str(v) for v in column]
    return out


def once_each(
    ads: dict[str, list[Any]], ids: dict[str, list[str]], hourly: bool
) -> tuple[dict[str, list[Any]], dict[str, list[str]]]:
    """The ad rows with each (ad, day[, hour]) once, the last one read (and their parents).

    A report's pages are read concurrently, and TikTok promises no order that holds between
    them while delivery goes on (spec §7.1 sorts by a metric at most): a row can come on two
    pages. Added twice it
    would double its parents' sums, and PostgreSQL refuses an upsert naming one row twice."""
    hours: Sequence[int | None] = ads["hour"] if hourly else [None] * len(ads["day"])
    last = {key: n for n, key in enumerate(zip(ads["object_id"], ads["day"], hours, strict=True))}
    if len(last) == len(ads["day"]):
        return ads, ids
    keep = sorted(last.values())
    return ({name: [column[n] for n in keep] for name, column in ads.items()},
            {level: [column[n] for n in keep] for level, column in ids.items()})


def roll_up(
    ads: dict[str, list[Any]], ids: dict[str, list[str]], advertiser_id: str, hourly: bool
) -> dict[str, dict[str, list[Any]]]:
    """The ad level's columns and, summed from them, the ad group, campaign and advertiser
    levels' columns (same names: object_id, day, [hour], then the summed metrics).

    Level by level: ads into ad groups, ad groups into campaigns, campaigns into the account
    (each level adds the rows of the one below, ~20x fewer than the ads, instead of adding
    every ad row again). Exact (Decimal and int sums) and in the order the keys first appear
    among the ads, as adding the ads at every level gave."""
    adgroups = _sum_by(ads, ids["adgroup"], hourly)
    campaign_of = dict(zip(ids["adgroup"], ids["campaign"], strict=True))
    if len(set(zip(ids["adgroup"], ids["campaign"], strict=True))) != len(campaign_of):
        # An ad group lives in one campaign (its campaign_id, spec §4.5): nothing else can
        # be placed.
        raise RollUpError("an ad group of the report appears under two campaigns")
    campaigns = _sum_by(adgroups, [campaign_of[g] for g in adgroups["object_id"]], hourly)
    account = _sum_by(campaigns, [advertiser_id] * len(campaigns["object_id"]), hourly)
    return {"ad": ads, "adgroup": adgroups, "campaign": campaigns, "advertiser": account}


def _sum_by(
    rows: dict[str, list[Any]], owners: Sequence[str], hourly: bool
) -> dict[str, list[Any]]:
    """Add the rows up per (owner, day[, hour]), in the order the keys first appear."""
    days: list[date] = rows["day"]
    hours: Sequence[int | None] = rows["hour"] if hourly else [None] * len(days)
    sums: dict[tuple[str, date, int | None], list[Any]] = {}
    # SUMMED's five columns, added in place without an inner loop (most of this function's
    # time is this per-row step).
    for key, spend, imp, clicks, conv, value in zip(
        zip(owners, days, hours, strict=True), *(rows[name] for name in SUMMED), strict=True
    ):
        acc = sums.get(key)
        if acc is None:
            sums[key] = [spend, imp, clicks, conv, value]
        else:
            acc[0] += spend
            acc[1] += imp
            acc[2] += clicks
            acc[3] += conv
            acc[4] += value
    keys = list(sums)
    out: dict[str, list[Any]] = {
        "object_id": [k[0] for k in keys],
        "day": [k[1] for k in keys],
    }
    totals = list(zip(*sums.values(), strict=True)) if sums else [()] * len(SUMMED)
    for k, name in enumerate(SUMMED):
        out[name] = list(totals[k])
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
