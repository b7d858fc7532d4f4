"""Digests per chat per tick, "Approve all" / "Reject all", and "Run now", on SQLite and
PostgreSQL (TikTok replaced by the engine tests' in-memory changer; the sandbox and e2e tests
drive the same code through Telegram and the TikTok emulator)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.i18n import make_i18n
from bot.views import alerts as alert_views
from bot.views import rule_digest
from core.clock import FixedClock
from core.rules import approvals, digests, engine
from core.rules import tick as tick_module
from core.rules.acting import Change
from core.rules.run_now import Outcome as RunOutcome
from core.rules.run_now import run_now
from core.rules.service import Draft, save, set_enabled
from core.rules.settings import RuleSettings, Scope
from storage.db import session_factory
from storage.models import OutboxMessage, Rule, RuleAction, RuleRun
from storage.uow import UnitOfWorkFactory
from tests.unit.test_rules_engine import NOW, USER, FakeChanger, _rows, _world


@pytest.fixture
def uow(engine: AsyncEngine) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(session_factory(engine), None)


STOP_LOSS = "ad: spend >= 20 and conversions = 0 in today -> pause"
RAISE = "adgroup: spend > 50 in today -> budget +20%"


async def _rule(
    uow: UnitOfWorkFactory, text: str, name: str, ids: tuple[str, ...] = (), enabled: bool = True
) -> Rule:
    scope = Scope(match="ids", values=ids) if ids else Scope()
    rule = await save(uow, FixedClock(NOW), USER, Draft(text, RuleSettings(scope=scope), name))
    if enabled:
        await set_enabled(uow, FixedClock(NOW), USER, rule.id, True)
        async with uow() as u:
            await u.session.execute(update(Rule).where(Rule.id == rule.id).values(due_at=NOW))
            await u.commit()
    return rule


async def _deliver(uow: UnitOfWorkFactory, now=NOW) -> list[OutboxMessage]:  # type: ignore[no-untyped-def]
    """What the notifier does before a send: lease one alert per chat, mark it sending and
    merge its tick into it; the leaders."""
    async with uow() as u:
        leaders = await u.outbox.claim(now, now + timedelta(minutes=2), 10, one_per_user=True)
        await u.commit()
    for m in leaders:
        assert m.lease_until is not None
        async with uow() as u:
            assert await u.outbox.mark_sending(m.id, m.lease_until, now, now + timedelta(minutes=2))
            await u.outbox.absorb(m, now)
            await u.commit()
    return leaders


async def _screen(uow: UnitOfWorkFactory, outbox_id: int, now=NOW):  # type: ignore[no-untyped-def]
    i18n = make_i18n()
    async with uow() as u:
        with i18n.context(), i18n.use_locale("en"):
            return await alert_views.render(u, "rule_action", USER, {}, now, outbox_id=outbox_id)


def _buttons(screen) -> list[str]:  # type: ignore[no-untyped-def]
    return [b.text for row in screen[1].inline_keyboard for b in row]


async def test_five_rules_in_one_tick_make_one_message_grouped_by_rule(
    uow: UnitOfWorkFactory,
) -> None:
    await _world(uow, {f"a{i:02}": ("25", 0) for i in range(15)})
    for n in range(5):
        await _rule(uow, STOP_LOSS, f"Rule {n}", tuple(f"a{i:02}" for i in range(3 * n, 3 * n + 3)))
    changer = FakeChanger()
    assert await engine.run_due(uow, FixedClock(NOW), changer, "w1") == 5
    assert len(changer.writes) == 15
    queued = await _rows(uow, OutboxMessage)
    # Each run still writes its own alerts (exactly once, with the run); the tick only
    # names their batch and, once every rule ran, makes them due together.
    assert len({m.batch for m in queued}) == 1 and len(queued) == 15
    assert all(m.next_attempt_at == NOW for m in queued)
    [leader] = await _deliver(uow)
    assert await _deliver(uow) == []  # the others travel with the leader, never alone
    merged = await _rows(uow, OutboxMessage)
    assert sorted(m.merged_into or m.id for m in merged) == [leader.id] * 15
    text, markup = await _screen(uow, leader.id)
    assert "15 objects from 5 rules" in text and "changed 15" in text
    assert [n for n in range(5) if f"Rule {n}" in text] == [0, 1, 2, 3]  # page 1: 10 objects
    assert len(text) < 4096 and len(_buttons((text, markup))) <= 30
    assert "▶" in _buttons((text, markup)) and "↩️ Ad a09" in _buttons((text, markup))
    i18n = make_i18n()
    async with uow() as u:
        with i18n.context(), i18n.use_locale("en"):
            second = await rule_digest.render(u, USER, leader.id, NOW, page=1)
    assert second is not None
    assert [n for n in range(5) if f"Rule {n}" in second[0]] == [3, 4]  # headers repeated
    assert "↩️ Ad a14" in _buttons(second) and "◀" in _buttons(second)
    # A decision made elsewhere (the dashboard) redraws the page holding its action.
    [a14] = [r.id for r in await _rows(uow, RuleAction) if r.object_name == "Ad a14"]
    async with uow() as u:
        with i18n.context(), i18n.use_locale("en"):
            focused = await alert_views.render(u, "rule_action", USER, {}, NOW,
                                               outbox_id=leader.id, focus=a14)
    assert focused is not None and focused[0] == second[0]
    # The leader's outcome is theirs too.
    async with uow() as u:
        await u.outbox.settle(leader.id, sent_at=NOW, tg_message_id=5)
        await u.commit()
    assert all(m.sent_at == NOW for m in await _rows(uow, OutboxMessage))


async def test_a_tick_cut_short_still_delivers_and_quiet_hours_hold_all_but_approvals(
    uow: UnitOfWorkFactory,
) -> None:
    await _world(uow, {"a1": ("25", 0), "g1": ("60", 0)})
    async with uow() as u:
        user = await u.users.get(USER)
        assert user is not None
        user.quiet_from, user.quiet_to = 14, 8  # 15:00 in New York now: quiet until 08:00
        await u.commit()
    tick = engine.Tick.start(NOW)
    async with uow() as u:
        await engine.enqueue_alert(u, USER, "rule_action", "k1", {"action_id": 1}, NOW, False, tick)
        await engine.enqueue_alert(u, USER, "rule_action", "k2", {"action_id": 2}, NOW, True, tick)
        await u.commit()
    quiet, urgent = await _rows(uow, OutboxMessage)
    assert urgent.next_attempt_at == tick.held_until  # held only until the tick is over
    assert quiet.next_attempt_at > NOW + timedelta(hours=10)  # the morning
    # A crash before the release: the approval still goes once the hold runs out.
    assert await _deliver(uow) == []
    [alone] = await _deliver(uow, tick.held_until)
    assert alone.id == urgent.id
    assert (await _rows(uow, OutboxMessage))[0].merged_into is None  # still held for morning


async def test_an_in_doubt_digest_keeps_the_alerts_it_had(uow: UnitOfWorkFactory) -> None:
    await _world(uow, {"a1": ("25", 0)})
    tick = engine.Tick.start(NOW)
    async with uow() as u:
        for n in range(3):
            await engine.enqueue_alert(
                u, USER, "rule_action", f"k{n}", {"action_id": n}, NOW, True, tick
            )
        await u.commit()
    await tick.release(uow, FixedClock(NOW))
    async with uow() as u:
        [first] = await u.outbox.claim(NOW, NOW, 1, one_per_user=True)
        await u.commit()
    first.sending_at = NOW  # as claimed after a crash mid-send
    async with uow() as u:
        assert await u.outbox.absorb(first, NOW) == []
        await u.commit()


async def _approvals(uow: UnitOfWorkFactory, n: int) -> tuple[FakeChanger, int]:
    """A tick that asks to raise `n` ad groups' budgets; (changer, the digest's alert id)."""
    await _world(uow, {f"g{i:02}": ("60", 0) for i in range(n)}, level="adgroup")
    await _rule(uow, RAISE, "Scale")
    changer = FakeChanger()
    await engine.run_due(uow, FixedClock(NOW), changer, "w1")
    assert changer.writes == []
    [leader] = await _deliver(uow)
    return changer, leader.id


async def test_approve_all_changes_each_once_and_each_undoes_alone(uow: UnitOfWorkFactory) -> None:
    changer, digest = await _approvals(uow, 12)
    text, markup = await _screen(uow, digest)
    assert "✅ Approve all (12)" in _buttons((text, markup)) and len(_buttons((text, markup))) <= 30
    clock = FixedClock(NOW + timedelta(minutes=1))
    seen: list[tuple[int, int]] = []

    async def progress(done: int, total: int) -> None:
        seen.append((done, total))

    tally = await digests.decide_all(uow, clock, changer, USER, digest, True, progress)
    assert tally is not None and dict(tally.counts) == {"applied": 12}
    assert seen[-1] == (12, 12)
    assert sorted(o for o, _c in changer.writes) == [f"g{i:02}" for i in range(12)]
    assert {c for _o, c in changer.writes} == {Change("budget", Decimal("120.00"))}
    # A double tap: every approval is already decided, nothing is changed again.
    again = await digests.decide_all(uow, clock, changer, USER, digest, True)
    assert again is not None and dict(again.counts) == {"decided": 12}
    assert len(changer.writes) == 12
    # Someone else's press finds nothing.
    assert await digests.decide_all(uow, clock, changer, USER + 1, digest, True) is None
    # Each change still has its own Undo.
    first = (await _rows(uow, RuleAction))[0]
    done = await approvals.undo(uow, clock, changer, USER, first.id)
    assert done.outcome is approvals.Outcome.UNDONE
    assert changer.writes[-1] == (first.object_id, Change("budget", Decimal("100")))
    states = sorted(r.state for r in await _rows(uow, RuleAction))
    assert states == ["applied"] * 11 + ["undone"]
    text, _markup = await _screen(uow, digest, NOW + timedelta(minutes=2))
    assert "changed 11" in text and "undone 1" in text


async def test_reject_all_reports_what_was_decided_or_expired_before(
    uow: UnitOfWorkFactory,
) -> None:
    changer, digest = await _approvals(uow, 4)
    one, two, *_ = await _rows(uow, RuleAction)
    clock = FixedClock(NOW + timedelta(minutes=1))
    await approvals.approve(uow, clock, changer, USER, one.id)
    async with uow() as u:
        await u.session.execute(
            update(RuleAction).where(RuleAction.id == two.id).values(expires_at=NOW)
        )
        await u.commit()
    tally = await digests.decide_all(uow, clock, None, USER, digest, False)
    assert tally is not None
    assert dict(tally.counts) == {"rejected": 2, "decided": 1, "expired": 1}
    assert len(changer.writes) == 1


async def test_run_now_runs_once_per_screen_and_waits_for_a_scheduled_run(
    uow: UnitOfWorkFactory,
) -> None:
    await _world(uow, {"a1": ("25", 0), "a2": ("1", 0)})
    rule = await _rule(uow, STOP_LOSS, "Stop", enabled=False)  # a new rule starts off
    changer = FakeChanger()
    clock = FixedClock(NOW + timedelta(seconds=30))
    drawn = NOW
    first = await run_now(uow, clock, changer, USER, rule.id, "chat", drawn)
    assert first.outcome is RunOutcome.RAN and first.run is not None
    assert (first.run.checked, first.run.matched, first.run.acted) == (2, 1, 1)
    assert changer.writes == [("a1", Change("status", "DISABLE"))]
    # A double tap on the same screen shows the same run; nothing runs twice.
    second = await run_now(uow, clock, changer, USER, rule.id, "chat", drawn)
    assert second.run is not None and second.run.id == first.run.id
    assert len(await _rows(uow, RuleRun)) == 1 and len(changer.writes) == 1
    # Not someone else's rule.
    assert (await run_now(uow, clock, changer, USER + 1, rule.id, "chat")).outcome is (
        RunOutcome.GONE
    )
    # While a scheduled run holds the rule, a press does not run it alongside.
    async with uow() as u:
        await u.session.execute(
            update(Rule).values(lease_owner="w1", lease_until=NOW + timedelta(minutes=10))
        )
        await u.commit()
    busy = await run_now(uow, clock, changer, USER, rule.id, "chat", NOW + timedelta(seconds=20))
    assert busy.outcome is RunOutcome.BUSY
    # Its alert went out through the outbox, due now.
    [alert] = await _rows(uow, OutboxMessage)
    assert alert.batch is not None and alert.next_attempt_at == clock.now()
    async with uow() as u:
        assert (await u.session.scalar(select(Rule))).enabled is False


def test_a_ticks_alerts_are_held_no_longer_than_its_rules_lease() -> None:
    # A crashed tick's alerts go out once its rules are another worker's (RULES_LEASE_SECONDS),
    # and never later than TICK_HOLD however long the lease.
    assert engine.Tick.start(NOW).held_until == NOW + tick_module.TICK_HOLD
    assert engine.Tick.start(NOW, timedelta(seconds=8)).held_until == NOW + timedelta(seconds=8)
    assert engine.Tick.start(NOW, timedelta(hours=1)).held_until == NOW + tick_module.TICK_HOLD
