"""The notifier against the real sandbox Bot API server: exactly-once probing, order, pacing."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.i18n import make_i18n
from bot.notifier import Notifier
from bot.pacing import PacingMiddleware
from bot.sent_ledger import SentLedger, delivering, forget_old
from core.clock import SystemClock
from core.users import SignUp, mark_returned, register_user
from sandbox.telegram.server import RunningServer, start_server
from sandbox.telegram.state import StoredMessage
from storage.db import session_factory
from storage.models import OutboxMessage, SentMessage
from storage.uow import UnitOfWorkFactory

USER = 501


@dataclass
class World:
    """A migrated database, a sandbox server, a paced Bot and a Notifier wired together."""

    uow: UnitOfWorkFactory
    server: RunningServer
    bot: Bot  # as the service's: paced, each message it makes recorded (bot/sent_ledger.py)
    notifier: Notifier
    clock: SystemClock
    lost: Bot  # a process that died before it could record what it sent

    def chat(self, user_id: int = USER) -> list[StoredMessage]:
        """Every message of the user's chat in the sandbox."""
        return self.server.engine.state.chats.get(user_id, [])

    def bot_texts(self, user_id: int = USER) -> list[str]:
        """Texts of the bot's messages in the chat, in order."""
        return [m.text or "" for m in self.chat(user_id) if m.from_bot]

    async def add_user(self, user_id: int) -> None:
        """A signed-up user, known to the sandbox too."""
        form = SignUp(user_id, "U", None, None, "en", "UTC", None, False)
        await register_user(self.uow, self.clock, form)
        self.server.engine.state.ensure_user(user_id, first_name="U")

    async def enqueue(self, key: str, text: str, user_id: int = USER) -> int:
        """Queue a text alert; returns its outbox id."""
        async with self.uow() as u:
            await u.outbox.enqueue(user_id, "text", key, {"text": text}, self.clock.now())
            await u.commit()
            return int(
                await u.session.scalar(
                    select(OutboxMessage.id).where(OutboxMessage.dedup_key == key)
                )
            )

    async def row(self, outbox_id: int) -> OutboxMessage:
        """The outbox row as stored now."""
        async with self.uow() as u:
            row = await u.session.get(OutboxMessage, outbox_id)
            assert row is not None
            return row

    async def happened_before_the_crash(self) -> None:
        """Date everything sent so far ten minutes back: the crash (3 minutes ago) came after."""
        shift = timedelta(minutes=10)
        async with self.uow() as u:
            for sent in await u.session.scalars(select(SentMessage)):
                sent.asked_at, sent.answered_at = sent.asked_at - shift, sent.answered_at - shift
            for alert in await u.session.scalars(
                select(OutboxMessage).where(OutboxMessage.sent_at.is_not(None))
            ):
                alert.sent_at = alert.sent_at - shift if alert.sent_at else None
            await u.commit()

    async def made_during_the_lost_send(self, message_id: int, user_id: int = USER) -> None:
        """Date a recorded message inside the crashed send's lease (it began 3 minutes ago)."""
        when = self.clock.now() - timedelta(minutes=3) + timedelta(seconds=1)
        async with self.uow() as u:
            await u.session.execute(
                update(SentMessage)
                .where(SentMessage.user_id == user_id, SentMessage.message_id == message_id)
                .values(asked_at=when, answered_at=when)
            )
            await u.commit()

    async def crashed_mid_send(self, outbox_id: int, ago: timedelta = timedelta(minutes=3)) -> None:
        """Make the row look like a dead process leased it and started sending it `ago`."""
        started = self.clock.now() - ago
        async with self.uow() as u:
            await u.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == outbox_id)
                .values(sending_at=started, lease_until=started + timedelta(minutes=2), attempts=1)
            )
            await u.commit()


@pytest.fixture
async def world(engine: AsyncEngine) -> AsyncIterator[World]:
    server = await start_server()
    uow = UnitOfWorkFactory(session_factory(engine), None)
    clock = SystemClock()
    session = AiohttpSession(api=TelegramAPIServer.from_base(server.url))
    session.middleware(PacingMiddleware())
    session.middleware(SentLedger(uow, clock))
    bot = Bot(
        server.token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML)
    )
    lost = Bot(server.token, session=AiohttpSession(api=TelegramAPIServer.from_base(server.url)))
    w = World(uow, server, bot, Notifier(uow, clock, bot, make_i18n()), clock, lost)
    await w.add_user(USER)
    yield w
    await session.close()
    await lost.session.close()
    await server.stop()


