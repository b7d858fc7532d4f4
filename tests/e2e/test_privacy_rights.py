"""Privacy rights end to end: the policy with the user's own deletion dates and the activity
list, pausing an account (a rule that would fire waits until resume), and news broadcast by an
operator with a one-tap Unsubscribe."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from babel.dates import format_date

from bot.callbacks import NewsCb
from core.tiktok import NoLimiter, TikTokClient
from sandbox.telegram.driver import SandboxClient
from sandbox.tiktok.server import RunningEmulator
from tests.e2e.harness import (
    ADMIN_ID,
    ServiceProcess,
    generous_plans,
    press_data_answer,
    sign_up,
)
from tests.e2e.test_accounts import follow, open_consent
from tests.e2e.test_rules import Travel, new_rule_by_text, pick, state_of, tap
from tests.e2e.test_stats import connected_and_synced


@pytest.fixture
def clock_file(tmp_path: Path) -> Path:
    return tmp_path / "clock-offset"


@pytest.fixture
def service_env(clock_file: Path, tmp_path: Path) -> dict[str, str]:
    # A rule every 15 minutes: faster than Free allows (its limits: test_plan_limits.py).
    return {"CLOCK_OFFSET_FILE": str(clock_file), "RULES_TICK_SECONDS": "1",
            "SYNC_TICK_SECONDS": "1", "NOTIFY_TICK_SECONDS": "0.5", "TIKTOK_QPS": "100",
            **generous_plans(tmp_path)}


@pytest.fixture
def travel(clock_file: Path, tiktok: RunningEmulator) -> Travel:
    return Travel(clock_file, tiktok)


def _db(service: ServiceProcess) -> str:
    return service.env["DATABASE_URL"].removeprefix("sqlite+aiosqlite:///")


def _query(service: ServiceProcess, sql: str, *args: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(_db(service)) as conn:
        return list(conn.execute(sql, args).fetchall())


async def test_privacy_shows_the_date_a_disconnected_account_is_deleted_and_the_activity(
    service: ServiceProcess, sandbox: SandboxClient, tiktok: RunningEmulator
) -> None:
    user = await sandbox.user(1301, language_code="en")
    await sign_up(user, zone="Singapore")
    await follow(await open_consent(user))
    await user.expect("✅ TikTok connected.")
    await user.press("📊 Accounts")
    screen = await user.expect("tracked")
    await user.press(next(b for b in screen.button_labels() if b.startswith("🔌")))
    await user.expect("revoke its access at TikTok")
    await user.press("Yes, disconnect")
    await user.expect("will be deleted by")
    [(purge_after,)] = _query(service, "SELECT purge_after FROM tiktok_connections")

    await user.send("/privacy")
    policy = await user.expect("For you now")
    when = datetime.fromisoformat(str(purge_after)).replace(tzinfo=UTC)
    day = format_date(when.astimezone(ZoneInfo("Asia/Singapore")).date(), "d MMMM", locale="en")
    names = [n for (n,) in _query(service, "SELECT name FROM ad_accounts ORDER BY name")]
    assert names
    for name in names:
        assert (f"Ad account «{name}»: its data is deleted on {day}, 7 days after you "
                "disconnected it.") in policy.text
    assert policy.text.startswith("Page 1 of ") and "›" in policy.button_labels()
    for screen_text in (policy.text,):
        assert len(screen_text) <= 4096

    activity = await tap(user, "🕒 Activity", "Activity")
    lines = activity.text.splitlines()
    assert "Times in your time zone: Singapore (UTC+08:00)." in lines
    events = [line.split(" — ", 1)[1] for line in lines if " — " in line]
    assert events[:3] == ["TikTok disconnected", "TikTok connected", "Signed up"]


async def test_a_paused_account_runs_no_rule_until_it_resumes(
    service: ServiceProcess, sandbox: SandboxClient, tiktok: RunningEmulator, travel: Travel,
) -> None:
    user = await sandbox.user(1311, language_code="en")
    await connected_and_synced(user)
    async with aiohttp.ClientSession() as http:
        api = TikTokClient(base_url=tiktok.url, app_id=tiktok.app_id, secret=tiktok.secret,
                           session=http, limiter=NoLimiter())
        adv, ad_id, name = await pick(api, tiktok, "ad")
        await new_rule_by_text(user, "ad: impressions >= 0 in today -> pause", ad_id)

        await user.send("/settings")
        await user.expect("Settings")
        confirm = await tap(user, "⏸ Pause my account", "Pause your account?")
        assert "Nothing is deleted" in confirm.text
        await tap(user, "⏸ Pause my account", "Your account is paused")
        await user.send("/menu")
        await user.expect("Your account is paused")

        # A witness: another user's copy of the rule, due at the same moment, shows when a
        # rules tick has passed that moment (it has no accounts, so it changes nothing).
        witness = await sandbox.user(1312, language_code="en")
        await sign_up(witness)
        with sqlite3.connect(_db(service)) as conn:
            conn.execute(
                "INSERT INTO rules (user_id, name, text, level, settings, enabled, due_at, "
                "created_at, updated_at) SELECT 1312, 'witness', text, level, settings, enabled, "
                "due_at, created_at, updated_at FROM rules WHERE user_id = 1311")
        travel(timedelta(minutes=16))
        for _ in range(300):
            ran = _query(service, "SELECT last_run_at FROM rules WHERE user_id = 1312")
            if ran and ran[0][0] is not None:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the witness rule never ran")
        assert _query(service, "SELECT last_run_at FROM rules WHERE user_id = 1311") == [(None,)]
        assert (await state_of(api, tiktok, adv, "ad", ad_id)).status == "ENABLE"

        await user.send("/settings")
        await user.expect("Your account is paused since")
        await tap(user, "▶ Resume", "Resume your account?")
        await tap(user, "▶ Resume", "Your account is active again")
        alert = await user.wait_for(lambda m: "— paused" in m.text and name in m.text,
                                    timeout=30)
        assert "Why:" in alert.text
        assert (await state_of(api, tiktok, adv, "ad", ad_id)).status == "DISABLE"
        actions = [a for (a,) in _query(
            service, "SELECT action FROM audit_log WHERE action LIKE 'privacy.%' ORDER BY id")]
        assert actions == ["privacy.paused", "privacy.resumed"]


async def test_broadcast_reaches_only_opted_in_users_and_unsubscribe_withdraws(
    service: ServiceProcess, sandbox: SandboxClient
) -> None:
    admin = await sandbox.user(ADMIN_ID, language_code="en")
    fan = await sandbox.user(1321, language_code="en")
    other = await sandbox.user(1322, language_code="en")
    for person in (admin, fan, other):
        await sign_up(person)
    await fan.send("/settings")
    await fan.expect("News and offers: off")
    await tap(fan, "📣 News: off", "News and offers: on")

    await other.send("/broadcast Free money")
    await other.expect("Only TTPulse operators can send news.")
    await admin.send("/broadcast")
    await admin.expect("/broadcast your text")
    await admin.send("/broadcast Spring release: <charts> & more")
    await admin.expect("Preview of the news")  # nothing goes before the operator says so
    await tap(admin, "📤 Send to users: 1", "Queued, recipients: 1")

    news = await fan.wait_for(lambda m: "Spring release: <charts> & more" in m.text)
    assert news.button_labels() == ["🔕 Unsubscribe"]
    assert "agreed to receive news" in news.text
    # The other user's own forged press on the fan's button is refused and changes nothing.
    data = NewsCb(a="unsub", u=fan.user_id).pack()
    own = await other.last_bot_message()
    assert own is not None
    answer = await press_data_answer(other, data, own.message_id)
    assert "someone else's" in str(answer.get("text"))

    await fan.press("🔕 Unsubscribe", message_id=news.message_id)
    await fan.expect("you will get no more news")
    await fan.send("/settings")
    await fan.expect("News and offers: off")
    assert _query(service, "SELECT marketing_opt_in FROM users WHERE id = ?", fan.user_id) == [
        (0,)]
    # Only the fan's news was ever queued: nobody else had agreed to receive it.
    assert _query(service, "SELECT user_id FROM outbox WHERE kind = 'marketing'") == [
        (fan.user_id,)]
    assert not any("Spring release" in m.text for m in await other.bot_messages())
