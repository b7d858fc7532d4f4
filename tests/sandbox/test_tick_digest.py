"""One tick's rule alerts to a chat reach it as one Telegram message, exactly once even when the
process dies between Telegram accepting the digest and our recording it (the sandbox Bot API
server behind the real notifier)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from core.rules import engine
from storage.models import AdAccount, OutboxMessage, Rule, RuleAction, TikTokConnection
from tests.sandbox import test_notifier
from tests.sandbox.test_notifier import USER, World

world = test_notifier.world  # the notifier's fixture: a database, the sandbox and a Notifier


async def _tick_of_alerts(w: World, rules: int, each: int) -> list[int]:
    """`rules` rules that each paused `each` ads in one tick; the tick's outbox ids."""
    now = w.clock.now()
    tick = engine.Tick.start(now)
    async with w.uow() as u:
        conn = TikTokConnection(user_id=USER, display_name="me", status="active")
        u.session.add(conn)
        await u.session.flush()
        acc = AdAccount(
            connection_id=conn.id,
            advertiser_id="adv1",
            name="Shop",
            currency="USD",
            time_zone="UTC",
            fresh_as_of=now,
        )
        u.session.add(acc)
        await u.session.flush()
        for r in range(rules):
            text = "ad: spend >= 20 in today -> pause"
            rule = Rule(user_id=USER, name=f"Stop {r}", text=text, level="ad", settings={})
            u.session.add(rule)
            await u.session.flush()
            for n in range(each):
                action = RuleAction(
                    key=f"{rule.id}:{n}",
                    rule_id=rule.id,
                    user_id=USER,
                    ad_account_id=acc.id,
                    level="ad",
                    object_id=f"{r}{n}",
                    object_name=f"Ad {r}-{n}",
                    kind="pause",
                    state="applied",
                    params={},
                    trigger={"rule": text},
                    before={"status": "ENABLE"},
                    after={"status": "DISABLE"},
                    created_at=now,
                    applied_at=now,
                    undo_until=now + timedelta(hours=24),
                )
                u.session.add(action)
                await u.session.flush()
                await engine.enqueue_alert(
                    u,
                    USER,
                    "rule_action",
                    f"rule-action:{action.id}",
                    {"action_id": action.id},
                    now,
                    False,
                    tick,
                )
        await u.commit()
    await tick.release(w.uow, w.clock)
    async with w.uow() as u:
        return list(await u.session.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id)))


async def test_five_rules_three_objects_each_arrive_as_one_message(world: World) -> None:
    ids = await _tick_of_alerts(world, 5, 3)
    assert len(ids) == 15
    assert await world.notifier.tick() == 1
    [text] = world.bot_texts()
    assert "15 objects from 5 rules" in text and "changed 15" in text
    [message] = [m for m in world.chat() if m.from_bot]
    rows = [await world.row(i) for i in ids]
    assert all(r.sent_at is not None for r in rows)
    assert rows[0].tg_message_id == message.message_id
    assert await world.notifier.tick() == 0  # nothing twice


async def test_a_digest_delivered_before_a_crash_is_found_not_sent_again(world: World) -> None:
    first, *others = await _tick_of_alerts(world, 2, 3)
    assert await world.notifier.tick() == 1
    # The process died after Telegram took the digest, before it recorded that: the leader is
    # in doubt, its merged alerts wait with it (never claimed on their own).
    started = world.clock.now() - timedelta(minutes=3)
    async with world.uow() as u:
        await u.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_([first, *others]))
            .values(sent_at=None, tg_message_id=None)
        )
        await u.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == first)
            .values(sending_at=started, lease_until=started + timedelta(minutes=2))
        )
        await u.commit()
    assert await world.notifier.tick() == 1  # recorded, not resent
    assert len(world.bot_texts()) == 1
    rows = [await world.row(i) for i in (first, *others)]
    assert all(r.sent_at is not None for r in rows)
    assert all(r.merged_into == first for r in rows[1:])