def probes(w: World) -> list[tuple[str, str]]:
    """(message_id, description) of every editMessageText the bot made."""
    return [
        (str(r["params"].get("message_id")), str(r.get("description", "ok")))
        for r in w.server.engine.state.requests
        if r["method"] == "editMessageText"
    ]


def refusals(w: World, code: int | None = None) -> list[dict[str, object]]:
    """What the sandbox refused (optionally one error code)."""
    return [r for r in w.server.engine.state.refusals if code is None or r["error_code"] == code]


async def test_sends_in_order_and_records_message_ids(world: World) -> None:
    ids = [await world.enqueue(f"k{n}", f"alert {n} <b>&") for n in range(4)]
    assert await world.notifier.tick() == 4
    assert world.bot_texts() == [f"alert {n} <b>&" for n in range(4)]  # escaped, in order
    sent = {m.text: m.message_id for m in world.chat()}
    for n, outbox_id in enumerate(ids):
        row = await world.row(outbox_id)
        assert row.sent_at is not None and row.sending_at is not None
        assert row.tg_message_id == sent[f"alert {n} <b>&"]
    assert refusals(world) == []
    assert await world.notifier.tick() == 0  # nothing twice


async def test_in_doubt_alert_already_delivered_is_found_not_resent(world: World) -> None:
    await world.enqueue("a", "first")
    await world.notifier.tick()
    user = world.server.engine.state.users[USER]
    world.server.engine.user_sends(user, "a user's message")  # id 2: "can't be edited"
    await world.happened_before_the_crash()
    doubt = await world.enqueue("b", "second")
    await world.crashed_mid_send(doubt)
    # The dead process's sendMessage reached Telegram (id 3) before it could commit sent_at.
    await world.lost.send_message(USER, "second")
    assert await world.notifier.tick() == 1
    assert world.bot_texts() == ["first", "second"]
    row = await world.row(doubt)
    assert row.sent_at is not None and row.tg_message_id == 3
    assert all(m.edit_count == 0 for m in world.chat())
    made = probes(world)
    assert [p[0] for p in made] == ["2", "3"]
    assert made[0][1] == "Bad Request: message can't be edited"
    assert made[1][1].startswith("Bad Request: message is not modified")


async def test_in_doubt_alert_never_delivered_is_sent_once(world: World) -> None:
    await world.enqueue("a", "first")
    await world.notifier.tick()
    await world.happened_before_the_crash()
    doubt = await world.enqueue("b", "second")
    await world.crashed_mid_send(doubt)  # crashed before the request left
    assert await world.notifier.tick() == 1
    assert world.bot_texts() == ["first", "second"]
    assert (await world.row(doubt)).tg_message_id == 2
    assert probes(world) == [("2", "Bad Request: message to edit not found")]


async def test_in_doubt_copy_whose_text_changed_since_is_updated_not_sent_twice(
    world: World,
) -> None:
    """The re-rendered alert differs from the copy the dead process delivered (the user switched
    language, an approval expired meanwhile): the edit that succeeds is on that copy, which now
    says the current text; a second copy must not follow it."""
    await world.enqueue("a", "first")
    await world.notifier.tick()
    await world.happened_before_the_crash()
    doubt = await world.enqueue("b", "second, as it reads now")
    await world.crashed_mid_send(doubt)
    await world.lost.send_message(USER, "second, as it read then")  # id 2: the lost copy
    assert await world.notifier.tick() == 1
    assert world.bot_texts() == ["first", "second, as it reads now"]
    assert (await world.row(doubt)).tg_message_id == 2


async def test_probe_without_any_known_id_starts_at_the_first_message(world: World) -> None:
    doubt = await world.enqueue("b", "only one")
    await world.crashed_mid_send(doubt)
    await world.lost.send_message(USER, "only one")
    assert await world.notifier.tick() == 1
    assert world.bot_texts() == ["only one"]
    assert (await world.row(doubt)).tg_message_id == 1


