"""Shared pieces of the tracker use-case unit tests: a database world and an in-memory tracker.

The in-memory tracker stands in for a client here, where the use-cases' bookkeeping is under
test; tests/contract/test_tracker_flow.py drives the same use-cases through the real clients
against the emulators.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from core.clock import FixedClock
from core.trackers.base import (
    CostItem,
    PushOutcome,
    RevenueRow,
    TrackerCampaign,
    TrackerError,
)
from core.users import SignUp, register_user
from storage.models import AdAccount, AdObject, MetricDaily, TikTokConnection
from storage.uow import UnitOfWorkFactory

USER = 7
OTHER = 8
TZ = "America/New_York"
# 15:00 in New York on 2026-11-29 (UTC-5): "today" there is the 29th.
NOW = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)
TODAY = date(2026, 11, 29)
FIELDS = {"campaign": "ad_campaign_id", "adgroup": "sub_id_1", "ad": "creative_id"}


@dataclass
class FakeTracker:
    """A tracker in memory: campaigns, costs keyed like the emulator's, report rows to return."""

    kind: str = "keitaro"
    campaigns: list[TrackerCampaign] = field(default_factory=list)
    # (campaign, day, field, value) -> cost; a push replaces its segment.
    costs: dict[tuple[str, date, str | None, str | None], Decimal] = field(default_factory=dict)
    currencies: list[str] = field(default_factory=list)
    # Report rows per (campaign, field): what `pull` answers (filtered to the asked days).
    rows: dict[tuple[str, str | None], list[RevenueRow]] = field(default_factory=dict)
    down: bool = False
    calls: dict[str, int] = field(default_factory=dict)
    keys_seen: list[str] = field(default_factory=list)
    pulls: list[tuple[tuple[str, ...], str | None, date, date, str]] = field(default_factory=list)
    reject: set[str] = field(default_factory=set)  # campaign ids whose pushes it refuses

    def factory(self, kind: str, url: str, key: str) -> FakeClient:
        """The ClientFactory the use-cases take."""
        self.keys_seen.append(key)
        return FakeClient(self, kind)


class FakeClient:
    """A TrackerClient over a FakeTracker."""

    def __init__(self, tracker: FakeTracker, kind: str) -> None:
        self._t = tracker
        self.kind = kind  # type: ignore[assignment]

    def _call(self, name: str) -> None:
        self._t.calls[name] = self._t.calls.get(name, 0) + 1
        if self._t.down:
            raise TrackerError("unavailable", "HTTP 503", retryable=True)

    async def list_campaigns(self) -> list[TrackerCampaign]:
        self._call("list")
        return list(self._t.campaigns)

    async def push_costs(self, items: Sequence[CostItem]) -> list[PushOutcome]:
        self._call("push")
        out = []
        for item in items:
            if item.campaign_id in self._t.reject:
                out.append(PushOutcome(item, False, "campaign not found"))
                continue
            self._t.costs[(item.campaign_id, item.day, item.id_field, item.id_value)] = item.cost
            self._t.currencies.append(item.currency)
            out.append(PushOutcome(item, True, "Job successfully scheduled"))
        return out

    async def pull(self, campaign_ids: Sequence[str], id_field: str | None, start: date,
                   end: date, time_zone: str) -> list[RevenueRow]:
        self._call("pull")
        self._t.pulls.append((tuple(campaign_ids), id_field, start, end, time_zone))
        return [r for cid in campaign_ids for r in self._t.rows.get((cid, id_field), [])
                if start <= r.day <= end]

    async def close(self) -> None:
        pass


def campaign(cid: str, name: str, fields: dict[str, str] | None = None) -> TrackerCampaign:
    """A tracker campaign recording the given id fields (all three by default)."""
    return TrackerCampaign(cid, name, True, dict(FIELDS if fields is None else fields))


def row(cid: str, day: date, value: str | None, clicks: int, conv: int, revenue: str,
        pending: int = 0, rejected: int = 0, pending_revenue: str = "0") -> RevenueRow:
    """A tracker report row."""
    return RevenueRow(cid, day, value, clicks, conv, pending, rejected, Decimal(revenue),
                      Decimal(pending_revenue))


@dataclass
class World:
    """The ids of a seeded user's account."""

    account_id: int
    connection_id: int


async def seed_user(uow: UnitOfWorkFactory, user_id: int = USER) -> None:
    """A registered user."""
    await register_user(uow, FixedClock(NOW), SignUp(user_id, "Ann", None, None, "en", TZ,
                                                     None, False))


async def seed_account(uow: UnitOfWorkFactory, user_id: int = USER, *, tz: str = TZ,
                       currency: str = "USD", advertiser: str = "adv1",
                       structure: dict[str, dict[str, list[str]]] | None = None,
                       names: dict[str, str] | None = None,
                       spend: dict[tuple[str, date], str] | None = None,
                       clicks: dict[tuple[str, date], tuple[int, int]] | None = None) -> World:
    """An ad account with campaigns → ad groups → ads, and campaign-level daily numbers:
    spend {(campaign, day): amount}, clicks {(campaign, day): (clicks, conversions)}."""
    structure = structure or {"c1": {"g1": ["a1", "a2"]}, "c2": {"g2": ["a3"]}}
    names = names or {}
    async with uow() as u:
        conn = TikTokConnection(user_id=user_id, display_name="me", status="active")
        u.session.add(conn)
        await u.session.flush()
        acc = AdAccount(connection_id=conn.id, advertiser_id=advertiser, name="Shop",
                        currency=currency, time_zone=tz)
        u.session.add(acc)
        await u.session.flush()
        for cid, groups in structure.items():
            u.session.add(AdObject(ad_account_id=acc.id, level="campaign", object_id=cid,
                                   name=names.get(cid, f"Campaign {cid}")))
            for gid, ads in groups.items():
                u.session.add(AdObject(ad_account_id=acc.id, level="adgroup", object_id=gid,
                                       campaign_id=cid, name=f"Group {gid}"))
                for aid in ads:
                    u.session.add(AdObject(ad_account_id=acc.id, level="ad", object_id=aid,
                                           campaign_id=cid, adgroup_id=gid, name=f"Ad {aid}"))
        keys = set(spend or {}) | set(clicks or {})
        for cid, day in keys:
            n_clicks, n_conv = (clicks or {}).get((cid, day), (0, 0))
            u.session.add(MetricDaily(ad_account_id=acc.id, level="campaign", object_id=cid,
                                      day=day, spend=Decimal((spend or {}).get((cid, day), "0")),
                                      impressions=1000, clicks=n_clicks, conversions=n_conv,
                                      purchase_value=Decimal(0)))
        await u.commit()
        return World(acc.id, conn.id)
