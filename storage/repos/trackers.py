"""Trackers repository: connections, links, pulled numbers, the push log, fx rates, leases.

Reads of many rows are Core selects (no ORM objects); writes of pulled rows are bulk upserts.
Everything here runs on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import leases
from storage.models import (
    AdAccount,
    AdObject,
    FxRate,
    MetricDaily,
    OutboxMessage,
    TikTokConnection,
    Tracker,
    TrackerDaily,
    TrackerLink,
    TrackerPush,
    TrackerUnmapped,
)
from storage.repos.users import paused_ids
from storage.upsert import upsert


@dataclass(frozen=True)
class TikTokCampaignRow:
    """A synced TikTok campaign of one of the user's tracked ad accounts."""

    ad_account_id: int
    campaign_id: str
    name: str
    currency: str
    time_zone: str


@dataclass(frozen=True)
class DayNumbers:
    """One object's counts for one day (TikTok's or a tracker's)."""

    ad_account_id: int
    object_id: str
    day: date
    clicks: int
    conversions: int
    spend: Decimal = Decimal(0)


class TrackerRepo:
    """All SQL of the tracker use-cases."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    # Trackers ---------------------------------------------------------------------------------

    def add(self, tracker: Tracker) -> None:
        """Stage a new tracker."""
        self._s.add(tracker)

    async def get(self, user_id: int, tracker_id: int) -> Tracker | None:
        """The user's tracker (any status), or None if it is someone else's or gone."""
        return await self._s.scalar(
            select(Tracker).where(Tracker.id == tracker_id, Tracker.user_id == user_id)
        )

    async def by_id(self, tracker_id: int) -> Tracker | None:
        """A tracker whoever owns it (background jobs)."""
        return await self._s.get(Tracker, tracker_id)

    async def of_user(self, user_id: int, *, include_disconnected: bool = False) -> list[Tracker]:
        """The user's trackers, oldest first."""
        query = select(Tracker).where(Tracker.user_id == user_id).order_by(Tracker.id)
        if not include_disconnected:
            query = query.where(Tracker.status != "disconnected")
        return list(await self._s.scalars(query))

    async def count_active(self, user_id: int) -> int:
        """The user's connected trackers that a plan has not paused."""
        return int(
            await self._s.scalar(
                select(func.count())
                .select_from(Tracker)
                .where(
                    Tracker.user_id == user_id,
                    Tracker.status != "disconnected",
                    Tracker.plan_paused_at.is_(None),
                )
            )
            or 0
        )

    async def drop_links(self, tracker_id: int) -> int:
        """Forget every link of a tracker; how many."""
        done = await self._s.execute(
            delete(TrackerLink).where(TrackerLink.tracker_id == tracker_id)
        )
        return int(done.rowcount or 0)  # type: ignore[attr-defined]

    # Leases (the recurring push + pull) ------------------------------------------------------

    async def claim(
        self,
        owner: str,
        now: datetime,
        lease_until: datetime,
        limit: int,
        *,
        tracker_id: int | None = None,
        force: bool = False,
    ) -> list[int]:
        """Lease due, connected trackers not paused by a plan (SKIP LOCKED on PostgreSQL; the
        repeated lease condition keeps the claim atomic on SQLite); their ids, most overdue
        first."""
        free = or_(Tracker.lease_until.is_(None), Tracker.lease_until < now)
        pick = (
            select(Tracker.id, Tracker.lease_until)
            # A tracker a plan paused is neither pushed nor pulled, on schedule or on demand.
            .where(free, Tracker.status != "disconnected", Tracker.credential_id.is_not(None),
                   Tracker.plan_paused_at.is_(None))
            .order_by(Tracker.due_at, Tracker.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        if not force:
            # Scheduled runs skip paused accounts; a push or pull the user asks for still runs.
            pick = pick.where(
                or_(Tracker.due_at.is_(None), Tracker.due_at <= now),
                Tracker.user_id.not_in(paused_ids()),
            )
        if tracker_id is not None:
            pick = pick.where(Tracker.id == tracker_id)
        values = {"lease_owner": owner, "lease_until": lease_until,
                  "attempts": Tracker.attempts + 1}
        return await leases.claim_ids(self._s, Tracker, pick, free, values, "trackers")

    async def release(self, tracker_id: int, owner: str, *, due_at: datetime, ok: bool) -> None:
        """Give a tracker's lease back with its next due time (if this worker still holds it)."""
        values: dict[str, Any] = {"lease_owner": None, "lease_until": None, "due_at": due_at}
        if ok:
            values["attempts"] = 0
        await self._s.execute(
            update(Tracker)
            .where(Tracker.id == tracker_id, Tracker.lease_owner == owner)
            .values(**values)
            .execution_options(synchronize_session=False)
        )

    async def release_all(self, owner: str) -> None:
        """Give back every tracker lease this worker holds, keeping due times."""
        await self._s.execute(
            update(Tracker)
            .where(Tracker.lease_owner == owner)
            .values(lease_owner=None, lease_until=None)
            .execution_options(synchronize_session=False)
        )

    async def due_now_for_user(self, user_id: int, now: datetime) -> None:
        """Make the user's connected trackers due at once (a TikTok back-window sync ended)."""
        await self._s.execute(
            update(Tracker)
            .where(
                Tracker.user_id == user_id,
                Tracker.status != "disconnected",
                or_(Tracker.due_at.is_(None), Tracker.due_at > now),
                # A tracker backing off after failures keeps its back-off.
                Tracker.attempts == 0,
            )
            .values(due_at=now)
            .execution_options(synchronize_session=False)
        )

    # Links -----------------------------------------------------------------------------------

    async def links(self, tracker_id: int) -> list[TrackerLink]:
        """A tracker's links, oldest first."""
        return list(
            await self._s.scalars(
                select(TrackerLink)
                .where(TrackerLink.tracker_id == tracker_id)
                .order_by(TrackerLink.id)
            )
        )

    async def link(self, tracker_id: int, link_id: int) -> TrackerLink | None:
        """One link of a tracker."""
        return await self._s.scalar(
            select(TrackerLink).where(
                TrackerLink.id == link_id, TrackerLink.tracker_id == tracker_id
            )
        )

    async def link_of(
        self, tracker_id: int, ad_account_id: int, campaign_id: str
    ) -> TrackerLink | None:
        """The link of one TikTok campaign in one tracker."""
        return await self._s.scalar(
            select(TrackerLink).where(
                TrackerLink.tracker_id == tracker_id,
                TrackerLink.ad_account_id == ad_account_id,
                TrackerLink.tiktok_campaign_id == campaign_id,
            )
        )

    def add_link(self, link: TrackerLink) -> None:
        """Stage a link."""
        self._s.add(link)

    async def delete_link(self, link: TrackerLink) -> None:
        """Forget a link."""
        await self._s.delete(link)

    async def manual_links_elsewhere(self, user_id: int, tracker_id: int) -> set[tuple[int, str]]:
        """(account, campaign) pairs the user linked by hand in another connected tracker."""
        rows = await self._s.execute(
            select(TrackerLink.ad_account_id, TrackerLink.tiktok_campaign_id)
            .join(Tracker, Tracker.id == TrackerLink.tracker_id)
            .where(
                Tracker.user_id == user_id,
                Tracker.id != tracker_id,
                Tracker.status != "disconnected",
                TrackerLink.source == "manual",
                TrackerLink.tiktok_campaign_id.is_not(None),
            )
        )
        return {(r.ad_account_id, r.tiktok_campaign_id) for r in rows}

    # TikTok side -----------------------------------------------------------------------------

    async def tiktok_campaigns(
        self, user_id: int, ad_account_id: int | None = None
    ) -> list[TikTokCampaignRow]:
        """The campaigns of the user's tracked ad accounts on live connections, by name."""
        query = (
            select(
                AdObject.ad_account_id,
                AdObject.object_id,
                AdObject.name,
                AdAccount.currency,
                AdAccount.time_zone,
            )
            .join(AdAccount, AdAccount.id == AdObject.ad_account_id)
            .join(TikTokConnection, TikTokConnection.id == AdAccount.connection_id)
            .where(
                TikTokConnection.user_id == user_id,
                TikTokConnection.status != "disconnected",
                AdAccount.tracked.is_(True),
                AdObject.level == "campaign",
            )
            .order_by(AdObject.name, AdObject.ad_account_id, AdObject.object_id)
        )
        if ad_account_id is not None:
            query = query.where(AdObject.ad_account_id == ad_account_id)
        return [TikTokCampaignRow(*r) for r in await self._s.execute(query)]

    async def objects_under(
        self, ad_account_ids: Iterable[int], campaign_ids: Iterable[str]
    ) -> list[tuple[int, str, str, str, str | None]]:
        """(account, level, object id, campaign id, ad group id) of every campaign, ad group and
        ad under the given campaigns."""
        accounts, campaigns = sorted(set(ad_account_ids)), sorted(set(campaign_ids))
        if not accounts or not campaigns:
            return []
        out: list[tuple[int, str, str, str, str | None]] = []
        for start in range(0, len(campaigns), 500):
            part = campaigns[start : start + 500]
            rows = await self._s.execute(
                select(
                    AdObject.ad_account_id,
                    AdObject.level,
                    AdObject.object_id,
                    AdObject.campaign_id,
                    AdObject.adgroup_id,
                ).where(
                    AdObject.ad_account_id.in_(accounts),
                    or_(
                        and_(AdObject.level == "campaign", AdObject.object_id.in_(part)),
                        and_(AdObject.level != "campaign", AdObject.campaign_id.in_(part)),
                    ),
                )
            )
            for r in rows:
                campaign = r.object_id if r.level == "campaign" else r.campaign_id
                out.append((r.ad_account_id, r.level, r.object_id, campaign, r.adgroup_id))
        return out

    async def tiktok_days(
        self, pairs: Iterable[tuple[int, str]], start: date, end: date
    ) -> list[DayNumbers]:
        """TikTok's campaign-level daily spend, clicks and conversions for (account, campaign)
        pairs over [start, end]."""
        wanted = set(pairs)
        if not wanted:
            return []
        accounts = sorted({a for a, _ in wanted})
        campaigns = sorted({c for _, c in wanted})
        out: list[DayNumbers] = []
        for first in range(0, len(campaigns), 500):
            rows = await self._s.execute(
                select(
                    MetricDaily.ad_account_id,
                    MetricDaily.object_id,
                    MetricDaily.day,
                    MetricDaily.clicks,
                    MetricDaily.conversions,
                    MetricDaily.spend,
                ).where(
                    MetricDaily.ad_account_id.in_(accounts),
                    MetricDaily.level == "campaign",
                    MetricDaily.object_id.in_(campaigns[first : first + 500]),
                    MetricDaily.day >= start,
                    MetricDaily.day <= end,
                )
            )
            out += [
                DayNumbers(r.ad_account_id, r.object_id, r.day, r.clicks, r.conversions, r.spend)
                for r in rows
                if (r.ad_account_id, r.object_id) in wanted
            ]
        return out

    # Pulled numbers --------------------------------------------------------------------------

    async def replace_daily(
        self,
        tracker_id: int,
        spans: Sequence[tuple[int, date, date]],
        rows: Sequence[dict[str, Any]],
    ) -> int:
        """Replace what this tracker pulled for each (account, first day, last day) span by
        `rows` (TrackerDaily columns): a re-pull never doubles and drops what vanished."""
        for account_id, start, end in spans:
            await self._s.execute(
                delete(TrackerDaily).where(
                    TrackerDaily.tracker_id == tracker_id,
                    TrackerDaily.ad_account_id == account_id,
                    TrackerDaily.day >= start,
                    TrackerDaily.day <= end,
                )
            )
        return await upsert(
            self._s, TrackerDaily, rows, ("ad_account_id", "level", "object_id", "day")
        )

    async def replace_unmapped(
        self, tracker_id: int, start: date, end: date, rows: Sequence[dict[str, Any]]
    ) -> int:
        """Replace this tracker's unmapped numbers over [start, end] by `rows`."""
        await self._s.execute(
            delete(TrackerUnmapped).where(
                TrackerUnmapped.tracker_id == tracker_id,
                TrackerUnmapped.day >= start,
                TrackerUnmapped.day <= end,
            )
        )
        return await upsert(
            self._s, TrackerUnmapped, rows, ("tracker_id", "tracker_campaign_id", "day", "id_value")
        )

    async def tracker_days(
        self, tracker_id: int, level: str, start: date, end: date
    ) -> list[DayNumbers]:
        """What this tracker's pulls hold at one level over [start, end] (conversions here are
        approved + pending: every conversion the tracker received)."""
        rows = await self._s.execute(
            select(
                TrackerDaily.ad_account_id,
                TrackerDaily.object_id,
                TrackerDaily.day,
                TrackerDaily.clicks,
                TrackerDaily.conversions + TrackerDaily.pending,
            ).where(
                TrackerDaily.tracker_id == tracker_id,
                TrackerDaily.level == level,
                TrackerDaily.day >= start,
                TrackerDaily.day <= end,
            )
        )
        return [DayNumbers(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    async def daily_rows(self, tracker_id: int) -> list[TrackerDaily]:
        """Every daily row of a tracker (tests and exports)."""
        return list(
            await self._s.scalars(
                select(TrackerDaily)
                .where(TrackerDaily.tracker_id == tracker_id)
                .order_by(
                    TrackerDaily.ad_account_id,
                    TrackerDaily.level,
                    TrackerDaily.object_id,
                    TrackerDaily.day,
                )
            )
        )

    async def unmapped_rows(self, tracker_id: int) -> list[TrackerUnmapped]:
        """Every unmapped row of a tracker, by day."""
        return list(
            await self._s.scalars(
                select(TrackerUnmapped)
                .where(TrackerUnmapped.tracker_id == tracker_id)
                .order_by(
                    TrackerUnmapped.day,
                    TrackerUnmapped.tracker_campaign_id,
                    TrackerUnmapped.id_value,
                )
            )
        )

    # Push log --------------------------------------------------------------------------------

    async def add_pushes(self, rows: Sequence[TrackerPush]) -> None:
        """Append push-log entries."""
        self._s.add_all(list(rows))
        await self._s.flush()

    async def pushes(self, tracker_id: int, day: date | None = None) -> list[TrackerPush]:
        """The push log of a tracker (one day, or all), oldest attempt first."""
        query = select(TrackerPush).where(TrackerPush.tracker_id == tracker_id)
        if day is not None:
            query = query.where(TrackerPush.day == day)
        return list(await self._s.scalars(query.order_by(TrackerPush.id)))

    async def last_not_sent(
        self, tracker_id: int, start: date, end: date
    ) -> dict[tuple[int | None, str | None, str, date], tuple[Decimal, str]]:
        """Per (account, TikTok campaign, tracker campaign, day) over [start, end] whose newest
        entry is a cost not sent (no cost: no rate, a shared campaign…): its spend and why."""
        rows = await self._s.execute(
            select(*_PUSH_KEY, TrackerPush.spend, TrackerPush.answer).where(
                TrackerPush.id.in_(_newest_pushes(tracker_id, start, end)),
                TrackerPush.cost.is_(None),
            )
        )
        return {(r[0], r[1], r[2], r[3]): (r[4], r[5]) for r in rows}

    async def last_pushed(
        self, tracker_id: int, start: date, end: date
    ) -> dict[tuple[int | None, str | None, str, date], Decimal]:
        """The cost last sent successfully per (account, TikTok campaign, tracker campaign,
        day) over [start, end]."""
        last = _newest_pushes(tracker_id, start, end, TrackerPush.ok.is_(True))
        rows = await self._s.execute(
            select(*_PUSH_KEY, TrackerPush.cost).where(TrackerPush.id.in_(last))
        )
        return {(r[0], r[1], r[2], r[3]): r[4] or Decimal(0) for r in rows}

    async def campaign_clicks(
        self, pairs: Iterable[tuple[int, str, date]]
    ) -> dict[tuple[int, str, date], int]:
        """Tracker clicks at campaign level for (account, campaign, day) triples (0 if none)."""
        wanted = set(pairs)
        if not wanted:
            return {}
        accounts = sorted({a for a, _, _ in wanted})
        campaigns = sorted({c for _, c, _ in wanted})
        days = sorted({d for _, _, d in wanted})
        rows = await self._s.execute(
            select(
                TrackerDaily.ad_account_id,
                TrackerDaily.object_id,
                TrackerDaily.day,
                TrackerDaily.clicks,
            ).where(
                TrackerDaily.level == "campaign",
                TrackerDaily.ad_account_id.in_(accounts),
                TrackerDaily.object_id.in_(campaigns),
                TrackerDaily.day.in_(days),
            )
        )
        found = {(r[0], r[1], r[2]): r[3] for r in rows}
        return {key: found.get(key, 0) for key in wanted}

    async def alert_queued(self, dedup_key: str) -> bool:
        """True if an outbox alert with this key was ever queued."""
        found = await self._s.scalar(
            select(OutboxMessage.id).where(OutboxMessage.dedup_key == dedup_key)
        )
        return found is not None

    # FX rates ---------------------------------------------------------------------------------

    async def rates(self, user_id: int) -> list[FxRate]:
        """The user's rates, by pair."""
        return list(
            await self._s.scalars(
                select(FxRate).where(FxRate.user_id == user_id).order_by(FxRate.base, FxRate.quote)
            )
        )

    async def rate(self, user_id: int, base: str, quote: str) -> FxRate | None:
        """One of the user's rates."""
        return await self._s.get(FxRate, (user_id, base, quote))

    def add_rate(self, rate: FxRate) -> None:
        """Stage a new rate."""
        self._s.add(rate)

    async def delete_rate(self, rate: FxRate) -> None:
        """Forget a rate."""
        await self._s.delete(rate)


# What a push-log entry is about: one TikTok campaign's day in one tracker campaign.
_PUSH_KEY = (
    TrackerPush.ad_account_id,
    TrackerPush.tiktok_campaign_id,
    TrackerPush.tracker_campaign_id,
    TrackerPush.day,
)


def _newest_pushes(
    tracker_id: int, start: date, end: date, *where: ColumnElement[bool]
) -> Select[tuple[int]]:
    """The id of the newest push-log entry (matching `where`) per key over [start, end]."""
    return (
        select(func.max(TrackerPush.id))
        .where(TrackerPush.tracker_id == tracker_id, TrackerPush.day >= start,
               TrackerPush.day <= end, *where)
        .group_by(*_PUSH_KEY)
    )