async def test_probe_never_edits_our_other_alerts(world: World) -> None:
    await world.enqueue("a", "first")
    await world.notifier.tick()
    await world.happened_before_the_crash()
    doubt = await world.enqueue("b", "second")
    await world.crashed_mid_send(doubt)
    # A later alert of the same chat was delivered after the in-doubt send began (id 2).
    later = await world.enqueue("c", "third")
    async with world.uow() as u:
        await u.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == doubt)
            .values(next_attempt_at=world.clock.now() + timedelta(hours=1))
        )
        await u.commit()
    assert await world.notifier.tick() == 1
    assert (await world.row(later)).tg_message_id == 2
    await world.made_during_the_lost_send(2)
    async with world.uow() as u:
        await u.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == doubt)
            .values(next_attempt_at=world.clock.now())
        )
        await u.commit()
    assert await world.notifier.tick() == 1
    assert world.bot_texts() == ["first", "third", "second"]
    assert all(m.edit_count == 0 for m in world.chat())  # message 2 was skipped, not probed
    assert [p[0] for p in probes(world)] == ["3"]


async def test_probe_never_edits_the_bots_replies_and_finds_the_copy(world: World) -> None:
    await world.enqueue("a", "first")
    await world.notifier.tick()  # id 1: the last message known before the crash
    await world.happened_before_the_crash()
    doubt = await world.enqueue("b", "second")
    await world.crashed_mid_send(doubt)
    user = world.server.engine.state.users[USER]
    world.server.engine.user_sends(user, "/help")  # id 2
    await world.bot.send_message(USER, "help text")  # id 3: another instance's reply
    await world.made_during_the_lost_send(3)
    await world.lost.send_message(USER, "second")  # id 4: the dead process's copy
    world.server.engine.user_sends(user, "/help")  # id 5, and its reply, id 6
    await world.bot.send_message(USER, "help text")
    assert await world.notifier.tick() == 1
    assert world.bot_texts() == ["first", "help text", "second", "help text"]
    assert all(m.edit_count == 0 for m in world.chat())
    assert (await world.row(doubt)).tg_message_id == 4
    assert [p[0] for p in probes(world)] == ["2", "4"]  # the reply, id 3, was skipped


async def test_no_copy_stops_before_messages_made_after_the_lost_sends_lease(
    world: World,
) -> None:
    await world.enqueue("a", "first")
    await world.notifier.tick()
    await world.happened_before_the_crash()
    doubt = await world.enqueue("b", "second")
    await world.crashed_mid_send(doubt)  # 3 minutes ago, with a lease of 2: it never left
    user = world.server.engine.state.users[USER]
    world.server.engine.user_sends(user, "/help")  # id 2
    await world.bot.send_message(USER, "help text")  # id 3, recorded: made after the lease
    # Id 4: another instance's reply, not recorded yet (its recording is under way).
    await world.lost.send_message(USER, "help text")
    assert await world.notifier.tick() == 1
    assert world.bot_texts() == ["first", "help text", "help text", "second"]
    assert all(m.edit_count == 0 for m in world.chat())  # id 4 was not turned into the alert
    assert [p[0] for p in probes(world)] == ["2"]


async def test_a_copy_its_sender_recorded_is_taken_without_probing(world: World) -> None:
    doubt = await world.enqueue("b", "only one")
    await world.crashed_mid_send(doubt)
    # The dead process's send was recorded as this alert's, then it died before marking it sent.
    with delivering(doubt):
        await world.bot.send_message(USER, "only one")
    assert await world.notifier.tick() == 1
    assert world.bot_texts() == ["only one"]
    assert (await world.row(doubt)).tg_message_id == 1
    assert probes(world) == []


async def test_old_records_are_forgotten_but_each_chats_newest(world: World) -> None:
    await world.add_user(USER + 1)
    for user_id in (USER, USER, USER + 1):
        await world.bot.send_message(user_id, "hi")
    async with world.uow() as u:  # more than two days ago
        await u.session.execute(update(SentMessage).values(
            asked_at=world.clock.now() - timedelta(days=2, hours=1),
            answered_at=world.clock.now() - timedelta(days=2, hours=1)))
        await u.commit()
    await world.bot.send_message(USER + 1, "yesterday")
    async with world.uow() as u:
        await u.session.execute(update(SentMessage).where(SentMessage.message_id == 2).where(
            SentMessage.user_id == USER + 1).values(
            asked_at=world.clock.now() - timedelta(days=1),
            answered_at=world.clock.now() - timedelta(days=1)))
        await u.commit()
    await world.bot.send_message(USER + 1, "today")
    assert await forget_old(world.uow, world.clock) == 2
    async with world.uow() as u:
        kept = (await u.session.execute(
            select(SentMessage.user_id, SentMessage.message_id)
            .order_by(SentMessage.user_id, SentMessage.message_id)
        )).all()
    # Each chat's newest stays, where a probe in a chat quiet for longer would start.
    assert [tuple(r) for r in kept] == [(USER, 2), (USER + 1, 2), (USER + 1, 3)]


