"""The purge jobs on SQLite and PostgreSQL: leased like sync (two workers never both delete or
both audit a row), batched (each batch its own transaction), resumed after a failure half-way,
driven by the inventory's owner links (nobody else's rows touched), and the revocation and
lost-advertiser clocks they act on (set once, told once)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import FixedClock
from core.connections import note_lost, note_revoked
from core.privacy import purge
from core.users import SignUp, register_user
from storage.db import session_factory
from storage.models import (
    AdAccount,
    AuditEntry,
    Credential,
    MetricDaily,
    OutboxMessage,
    SyncJob,
    TikTokConnection,
    Tracker,
    TrackerLink,
)
from storage.repos.privacy import PrivacyRepo
from storage.uow import UnitOfWorkFactory
from storage.vault import Vault, generate_key_entry, parse_keyring

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
DAYS = 12  # metric rows per account


@pytest.fixture
def uow(engine: AsyncEngine) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(session_factory(engine), Vault(parse_keyring(generate_key_entry("k"))))


async def _seed(uow: UnitOfWorkFactory, uid: int, purge_after: datetime | None) -> dict[str, int]:
    """A user with a connection (due for purging at `purge_after`), two ad accounts with
    metrics and sync jobs, and a live tracker linked to the first account."""
    await register_user(uow, FixedClock(NOW), SignUp(uid, "Ann", None, None, "en",
                                                     "Europe/Berlin", None, False))
    async with uow() as u:
        cred = Credential(user_id=uid, kind="tiktok_token", sealed=b"x", key_id="k1")
        u.session.add(cred)
        await u.session.flush()
        conn = TikTokConnection(user_id=uid, credential_id=cred.id, display_name="Glowly",
                                purge_after=purge_after)
        u.session.add(conn)
        await u.session.flush()
        accounts = []
        for n in range(2):
            acc = AdAccount(connection_id=conn.id, advertiser_id=f"adv{uid}{n}",
                            name=f"Glowly {n}", tracked=True)
            u.session.add(acc)
            await u.session.flush()
            accounts.append(acc.id)
            u.session.add(SyncJob(ad_account_id=acc.id, kind="today", due_at=NOW))
            for d in range(DAYS):
                u.session.add(MetricDaily(
                    ad_account_id=acc.id, level="campaign", object_id="c1",
                    day=date(2026, 11, 1) + timedelta(days=d), spend=Decimal("1.50"),
                    impressions=10, clicks=1, conversions=0, purchase_value=Decimal(0)))
        tracker = Tracker(user_id=uid, kind="keitaro", base_url="https://k.example",
                          status="active")
        u.session.add(tracker)
        await u.session.flush()
        u.session.add(TrackerLink(tracker_id=tracker.id, ad_account_id=accounts[0],
                                  tiktok_campaign_id="c1", tracker_campaign_id="7",
                                  source="auto"))
        await u.commit()
        return {"connection": conn.id, "credential": cred.id, "account0": accounts[0],
                "account1": accounts[1], "tracker": tracker.id}


async def _count(uow: UnitOfWorkFactory, model: Any, *where: Any) -> int:
    async with uow() as u:
        return int(await u.session.scalar(select(func.count()).select_from(model).where(*where)))


async def _audits(uow: UnitOfWorkFactory, action: str) -> list[AuditEntry]:
    async with uow() as u:
        return list(await u.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


async def test_a_due_connection_goes_in_batches_with_its_counts_and_nobody_elses(
    uow: UnitOfWorkFactory,
) -> None:
    mine = await _seed(uow, 1, NOW - timedelta(minutes=1))
    other = await _seed(uow, 2, None)
    [done] = await purge.run_due(uow, FixedClock(NOW), "w1", batch=5)
    assert done.row_id == mine["connection"]
    assert done.counts == {
        "metrics_daily": 2 * DAYS, "sync_jobs": 2, "tracker_links": 1, "ad_accounts": 2,
        "tiktok_connections": 1, "credentials": 1,
    }
    assert await _count(uow, TikTokConnection) == 1
    assert await _count(uow, MetricDaily) == 2 * DAYS
    assert await _count(uow, AdAccount, AdAccount.id == other["account0"]) == 1
    assert await _count(uow, Credential, Credential.id == other["credential"]) == 1
    assert await _count(uow, Tracker, Tracker.id == mine["tracker"]) == 1  # the tracker stays
    [entry] = await _audits(uow, "tiktok.purged")
    assert entry.target_id == str(mine["connection"]) and entry.details["counts"] == done.counts
    assert await purge.run_due(uow, FixedClock(NOW + timedelta(hours=1)), "w1") == []


async def test_not_before_its_date(uow: UnitOfWorkFactory) -> None:
    await _seed(uow, 1, NOW + timedelta(days=1))
    assert await purge.run_due(uow, FixedClock(NOW), "w1") == []
    assert await _count(uow, MetricDaily) == 2 * DAYS


async def test_two_workers_at_once_purge_and_audit_it_once(uow: UnitOfWorkFactory) -> None:
    await _seed(uow, 1, NOW - timedelta(minutes=1))
    await _seed(uow, 2, NOW - timedelta(minutes=1))
    clock = FixedClock(NOW)
    results = await asyncio.gather(
        *(purge.run_due(uow, clock, f"w{n}", batch=3) for n in range(3)))
    purged = sorted(p.row_id for done in results for p in done)
    assert len(purged) == 2 and len(set(purged)) == 2
    assert len(await _audits(uow, "tiktok.purged")) == 2
    assert await _count(uow, MetricDaily) == 0


async def test_a_failure_half_way_is_resumed_by_the_next_run(
    uow: UnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await _seed(uow, 1, NOW - timedelta(minutes=1))
    real = PrivacyRepo.erase_under_step
    metric_batches = 0

    async def flaky(self: PrivacyRepo, root: str, root_id: int, limit: int) -> tuple[str, int]:
        nonlocal metric_batches
        if metric_batches == 2:  # the crash comes in the middle of the statistics
            metric_batches += 1
            raise RuntimeError("the database went away")
        table, n = await real(self, root, root_id, limit)
        metric_batches += table == "metrics_daily"
        return table, n

    monkeypatch.setattr(PrivacyRepo, "erase_under_step", flaky)
    assert await purge.run_due(uow, FixedClock(NOW), "w1", batch=5) == []
    left = await _count(uow, MetricDaily)
    assert 0 < left < 2 * DAYS  # two batches were committed before the failure
    async with uow() as u:
        conn = await u.session.get(TikTokConnection, ids["connection"])
        assert conn is not None and conn.lease_owner is None  # given back for the next run
    assert await _audits(uow, "tiktok.purged") == []

    [done] = await purge.run_due(uow, FixedClock(NOW + timedelta(hours=1)), "w2", batch=5)
    assert done.counts["metrics_daily"] == left
    assert await _count(uow, MetricDaily) == 0 and await _count(uow, TikTokConnection) == 0
    assert len(await _audits(uow, "tiktok.purged")) == 1


async def test_a_worker_whose_lease_was_taken_over_stops_without_auditing(
    uow: UnitOfWorkFactory,
) -> None:
    ids = await _seed(uow, 1, NOW - timedelta(minutes=1))
    async with uow() as u:
        assert await u.privacy.claim_purges("tiktok_connections", "slow", NOW,
                                            NOW + purge.LEASE, 5) == [ids["connection"]]
        await u.commit()
    later = FixedClock(NOW + purge.LEASE + timedelta(seconds=1))  # the slow worker's lease ran out
    [done] = await purge.run_due(uow, later, "fast")
    assert done.row_id == ids["connection"]
    assert await purge.purge_one(uow, later, purge.CONNECTIONS, ids["connection"], "slow") is None
    assert len(await _audits(uow, "tiktok.purged")) == 1


async def test_a_lost_ad_account_goes_alone_with_the_links_to_it(uow: UnitOfWorkFactory) -> None:
    ids = await _seed(uow, 1, None)
    async with uow() as u:
        assert await note_lost(u, NOW, ids["account0"], 1)
        assert not await note_lost(u, NOW + timedelta(hours=3), ids["account0"], 1)  # once
        await u.commit()
    async with uow() as u:
        account = await u.session.get(AdAccount, ids["account0"])
        assert account is not None and account.purge_after == NOW + timedelta(days=7)
        assert (account.tracked, account.status) == (False, "NO_ACCESS")
        kinds = [m.kind for m in await u.session.scalars(select(OutboxMessage))]
    assert kinds == ["account_lost"]
    assert await purge.run_due(uow, FixedClock(NOW + timedelta(days=6)), "w1") == []
    [done] = await purge.run_due(uow, FixedClock(NOW + timedelta(days=7)), "w1")
    assert (done.table, done.row_id) == ("ad_accounts", ids["account0"])
    assert await _count(uow, MetricDaily) == DAYS  # the other account's
    assert await _count(uow, TrackerLink) == 0
    assert await _count(uow, TikTokConnection) == 1
    [entry] = await _audits(uow, "tiktok.account_purged")
    assert entry.details["counts"]["metrics_daily"] == DAYS


async def test_a_revocation_sets_the_clock_drops_the_token_and_alerts_once(
    uow: UnitOfWorkFactory,
) -> None:
    ids = await _seed(uow, 1, None)
    async with uow() as u:
        assert await note_revoked(u, NOW, ids["connection"], 1, "revoked")
        await u.commit()
    async with uow() as u:  # another job of the same connection, failing an hour later
        assert not await note_revoked(u, NOW + timedelta(hours=1), ids["connection"], 1, "again")
        await u.commit()
    async with uow() as u:
        conn = await u.session.get(TikTokConnection, ids["connection"])
        assert conn is not None and conn.status == "broken" and conn.credential_id is None
        assert conn.purge_after == NOW + timedelta(days=7)
        kinds = [m.kind for m in await u.session.scalars(select(OutboxMessage))]
    assert kinds == ["connection_broken"]
    assert await _count(uow, Credential) == 0


async def test_disconnected_trackers_are_purged_leased_too(uow: UnitOfWorkFactory) -> None:
    ids = await _seed(uow, 1, None)
    async with uow() as u:
        tracker = await u.session.get(Tracker, ids["tracker"])
        assert tracker is not None
        tracker.status, tracker.purge_after = "disconnected", NOW
        await u.commit()
    [done] = await purge.run_due(uow, FixedClock(NOW), "w1", (purge.TRACKERS,))
    assert done.counts == {"tracker_links": 1, "trackers": 1}
    assert [e.target_id for e in await _audits(uow, "tracker.purged")] == [str(ids["tracker"])]


async def test_a_reconnect_during_a_purge_calls_it_off(uow: UnitOfWorkFactory) -> None:
    ids = await _seed(uow, 1, NOW - timedelta(minutes=1))
    async with uow() as u:
        assert await u.privacy.claim_purges("tiktok_connections", "w1", NOW,
                                            NOW + purge.LEASE, 5) == [ids["connection"]]
        conn = await u.session.get(TikTokConnection, ids["connection"])
        assert conn is not None
        conn.purge_after = None  # what a reconnect of the same login does
        await u.commit()
    clock = FixedClock(NOW)
    assert await purge.purge_one(uow, clock, purge.CONNECTIONS, ids["connection"], "w1") is None
    assert await _count(uow, TikTokConnection) == 1 and await _count(uow, MetricDaily) == 2 * DAYS
    assert await _audits(uow, "tiktok.purged") == []
