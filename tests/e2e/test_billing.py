"""Paying end to end through the sandbox chat: a one-off period bought and seen in Billing, its
successful_payment delivered twice extending once with one receipt, a pre-checkout refused after
the price changed (nothing recorded), a refund that downgrades; a subscription that renews on the
sandbox's clock, cancelled from Billing, re-enabled and cancelled again in Telegram, reminded,
then grace and a downgrade listing the rules it paused.

The service and the sandbox read one clock-offset file, so writing it moves both clocks."""

from __future__ import annotations

import asyncio
import copy
import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from core.billing.plans import DEFAULT
from core.rules.settings import RuleSettings, to_json
from sandbox.telegram.driver import ChatUser, MessageView, SandboxClient
from sandbox.telegram.server import RunningServer, start_server
from tests.e2e.conftest import FAST_CHAT_RATE
from tests.e2e.harness import TOKEN, ServiceProcess, sign_up

DAY = 86400


@pytest.fixture
def clock_file(tmp_path: Path) -> Path:
    return tmp_path / "clock-offset"


@pytest.fixture
def plans_file(tmp_path: Path) -> Path:
    path = tmp_path / "plans.json"
    path.write_text(json.dumps(DEFAULT))
    return path


@pytest.fixture
async def telegram(clock_file: Path) -> AsyncIterator[RunningServer]:
    # The sandbox on the service's clock file: subscription periods end as the service sees it.
    server = await start_server(token=TOKEN, clock_offset_file=str(clock_file))
    server.engine.configure(per_chat_rate=FAST_CHAT_RATE)
    yield server
    await server.stop()


@pytest.fixture
def service_env(clock_file: Path, plans_file: Path) -> dict[str, str]:
    return {"CLOCK_OFFSET_FILE": str(clock_file), "PLANS_FILE": str(plans_file),
            "BILLING_TICK_SECONDS": "0.5", "NOTIFY_TICK_SECONDS": "0.5"}


class Travel:
    """Moves both clocks (the shared offset file)."""

    def __init__(self, path: Path) -> None:
        self.path, self.offset = path, 0.0

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.offset)

    def to(self, moment: datetime) -> None:
        self.offset += (moment - self.now()).total_seconds()
        self.path.write_text(str(self.offset))


def _write(path: Path, text: str) -> None:
    path.write_text(text)


def _query(service: ServiceProcess, sql: str, *args: object) -> list[tuple[Any, ...]]:
    path = service.env["DATABASE_URL"].removeprefix("sqlite+aiosqlite:///")
    with sqlite3.connect(path) as conn:
        return list(conn.execute(sql, args).fetchall())


def _when(value: object) -> datetime:
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


async def _open(user: ChatUser, command: str, expect: str) -> MessageView:
    await user.send(command)
    return await user.expect(expect)


async def _new(user: ChatUser, predicate: Any, timeout: float = 15) -> MessageView:  # noqa: ASYNC109
    """The next bot message after my last action that satisfies `predicate`."""
    since = user.last_action_seq
    return await user.wait_for(lambda m: m.seq > since and predicate(m), timeout)


async def _logged(service: ServiceProcess, event: str, count: int = 1) -> None:
    for _ in range(200):
        if sum(1 for e in service.log_events() if e.get("event") == event) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the service never logged {event}:\n{service.log()}")


async def _invoice(user: ChatUser, label: str) -> MessageView:
    await _open(user, "/plans", "Plans")
    await user.press(label)
    return await _new(user, lambda m: m.kind == "invoice")


def _receipts(messages: list[MessageView]) -> list[MessageView]:
    return [m for m in messages if "Charge id (for support)" in m.text]


async def test_a_period_bought_extends_once_refuses_a_stale_price_and_a_refund_downgrades(
    service: ServiceProcess, sandbox: SandboxClient, telegram: RunningServer, plans_file: Path
) -> None:
    user = await sandbox.user(1401, language_code="en")
    await sign_up(user)
    billing = await _open(user, "/billing", "Billing")
    assert "Plan: Free" in billing.text and "Ad accounts tracked: 0 of 2" in billing.text

    invoice = await _invoice(user, "Pro · 30 days · ⭐550")
    assert invoice.invoice is not None
    assert (invoice.invoice["title"], invoice.invoice["total_amount"]) == (
        "TTPulse Pro · 30 days", 550)
    paid = await user.pay(invoice.message_id)
    assert paid["ok"], paid
    receipt = await user.wait_for(lambda m: "Payment received" in m.text)
    assert "Plan: Pro" in receipt.text and "Paid: ⭐550" in receipt.text
    assert f"Charge id (for support): {paid['charge_id']}" in receipt.text
    [(until,)] = _query(service, "SELECT paid_until FROM entitlements WHERE user_id = 1401")
    billing = await _open(user, "/billing", "Billing")
    assert "Plan: Pro — active" in billing.text and "Ad accounts tracked: 0 of 10" in billing.text
    assert "It does not renew" in billing.text

    # The same successful_payment again (a webhook retry, another instance): nothing changes.
    await sandbox.redeliver(paid["update_id"])
    await _logged(service, "billing.payment_repeated")
    assert _query(service, "SELECT count(*), sum(total_amount) FROM payments") == [(1, 550)]
    assert _query(service, "SELECT paid_until FROM entitlements") == [(until,)]
    await asyncio.sleep(1.5)  # a second receipt would have been delivered by now
    assert len(_receipts(await user.bot_messages())) == 1

    # The operator raises the 90-day price after the invoice went out: the payment is refused.
    stale = await _invoice(user, "Pro · 90 days · ⭐1,500")
    doc = copy.deepcopy(DEFAULT)
    doc["plans"][1]["periods"]["90"] = 1600
    _write(plans_file, json.dumps(doc))
    refused = await user.pay(stale.message_id)
    assert not refused["ok"]
    assert refused["error_message"] == (
        "The price of Pro changed — open /billing for the current one.")
    assert _query(service, "SELECT count(*) FROM payments") == [(1,)]
    plans = await _open(user, "/plans", "Plans")
    assert "Pro · 90 days · ⭐1,600" in plans.button_labels()

    # A refund (the operator's, through the Bot API) ends the period at once: down to Free.
    async with Bot(TOKEN, session=AiohttpSession(
            api=TelegramAPIServer.from_base(telegram.url))) as bot:
        assert await bot.refund_star_payment(user.user_id, paid["charge_id"])
    down = await user.wait_for(lambda m: "You are on Free now (was Pro)" in m.text)
    assert "nothing was paused" in down.text
    billing = await _open(user, "/billing", "Billing")
    assert "Plan: Free" in billing.text
    await user.press("🧾 History (1)")
    history = await user.expect("Payments")
    assert "Pro · 30 days · ⭐550" in history.text and "↩️ Refunded on" in history.text


