"""What a sync writes: TikTok's report tables as the metric tables' columns (each level summed
up from the ad rows, core.sync_rollup), synced objects as rows, and the writes of one step,
made into callables so that their CPU work overlaps the next step's requests (core.sync)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from core import sync_rollup
from core.gc_pause import gc_paused
from core.tiktok import ReportLevel, ReportTable
from storage.repos.sync import ClaimedJob
from storage.rule_sums import LEVELS as RULE_LEVELS
from storage.uow import UnitOfWork

LEVELS = {
    ReportLevel.ADVERTISER: "advertiser",
    ReportLevel.CAMPAIGN: "campaign",
    ReportLevel.ADGROUP: "adgroup",
    ReportLevel.AD: "ad",
}
_MICRO = Decimal("0.000001")


def _money(value: Decimal | None) -> Decimal:
    return (value or Decimal(0)).quantize(_MICRO)


def metric_columns(table: ReportTable, hourly: bool) -> dict[str, list[Any]]:
    """A report's rows as the metric table's columns (a row without a time is left out)."""
    times = table.stat_times
    keep = [i for i, t in enumerate(times) if t is not None] if None in times else None

    def column(values: list[Any]) -> list[Any]:
        return values if keep is None else [values[i] for i in keep]

    metrics = table.metrics
    stat = column(times)
    # Few distinct times (days, hours) and amounts (zeros): each is converted once.
    days = {t: t.date() for t in set(stat)}
    out: dict[str, list[Any]] = {
        "object_id": column(table.object_ids),
        "day": list(map(days.__getitem__, stat)),
        "spend": _money_column(column(metrics["spend"])),
        "impressions": [v or 0 for v in column(metrics["impressions"])],
        "clicks": [v or 0 for v in column(metrics["clicks"])],
        "conversions": [v or 0 for v in column(metrics["conversion"])],
        "purchase_value": _money_column(column(metrics["total_complete_payment_rate"])),
    }
    if hourly:
        out["hour"] = [t.hour for t in stat]
    return out


def _money_column(values: list[Any]) -> list[Decimal]:
    money = {v: _money(v) for v in set(values)}
    return list(map(money.__getitem__, values))


def object_row(account_id: int, level: str, obj: Any, now: datetime) -> dict[str, Any]:
    # The bid the ad group's strategy uses (none under automatic bidding), as changes read it;
    # TikTok sends 0 for a bid field not in use.
    bid = (obj.custom_bid[1] or None) if level == "adgroup" else None
    return {
        "ad_account_id": account_id,
        "level": level,
        "object_id": getattr(obj, f"{level}_id"),
        "campaign_id": getattr(obj, "campaign_id", None),
        "adgroup_id": getattr(obj, "adgroup_id", None) if level == "ad" else None,
        "name": getattr(obj, f"{level}_name") or "",
        "operation_status": obj.operation_status,
        "secondary_status": obj.secondary_status,
        "objective": getattr(obj, "objective_type", None),
        "budget_mode": getattr(obj, "budget_mode", None),
        "budget": _money(obj.budget) if getattr(obj, "budget", None) is not None else None,
        "budget_optimize_on": getattr(obj, "budget_optimize_on", None),
        "bid_type": getattr(obj, "bid_type", None),
        "bid": _money(bid) if bid is not None else None,
        "created_time": obj.create_time,
        "synced_at": now,
    }


def levels_write(
    job: ClaimedJob,
    table: ReportTable,
    now: datetime,
    hourly: bool,
    today: date,
    levels: tuple[str, ...] = tuple(LEVELS.values()),
) -> Callable[[UnitOfWork], Awaitable[int]]:
    """The write of one ad-level report at `levels`, summed up (core.sync_rollup) there, so
    that work overlaps the next step's requests too; daily rows rebuild rule sums like
    metrics_write."""

    async def write(u: UnitOfWork) -> int:
        return await write_levels(u, job, table, now, hourly, today, levels)

    return write


async def write_levels(
    u: UnitOfWork,
    job: ClaimedJob,
    table: ReportTable,
    now: datetime,
    hourly: bool,
    today: date,
    levels: tuple[str, ...],
) -> int:
    # The collector is held off for each synchronous piece (never across an await, so it
    # cannot stay off while other coroutines run): these pieces make and drop many short-lived
    # containers (key tuples, sum lists, columns), which kept setting off its passes.
    with gc_paused():
        ads, ids = sync_rollup.once_each(
            metric_columns(table, hourly), sync_rollup.parents(table), hourly
        )
    # A window step holds up to ~120,000 ad rows: its CPU work comes in pieces with the event
    # loop's turns between them (the upserts convert a batch at a time), so requests the
    # limiter releases meanwhile go out when released, not together after one long piece
    # (TikTok counts arrivals per second, spec §8.2).
    await asyncio.sleep(0)
    with gc_paused():
        per_level = sync_rollup.roll_up(ads, ids, job.advertiser_id, hourly)
    count = 0
    for level in levels:
        columns = per_level[level]
        shared = {"ad_account_id": job.account_id, "level": level, "synced_at": now}
        count += await u.sync.upsert_metric_columns(hourly, columns, shared)
        if not hourly and level in RULE_LEVELS and columns["object_id"]:
            await u.sync.refresh_rule_sums(job.account_id, today, level, columns["object_id"])
    return count


def objects_write(
    account_id: int, level: str, data: list[dict[str, Any]], now: datetime
) -> Callable[[UnitOfWork], Awaitable[int]]:
    """The write of one step's synced objects (and of their bids' and budgets' history)."""

    async def write(u: UnitOfWork) -> int:
        count = await u.sync.upsert_objects(data)
        if level != "ad":  # bids and budgets live on campaigns and ad groups
            await u.sync.record_values(account_id, level, data, now)
        return count

    return write


def metrics_write(
    account_id: int, table: ReportTable, now: datetime, hourly: bool, today: date
) -> Callable[[UnitOfWork], Awaitable[int]]:
    """The write of one step's report rows (made into table columns there too: that work
    then overlaps the next step's requests); daily rows rebuild the written objects' rule sums
    as of the account's local `today`, in the same transaction (storage.rule_sums)."""

    async def write(u: UnitOfWork) -> int:
        level = LEVELS[table.level]
        shared = {"ad_account_id": account_id, "level": level, "synced_at": now}
        with gc_paused():  # as in write_levels
            columns = metric_columns(table, hourly)
        count = await u.sync.upsert_metric_columns(hourly, columns, shared)
        if not hourly and level in RULE_LEVELS and columns["object_id"]:
            await u.sync.refresh_rule_sums(account_id, today, level, columns["object_id"])
        return count

    return write
