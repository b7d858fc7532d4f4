"""Revocation on TikTok's side, end to end through the sandbox chat with the service's clock
moved: Ann withdraws TTPulse's authorization in TikTok, Bob's login loses one ad account. Each
is told once, with the date; six days on the data is all there, eight days on it is gone (and
only what was revoked or lost)."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import aiohttp
from babel.dates import format_date

from sandbox.telegram.driver import SandboxClient
from sandbox.tiktok.server import RunningEmulator
from tests.e2e.harness import ServiceProcess, sign_up
from tests.e2e.test_accounts import follow, open_consent

ANN, BOB = 611, 612
MOVED = 20 * 60  # past the 15-minute sync, so each account's next sync meets TikTok's refusal


async def control(tiktok: RunningEmulator, name: str, body: dict[str, object]) -> None:
    async with aiohttp.ClientSession() as http, http.post(
        f"{tiktok.url}/_emulator/{name}", json=body
    ) as resp:
        assert resp.status == 200, await resp.text()


def deletion_days(offset: int) -> set[str]:
    """How the deletion date reads to a Berlin user, whether the loss was met on the clock as
    it is or moved `offset` seconds on (a first sync still running meets TikTok's refusal
    before the restart that moves the clock), either side of a midnight passing now."""
    now = datetime.now(UTC) + timedelta(days=7)
    return {
        format_date(t.astimezone(ZoneInfo("Europe/Berlin")).date(), "long", locale="en")
        for t in (now - timedelta(minutes=2), now + timedelta(seconds=offset, minutes=2))
    }


async def test_revoked_or_lost_at_tiktok_kept_six_days_gone_after_eight(
    service: ServiceProcess, sandbox: SandboxClient, tiktok: RunningEmulator
) -> None:
    db = service.env["DATABASE_URL"].removeprefix("sqlite+aiosqlite:///")

    def count(sql: str, *args: object) -> int:
        with sqlite3.connect(db) as conn:
            return int(conn.execute(sql, args).fetchone()[0])

    async def until(check: str, *args: object) -> None:
        for _ in range(300):
            if count(check, *args):
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"never true: {check} {args}")

    def rows_of(account_sql: str, *args: object) -> tuple[int, int, int]:
        accounts = f"SELECT id FROM ad_accounts WHERE {account_sql}"
        return (
            count(f"SELECT count(*) FROM ad_accounts WHERE {account_sql}", *args),
            count(f"SELECT count(*) FROM ad_objects WHERE ad_account_id IN ({accounts})", *args),
            count(f"SELECT count(*) FROM sync_jobs WHERE ad_account_id IN ({accounts})", *args),
        )

    ann = await sandbox.user(ANN, first_name="Ann", language_code="en")
    await sign_up(ann)
    await follow(await open_consent(ann))
    await ann.expect("✅ TikTok connected.")
    bob = await sandbox.user(BOB, first_name="Bob", language_code="en")
    await sign_up(bob)
    await follow(await open_consent(bob) + "&user=agency")
    await bob.expect("✅ TikTok connected.")
    lost, *kept = tiktok.state.users["agency"].advertiser_ids
    assert kept
    of_ann = "connection_id IN (SELECT id FROM tiktok_connections WHERE user_id = ?)"
    # Both logins' first syncs under way (the data to be kept, then deleted, is arriving).
    for who, args in ((of_ann, (ANN,)), ("advertiser_id = ?", (lost,))):
        await until(f"SELECT count(*) FROM ad_objects WHERE ad_account_id IN "
                    f"(SELECT id FROM ad_accounts WHERE {who})", *args)

    await control(tiktok, "revoke", {"user": "demo"})
    await control(tiktok, "unshare", {"user": "agency", "advertiser_id": lost})
    service.env["CLOCK_OFFSET_SECONDS"] = str(MOVED)
    await service.restart()
    told = await ann.wait_for(lambda m: "was revoked" in m.text, timeout=30)
    assert any(day in told.text for day in deletion_days(MOVED)), told.text
    assert "🔄 Reconnect" in told.button_labels()
    said = await bob.wait_for(lambda m: "no longer reachable" in m.text, timeout=30)
    assert lost in said.text and any(day in said.text for day in deletion_days(MOVED))
    await bob.send("/menu")
    await bob.expect("main menu")
    await bob.press("📊 Accounts")
    screen = await bob.expect("no longer reachable with this login")
    assert any(day in screen.text for day in deletion_days(MOVED))
    # /privacy gives both their dates and why each clock started.
    await ann.send("/privacy")
    page = await ann.expect("For you now")
    assert "after TikTok stopped accepting your login" in page.text, page.text
    await bob.send("/privacy")
    page = await bob.expect("For you now")
    assert "after your TikTok login lost access to it" in page.text, page.text
    # Nothing syncs into what was revoked or lost any more: what is there now must stay.
    ann_rows, lost_rows = rows_of(of_ann, ANN), rows_of("advertiser_id = ?", lost)
    kept_rows = rows_of("advertiser_id = ?", kept[0])
    assert min(ann_rows + lost_rows + kept_rows) > 0

    runs = service.log().count("privacy.purge_run")
    service.env["CLOCK_OFFSET_SECONDS"] = str(MOVED + 6 * 86400)  # six days on: all kept
    await service.restart()
    for _ in range(300):  # the purge runs at start: wait until it has run once more
        if service.log().count("privacy.purge_run") > runs:
            break
        await asyncio.sleep(0.1)
    assert service.log().count("privacy.purge_run") > runs
    assert rows_of(of_ann, ANN) == ann_rows
    assert rows_of("advertiser_id = ?", lost) == lost_rows

    service.env["CLOCK_OFFSET_SECONDS"] = str(MOVED + 8 * 86400)  # eight days on: gone
    await service.restart()
    await until("SELECT count(*) = 0 FROM ad_accounts WHERE advertiser_id = ?", lost)
    await until("SELECT count(*) = 0 FROM tiktok_connections WHERE user_id = ?", ANN)
    assert rows_of(of_ann, ANN) == (0, 0, 0)
    assert count("SELECT count(*) FROM credentials WHERE user_id = ?", ANN) == 0
    assert rows_of("advertiser_id = ?", lost) == (0, 0, 0)
    assert rows_of("advertiser_id = ?", kept[0])[:2] == kept_rows[:2]  # Bob's other account
    # Told once each, however many syncs and restarts met the refusal.
    ann_said = [m for m in await ann.bot_messages() if "was revoked" in m.text]
    bob_said = [m for m in await bob.bot_messages() if "reachable with your TikTok" in m.text]
    assert (len(ann_said), len(bob_said)) == (1, 1)
