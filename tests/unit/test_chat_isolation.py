"""RedisEventIsolation, as bot/app.py sets it up, keeps one chat's updates apart across two
dispatchers sharing only Redis (two instances): messages, callback queries and pre-checkout
queries of one private chat never run at once; another chat's do."""

from __future__ import annotations

import asyncio
from typing import Any

from aiogram import Bot, Dispatcher, Router
from aiogram.fsm.storage.redis import DefaultKeyBuilder, RedisEventIsolation, RedisStorage
from aiogram.types import CallbackQuery, Message, PreCheckoutQuery

from tests.services import REDIS_URL, redis_client

USER = {"id": 77, "is_bot": False, "first_name": "U"}
OTHER = {"id": 78, "is_bot": False, "first_name": "O"}


def message(update_id: int, who: dict[str, Any]) -> dict[str, Any]:
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": 0, "text": "x", "from": who,
        "chat": {"id": who["id"], "type": "private"}}}  # fmt: skip


def callback(update_id: int, who: dict[str, Any]) -> dict[str, Any]:
    return {"update_id": update_id, "callback_query": {
        "id": str(update_id), "from": who, "chat_instance": "c", "data": "d",
        "message": {"message_id": 1, "date": 0, "text": "m",
                    "chat": {"id": who["id"], "type": "private"}}}}  # fmt: skip


def pre_checkout(update_id: int, who: dict[str, Any]) -> dict[str, Any]:
    return {"update_id": update_id, "pre_checkout_query": {
        "id": str(update_id), "from": who, "currency": "XTR", "total_amount": 1,
        "invoice_payload": "p"}}  # fmt: skip


async def test_one_chat_is_never_handled_concurrently_across_instances() -> None:
    client = await redis_client()
    await client.flushdb()
    await client.aclose()
    running: dict[int, int] = {}
    overlap: dict[int, int] = {}

    async def work(chat: int) -> None:
        running[chat] = running.get(chat, 0) + 1
        overlap[chat] = max(overlap.get(chat, 0), running[chat])
        await asyncio.sleep(0.3)
        running[chat] -= 1

    router = Router()

    @router.message()
    async def on_message(event: Message) -> None:
        await work(event.chat.id)

    @router.callback_query()
    async def on_callback(event: CallbackQuery) -> None:
        await work(event.from_user.id)

    @router.pre_checkout_query()
    async def on_pre_checkout(event: PreCheckoutQuery) -> None:
        await work(event.from_user.id)

    instances = []
    for _ in range(2):
        storage = RedisStorage.from_url(REDIS_URL, key_builder=DefaultKeyBuilder(with_bot_id=True))
        dp = Dispatcher(storage=storage, events_isolation=RedisEventIsolation(storage.redis))
        instances.append(dp)
    # A router attaches to one parent: the second instance gets the same handlers via a copy.
    instances[0].include_router(router)
    twin = Router()
    twin.message.register(on_message)
    twin.callback_query.register(on_callback)
    twin.pre_checkout_query.register(on_pre_checkout)
    instances[1].include_router(twin)
    bot = Bot("42:TEST")
    try:
        started = asyncio.get_running_loop().time()
        await asyncio.gather(
            instances[0].feed_raw_update(bot, message(1, USER)),
            instances[1].feed_raw_update(bot, callback(2, USER)),
            instances[0].feed_raw_update(bot, pre_checkout(3, USER)),
            instances[1].feed_raw_update(bot, message(4, USER)),
            instances[1].feed_raw_update(bot, message(5, OTHER)),
            instances[0].feed_raw_update(bot, callback(6, OTHER)),
        )
        took = asyncio.get_running_loop().time() - started
    finally:
        for dp in instances:
            await dp.storage.close()
        await bot.session.close()
    assert overlap[77] == 1 and overlap[78] == 1  # never two at once within a chat
    assert took >= 4 * 0.3  # the first chat's four ran one after another
