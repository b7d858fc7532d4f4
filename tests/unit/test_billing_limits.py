"""Plan limits on SQLite and PostgreSQL: usage counts what a plan limits (and nothing else), each
check says which limit, the use and the allowance, the use-cases refuse one more than allowed,
and applying a plan pauses the newest over each limit (never deleting; sync, rules and tracker
jobs then skip them) and brings back the oldest-paused first when a plan allows them again."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.billing import account, enforce, limits
from core.billing.plans import Catalogue, PlanBook, parse
from core.clock import FixedClock
from core.connections import set_tracking
from core.launch import service as launch_service
from core.rules import engine, service
from core.rules.schedule import at_cadence, fastest, next_due, thinned
from core.rules.settings import RuleSettings, Schedule
from core.trackers import connect
from core.users import SignUp, register_user
from storage.db import session_factory
from storage.models import (
    AdAccount,
    AuditEntry,
    Credential,
    Launch,
    LaunchItem,
    Rule,
    SyncJob,
    TikTokConnection,
    Tracker,
)
from storage.uow import UnitOfWorkFactory
from storage.vault import Vault, generate_key_entry, parse_keyring
from tests.unit.tracker_fakes import FakeTracker, campaign

USER, OPERATOR = 701, 900
TZ = "Asia/Tokyo"  # UTC+9: its December starts at 15:00 UTC on 30 November
NOW = datetime(2026, 12, 3, 3, 0, tzinfo=UTC)  # 12:00 in Tokyo, 3 December
FREE = PlanBook().current()  # the built-in plans: Free 2 accounts, 3 rules, 60 min, 1 tracker
# Three plans with room between them, to watch what comes back when.
LADDER = parse({"plans": [
    {"code": "free", "name": "Free", "rank": 0,
     "limits": {"ad_accounts": 2, "rules_on": 1, "rule_every_minutes": 60,
                "launches_per_month": 1, "ads_per_launch": 3, "trackers": 1, "seats": 1}},
    {"code": "pro", "name": "Pro", "rank": 1, "monthly": 500,
     "limits": {"ad_accounts": 4, "rules_on": 3, "rule_every_minutes": 15,
                "launches_per_month": 10, "ads_per_launch": 50, "trackers": 2, "seats": 1}},
    {"code": "agency", "name": "Agency", "rank": 2, "monthly": 2000,
     "limits": {"ad_accounts": None, "rules_on": None, "rule_every_minutes": 15,
                "launches_per_month": None, "ads_per_launch": None, "trackers": None,
                "seats": 5}},
]})
RULE = "campaign: spend > 1 in today -> pause"


@pytest.fixture
def uow(engine: AsyncEngine) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(session_factory(engine), Vault(parse_keyring(generate_key_entry("k"))))


async def _user(uow: UnitOfWorkFactory, uid: int = USER) -> None:
    await register_user(uow, FixedClock(NOW - timedelta(days=30)),
                        SignUp(uid, "Ann", None, None, "en", TZ, None, False))


async def _connection(uow: UnitOfWorkFactory, status: str = "active",
                      uid: int = USER) -> int:
    async with uow() as u:
        conn = TikTokConnection(user_id=uid, display_name="G", status=status)
        u.session.add(conn)
        await u.commit()
        return conn.id


async def _accounts(uow: UnitOfWorkFactory, conn_id: int, n: int, *, tracked: bool = True,
                    lost: bool = False, start: int = 0) -> list[int]:
    """`n` ad accounts, created a minute apart (the last one newest), each with a due sync."""
    ids = []
    async with uow() as u:
        for i in range(start, start + n):
            acc = AdAccount(connection_id=conn_id, advertiser_id=f"adv{conn_id}-{i}",
                            name=f"Acc {i}", tracked=tracked,
                            created_at=NOW - timedelta(days=10) + timedelta(minutes=i),
                            purge_after=NOW + timedelta(days=7) if lost else None,
                            status="NO_ACCESS" if lost else "ACTIVE")
            u.session.add(acc)
            await u.session.flush()
            u.session.add(SyncJob(ad_account_id=acc.id, kind="today",
                                  due_at=NOW - timedelta(minutes=1)))
            ids.append(acc.id)
        await u.commit()
    return ids


async def _rules(uow: UnitOfWorkFactory, n: int, *, enabled: bool = True, start: int = 0,
                 every: int = 60) -> list[int]:
    """`n` rules, created a minute apart (the last one newest), due a minute ago."""
    ids = []
    async with uow() as u:
        for i in range(start, start + n):
            rule = Rule(user_id=USER, name=f"Rule {i}", text=RULE, level="campaign",
                        settings={"schedule": {"every_minutes": every}}, enabled=enabled,
                        due_at=NOW - timedelta(minutes=1),
                        created_at=NOW - timedelta(days=10) + timedelta(minutes=i))
            u.session.add(rule)
            await u.session.flush()
            ids.append(rule.id)
        await u.commit()
    return ids


async def _trackers(uow: UnitOfWorkFactory, n: int, *, status: str = "active",
                    start: int = 0) -> list[int]:
    """`n` trackers, created a minute apart (the last one newest), due a minute ago."""
    ids = []
    async with uow() as u:
        for i in range(start, start + n):
            cred = Credential(user_id=USER, kind="tracker_key", sealed=b"x", key_id="k")
            u.session.add(cred)
            await u.session.flush()
            t = Tracker(user_id=USER, kind="keitaro", name=f"Trk {i}", base_url="https://t.io",
                        credential_id=cred.id, status=status,
                        due_at=NOW - timedelta(minutes=1),
                        created_at=NOW - timedelta(days=10) + timedelta(minutes=i))
            u.session.add(t)
            await u.session.flush()
            ids.append(t.id)
        await u.commit()
    return ids


async def _launch(uow: UnitOfWorkFactory, state: str, decided: datetime | None,
                  ads: int = 1) -> int:
    async with uow() as u:
        conn = TikTokConnection(user_id=USER, display_name="L", status="active")
        u.session.add(conn)
        await u.session.flush()
        acc = AdAccount(connection_id=conn.id, advertiser_id=f"l{conn.id}", name="L",
                        tracked=False)
        u.session.add(acc)
        await u.session.flush()
        launch = Launch(user_id=USER, template_name="T", document={}, state=state,
                        decided_at=decided, expires_at=NOW + timedelta(minutes=30),
                        created_at=NOW - timedelta(hours=1))
        items = [LaunchItem(seq=0, level="campaign", ad_account_id=acc.id, name="c",
                            request_id="r0")]
        items += [LaunchItem(seq=i + 1, level="ad", ad_account_id=acc.id, name=f"a{i}",
                             request_id=f"r{i + 1}") for i in range(ads)]
        await u.launches.add(launch, items)
        await u.commit()
        return launch.id


async def _grant(uow: UnitOfWorkFactory, clock: FixedClock, plan: str,
                 catalogue: Catalogue = FREE) -> str:
    """An operator's 30 days of `plan`; the grant's ledger id."""
    change = await account.grant(uow, catalogue, clock, OPERATOR, USER, plan, 30, "test")
    assert change.after.plan == plan
    async with uow() as u:
        ledger = await u.billing.ledger(USER)
    return ledger[-1].telegram_charge_id


# Usage and checks -------------------------------------------------------------------------------


async def test_usage_counts_what_the_plan_limits_and_nothing_else(uow: UnitOfWorkFactory) -> None:
    await _user(uow)
    live = await _connection(uow)
    await _accounts(uow, live, 2)  # counted
    await _accounts(uow, live, 1, tracked=False, start=2)  # not tracked
    await _accounts(uow, live, 1, tracked=False, lost=True, start=3)  # lost, waiting for purge
    await _accounts(uow, await _connection(uow, "broken"), 1)  # needs reconnecting: counted
    await _accounts(uow, await _connection(uow, "disconnected"), 2)  # gone
    await _rules(uow, 2)
    await _rules(uow, 3, enabled=False, start=2)
    await _trackers(uow, 1)
    await _trackers(uow, 1, status="disconnected", start=1)
    [paused] = await _trackers(uow, 1, start=2)
    async with uow() as u:
        (await u.session.get(Tracker, paused)).plan_paused_at = NOW  # type: ignore[union-attr]
        await u.commit()
    # This month in Tokyo began at 15:00 UTC on 30 November.
    month = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
    await _launch(uow, "done", month)  # the first moment of the month: counted
    await _launch(uow, "failed", month + timedelta(days=1))  # started, whatever came of it
    await _launch(uow, "scheduled", month + timedelta(days=2))
    await _launch(uow, "done", month - timedelta(seconds=1))  # last month
    await _launch(uow, "rejected", month + timedelta(days=1))
    await _launch(uow, "expired", None)
    await _launch(uow, "proposed", None)

    used = await limits.usage(uow, FREE, FixedClock(NOW), USER)
    assert used.plan.code == "free"
    assert (used.ad_accounts, used.rules_on, used.launches_this_month, used.trackers) == (
        3, 2, 3, 1)


async def test_each_check_names_the_limit_the_use_and_the_allowance(
        uow: UnitOfWorkFactory) -> None:
    await _user(uow)
    await _accounts(uow, await _connection(uow), 2)
    await _rules(uow, 2)
    used = await limits.usage(uow, FREE, FixedClock(NOW), USER)
    free = used.plan
    assert limits.check(used, limits.RULES_ON) is None  # the 3rd rule fits
    assert limits.check(used, limits.RULES_ON, adding=2) == limits.LimitHit(
        "rules_on", 2, 3, free)
    assert limits.check(used, limits.AD_ACCOUNTS) == limits.LimitHit("ad_accounts", 2, 2, free)
    assert limits.check(used, limits.TRACKERS) is None
    assert limits.check(used, limits.TRACKERS, adding=2) == limits.LimitHit("trackers", 0, 1,
                                                                            free)
    assert limits.check(used, limits.LAUNCHES, adding=6) == limits.LimitHit(
        "launches_per_month", 0, 5, free)
    assert limits.check_cadence(free, 15) == limits.LimitHit("rule_every_minutes", 15, 60, free)
    assert limits.check_cadence(free, 60) is None
    assert limits.check_ads(free, 20) is None
    assert limits.check_ads(free, 21) == limits.LimitHit("ads_per_launch", 21, 20, free)
    agency = FREE.get("agency")
    assert agency is not None and limits.check_ads(agency, 10**6) is not None
    assert limits.check_cadence(agency, 15) is None
    unlimited = limits.Usage(LADDER.plans[2], 10**6, 10**6, 10**6, 10**6)
    assert all(limits.check(unlimited, name) is None for name in limits.COUNTED)


async def test_one_more_than_allowed_is_refused_until_a_grant_lifts_the_limit(
        uow: UnitOfWorkFactory) -> None:
    await _user(uow)
    clock = FixedClock(NOW)
    conn = await _connection(uow)
    await _accounts(uow, conn, 2)
    [third] = await _accounts(uow, conn, 1, tracked=False, start=2)
    rules = await _rules(uow, 3)
    [fourth] = await _rules(uow, 1, enabled=False, start=3)

    with pytest.raises(limits.LimitReached) as rule_hit:
        await service.set_enabled(uow, clock, USER, fourth, True, FREE)
    assert rule_hit.value.hit == limits.LimitHit("rules_on", 3, 3, FREE.free)
    with pytest.raises(limits.LimitReached) as account_hit:
        await set_tracking(uow, clock, USER, third, True, FREE)
    assert account_hit.value.hit == limits.LimitHit("ad_accounts", 2, 2, FREE.free)
    async with uow() as u:
        assert not (await u.rules.get(USER, fourth)).enabled  # type: ignore[union-attr]
        assert await u.connections.count_tracked(USER) == 2
    # Switching one off makes room; switching off is never refused.
    await service.set_enabled(uow, clock, USER, rules[0], False, FREE)
    await service.set_enabled(uow, clock, USER, fourth, True, FREE)

    await _grant(uow, clock, "pro")  # an operator's grant: the limits rise at once
    rule = await service.set_enabled(uow, clock, USER, rules[0], True, FREE)
    assert rule is not None and rule.enabled
    await set_tracking(uow, clock, USER, third, True, FREE)
    used = await limits.usage(uow, FREE, clock, USER)
    assert (used.plan.code, used.ad_accounts, used.rules_on) == ("pro", 3, 4)


async def test_a_tracker_and_a_launch_over_the_limit_are_refused(uow: UnitOfWorkFactory) -> None:
    await _user(uow)
    clock = FixedClock(NOW)
    fake = FakeTracker(campaigns=[campaign("10", "T")])
    await connect.add_tracker(uow, clock, USER, "keitaro", "One", "https://t.io", "key", "UTC",
                              "USD", fake.factory, FREE)
    with pytest.raises(limits.LimitReached) as hit:
        await connect.add_tracker(uow, clock, USER, "keitaro", "Two", "https://u.io", "key",
                                  "UTC", "USD", fake.factory, FREE)
    assert hit.value.hit == limits.LimitHit("trackers", 1, 1, FREE.free)
    async with uow() as u:
        assert len(await u.trackers.of_user(USER)) == 1

    # Launches: the 1st of the month fits Free on LADDER; more ads than a launch may have do not;
    # the 2nd launch this month does not. A refused launch stays proposed.
    big = await _launch(uow, "proposed", None, ads=4)
    with pytest.raises(limits.LimitReached) as ads:
        await launch_service.approve(uow, clock, USER, big, catalogue=LADDER)
    assert ads.value.hit == limits.LimitHit("ads_per_launch", 4, 3, LADDER.free)
    first = await _launch(uow, "proposed", None, ads=3)
    outcome, _ = await launch_service.approve(uow, clock, USER, first, catalogue=LADDER)
    assert outcome is launch_service.Outcome.APPROVED
    second = await _launch(uow, "proposed", None, ads=1)
    with pytest.raises(limits.LimitReached) as month:
        await launch_service.approve(uow, clock, USER, second, catalogue=LADDER)
    assert month.value.hit == limits.LimitHit("launches_per_month", 1, 1, LADDER.free)
    async with uow() as u:
        assert (await u.launches.get(USER, second)).state == "proposed"  # type: ignore[union-attr]


# Cadence ----------------------------------------------------------------------------------------


def test_a_plan_runs_a_faster_schedule_at_its_own_cadence() -> None:
    at = datetime(2026, 12, 3, 3, 7, tzinfo=UTC)
    assert next_due(Schedule(15), at, TZ) == datetime(2026, 12, 3, 3, 15, tzinfo=UTC)
    assert next_due(Schedule(15), at, TZ, 60) == datetime(2026, 12, 3, 4, 0, tzinfo=UTC)
    assert next_due(Schedule(60), at, TZ, 15) == datetime(2026, 12, 3, 4, 0, tzinfo=UTC)
    assert thinned(("09:00", "09:15", "09:59", "10:00", "12:30"), 60) == (
        "09:00", "10:00", "12:30")
    assert at_cadence(Schedule(None, ("09:00", "09:30")), 60).times == ("09:00",)
    assert fastest(Schedule(None, ("18:00", "09:00", "09:45"))) == 45
    assert fastest(Schedule(None, ("09:00",))) is None
    assert fastest(Schedule(30)) == 30


async def test_a_fast_rule_runs_hourly_on_free_and_every_15_minutes_once_paid(
        uow: UnitOfWorkFactory) -> None:
    await _user(uow)
    clock = FixedClock(NOW)
    draft = service.Draft(RULE, RuleSettings(schedule=Schedule(15)), "fast")
    rule = await service.save(uow, clock, USER, draft, FREE)
    on = await service.set_enabled(uow, clock, USER, rule.id, True, FREE)
    assert on is not None and on.due_at == NOW + timedelta(hours=1)  # not paused: slower
    # The scheduler's run keeps to the plan too.
    async with uow() as u:
        (await u.rules.get(USER, rule.id)).due_at = NOW  # type: ignore[union-attr]
        await u.commit()
    assert await engine.run_due(uow, clock, _NoChanges(), "w1", catalogue=FREE) == 1
    async with uow() as u:
        assert (await u.rules.get(USER, rule.id)).due_at == NOW + timedelta(hours=1)  # type: ignore[union-attr]
        await u.commit()
    await _grant(uow, clock, "pro")
    clock.set(NOW + timedelta(seconds=1))
    async with uow() as u:
        (await u.rules.get(USER, rule.id)).due_at = clock.now()  # type: ignore[union-attr]
        await u.commit()
    assert await engine.run_due(uow, clock, _NoChanges(), "w1", catalogue=FREE) == 1
    async with uow() as u:
        assert (await u.rules.get(USER, rule.id)).due_at == NOW + timedelta(minutes=15)  # type: ignore[union-attr]


class _NoChanges:
    """A changer that is never asked to change anything (the rules here match nothing)."""

    async def read(self, target: object) -> object:
        raise AssertionError("no objects in scope")

    async def write(self, target: object, change: object) -> object:
        raise AssertionError("no objects in scope")


# Applying a plan ---------------------------------------------------------------------------------


async def _counts(uow: UnitOfWorkFactory) -> tuple[int, int, int]:
    async with uow() as u:
        return tuple([int(await u.session.scalar(select(func.count()).select_from(m)) or 0)
                      for m in (AdAccount, Rule, Tracker)])  # type: ignore[return-value]


async def _claimed(uow: UnitOfWorkFactory, at: datetime) -> tuple[set[int], set[int], set[int]]:
    """What the sync, rules and tracker ticks would take now: account ids, rule ids, trackers."""
    async with uow() as u:
        jobs = await u.sync.claim("w", at, at + timedelta(minutes=5), 100)
        rules = await u.rules.claim_due("w", at, at + timedelta(minutes=5), 100)
        trackers = await u.trackers.claim("w", at, at + timedelta(minutes=5), 100)
    return {j.account_id for j in jobs}, {r.id for r in rules}, set(trackers)


async def test_going_down_pauses_the_newest_over_each_limit_and_deletes_nothing(
        uow: UnitOfWorkFactory) -> None:
    await _user(uow)
    clock = FixedClock(NOW - timedelta(days=1))
    charge = await _grant(uow, clock, "pro")
    accounts = await _accounts(uow, await _connection(uow), 5)
    [lost] = await _accounts(uow, await _connection(uow), 1, tracked=False, lost=True, start=9)
    [fast] = await _rules(uow, 1, every=15)  # faster than Free allows: runs slower, not paused
    rules = await _rules(uow, 5, start=1)
    trackers = await _trackers(uow, 3)
    assert (await enforce.apply_plan(uow, FREE, clock, USER)).paused == ()  # Pro: all fit
    before = await _counts(uow)

    clock.set(NOW)
    await account.refunded(uow, FREE, clock, charge, OPERATOR, "test")  # back to Free
    done = await enforce.apply_plan(uow, FREE, clock, USER)

    assert done.plan == "free" and done.restored == ()
    assert [(i.kind, i.id) for i in done.paused] == (
        [("ad_account", a) for a in accounts[:1:-1]]  # Free tracks 2: the 3 newest wait
        + [("rule", r) for r in rules[:1:-1]]  # Free runs 3 on: the 3 newest wait
        + [("tracker", t) for t in trackers[:0:-1]])  # Free pushes to 1: the 2 newest wait
    assert "Acc 4" in [i.name for i in done.paused]
    assert await _counts(uow) == before  # nothing deleted
    async with uow() as u:
        for acc_id in accounts:
            acc = await u.session.get(AdAccount, acc_id)
            assert acc is not None
            assert (acc.tracked, acc.plan_paused_at is not None) == (
                (True, False) if acc_id in accounts[:2] else (False, True))
        lost_row = await u.session.get(AdAccount, lost)
        assert lost_row is not None and lost_row.plan_paused_at is None  # not the plan's doing
        entitlement = await u.billing.entitlement(USER)
        assert entitlement is not None and entitlement.applied_plan == "free"
        [audit] = [a for a in await u.session.scalars(select(AuditEntry))
                   if a.action == "plan.applied" and a.details.get("plan") == "free"]
        assert audit.target_id == str(USER) and len(audit.details["paused"]) == 8
        assert audit.details["from"] == "pro"
    syncing, running, pushing = await _claimed(uow, NOW)
    assert syncing == set(accounts[:2])
    assert running == {fast, *rules[:2]}
    assert pushing == set(trackers[:1])
    # Pushing or pulling a paused tracker by hand is not claimed either.
    async with uow() as u:
        assert await u.trackers.claim("w", NOW, NOW + timedelta(minutes=5), 1,
                                      tracker_id=trackers[2], force=True) == []


async def test_going_up_restores_the_oldest_paused_first_within_the_limits(
        uow: UnitOfWorkFactory) -> None:
    await _user(uow)
    clock = FixedClock(NOW - timedelta(days=3))
    agency = await _grant(uow, clock, "agency", LADDER)
    accounts = await _accounts(uow, await _connection(uow), 6)
    rules = await _rules(uow, 4)
    await enforce.apply_plan(uow, LADDER, clock, USER)

    # Down to Pro (4 accounts, 3 rules): the 2 newest accounts and the newest rule wait.
    clock.set(NOW - timedelta(days=2))
    await account.refunded(uow, LADDER, clock, agency)
    pro = await _grant(uow, clock, "pro", LADDER)
    first = await enforce.apply_plan(uow, LADDER, clock, USER)
    assert [i.id for i in first.paused] == [accounts[5], accounts[4], rules[3]]
    # Down to Free (2, 1): 2 more accounts and 2 more rules wait, paused later.
    clock.set(NOW - timedelta(days=1))
    await account.refunded(uow, LADDER, clock, pro)
    second = await enforce.apply_plan(uow, LADDER, clock, USER)
    assert [i.id for i in second.paused] == [accounts[3], accounts[2], rules[2], rules[1]]

    # Up to Pro again: room for 2 accounts and 2 rules — those paused first come back first.
    clock.set(NOW)
    await _grant(uow, clock, "pro", LADDER)
    up = await enforce.apply_plan(uow, LADDER, clock, USER)
    assert up.paused == ()
    assert [i.id for i in up.restored] == [accounts[4], accounts[5], rules[3], rules[1]]
    async with uow() as u:
        assert await u.connections.count_tracked(USER) == 4
        assert await u.rules.count_enabled(USER) == 3
        back = await u.rules.get(USER, rules[3])
        assert back is not None and back.plan_paused_at is None and back.due_at is not None
        assert back.due_at > NOW
        waiting = await u.session.get(AdAccount, accounts[3])
        assert waiting is not None and waiting.plan_paused_at == NOW - timedelta(days=1)
    syncing, _, _ = await _claimed(uow, NOW + timedelta(minutes=1))
    assert syncing >= {accounts[4], accounts[5]}  # synced again at once

    # A limit lifted entirely brings back everything.
    await _grant(uow, clock, "agency", LADDER)
    top = await enforce.apply_plan(uow, LADDER, clock, USER)
    assert {i.id for i in top.restored} == {accounts[2], accounts[3], rules[2]}


async def test_applying_a_plan_twice_changes_nothing_the_second_time(
        uow: UnitOfWorkFactory) -> None:
    await _user(uow)
    clock = FixedClock(NOW)
    await _accounts(uow, await _connection(uow), 4)
    await _rules(uow, 2)
    await _trackers(uow, 2)
    once = await enforce.apply_plan(uow, FREE, clock, USER)
    assert len(once.paused) == 3
    twice = await enforce.apply_plan(uow, FREE, clock, USER)
    assert twice == enforce.Enforced("free", (), ())
    async with uow() as u:
        applied = [a for a in await u.session.scalars(select(AuditEntry))
                   if a.action == "plan.applied"]
    assert len(applied) == 1
    used = await limits.usage(uow, FREE, clock, USER)
    assert (used.ad_accounts, used.rules_on, used.trackers) == (2, 2, 1)


async def test_a_plan_paused_item_switched_on_by_hand_is_checked_like_any_other(
        uow: UnitOfWorkFactory) -> None:
    await _user(uow)
    clock = FixedClock(NOW)
    rules = await _rules(uow, 4)
    trackers = await _trackers(uow, 2)
    await enforce.apply_plan(uow, FREE, clock, USER)  # the newest rule and tracker wait
    with pytest.raises(limits.LimitReached):
        await service.set_enabled(uow, clock, USER, rules[3], True, FREE)
    with pytest.raises(limits.LimitReached):
        await connect.resume_tracker(uow, FREE, clock, USER, trackers[1])
    await service.set_enabled(uow, clock, USER, rules[0], False, FREE)
    on = await service.set_enabled(uow, clock, USER, rules[3], True, FREE)
    assert on is not None and on.enabled and on.plan_paused_at is None
    await connect.disconnect_tracker(uow, clock, USER, trackers[0])
    resumed = await connect.resume_tracker(uow, FREE, clock, USER, trackers[1])
    assert resumed.plan_paused_at is None


async def test_two_instances_applying_one_plan_at_once_pause_each_item_once(
        uow: UnitOfWorkFactory) -> None:
    await _user(uow)
    clock = FixedClock(NOW)
    await _accounts(uow, await _connection(uow), 5)
    await _rules(uow, 5)
    both = await asyncio.gather(enforce.apply_plan(uow, FREE, clock, USER),
                                enforce.apply_plan(uow, FREE, clock, USER))
    # The entitlement lock lets one of them pause; the other finds everything within limits.
    assert sorted(len(done.paused) for done in both) == [0, 5]
    used = await limits.usage(uow, FREE, clock, USER)
    assert (used.ad_accounts, used.rules_on) == (2, 3)
    async with uow() as u:
        applied = [a for a in await u.session.scalars(select(AuditEntry))
                   if a.action == "plan.applied"]
    assert len(applied) == 1
