"""The operators' console end to end: an operator finds a buyer who subscribed through the sandbox,
grants them time and refunds the subscription at Telegram (renewal cancelled); news reaches
only users who agreed, a user who blocked the bot is counted as blocked and never tried; a
payment whose update was lost is found by reconciliation, recorded and reported. Anyone else's
press on an operator button gets the stale-button reply."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from typing import Any

from bot.callbacks import AdminCb
from sandbox.telegram.driver import ChatUser, MessageView, SandboxClient
from tests.e2e.harness import ADMIN_ID, ServiceProcess, press_data_answer, sign_up
from tests.e2e.test_rules import tap

STALE = "This button is no longer valid. Send /menu to continue."


def _query(service: ServiceProcess, sql: str, *args: object) -> list[tuple[Any, ...]]:
    path = service.env["DATABASE_URL"].removeprefix("sqlite+aiosqlite:///")
    with sqlite3.connect(path) as conn:
        return list(conn.execute(sql, args).fetchall())


async def _until(check: Callable[[], Any], timeout: float = 15) -> Any:  # noqa: ASYNC109
    """Poll until `check()` is truthy; its value."""
    for _ in range(int(timeout / 0.1)):
        if value := check():
            return value
        await asyncio.sleep(0.1)
    raise AssertionError("the condition never held")


async def _buy(user: ChatUser, prefix: str) -> tuple[MessageView, str]:
    """Open /plans and press the offer whose label starts with `prefix`: the message carrying
    the invoice (or the subscription link)."""
    await user.send("/plans")
    plans = await user.expect("Plans")
    await user.press(next(b for b in plans.button_labels() if b.startswith(prefix)))
    since = user.last_action_seq
    sent = await user.wait_for(lambda m: m.seq > since and (
        m.kind == "invoice" or any(b.url for row in m.buttons for b in row)))
    return sent, prefix


async def test_an_operator_finds_a_buyer_grants_time_and_refunds_the_subscription(
    service: ServiceProcess, sandbox: SandboxClient
) -> None:
    admin = await sandbox.user(ADMIN_ID, language_code="en")
    buyer = await sandbox.user(1401, first_name="Bea", username="bea_buys", language_code="en")
    await sign_up(admin)
    await sign_up(buyer, email="bea@example.com")
    link, _ = await _buy(buyer, "Pro · monthly")
    url = next(b.url for row in link.buttons for b in row if b.url)
    paid = await buyer.pay_link(str(url))
    assert paid["ok"], paid
    charge = str(paid["charge_id"])
    await _until(lambda: _query(service, "SELECT 1 FROM payments WHERE telegram_charge_id = ?",
                                charge))

    # The buyer can neither open the console nor press one of its buttons.
    await buyer.send("/admin")
    own = await buyer.expect("Only TTPulse operators")
    answer = await press_data_answer(buyer, AdminCb(a="grant", u=buyer.user_id).pack(),
                                     own.message_id)
    assert answer.get("text") == STALE

    await admin.send("/admin bea@example.com")
    card = await admin.expect("Pro — active")
    assert "@bea_buys" in card.text and charge in card.text and "renews (subscription)" in card.text
    await tap(admin, "🎁 Grant or extend", "which plan")
    await tap(admin, "Agency", "how many days")
    await tap(admin, "7 days", "Type the reason")
    await admin.send("Conference promo")
    await admin.expect("Granted Agency for 7 days. Now: Agency")
    gift = await buyer.wait_for(lambda m: "TTPulse gave you Agency" in m.text)
    assert "Period: 7 days, free of charge" in gift.text and "Agency is active until" in gift.text
    card = await tap(admin, "« Back", "Agency — active")

    pick = await tap(admin, "↩️ Refund a payment", "Refund which payment")
    await tap(admin, next(b for b in pick.button_labels() if b.startswith("500 ⭐ · Pro")),
              "The Stars go back")
    done = await tap(admin, "↩️ Yes, refund 500 ⭐", "Refunded 500 ⭐")
    assert "Subscription renewal cancelled." in done.text
    assert "Now: Agency (active)" in done.text  # the grant still runs
    [sub] = await buyer.subscriptions()
    assert sub["canceled"] and sub["canceled_by"] == "bot"
    assert _query(service, "SELECT refunded_by FROM payments WHERE telegram_charge_id = ?",
                  charge) == [(ADMIN_ID,)]
    # Telegram refuses a second refund; the console never offers it (nothing left to refund).
    await tap(admin, "« Back", "refunded")
    await tap(admin, "↩️ Refund a payment", "no Stars payment left to refund")
    # Audited under the operator (the ledger's own billing.refunded may be the buyer's, when
    # Telegram's refunded_payment update is handled before the refund call returns).
    actions = [a for (a,) in _query(
        service, "SELECT action FROM audit_log WHERE actor_id = ? AND action NOT IN "
        "('user.registered', 'admin.viewed', 'billing.refunded') ORDER BY id", ADMIN_ID)]
    assert actions == ["plan.granted", "admin.refunded", "admin.renewal_canceled"]


async def test_news_goes_to_consenting_users_and_a_blocked_one_is_counted_not_retried(
    service: ServiceProcess, sandbox: SandboxClient
) -> None:
    admin = await sandbox.user(ADMIN_ID, language_code="en")
    fan = await sandbox.user(1411, language_code="en")
    blocker = await sandbox.user(1412, language_code="en")
    other = await sandbox.user(1413, language_code="en")
    for person in (admin, fan, blocker, other):
        await sign_up(person)
    for person in (fan, blocker):
        await person.send("/settings")
        await person.expect("News and offers: off")
        await tap(person, "📣 News: off", "News and offers: on")
    await blocker.block()
    await _until(lambda: _query(service, "SELECT blocked_at FROM users WHERE id = ?",
                                blocker.user_id)[0][0])

    await admin.send("/admin")
    await admin.expect("TTPulse console")
    await tap(admin, "📣 Broadcasts", "None sent yet")
    await tap(admin, "✍️ News", "Type the news")
    await admin.send("Spring release: <charts> & more")
    controls = await admin.expect("Preview of the news")
    preview = (await admin.bot_messages())[-2]
    assert preview.text.startswith("Spring release: <charts> & more\n\nYou get this because")
    assert preview.button_labels() == ["🔕 Unsubscribe"]
    # Nobody else can send it: a forged press of its Send button is a stale button.
    key = next(b.callback_data for row in controls.buttons for b in row
               if b.text.startswith("📤"))
    assert key is not None
    own = await other.last_bot_message()
    assert own is not None
    assert (await press_data_answer(other, key, own.message_id)).get("text") == STALE
    await tap(admin, "📤 Send to users: 2", "Queued, recipients: 2")

    news = await fan.wait_for(lambda m: "Spring release" in m.text)
    assert news.button_labels() == ["🔕 Unsubscribe"]
    report = await admin.wait_for(lambda m: "delivered as far as it can be" in m.text)
    assert "✅ delivered 1 · 🚫 blocked 1 · ⚠️ failed 0 · ⏳ pending 0" in report.text
    # The blocked user's message was counted, never sent; the one without consent got none.
    assert _query(service, "SELECT attempts, sent_at, last_error FROM outbox WHERE user_id = ? "
                  "AND kind = 'marketing'", blocker.user_id) == [(0, None,
                                                                  "blocked by the user")]
    assert not any("Spring release" in m.text for m in await other.bot_messages())
    assert not [r for r in await sandbox.requests("sendMessage")
                if "Spring release" in str(r["params"].get("text"))
                and str(r["params"].get("chat_id")) == str(blocker.user_id)]
    status = await tap(admin, "📊 Broadcast status", "Broadcast status")
    assert "Finished." in status.text


async def test_reconciliation_records_a_payment_whose_update_was_lost(
    service: ServiceProcess, sandbox: SandboxClient
) -> None:
    admin = await sandbox.user(ADMIN_ID, language_code="en")
    buyer = await sandbox.user(1421, language_code="en")
    await sign_up(admin)
    await sign_up(buyer)
    await sandbox.configure(drop_payment_updates=1)
    invoice, _ = await _buy(buyer, "Pro · 30 days")
    paid = await buyer.pay(invoice.message_id)
    assert paid["ok"] and paid.get("dropped"), paid
    charge = str(paid["charge_id"])
    await asyncio.sleep(1)
    assert _query(service, "SELECT 1 FROM payments WHERE telegram_charge_id = ?", charge) == []

    await admin.send("/admin")
    await admin.expect("TTPulse console")
    await admin.press("🔁 Reconcile now")
    report = await admin.wait_for(lambda m: "Reconciliation" in m.text, timeout=20)
    assert "Differences: 1" in report.text and charge in report.text
    assert "now recorded, the user got their time" in report.text
    assert _query(service, "SELECT user_id, total_amount, plan, days FROM payments WHERE "
                  "telegram_charge_id = ?", charge) == [(buyer.user_id, 550, "pro", 30)]
    await admin.send(f"/admin {buyer.user_id}")
    await admin.expect("Pro — active")
    # Run again: nothing is left to repair, and that is said too.
    await admin.send("/admin")
    await admin.expect("TTPulse console")
    await admin.press("🔁 Reconcile now")
    again = await admin.wait_for(lambda m: "0 differences" in m.text, timeout=20)
    assert "everything matches" in again.text
