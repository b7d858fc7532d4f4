"""The recurring tracker job: leased so two workers never double-work, backing off while the
tracker is down, nothing lost or doubled when it returns; made due by a TikTok window sync;
the on-demand push and pull with progress."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from unittest.mock import patch

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import FixedClock
from core.trackers import connect, jobs
from storage.db import session_factory
from storage.models import Tracker
from storage.uow import UnitOfWorkFactory
from storage.vault import Vault, generate_key_entry, parse_keyring
from tests.unit.tracker_fakes import (
    NOW,
    OTHER,
    TODAY,
    USER,
    FakeTracker,
    campaign,
    row,
    seed_account,
    seed_user,
)

D1, D2 = TODAY - timedelta(days=2), TODAY - timedelta(days=1)


@pytest.fixture
def uow(engine: AsyncEngine) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(session_factory(engine), Vault(parse_keyring(generate_key_entry("k"))))


async def _setup(uow: UnitOfWorkFactory) -> tuple[int, FakeTracker]:
    """A tracker whose report shows c1's and c2's ids (so they map automatically)."""
    await seed_user(uow)
    await seed_account(uow, spend={("c1", D1): "10", ("c1", D2): "12.5", ("c2", D2): "4"},
                       clicks={("c1", D2): (100, 3)})
    fake = FakeTracker(campaigns=[campaign("10", "T")])
    fake.rows = {
        ("10", "ad_campaign_id"): [row("10", D2, "c1", 100, 3, "20"),
                                   row("10", D2, "c2", 10, 0, "0")],
        ("10", "creative_id"): [row("10", D2, "a1", 50, 3, "20"), row("10", D2, "a3", 10, 0, "0")],
    }
    added = await connect.add_tracker(uow, FixedClock(NOW), USER, "keitaro", "T", "https://t.io",
                                      "key", "UTC", "USD", fake.factory)
    return added.tracker.id, fake


async def _tracker(uow: UnitOfWorkFactory, tid: int) -> Tracker:
    async with uow() as u:
        found = await u.session.get(Tracker, tid)
        assert found is not None
        return found


WANT = {("10", D1, "ad_campaign_id", "c1"): Decimal(10),
        ("10", D2, "ad_campaign_id", "c1"): Decimal("12.5"),
        ("10", D2, "ad_campaign_id", "c2"): Decimal(4)}


async def test_a_run_maps_pushes_pulls_and_checks(uow: UnitOfWorkFactory) -> None:
    tid, fake = await _setup(uow)
    runs = await jobs.run_due(uow, FixedClock(NOW), fake.factory, "w1")
    assert [(r.tracker_id, r.ok, r.alerts) for r in runs] == [(tid, True, 1)]  # c1: 50 of 100
    assert fake.costs == WANT
    assert runs[0].pull is not None and runs[0].pull.rows > 0
    tracker = await _tracker(uow, tid)
    assert (tracker.due_at, tracker.lease_owner, tracker.status) == (
        NOW + timedelta(hours=1), None, "active")
    assert await jobs.run_due(uow, FixedClock(NOW + timedelta(minutes=30)), fake.factory,
                              "w1") == []


async def test_two_workers_never_take_the_same_tracker(uow: UnitOfWorkFactory) -> None:
    tid, fake = await _setup(uow)
    async with uow() as u:
        assert await u.trackers.claim("w1", NOW, NOW + jobs.LEASE, 5) == [tid]
        await u.commit()
    assert await jobs.run_due(uow, FixedClock(NOW), fake.factory, "w2") == []
    assert await jobs.push_now(uow, FixedClock(NOW), USER, tid, fake.factory, "w2") is None
    assert fake.calls == {"list": 1}  # only the connection test
    # A lease that ran out (its worker died) is taken over.
    later = NOW + jobs.LEASE + timedelta(seconds=1)
    assert [r.ok for r in await jobs.run_due(uow, FixedClock(later), fake.factory, "w2")] == [True]


async def test_an_outage_backs_off_then_loses_and_doubles_nothing(
        uow: UnitOfWorkFactory) -> None:
    tid, fake = await _setup(uow)
    fake.down = True
    clock = FixedClock(NOW)
    first = await jobs.run_due(uow, clock, fake.factory, "w1")
    assert [r.ok for r in first] == [False]
    tracker = await _tracker(uow, tid)
    assert (tracker.status, tracker.due_at, tracker.failing_since) == (
        "failing", NOW + timedelta(minutes=2), NOW)
    clock.set(NOW + timedelta(minutes=2))
    await jobs.run_due(uow, clock, fake.factory, "w1")
    tracker = await _tracker(uow, tid)
    assert tracker.due_at == NOW + timedelta(minutes=2 + 4)  # longer each time
    # A TikTok sync does not cut a back-off short.
    async with uow() as u:
        await u.trackers.due_now_for_user(USER, clock.now())
        await u.commit()
    assert (await _tracker(uow, tid)).due_at == NOW + timedelta(minutes=6)
    fake.down = False
    clock.set(NOW + timedelta(minutes=6))
    runs = await jobs.run_due(uow, clock, fake.factory, "w1")
    assert [r.ok for r in runs] == [True]
    assert fake.costs == WANT
    again = NOW + timedelta(minutes=6) + jobs.EVERY
    clock.set(again)
    await jobs.run_due(uow, clock, fake.factory, "w1")
    assert fake.costs == WANT
    tracker = await _tracker(uow, tid)
    assert (tracker.status, tracker.failing_since, tracker.attempts) == ("active", None, 0)


async def test_a_window_sync_makes_the_users_trackers_due(uow: UnitOfWorkFactory) -> None:
    tid, fake = await _setup(uow)
    await jobs.run_due(uow, FixedClock(NOW), fake.factory, "w1")
    soon = NOW + timedelta(minutes=5)
    async with uow() as u:
        await u.trackers.due_now_for_user(OTHER, soon)
        await u.commit()
    assert (await _tracker(uow, tid)).due_at == NOW + jobs.EVERY
    async with uow() as u:
        await u.trackers.due_now_for_user(USER, soon)
        await u.commit()
    assert (await _tracker(uow, tid)).due_at == soon


async def test_push_now_and_pull_now_report_progress(uow: UnitOfWorkFactory) -> None:
    tid, fake = await _setup(uow)
    await jobs.run_due(uow, FixedClock(NOW), fake.factory, "w1")  # maps
    steps: list[tuple[int, int]] = []

    async def progress(done: int, total: int) -> None:
        steps.append((done, total))

    report = await jobs.push_now(uow, FixedClock(NOW), USER, tid, fake.factory, "w9", [D2],
                                 progress)
    assert report is not None and report.ok and report.sent == 2
    assert steps == [(1, 3), (2, 3), (3, 3)]
    steps.clear()
    pulled = await jobs.pull_now(uow, FixedClock(NOW), USER, tid, fake.factory, "w9", progress)
    assert pulled is not None and pulled.ok
    assert steps[-1][0] == steps[-1][1]
    tracker = await _tracker(uow, tid)
    assert (tracker.lease_owner, tracker.due_at) == (None, NOW + jobs.EVERY)  # schedule kept
    with pytest.raises(connect.TrackerNotFound):
        await jobs.pull_now(uow, FixedClock(NOW), OTHER, tid, fake.factory, "w9")


async def test_a_run_that_fails_unexpectedly_gives_the_tracker_back(
    uow: UnitOfWorkFactory,
) -> None:
    """A run cut short by an error nobody expected still releases its lease: Push now works at
    once instead of saying "being synced right now" until the lease expires, and the scheduled
    run comes again after a backoff."""
    tid, fake = await _setup(uow)

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    with patch.object(jobs, "push_costs", broken), pytest.raises(RuntimeError):
        await jobs.run_due(uow, FixedClock(NOW), fake.factory, "w1")
    held = await _tracker(uow, tid)
    assert held.lease_owner is None and held.due_at is not None and held.due_at > NOW
    report = await jobs.push_now(uow, FixedClock(NOW), USER, tid, fake.factory, "w2")
    assert report is not None and report.ok
