"""The copies of user rows and conversation state kept between updates never outlive a change:
in one instance (SQLite, PostgreSQL) and across two sharing PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aiogram.fsm.storage.base import StorageKey
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.fsm_storage import DatabaseStorage
from bot.states import SettingsStates
from core.clock import FixedClock
from core.privacy import erase, rights
from core.users import SignUp, get_user, mark_blocked, register_user, set_language, set_time_zone
from storage.change_bus import ChangeBus
from storage.changes import Changes
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import User
from storage.uow import UnitOfWorkFactory
from tests.services import REDIS_URL, fresh_postgres, redis_client
from tests.unit.test_dispatcher import Harness

UID = 501
CLOCK = FixedClock(datetime(2026, 12, 3, 12, 0, tzinfo=UTC))


def _press(data: str) -> dict[str, Any]:
    return {
        "update_id": 1,
        "callback_query": {
            "id": "cb",
            "chat_instance": "x",
            "data": data,
            "from": {"id": UID, "is_bot": False, "first_name": "Ann", "language_code": "en"},
            "message": {"message_id": 5, "date": 0, "text": "menu",
                        "chat": {"id": UID, "type": "private"}},
        },
    }


async def _sign_up(uow: UnitOfWorkFactory) -> None:
    await register_user(uow, CLOCK, SignUp(UID, "Ann", None, None, "en", "UTC", None, False))


async def _settings_screen(harness: Harness) -> str:
    """What the settings section says to the user now (the press goes through every
    middleware: the user's copy decides the language and the values shown)."""
    harness.session.calls.clear()
    await harness.feed(_press("mn:settings"))
    return str(harness.session.calls[0].text)


async def test_a_change_is_seen_by_the_next_update(engine: AsyncEngine) -> None:
    uow = UnitOfWorkFactory(session_factory(engine), None)
    harness = Harness(uow)
    # The use-cases write through their own factory (as the notifier or an erasure would).
    writer = UnitOfWorkFactory(session_factory(engine), None)
    await _sign_up(writer)
    first = await _settings_screen(harness)
    assert "Language: English" in first and "Time zone: UTC" in first
    assert (await _settings_screen(harness)) == first  # served from the copy now

    await set_language(writer, CLOCK, UID, "ru")
    assert "Язык: Русский" in await _settings_screen(harness)

    await set_time_zone(writer, CLOCK, UID, "Asia/Tokyo")
    assert "Токио (UTC+09:00)" in await _settings_screen(harness)

    await rights.pause(writer, CLOCK, UID)
    assert "Ваш аккаунт на паузе" in await _settings_screen(harness)

    # Blocked: the next update from the user means they are back (the middleware sees the
    # blocked copy's successor and clears it in the database).
    await mark_blocked(writer, CLOCK, UID)
    await _settings_screen(harness)
    async with writer() as u:
        found = await u.users.get(UID)
        assert found is not None and found.blocked_at is None

    await erase.request_erasure(writer, CLOCK, None, UID)
    harness.session.calls.clear()
    await harness.feed(_press("mn:settings"))
    assert harness.session.calls[0].text == "Please send /start to sign up first."


async def test_each_reader_gets_its_own_copy_that_saves_like_a_loaded_user(
    engine: AsyncEngine,
) -> None:
    uow = UnitOfWorkFactory(session_factory(engine), None)
    await _sign_up(uow)
    first = await uow.live_user(UID)  # read from the database, and kept
    mine, theirs = await uow.live_user(UID), await uow.live_user(UID)  # from the copy
    assert first is not None and mine is not None and theirs is not None
    mine.language = "ru"
    assert theirs.language == "en" and (await uow.live_user(UID)).language == "en"  # type: ignore[union-attr]
    # A copy is a detached user as a closed session leaves one: its change is saved, and only
    # its change.
    async with uow() as u:
        await u.session.merge(mine)
        await u.commit()
    again = await uow.live_user(UID)
    assert again is not None and (again.language, again.first_name) == ("ru", first.first_name)


async def test_conversation_state_copy_follows_the_row(engine: AsyncEngine) -> None:
    uow = UnitOfWorkFactory(session_factory(engine), None)
    storage = DatabaseStorage(uow)
    key = StorageKey(bot_id=7, chat_id=UID, user_id=UID)
    await _sign_up(uow)
    await storage.set_state(key, SettingsStates.email)
    await storage.set_data(key, {"step": 1})
    assert await storage.get_state(key) == SettingsStates.email.state
    data = await storage.get_data(key)
    data["step"] = 2  # the caller's copy: the stored data does not change
    assert await storage.get_data(key) == {"step": 1}

    # An erasure deletes the user's conversation rows with one statement: every copy goes.
    await erase.request_erasure(uow, CLOCK, None, UID)
    assert await storage.get_state(key) is None and await storage.get_data(key) == {}


def test_nothing_is_kept_while_a_required_bus_is_down() -> None:
    changes = Changes()
    copies = changes.cache("users", "t")

    async def publish(_: Any) -> None:
        return None

    changes.require_bus(publish)
    copies.put(1, "row", copies.token())
    assert copies.get(1) == (False, None)
    changes.bus_up(True)
    copies.put(1, "row", copies.token())
    assert copies.get(1) == (True, "row")
    changes.bus_up(False)  # messages missed while down are unknown: the copy goes
    assert copies.get(1) == (False, None)


def test_a_copy_read_before_a_change_is_not_kept() -> None:
    copies = Changes().cache("users", "t")
    token = copies.token()  # a read starts…
    copies.invalidate({2})  # …a change to another row commits meanwhile…
    copies.put(1, "maybe stale", token)  # …so what the read found is not trusted
    assert copies.get(1) == (False, None)


class _Instance:
    """One instance's database engine and change bus (as a separate process has)."""

    def __init__(self, url: str, channel: str) -> None:
        self.engine = create_engine(url)
        self.uow = UnitOfWorkFactory(session_factory(self.engine), None)
        self.bus = ChangeBus(REDIS_URL, self.uow.changes, channel)
        self.task = asyncio.create_task(self.bus.run())

    async def close(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.bus.close()
        await self.engine.dispose()


@pytest.fixture
async def two_instances() -> AsyncIterator[tuple[_Instance, _Instance]]:
    client = await redis_client()  # skips without Redis
    await client.aclose()
    async with fresh_postgres() as url:
        boot = create_engine(url)
        await upgrade(boot)
        await boot.dispose()
        channel = f"ttpulse:test:{uuid.uuid4().hex}"
        a, b = _Instance(url, channel), _Instance(url, channel)
        try:
            for inst in (a, b):
                for _ in range(100):
                    if inst.uow.changes.caching:
                        break
                    await asyncio.sleep(0.05)
                assert inst.uow.changes.caching
            yield a, b
        finally:
            await a.close()
            await b.close()


async def _seen_by(b: _Instance, change: Callable[[], Awaitable[Any]]) -> User | None:
    """B holds a copy of the user; A's change goes out; B's next read, once the bus delivered
    (it does before a reply to the user can come back as their next update)."""
    copies = b.uow.changes.cache("users", "live_user")
    for _ in range(100):  # a read that overlapped the last change's message keeps nothing
        await get_user(b.uow, UID)
        if copies.get(UID)[0]:
            break
        await asyncio.sleep(0.02)
    assert copies.get(UID)[0]  # B holds a copy
    await change()
    for _ in range(100):
        if not copies.get(UID)[0]:
            break
        await asyncio.sleep(0.02)
    return await get_user(b.uow, UID)


async def test_a_change_on_one_instance_reaches_the_others(
    two_instances: tuple[_Instance, _Instance],
) -> None:
    a, b = two_instances
    await _sign_up(a.uow)

    user = await _seen_by(b, lambda: set_language(a.uow, CLOCK, UID, "ru"))
    assert user is not None and user.language == "ru"
    user = await _seen_by(b, lambda: set_time_zone(a.uow, CLOCK, UID, "Asia/Tokyo"))
    assert user is not None and user.time_zone == "Asia/Tokyo"
    user = await _seen_by(b, lambda: mark_blocked(a.uow, CLOCK, UID))
    assert user is not None and user.blocked_at is not None
    user = await _seen_by(b, lambda: rights.pause(a.uow, CLOCK, UID))
    assert user is not None and user.paused_at is not None
    assert await _seen_by(b, lambda: erase.request_erasure(a.uow, CLOCK, None, UID)) is None
