"""Automation rules end to end: the real bot process, the sandbox Telegram server and the TikTok
emulator, with the service's and the emulator's clocks moved together."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest

from core import changes
from core.tiktok import NoLimiter, TikTokClient
from sandbox.telegram.driver import ChatUser, MessageView, SandboxClient
from sandbox.tiktok.server import RunningEmulator
from tests.e2e.harness import ServiceProcess, press_data_answer, sign_up
from tests.e2e.test_stats import connected_and_synced


class Travel:
    """Moves the service's clock (its offset file) and the emulator's clock together."""

    def __init__(self, path: Path, tiktok: RunningEmulator) -> None:
        self.path, self.tiktok, self.offset = path, tiktok, 0.0

    def __call__(self, delta: timedelta) -> None:
        self.offset += delta.total_seconds()
        self.path.write_text(str(self.offset))
        self.tiktok.clock.advance(delta.total_seconds())


@pytest.fixture
def clock_file(tmp_path: Path) -> Path:
    return tmp_path / "clock-offset"


@pytest.fixture
def service_env(clock_file: Path) -> dict[str, str]:
    return {"CLOCK_OFFSET_FILE": str(clock_file), "RULES_TICK_SECONDS": "1",
            "SYNC_TICK_SECONDS": "1", "NOTIFY_TICK_SECONDS": "0.5"}


@pytest.fixture
def travel(clock_file: Path, tiktok: RunningEmulator) -> Travel:
    return Travel(clock_file, tiktok)


@pytest.fixture
async def api(tiktok: RunningEmulator) -> AsyncIterator[TikTokClient]:
    async with aiohttp.ClientSession() as http:
        yield TikTokClient(base_url=tiktok.url, app_id=tiktok.app_id, secret=tiktok.secret,
                           session=http, limiter=NoLimiter())


async def pick(api: TikTokClient, tiktok: RunningEmulator, level: str) -> tuple[str, str, str]:
    """(advertiser id, object id, name) of a running object of the default login."""
    token = tiktok.access_token
    for adv in tiktok.state.users[tiktok.state.default_login].advertiser_ids:
        if level == "ad":
            found = [(a.ad_id, a.ad_name) for a in await api.get_ads(token, adv)
                     if a.operation_status == "ENABLE"]
        else:
            found = [(g.adgroup_id, g.adgroup_name) for g in await api.get_adgroups(token, adv)
                     if g.operation_status == "ENABLE" and g.budget]
        if found:
            return adv, *found[0]
    raise AssertionError(f"no running {level} in the demo world")


async def state_of(api: TikTokClient, tiktok: RunningEmulator, adv: str, level: str,
                   object_id: str) -> changes.ObjectState:
    return await changes.read_state(api, tiktok.access_token, adv, level, object_id)


async def tap(user: ChatUser, label: str, then: str) -> MessageView:
    """Press a button and wait for the screen it leads to (`then` in its text or a button)."""
    await user.press(label)
    since = user.last_action_seq
    return await user.wait_for(
        lambda m: m.seq > since
        and (then in m.text or any(then in b for b in m.button_labels())))


async def new_rule_by_text(user: ChatUser, text: str, object_id: str) -> MessageView:
    """Type a rule, narrow it to one object, run it every 15 minutes, save it switched on."""
    await user.send("/rules")
    await user.expect("Rules")
    await tap(user, "⌨️ Type a rule", "Send the rule as one line")
    await user.send(text)
    await user.expect("New rule")
    await tap(user, "🎯 Scope", "Which accounts and objects")
    await tap(user, "▫️ Object ids…", "Send the object ids")
    await user.send(object_id)
    await user.expect("Objects: objects with ids")
    await tap(user, "⏰ Schedule & limit", "When the rule runs")
    await tap(user, "▫️ every 15 min", "✅ every 15 min")
    await tap(user, "« Draft", "New rule")
    return await tap(user, "✅ Save and switch on", "🟢 on")


async def test_build_with_buttons_preview_backtest_auto_pause_and_undo(
    service: ServiceProcess, sandbox: SandboxClient, tiktok: RunningEmulator,
    api: TikTokClient, travel: Travel,
) -> None:
    user = await sandbox.user(801, language_code="en")
    await connected_and_synced(user)
    adv, ad_id, name = await pick(api, tiktok, "ad")
    await user.send("/rules")
    await user.expect("You have no rules yet")
    await tap(user, "➕ Build a rule", "What should the rule look at?")
    await tap(user, "Ad", "Which metric?")
    await tap(user, "impressions", "impressions is…")
    await tap(user, ">=", "Send the value")
    await user.send("zero")  # not a number: asked again, nothing lost
    await user.expect("does not fit")
    await user.send("0")
    await user.expect("Over which time window?")
    await tap(user, "today", "Conditions")
    await tap(user, "➡️ Choose the action", "What should happen")
    draft = await tap(user, "pause", "New rule")
    assert "ad: impressions >= 0 in today -> pause" in draft.text
    await tap(user, "🎯 Scope", "Which accounts and objects")
    await tap(user, "▫️ Object ids…", "Send the object ids")
    await user.send(ad_id)
    await user.expect("Objects: objects with ids")
    await tap(user, "⏰ Schedule & limit", "When the rule runs")
    await tap(user, "▫️ every 15 min", "✅ every 15 min")
    await tap(user, "« Draft", "New rule")
    preview = await tap(user, "🔎 Preview", "Matches now")
    assert "Matches now: 1 of 1 checked" in preview.text and name in preview.text
    await tap(user, "« Back", "New rule")
    backtest = await tap(user, "🧪 Backtest", "Backtest — last 7 days")
    assert "Would have fired" in backtest.text
    await tap(user, "« Back", "New rule")
    await tap(user, "✅ Save and switch on", "🟢 on")
    assert (await state_of(api, tiktok, adv, "ad", ad_id)).status == "ENABLE"

    travel(timedelta(minutes=16))
    alert = await user.wait_for(lambda m: "— paused" in m.text and name in m.text, timeout=30)
    assert "Why:" in alert.text and "impressions today" in alert.text
    assert "data as of" in alert.text
    assert (await state_of(api, tiktok, adv, "ad", ad_id)).status == "DISABLE"

    # Another user's press on the owner's Undo is refused and changes nothing.
    stranger = await sandbox.user(802, language_code="en")
    await sign_up(stranger)
    data = alert.button("↩️ Undo (24 h)").callback_data
    own = await stranger.last_bot_message()
    assert own is not None and data is not None
    answer = await press_data_answer(stranger, data, own.message_id)
    assert "not available" in str(answer.get("text"))
    assert (await state_of(api, tiktok, adv, "ad", ad_id)).status == "DISABLE"

    await user.press("↩️ Undo (24 h)", message_id=alert.message_id)
    undone = await user.wait_for(lambda m: m.message_id == alert.message_id
                                 and "undone" in m.text)
    assert "Undo" not in " ".join(undone.button_labels())
    assert (await state_of(api, tiktok, adv, "ad", ad_id)).status == "ENABLE"
    # The same press again (a second device): already decided, nothing changes twice.
    answer = await press_data_answer(user, data, alert.message_id)
    assert "already decided" in str(answer.get("text"))

    await user.send("/rules")
    listing = await user.expect("Rules (1)")
    await tap(user, listing.button_labels()[0], "Switch off")
    log = await tap(user, "📜 Run log", "Run log")
    assert re.search(r"checked 1, matched 1, changed 1", log.text), log.text
