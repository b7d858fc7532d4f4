"""Launch buttons through the real dispatcher: a forged page is the first page (PostgreSQL
refuses a negative OFFSET), and a start time asked for is no longer awaited once another
button is pressed."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiogram.methods import EditMessageText, SendMessage
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.callbacks import LaunchCb
from core.billing.plans import PlanBook
from core.clock import FixedClock
from core.settings import load_settings
from core.users import SignUp, register_user
from storage.db import session_factory
from storage.uow import UnitOfWorkFactory
from tests.unit.test_dispatcher import DP, Harness

USER = 7301
_ids = itertools.count(100)


@pytest.fixture
async def harness(engine: AsyncEngine) -> AsyncIterator[Harness]:
    uow = UnitOfWorkFactory(session_factory(engine), None)
    await register_user(uow, FixedClock(datetime.now(UTC)),
                        SignUp(USER, "Ann", None, None, "en", "UTC", None, False))
    yield Harness(uow)


async def _feed(h: Harness, update: dict[str, Any]) -> None:
    await DP.feed_raw_update(h.bot, update, uow=h.uow, settings=load_settings(),
                             clock=FixedClock(datetime.now(UTC)), plans=PlanBook(),
                             worker="test", tiktok=None)


def _press(data: str) -> dict[str, Any]:
    return {"update_id": next(_ids), "callback_query": {
        "id": str(next(_ids)), "chat_instance": "x", "data": data,
        "from": {"id": USER, "is_bot": False, "first_name": "Ann", "language_code": "en"},
        "message": {"message_id": 5, "date": 0, "text": "Launch",
                    "chat": {"id": USER, "type": "private"}}}}


def _typed(text: str) -> dict[str, Any]:
    return {"update_id": next(_ids), "message": {
        "message_id": next(_ids), "date": 0, "text": text,
        "chat": {"id": USER, "type": "private"},
        "from": {"id": USER, "is_bot": False, "first_name": "Ann", "language_code": "en"}}}


async def test_a_forged_page_shows_the_first_and_a_later_button_ends_the_time_prompt(
        harness: Harness) -> None:
    await _feed(harness, _press(LaunchCb(a="when").pack()))
    asked = [c.text for c in harness.session.calls if isinstance(c, SendMessage)]
    assert asked and asked[-1].startswith("When should it start?")
    harness.session.calls.clear()
    await _feed(harness, _press(LaunchCb(a="hist", n=-5).pack()))
    [shown] = [c for c in harness.session.calls if isinstance(c, EditMessageText)]
    assert "Launch history" in shown.text
    harness.session.calls.clear()
    await _feed(harness, _typed("yesterday"))
    said = [c.text for c in harness.session.calls if isinstance(c, SendMessage)]
    assert said and not any("I need a future time" in t for t in said)
