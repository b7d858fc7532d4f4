"""The console's handlers through the real dispatcher: every button an operator walks through
builds a keyboard Telegram accepts and lands where it should (grant: plan → days → typed reason
→ the ledger), and a non-operator's press gets exactly the stale-button reply."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot
from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendMessage

from bot.callbacks import AdminCb
from core.billing import account
from core.billing.plans import PlanBook
from core.clock import FixedClock
from core.settings import load_settings
from core.users import SignUp, register_user
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import AuditEntry
from storage.uow import UnitOfWorkFactory
from tests.unit.test_dispatcher import DP, RecordingSession

NOW = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)
OPERATOR, BUYER = 900, 1401
STALE = "This button is no longer valid. Send /menu to continue."


class Console:
    """Feeds updates as one chat with this test's database, ADMIN_IDS=900."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self.uow, self.session = uow, RecordingSession()
        self.bot = Bot("42:TEST", session=self.session)
        self.settings = load_settings(admin_ids=str(OPERATOR))
        self.update_id = 0

    async def _feed(self, update: dict[str, Any]) -> list[Any]:
        self.update_id += 1
        before = len(self.session.calls)
        await DP.feed_raw_update(
            self.bot, {"update_id": self.update_id, **update}, uow=self.uow,
            settings=self.settings, clock=FixedClock(NOW), plans=PlanBook(), worker="test")
        return self.session.calls[before:]

    async def press(self, who: int, data: AdminCb | str) -> list[Any]:
        packed = data.pack() if isinstance(data, AdminCb) else data
        return await self._feed({"callback_query": {
            "id": f"cb{self.update_id}", "chat_instance": "x", "data": packed,
            "from": {"id": who, "is_bot": False, "first_name": "Op", "language_code": "en"},
            "message": {"message_id": 5, "date": 0, "text": "old",
                        "chat": {"id": who, "type": "private"}}}})

    async def say(self, who: int, text: str) -> list[Any]:
        entities = ([{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
                    if text.startswith("/") else [])
        return await self._feed({"message": {
            "message_id": 9, "date": 0, "text": text, "entities": entities,
            "chat": {"id": who, "type": "private"},
            "from": {"id": who, "is_bot": False, "first_name": "Op", "language_code": "en"}}})


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[Console]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/t.db")
    await upgrade(engine)
    uow = UnitOfWorkFactory(session_factory(engine), None)
    for uid in (OPERATOR, BUYER):
        await register_user(uow, FixedClock(NOW), SignUp(uid, "Bea", None, "bea", "en", "UTC",
                                                         "bea@example.com", False))
    yield Console(uow)
    await engine.dispose()


def _texts(calls: list[Any]) -> list[str]:
    return [c.text for c in calls if isinstance(c, (SendMessage, EditMessageText)) and c.text]


def _buttons(calls: list[Any]) -> list[str]:
    out = []
    for c in calls:
        markup = getattr(c, "reply_markup", None)
        for row in getattr(markup, "inline_keyboard", None) or []:
            out += [b.callback_data for b in row if b.callback_data]
    return out


async def test_an_operator_grants_through_the_buttons_and_a_typed_reason(
    console: Console,
) -> None:
    calls = await console.say(OPERATOR, "/admin")
    assert "TTPulse console" in _texts(calls)[0]
    calls = await console.say(OPERATOR, "/admin @BEA")
    assert "bea@example.com" in _texts(calls)[0]
    assert AdminCb(a="grant", u=BUYER).pack() in _buttons(calls)
    calls = await console.press(OPERATOR, AdminCb(a="grant", u=BUYER))
    assert AdminCb(a="gp", u=BUYER, v="agency").pack() in _buttons(calls)
    calls = await console.press(OPERATOR, AdminCb(a="gp", u=BUYER, v="agency"))
    days = [d for d in _buttons(calls) if d.startswith("ad:gd:")]
    assert len(days) == 4
    calls = await console.press(OPERATOR, days[1])  # 30 days
    assert "Type the reason" in _texts(calls)[0]
    calls = await console.say(OPERATOR, "Partner deal")
    assert _texts(calls)[0].startswith("✅ Granted Agency for 30 days. Now: Agency")
    standing, _row = await account.current(console.uow, PlanBook().current(), FixedClock(NOW),
                                           BUYER)
    assert standing.state == "active" and standing.plan == "agency"
    async with console.uow() as u:
        [entry] = [e for e in await u.audit.for_target("user", BUYER)
                   if e.action == "plan.granted"]
    assert isinstance(entry, AuditEntry) and entry.actor_id == OPERATOR
    assert entry.details["reason"] == "Partner deal"


@pytest.mark.parametrize("data", [
    AdminCb(a="home"), AdminCb(a="grant", u=BUYER), AdminCb(a="gd", u=BUYER, v="pro.30"),
    AdminCb(a="rfok", u=BUYER, v="1"), AdminCb(a="recon"), AdminCb(a="bsend", v="abc"),
])
async def test_a_non_operators_press_gets_the_stale_reply(console: Console,
                                                          data: AdminCb) -> None:
    calls = await console.press(BUYER, data)
    assert len(calls) == 1 and isinstance(calls[0], AnswerCallbackQuery)
    assert calls[0].text == STALE and calls[0].show_alert
    # The same words as any stale button (the catch-all's).
    [stale] = await console.press(BUYER, "zz:unknown")
    assert stale.text == calls[0].text


async def test_forged_operator_payloads_are_stale_too(console: Console) -> None:
    for data in (AdminCb(a="gp", u=BUYER, v="free"), AdminCb(a="gd", u=BUYER, v="pro.5"),
                 AdminCb(a="rf", u=BUYER, v="77"), AdminCb(a="nope")):
        [answer] = [c for c in await console.press(OPERATOR, data)
                    if isinstance(c, AnswerCallbackQuery)]
        assert answer.text == STALE, data
