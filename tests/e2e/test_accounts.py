"""Connecting TikTok from the chat through the emulator's consent page, as a user would."""

from __future__ import annotations

import asyncio
import re
import sqlite3

import aiohttp
import pytest

from sandbox.telegram.driver import ChatUser, SandboxClient
from sandbox.tiktok.browser import click
from sandbox.tiktok.server import RunningEmulator
from tests.e2e.harness import ServiceProcess, press_data_answer, sign_up


async def open_consent(user: ChatUser) -> str:
    """Accounts → Connect TikTok; returns the consent URL from the URL button."""
    await user.send("/menu")
    await user.expect("main menu")
    await user.press("📊 Accounts")
    await user.expect("Ad accounts")
    await user.press("➕ Connect TikTok")
    screen = await user.expect("authorize TTPulse")
    [url] = [b.url for row in screen.buttons for b in row if b.url]
    assert url is not None
    return url


async def follow(url: str, choice: str = "Authorize") -> tuple[int, str, str]:
    """In a browser: open the consent page, click Authorize/Cancel, land on our callback."""
    return await click(url, choice, follow=True)


async def test_connect_see_accounts_track_and_disconnect(
    service: ServiceProcess, sandbox: SandboxClient, tiktok: RunningEmulator
) -> None:
    user = await sandbox.user(601, first_name="Ann", language_code="en")
    await sign_up(user)
    url = await open_consent(user)
    assert url.startswith(tiktok.auth_url) and "state=" in url

    status, landed, page = await follow(url)
    assert status == 200 and landed.startswith(f"{service.url}/oauth/tiktok/callback")
    assert "TikTok connected" in page and "t.me/" in page
    owned = tiktok.state.users[tiktok.state.default_login].advertiser_ids
    done = await user.expect("✅ TikTok connected.")
    assert f"Ad accounts found: {len(owned)}" in done.text
    for advertiser_id in owned:
        assert advertiser_id in done.text

    await user.press("📊 Accounts")
    screen = await user.expect("tracked")
    assert all(a in screen.text for a in owned)
    first = next(label for label in screen.button_labels() if label.startswith("✅"))
    await user.press(first)
    await user.wait_for(lambda m: "⬜ " + first[2:] in m.button_labels())

    # Someone else's connection id in a forged payload is refused.
    answer = await press_data_answer(user, "ac:disconnect:99999:0", screen.message_id)
    assert answer["text"] == "That account is not among yours (or was disconnected)."

    disconnect = next(label for label in screen.button_labels() if label.startswith("🔌"))
    await user.press(disconnect)
    await user.expect("revoke its access at TikTok")
    await user.press("Yes, disconnect")
    await user.expect("is disconnected and its access at TikTok revoked")
    assert all(
        t.revoked
        for t in tiktok.state.tokens.values()
        if t.login == tiktok.state.default_login and t.token != tiktok.access_token
    )


async def test_reconnecting_the_same_login_updates_it(
    service: ServiceProcess, sandbox: SandboxClient
) -> None:
    user = await sandbox.user(602, language_code="en")
    await sign_up(user)
    await follow(await open_consent(user))
    await user.expect("✅ TikTok connected.")
    await follow(await open_consent(user))
    await user.expect("✅ TikTok reconnected.")
    await user.press("📊 Accounts")
    screen = await user.expect("tracked")
    assert len([label for label in screen.button_labels() if label.startswith("🔌")]) == 1


async def test_bad_oauth_returns(service: ServiceProcess, sandbox: SandboxClient) -> None:
    user = await sandbox.user(603, language_code="ru")
    await sign_up(user, language="Русский", zone="Москва")

    # Denied at TikTok.
    await user.send("/menu")
    await user.expect("главное меню")
    await user.press("📊 Аккаунты")
    await user.expect("Рекламные аккаунты")
    await user.press("➕ Подключить TikTok")
    screen = await user.expect("разрешите TTPulse")
    [url] = [b.url for row in screen.buttons for b in row if b.url]
    status, _, page = await follow(url, "Cancel")
    assert status == 400 and "TikTok не подключён" in page
    await user.expect("Вы отменили авторизацию в TikTok")

    # The same link used twice: the second time is refused.
    await user.press("🔁 Попробовать снова")
    screen = await user.expect("разрешите TTPulse")
    [url] = [b.url for row in screen.buttons for b in row if b.url]
    status, _, _ = await follow(url)
    assert status == 200
    await user.expect("✅ TikTok подключён.")
    status, _, page = await follow(url)
    assert status == 400 and "уже использована" in page
    await user.expect("Эта ссылка TikTok уже использована")

    # A forged state: a clear page, no chat message to anyone.
    before = len(await user.bot_messages())
    async with aiohttp.ClientSession() as http:
        bad = f"{service.url}/oauth/tiktok/callback?auth_code=x&code=x&state=603.forged"
        async with http.get(bad) as resp:
            assert resp.status == 400
            assert "not issued by TTPulse" in await resp.text()
    assert len(await user.bot_messages()) == before


