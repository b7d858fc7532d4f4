"""Conversation state survives a restart: in the database by default, in Redis when configured."""

from __future__ import annotations

import uuid

from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.redis import DefaultKeyBuilder, RedisStorage
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.fsm_storage import DatabaseStorage
from bot.states import SignUpStates
from storage.db import create_engine, session_factory
from storage.models import FsmRecord
from storage.uow import UnitOfWorkFactory
from tests.services import redis_client

KEY = StorageKey(bot_id=7, chat_id=42, user_id=42)


async def test_database_storage_survives_a_new_engine(engine: AsyncEngine, db_url: str) -> None:
    first = DatabaseStorage(UnitOfWorkFactory(session_factory(engine), None))
    await first.set_state(KEY, SignUpStates.email)
    await first.set_data(KEY, {"lang": "ru", "tz": "Europe/Moscow"})

    # A "restarted" process: a brand-new engine and storage over the same database.
    engine2 = create_engine(db_url)
    second = DatabaseStorage(UnitOfWorkFactory(session_factory(engine2), None))
    try:
        assert await second.get_state(KEY) == SignUpStates.email.state
        assert await second.get_data(KEY) == {"lang": "ru", "tz": "Europe/Moscow"}
        other = StorageKey(bot_id=7, chat_id=43, user_id=43)
        assert await second.get_state(other) is None and await second.get_data(other) == {}

        # Clearing both removes the row: a refused sign-up leaves nothing behind.
        await second.set_state(KEY, None)
        await second.set_data(KEY, {})
        async with UnitOfWorkFactory(session_factory(engine2), None)() as u:
            assert await u.session.get(FsmRecord, "fsm:7:42:42") is None
    finally:
        await engine2.dispose()


async def test_redis_storage_survives_a_new_client() -> None:
    client = await redis_client()
    bot_id = int(uuid.uuid4().int % 10**9)
    key = StorageKey(bot_id=bot_id, chat_id=42, user_id=42)
    try:
        first = RedisStorage(client, key_builder=DefaultKeyBuilder(with_bot_id=True))
        await first.set_state(key, SignUpStates.terms)
        await first.set_data(key, {"lang": "en"})
        second_client = await redis_client()
        second = RedisStorage(second_client, key_builder=DefaultKeyBuilder(with_bot_id=True))
        assert await second.get_state(key) == SignUpStates.terms.state
        assert await second.get_data(key) == {"lang": "en"}
        await second.set_state(key, None)
        await second.set_data(key, {})
        await second.close()
    finally:
        await client.aclose()
