"""Deleting an account through the chat, with the service's clock moved to day 8 and day 31;
a SIGKILL in the middle of the day-31 erasure; an operator's erasure of a reported account."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sandbox.telegram.driver import SandboxClient
from sandbox.tiktok.server import RunningEmulator
from storage.db import create_engine, session_factory
from storage.inventory import TABLES
from storage.models import Payment, Rule, User
from tests.e2e.harness import ADMIN_ID, ServiceProcess, press_data_answer, sign_up
from tests.e2e.test_stats import connected_and_synced
from tests.services import REDIS_URL, redis_client

UID = 5_550_611  # distinctive: no other number in the database contains it
NAME, USERNAME, EMAIL = "Zephyrina", "zephyr_ads", "zephyrina@example.com"
DAY = 86400


def db(service: ServiceProcess) -> Path:
    return Path(service.env["DATABASE_URL"].removeprefix("sqlite+aiosqlite:///"))


def query(service: ServiceProcess, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db(service)) as conn:
        return list(conn.execute(sql, args).fetchall())


def traces(service: ServiceProcess, *needles: str) -> list[str]:
    """Every inventoried column of every row whose value contains one of the needles (the
    Telegram id, the name, the username, the email): the whole inventory walked."""
    found = []
    for name, entry in TABLES.items():
        for column in entry.columns:
            for needle in needles:
                hits = query(service, f"SELECT count(*) FROM {name} WHERE "
                             f"CAST({column} AS TEXT) LIKE ?", f"%{needle}%")
                if hits[0][0]:
                    found.append(f"{name}.{column} ~ {needle}: {hits[0][0]}")
    return found


async def seed(service: ServiceProcess) -> None:
    """An enabled rule (due in a year: it never runs here), an email, and a Stars payment —
    billing is issue 14, so its row is written directly, as it will store one."""
    engine = create_engine(service.env["DATABASE_URL"])
    try:
        async with session_factory(engine)() as s:
            s.add(Rule(user_id=UID, name="Stop losers", level="campaign", enabled=True,
                        text="campaign: spend > 100 in today -> notify",
                        due_at=datetime.now(UTC) + timedelta(days=400)))
            s.add(Payment(user_id=UID, telegram_charge_id="stars-charge-1", total_amount=250,
                          payload="pro:month"))
            user = await s.get(User, UID)
            assert user is not None
            user.email = EMAIL
            await s.commit()
    finally:
        await engine.dispose()


async def wait_stage(service: ServiceProcess, stage: str) -> None:
    for _ in range(200):
        rows = query(service, "SELECT stage FROM erasures")
        if rows and rows[0][0] == stage:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the erasure never reached {stage}: {rows}\n{service.log()}")


async def travel(service: ServiceProcess, seconds: float, **env: str) -> None:
    """Restart the service with its clock `seconds` ahead (and these settings)."""
    service.env["CLOCK_OFFSET_SECONDS"] = str(seconds)
    service.env.update(env)
    await service.restart()


async def test_delete_account_at_once_then_day_8_then_day_31_through_a_crash(
    service: ServiceProcess, sandbox: SandboxClient, tiktok: RunningEmulator
) -> None:
    user = await sandbox.user(UID, first_name=NAME, username=USERNAME, language_code="en")
    await connected_and_synced(user)
    await seed(service)
    issued = [t for t in tiktok.state.tokens.values()
              if t.login == tiktok.state.default_login and t.token != tiktok.access_token]
    assert issued and not any(t.revoked for t in issued)

    # A wrong word deletes nothing.
    await user.send("/delete_account")
    explained = await user.expect("Within 30 days")
    assert "Within 7 days" in explained.text and "pseudonym" in explained.text
    assert "<code>DELETE</code>" in (explained.html or "")
    await user.send("delete")
    await user.expect("Nothing was deleted")
    assert query(service, "SELECT deleted_at FROM users WHERE id = ?", UID) == [(None,)]
    assert not any(t.revoked for t in issued)

    await user.send("/delete_account")
    await user.expect("Within 30 days")
    await user.send("DELETE")
    await user.expect("Your account is deleted")
    # At once: the tokens revoked at TikTok, keys and rules off, and the bot sees a stranger.
    assert all(t.revoked for t in issued)
    assert query(service, "SELECT count(*) FROM credentials WHERE user_id = ?", UID) == [(0,)]
    assert query(service, "SELECT enabled FROM rules WHERE user_id = ?", UID) == [(0,)]
    assert query(service, "SELECT stage FROM erasures") == [("stopped",)]
    for command in ("/stats", "/menu", "/settings"):
        await user.send(command)
        await user.expect("sign up")
    ad_rows = query(service, "SELECT count(*) FROM metrics_daily")[0][0]
    assert ad_rows > 0

    # Day 6: the ad data is still there; day 8: gone, the personal data still there.
    await travel(service, 6 * DAY)
    await asyncio.sleep(1)
    assert query(service, "SELECT stage FROM erasures") == [("stopped",)]
    await travel(service, 8 * DAY)
    await wait_stage(service, "purged")
    for table in ("tiktok_connections", "ad_accounts", "metrics_daily", "metrics_hourly",
                  "ad_objects", "sync_jobs"):
        assert query(service, f"SELECT count(*) FROM {table}") == [(0,)], table
    assert query(service, "SELECT first_name FROM users WHERE id = ?", UID) == [(NAME,)]

    # Day 31, with a pause between tables so the SIGKILL lands in the middle of the erasure.
    await travel(service, 31 * DAY, ERASE_PAUSE_SECONDS="0.3")
    for _ in range(200):
        if "privacy.erased_table" in service.log():
            break
        await asyncio.sleep(0.05)
    assert service.proc is not None
    service.proc.send_signal(signal.SIGKILL)
    await service.proc.wait()
    assert query(service, "SELECT stage FROM erasures") == [("purged",)]
    assert traces(service, str(UID))  # cut short: something is left behind for now
    # The next run (after the dead worker's 5-minute lease) finishes it.
    service.env.pop("ERASE_PAUSE_SECONDS")
    service.env["CLOCK_OFFSET_SECONDS"] = str(31 * DAY + 600)
    await service.start()
    await wait_stage(service, "done")
    assert traces(service, str(UID), NAME, USERNAME, EMAIL) == []
    [(pseudonym,)] = query(service, "SELECT pseudonym FROM erasures")
    assert pseudonym < 0
    assert query(service, "SELECT user_id, total_amount FROM payments") == [(pseudonym, 250)]
    audit = query(service, "SELECT actor_id, action, details FROM audit_log")
    assert any(actor == pseudonym for actor, _, _ in audit)
    done = [d for _, action, d in audit if action == "privacy.erasure_done"]
    assert len(done) == 1 and str(pseudonym) in done[0]


async def test_operator_erases_a_reported_account_at_once(
    service: ServiceProcess, sandbox: SandboxClient
) -> None:
    operator = await sandbox.user(ADMIN_ID, first_name="Olga", language_code="en")
    user = await sandbox.user(UID, first_name=NAME, username=USERNAME, language_code="en")
    other = await sandbox.user(5_550_612, language_code="en")
    await sign_up(user)
    await sign_up(other)
    await user.send("/support")
    await user.expect("Describe your question")
    await user.send("Please delete my account and all my data.")
    await operator.expect(f"id {UID}")

    # Only operators: the command and a forged confirmation are refused to anyone else.
    await other.send(f"/erase {UID} support")
    refused = await other.expect("Only TTPulse operators can erase accounts")
    answer = await press_data_answer(other, f"er:{UID}:support:1", refused.message_id)
    assert answer["text"] == "Only TTPulse operators can erase accounts."
    assert query(service, "SELECT count(*) FROM users WHERE id = ?", UID) == [(1,)]

    await operator.send(f"/erase {UID}")
    await operator.expect("Usage: /erase TELEGRAM_ID support")
    await operator.send(f"/erase {UID} support")
    confirm = await operator.expect(f"Erase the account of {NAME} (@{USERNAME})")
    assert confirm.button_labels() == ["🗑 Erase now", "Cancel"]
    await operator.press("🗑 Erase now")
    done = await operator.expect(f"Account {UID} erased on a support request")
    assert traces(service, str(UID), NAME, USERNAME) == []
    [(pseudonym, requested_by, reason)] = query(
        service, "SELECT pseudonym, requested_by, reason FROM erasures")
    assert (requested_by, reason) == (ADMIN_ID, "support") and str(pseudonym) in done.text
    assert query(service, "SELECT actor_id, target_id FROM audit_log WHERE action = "
                 "'privacy.erasure_requested'") == [(ADMIN_ID, str(pseudonym))]
    await user.send("/menu")
    await user.expect("sign up")
    # Pressed again (an old copy of the button): nothing left to erase, said so.
    await operator.press("🗑 Erase now", seen=confirm)
    await operator.expect(f"There is no account with Telegram id {UID}")
    await other.send("/menu")
    await other.expect("main menu")  # the other user is untouched
    # Signing up again starts from nothing: no ticket, no history of the old account.
    await sign_up(user)
    assert query(service, "SELECT count(*) FROM support_tickets") == [(0,)]
    assert query(service, "SELECT count(*) FROM audit_log WHERE actor_id = ?", UID) == [(1,)]


class TestRedisState:
    """With REDIS_URL the conversation state lives in Redis, out of the erasure's reach: the bot
    clears it, for a user deleting their own account and for one an operator erases mid-flow."""

    @pytest.fixture
    async def service_env(self) -> dict[str, str]:
        client = await redis_client()
        await client.flushdb()  # the test database (/15 by default), never the default one
        await client.aclose()
        return {"REDIS_URL": REDIS_URL}

    async def test_conversation_state_is_cleared(
        self, service: ServiceProcess, sandbox: SandboxClient
    ) -> None:
        operator = await sandbox.user(ADMIN_ID, language_code="en")
        own, reported = await sandbox.user(5_550_621), await sandbox.user(5_550_622)
        await sign_up(own)
        await sign_up(reported)
        await reported.send("/support")  # mid-flow: waiting for the question
        await reported.expect("Describe your question")
        client = await redis_client()
        try:
            assert await client.keys("fsm:*:5550622:5550622:*")
            await own.send("/delete_account")
            await own.expect("Within 30 days")
            assert await client.keys("fsm:*:5550621:5550621:*")
            await own.send("DELETE")
            await own.expect("Your account is deleted")
            await operator.send("/erase 5550622 minor")
            await operator.expect("on a report of a minor?")
            await operator.press("🗑 Erase now")
            await operator.expect("Account 5550622 erased")
            assert await client.keys("fsm:*:555062?:555062?:*") == []
        finally:
            await client.aclose()
        await reported.send("I wanted to ask something")  # no longer taken as a ticket
        await reported.expect("Send /start to sign up")