async def test_failed_exchange_leaves_nothing(
    service: ServiceProcess, sandbox: SandboxClient, tiktok: RunningEmulator
) -> None:
    user = await sandbox.user(604, language_code="en")
    await sign_up(user)
    url = await open_consent(user)
    _, location, _ = await click(url)  # TikTok redirects back; the code is then tampered with
    broken = re.sub(r"auth_code=[^&]+", "auth_code=wrong", location)
    broken = re.sub(r"([?&])code=[^&]+", r"\1code=wrong", broken)
    async with aiohttp.ClientSession() as http, http.get(broken) as resp:
        assert resp.status == 400
    await user.expect("TikTok did not confirm the authorization")
    await user.send("/menu")
    await user.expect("main menu")
    await user.press("📊 Accounts")
    await user.expect("No TikTok account is connected yet")


# Intraday syncs every 6 s: the revoked token is met by the next one, not 15 minutes later (the
# first sync's jobs may all be done before the test revokes it).
@pytest.mark.parametrize("service_env", [{"SYNC_TODAY_MINUTES": "0.1"}])
async def test_revoked_token_alerts_once_and_reconnect_resumes(
    service: ServiceProcess, sandbox: SandboxClient, tiktok: RunningEmulator
) -> None:
    user = await sandbox.user(605, language_code="en")
    await sign_up(user)
    await follow(await open_consent(user))
    await user.expect("✅ TikTok connected.")
    for _ in range(30):  # reopen Accounts until the first sync has run
        await user.press("📊 Accounts")
        screen = await user.expect("Ad accounts")
        if "data as of" in screen.text:
            break
        await user.press("« Main menu")
        await user.expect("main menu")
        await asyncio.sleep(1)
    assert "data as of" in screen.text

    login = tiktok.state.default_login
    for token in tiktok.state.tokens.values():
        if token.login == login and token.token != tiktok.access_token:
            token.revoked = True
    alert = await user.wait_for(lambda m: "was revoked" in m.text, timeout=60)
    assert alert.button_labels() == ["🔄 Reconnect"]
    assert "will be deleted on" in alert.text  # revoked for good: the retention clock runs
    await asyncio.sleep(4)  # several sync and notifier ticks later: still one alert
    texts = [m.text for m in await user.bot_messages()]
    assert sum("was revoked" in t for t in texts) == 1
    await user.press("🔄 Reconnect", message_id=alert.message_id)
    screen = await user.expect("authorize TTPulse")
    [url] = [b.url for row in screen.buttons for b in row if b.url]
    await follow(url)
    await user.expect("✅ TikTok reconnected.")
    db = service.env["DATABASE_URL"].removeprefix("sqlite+aiosqlite:///")
    with sqlite3.connect(db) as conn:  # reconnected in time: nothing is deleted any more
        assert conn.execute("SELECT status, purge_after FROM tiktok_connections").fetchall() == [
            ("active", None)
        ]


async def test_expired_link_and_data_gone_after_retention(
    service: ServiceProcess, sandbox: SandboxClient, tiktok: RunningEmulator
) -> None:
    user = await sandbox.user(606, language_code="en")
    await sign_up(user)
    stale_url = await open_consent(user)
    # 16 minutes later (the service's clock moved; TikTok's code is still fresh).
    service.env["CLOCK_OFFSET_SECONDS"] = str(16 * 60)
    await service.restart()
    status, _, page = await follow(stale_url)
    assert status == 400 and "expired" in page
    await user.expect("The TikTok link expired before it was used")

    await follow(await open_consent(user))
    await user.expect("✅ TikTok connected.")
    await user.press("📊 Accounts")
    screen = await user.expect("tracked")
    await user.press(next(b for b in screen.button_labels() if b.startswith("🔌")))
    await user.expect("revoke its access at TikTok")
    await user.press("Yes, disconnect")
    await user.expect("will be deleted by")
    db = service.env["DATABASE_URL"].removeprefix("sqlite+aiosqlite:///")

    def count(table: str) -> int:
        import sqlite3

        with sqlite3.connect(db) as conn:
            return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    assert count("ad_accounts") == len(
        tiktok.state.users[tiktok.state.default_login].advertiser_ids
    )
    service.env["CLOCK_OFFSET_SECONDS"] = str(16 * 60 + 6 * 86400)  # six days on: still kept
    await service.restart()
    await asyncio.sleep(2)
    assert count("tiktok_connections") == 1 and count("ad_accounts") > 0
    service.env["CLOCK_OFFSET_SECONDS"] = str(16 * 60 + 8 * 86400)  # eight days on: gone
    await service.restart()
    for _ in range(50):
        if count("tiktok_connections") == 0:
            break
        await asyncio.sleep(0.2)
    assert (
        count("tiktok_connections"),
        count("ad_accounts"),
        count("metrics_daily"),
        count("credentials"),
    ) == (0, 0, 0, 0)
