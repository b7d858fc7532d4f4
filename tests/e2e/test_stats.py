"""Stats in the chat equal TikTok's own report totals, at every level, in each account's days."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest
from babel.dates import format_date

from core.money import money
from core.periods import local_today
from core.tiktok import NoLimiter, ReportLevel, TikTokClient
from sandbox.telegram.driver import ChatUser, SandboxClient
from sandbox.tiktok.server import RunningEmulator
from tests.e2e.harness import ServiceProcess, generous_plans, sign_up
from tests.e2e.test_accounts import follow, open_consent


@pytest.fixture
def service_env(tmp_path: Path) -> dict[str, str]:
    """Every ad account of the login tracked, beyond Free's limit (test_plan_limits.py)."""
    return generous_plans(tmp_path)


async def connected_and_synced(user: ChatUser) -> None:
    """Sign up, connect TikTok and wait until every account has been synced once."""
    await sign_up(user)
    await follow(await open_consent(user))
    await user.expect("✅ TikTok connected.")
    for _ in range(60):
        await user.send("/stats")
        screen = await user.expect("Stats")
        loading = ("not synced yet", "history loading")
        if not any(word in screen.text for word in loading) and "·" in screen.text:
            return
        await asyncio.sleep(1)
    raise AssertionError("the first sync never finished")


def block(text: str, name: str) -> str:
    """The lines of one account in the summary."""
    start = text.index(name)
    end = text.find("\n\n", start)
    return text[start : end if end != -1 else None]


async def tiktok_spend(
    emu: RunningEmulator, advertiser_id: str, level: ReportLevel, start: object, end: object
) -> dict[str, Decimal]:
    async with aiohttp.ClientSession() as http:
        client = TikTokClient(
            base_url=emu.url,
            app_id=emu.app_id,
            secret=emu.secret,
            session=http,
            limiter=NoLimiter(),
        )
        rows = await client.get_report(
            emu.access_token, advertiser_id, level, start, end, grain=None
        )  # type: ignore[arg-type]
    return {r.object_id: r.spend or Decimal(0) for r in rows}


async def test_numbers_equal_tiktok_at_every_level(
    service: ServiceProcess, sandbox: SandboxClient, tiktok: RunningEmulator
) -> None:
    user = await sandbox.user(701, language_code="en")
    await connected_and_synced(user)
    await user.press("• Last 7 days")  # the default period, pressed again: no edit, no error
    summary = await user.press("Yesterday")
    screen = await user.wait_for(lambda m: "Stats · Yesterday" in m.text)
    now = datetime.now(UTC)
    owned = tiktok.state.users[tiktok.state.default_login].advertiser_ids
    currencies, zones = set(), set()
    for advertiser_id in owned:
        adv = tiktok.state.advertisers[advertiser_id]
        currencies.add(adv.currency)
        zones.add(adv.timezone)
        day = local_today(now, adv.timezone) - timedelta(days=1)
        [spend] = (
            await tiktok_spend(tiktok, advertiser_id, ReportLevel.ADVERTISER, day, day)
        ).values()
        shown = block(screen.text, adv.name)
        assert f"Spend {money(spend, adv.currency, 'en')}" in shown, (adv.name, spend, shown)
    assert len(currencies) >= 2 and len(zones) >= 2
    assert summary

    # Drill down: campaigns → ad groups → ads of the first account, each equal to TikTok's.
    adv = tiktok.state.advertisers[owned[0]]
    day = local_today(now, adv.timezone) - timedelta(days=1)
    await user.press(f"🔎 {adv.name}")
    campaigns = await user.wait_for(lambda m: "Campaigns · Yesterday" in m.text)
    want = await tiktok_spend(tiktok, adv.advertiser_id, ReportLevel.CAMPAIGN, day, day)
    top = sorted(want.values(), reverse=True)[:8]
    for value in top:
        assert money(value, adv.currency, "en") in campaigns.text
    await user.press("1")
    groups = await user.wait_for(lambda m: "Ad groups · Yesterday" in m.text)
    want = await tiktok_spend(tiktok, adv.advertiser_id, ReportLevel.ADGROUP, day, day)
    first_group_line = groups.text.split("\n")[5]
    assert any(money(v, adv.currency, "en") in first_group_line for v in want.values())
    await user.press("1")
    ads = await user.wait_for(lambda m: "Ads · Yesterday" in m.text)
    want = await tiktok_spend(tiktok, adv.advertiser_id, ReportLevel.AD, day, day)
    assert any(money(v, adv.currency, "en") in ads.text.split("\n")[5] for v in want.values())
    await user.press("« Back")
    await user.wait_for(lambda m: "Ad groups · Yesterday" in m.text)
    await user.press("« Back")
    await user.wait_for(lambda m: "Campaigns · Yesterday" in m.text)
    await user.press("« Back")
    await user.wait_for(lambda m: "Stats · Yesterday" in m.text)


