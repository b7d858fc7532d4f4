"""Plan limits through the chat: a Free user's login brings more ad accounts than Free tracks, and
a fourth rule switched on is one more than Free runs — each refused with the limit, the use and
the allowance and an ⭐ Upgrade button; paying for Pro from that button lifts both: the account
the plan left untracked comes back by itself, the rule switches on at the next try."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

from sandbox.telegram.driver import SandboxClient
from tests.e2e.harness import ServiceProcess, sign_up
from tests.e2e.test_accounts import follow, open_consent
from tests.e2e.test_rules import tap

USER = 1401


def _db(service: ServiceProcess) -> str:
    return service.env["DATABASE_URL"].removeprefix("sqlite+aiosqlite:///")


def _four_rules(service: ServiceProcess) -> None:
    """Three rules on (as many as Free runs) and a fourth off, due far from now."""
    later = (datetime.now(UTC) + timedelta(days=30)).isoformat(sep=" ")
    with sqlite3.connect(_db(service)) as conn:
        for n, on in ((1, True), (2, True), (3, True), (4, False)):
            conn.execute(
                "INSERT INTO rules (user_id, name, text, level, settings, enabled, due_at, "
                "created_at, updated_at) VALUES (?, ?, ?, 'campaign', '{}', ?, ?, ?, ?)",
                (USER, f"Rule {n}", "campaign: spend > 100 in today -> pause", on, later,
                 later, later))


async def test_free_limits_are_said_with_an_upgrade_and_paying_lifts_them(
    service: ServiceProcess, sandbox: SandboxClient
) -> None:
    user = await sandbox.user(USER, language_code="en")
    await sign_up(user)

    # The demo login has 3 ad accounts; Free tracks 2: the first two by name.
    await follow(await open_consent(user))
    done = await user.expect("✅ TikTok connected.")
    assert "⏸ Not tracked: «Glowly US»" in done.text
    assert "Free lets you track 2 ad accounts and you track 2" in done.text
    assert "⭐ Upgrade" in done.button_labels()
    await user.press("📊 Accounts")
    accounts = await user.expect("tracked")
    assert "⏸ paused by plan (Free allows 2 ad accounts)" in accounts.text
    assert {"✅ Glowly EU", "✅ Glowly JP", "⏸ Glowly US"} <= set(accounts.button_labels())
    refused = await tap(user, "⏸ Glowly US", "Ad account limit reached")
    assert "Free lets you track 2 ad accounts; you track 2 now." in refused.text
    assert refused.button_labels() == ["⭐ Upgrade", "« Back"]

    _four_rules(service)
    await user.send("/rules")
    await user.expect("Rules (4)")
    card = await tap(user, "⏸ Rule 4", "Switch on")
    assert "🟢" not in card.text
    refused = await tap(user, "▶️ Switch on", "Rules switched on: limit reached")
    assert "Free lets you keep 3 rules switched on; switched on now: 3." in refused.text
    assert refused.button_labels() == ["⭐ Upgrade", "« Back"]

    # ⭐ Upgrade → Pro for 30 days, paid in Stars.
    await user.press("⭐ Upgrade")
    await user.expect("Buying your plan again adds its days")
    await user.press("Pro · 30 days · ⭐550")
    since = user.last_action_seq
    invoice = await user.wait_for(lambda m: m.seq > since and m.kind == "invoice")
    paid = await user.pay(invoice.message_id)
    assert paid["ok"], paid
    await user.wait_for(lambda m: "Payment received" in m.text)

    await user.send("/rules")
    await user.expect("Rules (4)")
    await tap(user, "⏸ Rule 4", "Switch on")
    on = await tap(user, "▶️ Switch on", "🟢 on")
    assert "Rule 4" in on.text
    await user.send("/menu")
    await user.expect("main menu")
    await user.press("📊 Accounts")
    accounts = await user.expect("tracked")
    assert "✅ Glowly US" in accounts.button_labels()  # back with the upgrade, by itself
    assert "paused by plan" not in accounts.text