async def test_a_subscription_renews_on_the_clock_then_cancelled_ends_in_grace_and_downgrade(
    service: ServiceProcess, sandbox: SandboxClient, clock_file: Path
) -> None:
    travel = Travel(clock_file)
    user = await sandbox.user(1402, language_code="en")
    await sign_up(user)
    await _open(user, "/plans", "Plans")
    await user.press("Pro · monthly · ⭐500")
    link = await _new(user, lambda m: "monthly subscription" in m.text)
    url = link.button("⭐ Subscribe · ⭐500").url
    assert url is not None
    paid = await user.pay_link(url)
    assert paid["ok"], paid
    first = paid["charge_id"]
    await user.wait_for(lambda m: "Payment received" in m.text)
    billing = await _open(user, "/billing", "Billing")
    assert "Subscription: Pro, ⭐500 every 30 days — renews on" in billing.text

    # Four rules on: Pro allows them, Free allows 3 — the newest will be paused on the way down.
    settings = json.dumps(to_json(RuleSettings()))
    for n in range(4):
        _query(service, "INSERT INTO rules (user_id, name, text, level, settings, enabled, "
                        "due_at, created_at, updated_at) VALUES (1402, ?, 'campaign: spend > 1 "
                        "in today -> pause', 'campaign', ?, 1, '2100-01-01 00:00:00', ?, ?)",
               f"Rule {n}", settings, f"2026-01-0{n + 1} 00:00:00", f"2026-01-0{n + 1} 00:00:00")

    # Thirty days on, Telegram charges the renewal on its own: no reminder, no grace.
    end = _when(_query(service, "SELECT paid_until FROM entitlements")[0][0])
    travel.to(end + timedelta(minutes=1))
    renewed = await user.wait_for(lambda m: "Subscription renewed: Pro" in m.text, timeout=20)
    assert "Period: Monthly subscription, renewed" in renewed.text
    end += timedelta(days=30)
    assert _when(_query(service, "SELECT paid_until FROM entitlements")[0][0]) == end

    # Cancel from Billing: Telegram is asked, renewal stops, the time paid stays.
    await _open(user, "/billing", "Billing")
    await user.press("🚫 Cancel renewal")
    await user.expect("Cancel renewal of Pro?")
    await user.press("Yes, cancel renewal")
    done = await user.expect("Renewal cancelled. Pro stays until")
    assert "▶ Resume renewal" in done.button_labels()
    [sub] = await user.subscriptions()
    assert sub["canceled"] and sub["canceled_by"] == "bot"
    # Allowed again from Billing; the user switches it on in Telegram (Update.subscription)...
    await user.press("▶ Resume renewal")
    await user.expect("Resume renewal of Pro?")
    await user.press("Yes, resume")
    await user.expect("Renewal is allowed again")
    await user.subscription(first, "resume")
    for _ in range(100):
        if _query(service, "SELECT renews FROM entitlements") == [(1,)]:
            break
        await asyncio.sleep(0.05)
    billing = await _open(user, "/billing", "Billing")
    assert "renews on" in billing.text
    # ...and cancels it there after all.
    await user.subscription(first, "cancel")
    for _ in range(100):
        if _query(service, "SELECT renews FROM entitlements") == [(0,)]:
            break
        await asyncio.sleep(0.05)
    billing = await _open(user, "/billing", "Billing")
    assert "renewal is off" in billing.text

    travel.to(end - timedelta(days=2, hours=23))
    reminder = await user.wait_for(lambda m: "Your Pro plan ends on" in m.text, timeout=20)
    assert reminder.button_labels() == ["🔄 Renew", "⭐ Billing"]
    travel.to(end - timedelta(hours=23))
    await user.wait_for(lambda m: m.message_id > reminder.message_id
                        and "Your Pro plan ends on" in m.text, timeout=20)
    travel.to(end + timedelta(minutes=1))
    grace = await user.wait_for(lambda m: "Your paid Pro time ended on" in m.text, timeout=20)
    assert "(grace period)" in grace.text
    travel.to(end + timedelta(days=3, minutes=1))
    down = await user.wait_for(lambda m: "You are on Free now (was Pro)" in m.text, timeout=20)
    assert "• Rule «Rule 3»" in down.text and "Rule 2" not in down.text
    assert down.button_labels() == ["⭐ Upgrade", "⭐ Billing"]
    assert _query(service, "SELECT name FROM rules WHERE enabled = 0") == [("Rule 3",)]
    assert len([m for m in await user.bot_messages() if "Your Pro plan ends on" in m.text]) == 2