async def test_every_period_in_each_accounts_own_days(
    service: ServiceProcess, sandbox: SandboxClient, tiktok: RunningEmulator
) -> None:
    user = await sandbox.user(703, language_code="en")
    await connected_and_synced(user)
    owned = tiktok.state.users[tiktok.state.default_login].advertiser_ids
    now = datetime.now(UTC)
    complete = {"Last 7 days": (7, 1), "Last 30 days": (30, 1)}  # (days back, days before today)
    for label in ("Today", "Yesterday", "Last 7 days", "Last 30 days", "This month"):
        await user.press(label)
        screen = await user.expect(f"Stats · {label}")
        for advertiser_id in owned:
            adv = tiktok.state.advertisers[advertiser_id]
            shown = block(screen.text, adv.name)
            today = local_today(now, adv.timezone)
            assert "Spend" in shown and "ROAS" in shown
            if label in complete:
                back, _ = complete[label]
                start, end = today - timedelta(days=back), today - timedelta(days=1)
                [spend] = (
                    await tiktok_spend(tiktok, advertiser_id, ReportLevel.ADVERTISER, start, end)
                ).values()
                assert f"Spend {money(spend, adv.currency, 'en')}" in shown, (label, adv.name)
                assert format_date(start, "medium", locale="en") in shown  # its own days
        await user.press(f"🔎 {tiktok.state.advertisers[owned[0]].name}")
        screen = await user.expect(f"Campaigns · {label}")
        depth = 0
        for below in ("Ad groups", "Ads"):  # down to ads, where something delivered
            if "1" not in screen.button_labels():
                break
            await user.press("1")
            screen = await user.expect(f"{below} · {label}")
            depth += 1
        for above in ("Ad groups", "Campaigns")[2 - depth :]:
            await user.press("« Back")
            await user.expect(f"{above} · {label}")
        await user.press("« Back")
        await user.expect(f"Stats · {label}")


async def test_charts_csv_refresh_and_custom_range(
    service: ServiceProcess, sandbox: SandboxClient, tiktok: RunningEmulator
) -> None:
    user = await sandbox.user(702, language_code="en")
    await connected_and_synced(user)
    adv = tiktok.state.advertisers[tiktok.state.users[tiktok.state.default_login].advertiser_ids[0]]
    await user.press(f"🔎 {adv.name}")
    await user.wait_for(lambda m: "Campaigns · Last 7 days" in m.text)

    await user.press("📊 Charts")
    photos = await user.wait_for(
        lambda m: m.kind == "photo" and "Top campaigns" in m.text, timeout=60
    )
    pictures = [m for m in await user.bot_messages() if m.kind == "photo"]
    assert len(pictures) == 3 and photos in pictures
    for picture in pictures:
        png = await sandbox.download(picture.file["download_path"])  # type: ignore[index]
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000

    await user.press("📄 CSV")
    doc = await user.wait_for(lambda m: m.kind == "document", timeout=30)
    data = (await sandbox.download(doc.file["download_path"])).decode("utf-8-sig")  # type: ignore[index]
    table = list(csv.reader(io.StringIO(data)))
    assert table[0][:4] == ["date", "object id", "name", "spend"]
    assert len(table) > 7 and all(len(r) == len(table[0]) for r in table)
    assert doc.file["file_name"].endswith(".csv")  # type: ignore[index]

    await user.press("🔄 Refresh")
    await user.wait_for(lambda m: "is up to date" in m.text, timeout=60)

    # "Custom range" from the ad groups of a campaign comes back to those ad groups.
    await user.press("1")
    groups = await user.wait_for(lambda m: "Ad groups · Last 7 days" in m.text)
    where = groups.text.split("\n")[0]  # the account › the campaign
    await user.press("Custom range", message_id=groups.message_id)
    await user.expect("Send the dates")
    await user.send("31.02-01.03")
    await user.expect("one of the dates does not exist")
    today = local_today(datetime.now(UTC), "UTC")
    start, end = today - timedelta(days=10), today - timedelta(days=4)
    await user.send(f"{start:%d.%m.%Y}-{end:%d.%m.%Y}")
    back = await user.expect("Ad groups · Custom range")
    assert back.text.split("\n")[0] == where
    await user.press("« Back", message_id=back.message_id)
    await user.wait_for(lambda m: "Campaigns · Custom range" in m.text)
    # ...and from the summary, to the summary.
    await user.send("/stats")
    summary = await user.expect("Stats · Last 7 days")
    await user.press("Custom range", message_id=summary.message_id)
    await user.expect("Send the dates")
    await user.send(f"{start:%d.%m.%Y}-{end:%d.%m.%Y}")
    await user.expect("Stats · Custom range")