async def test_alerts_for_a_user_who_blocked_the_bot_wait_for_their_return(world: World) -> None:
    world.server.engine.state.users[USER].blocked = True
    old = await world.enqueue("old", "queued four days ago")
    fresh = await world.enqueue("fresh", "queued just now")
    async with world.uow() as u:
        await u.session.execute(update(OutboxMessage).where(OutboxMessage.id == old)
                                .values(created_at=world.clock.now() - timedelta(days=4)))
        await u.commit()
    assert await world.notifier.tick() == 0
    row = await world.row(old)  # refused with a 403: nothing delivered, nothing given up
    assert (row.sent_at, row.sending_at, row.failed_at) == (None, None, None)
    async with world.uow() as u:
        user = await u.users.get(USER)
        assert user is not None and user.blocked_at is not None
    # While blocked, the notifier does not try their alerts one by one.
    assert await world.notifier.tick() == 0
    assert [(await world.row(i)).attempts for i in (old, fresh)] == [1, 0]

    world.server.engine.state.users[USER].blocked = False
    await mark_returned(world.uow, world.clock, USER)
    assert await world.notifier.tick() == 1
    assert world.bot_texts() == ["queued just now"]  # days-old news is given up
    assert (await world.row(old)).failed_at is not None


async def test_a_refused_message_is_given_up_and_others_still_go(world: World) -> None:
    # A chat Telegram does not know: "400 Bad Request: chat not found".
    await register_user(world.uow, world.clock, SignUp(502, "U", None, None, "en", "UTC", None,
                                                       False))
    bad = await world.enqueue("bad", "to nowhere", user_id=502)
    good = await world.enqueue("good", "fine")
    assert await world.notifier.tick() == 1
    row = await world.row(bad)
    assert row.failed_at is not None and row.sending_at is None and row.sent_at is None
    assert "chat not found" in (row.last_error or "")
    assert (await world.row(good)).sent_at is not None and world.bot_texts() == ["fine"]


async def test_lost_lease_sends_nothing(world: World) -> None:
    outbox_id = await world.enqueue("a", "once")
    now = world.clock.now()
    async with world.uow() as u:
        [row] = await u.outbox.claim(now, now + timedelta(minutes=2), 10, one_per_user=True)
        await u.commit()
    async with world.uow() as u:  # meanwhile another instance took it over
        assert await u.outbox.mark_sending(outbox_id, row.lease_until, now, now) is True
        assert await u.outbox.mark_sending(outbox_id, row.lease_until, now, now) is False
        await u.commit()


async def test_concurrent_chats_at_the_global_rate_without_429(world: World) -> None:
    server = world.server.engine
    server.configure(global_rate=60.0)
    session = AiohttpSession(api=TelegramAPIServer.from_base(world.server.url))
    session.middleware(PacingMiddleware(global_rate=59.0))
    bot = Bot(
        world.server.token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML)
    )
    notifier = Notifier(world.uow, world.clock, bot, make_i18n())
    users = list(range(1000, 1060))
    for uid in users:
        await world.add_user(uid)
    for n in range(240):
        await world.enqueue(f"m{n}", f"alert {n}", users[n % len(users)])
    started = time.monotonic()
    assert await notifier.tick() == 240
    elapsed = time.monotonic() - started
    await session.close()
    assert refusals(world) == []
    for n, uid in enumerate(users):
        assert world.bot_texts(uid) == [f"alert {k}" for k in range(n, 240, len(users))]
    # Spaced, not bursting through the server's bucket (how close to the limit it gets is
    # measured by `python -m bench.alerts`, not asserted here).
    assert 240 / elapsed <= 59.5
