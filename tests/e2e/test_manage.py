"""Managing campaigns from the chat, end to end: the real bot process, the sandbox Telegram
server and the TikTok emulator. Every change is checked on the emulator, not only in the chat."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from core.tiktok import TikTokClient
from sandbox.telegram.driver import ChatUser, MessageView, SandboxClient
from sandbox.tiktok.server import RunningEmulator
from tests.contract.test_changes import make_objects, usd_account
from tests.e2e.harness import ServiceProcess, press_data_answer, sign_up
from tests.e2e.test_rules import (  # noqa: F401 - fixtures used by name
    Travel,
    api,
    clock_file,
    service_env,
    state_of,
    tap,
    travel,
)
from tests.e2e.test_stats import connected_and_synced

ITEM = re.compile(r"^(?:✅ |▫️ )?\d+\. (.+?)(?: · .*)?$", re.MULTILINE)


async def manage_list(user: ChatUser, account: str) -> MessageView:
    """Stats → the account's campaigns → Manage."""
    await user.send("/stats")
    await user.expect("Stats")
    await tap(user, f"🔎 {account}", "Campaigns")
    return await tap(user, "⚙️ Manage", "Tap a number")


async def open_in_list(user: ChatUser, screen: MessageView, name: str, then: str) -> MessageView:
    """Press the number of `name` in a manage list, paging on until it shows."""
    for _ in range(30):
        for line in screen.text.splitlines():
            number, _dot, rest = line.partition(". ")
            if number.strip().isdigit() and rest.startswith(name):
                return await tap(user, number.strip(), then)
        if "›" not in screen.button_labels():
            break
        screen = await tap(user, "›", "Tap a number")
    raise AssertionError(f"{name!r} is not in the list:\n{screen.text}")


async def confirm(user: ChatUser, then: str = "✅ Done on TikTok and verified") -> MessageView:
    """Confirm the change on screen and wait for its outcome and the press's answer."""
    before = len(await user.callback_answers())
    done = await tap(user, "✅ Confirm", then)
    for _ in range(100):
        if len(await user.callback_answers()) > before:
            return done
        await asyncio.sleep(0.05)
    raise AssertionError("the Confirm press was never answered")


async def test_pause_enable_budget_and_bid_with_undo_and_forged_presses(
    service: ServiceProcess,
    sandbox: SandboxClient,
    tiktok: RunningEmulator,
    api: TikTokClient,  # noqa: F811
    tmp_path: Path,
) -> None:
    token = tiktok.access_token
    adv = await usd_account(api, token)
    world = await make_objects(api, token, adv)
    account = tiktok.state.advertisers[adv].name
    user = await sandbox.user(811, language_code="en")
    await connected_and_synced(user)

    listing = await manage_list(user, account)
    card = await open_in_list(user, listing, "Changes | ABO", "Campaign")
    assert "no campaign budget" in card.text  # ABO: the budgets are on the ad groups
    card = await tap(user, "Ad groups ›", "Tap a number")
    card = await open_in_list(user, card, "CPC", "Ad group")
    assert "$50.00 a day" in card.text and "Bid: $1.50" in card.text

    # +20% budget: the confirmation shows before and after, TikTok has it once confirmed.
    ask = await tap(user, "💰 +20%", "Confirm")
    assert "CPC: $50.00 → $60.00" in ask.text
    done = await confirm(user)
    assert "CPC: $50.00 → $60.00" in done.text and "↩️ Undo" in done.button_labels()
    assert (await state_of(api, tiktok, adv, "adgroup", world["cpc"])).budget == Decimal(60)
    # The same Confirm pressed again (a second device) changes nothing more.
    ok_data = ask.button("✅ Confirm").callback_data
    assert ok_data is not None
    again = await press_data_answer(user, ok_data, done.message_id)
    assert "Already done" in str(again["text"])
    assert (await state_of(api, tiktok, adv, "adgroup", world["cpc"])).budget == Decimal(60)

    undone = await tap(user, "↩️ Undo", "↩️ Undone: 1 of 1")
    assert "CPC: back to $50.00" in undone.text
    assert (await state_of(api, tiktok, adv, "adgroup", world["cpc"])).budget == Decimal(50)

    # Bid +10% on the custom bid, then a typed budget under TikTok's minimum is raised to it.
    card = await tap(user, "« Back", "Ad group")
    await tap(user, "Bid +10%", "Confirm")
    done = await confirm(user)
    assert "$1.50 → $1.65" in done.text
    assert (await state_of(api, tiktok, adv, "adgroup", world["cpc"])).bid == Decimal("1.65")
    card = await tap(user, "« Back", "Ad group")
    assert "Bid: $1.65" in card.text  # shown at once, before any sync
    await tap(user, "✏️ Set budget", "Send the new budget")
    await user.send("twelve")
    await user.expect("not an amount")
    await user.send("12")
    ask = await user.expect("Confirm")
    assert "$50.00 → $20.00" in ask.text  # spec §4.2: USD ad group daily minimum
    await confirm(user)
    assert (await state_of(api, tiktok, adv, "adgroup", world["cpc"])).budget == Decimal(20)

    # Pause, seen on the card at once; Enable puts it back.
    card = await tap(user, "« Back", "Ad group")
    pause = card.button("⏸ Pause").callback_data
    assert pause is not None
    await tap(user, "⏸ Pause", "Confirm")
    await confirm(user)
    assert (await state_of(api, tiktok, adv, "adgroup", world["cpc"])).status == "DISABLE"
    card = await tap(user, "« Back", "Ad group")
    assert "⏸ paused" in card.text and "▶️ Enable" in card.button_labels()
    await tap(user, "▶️ Enable", "Confirm")
    await confirm(user)
    assert (await state_of(api, tiktok, adv, "adgroup", world["cpc"])).status == "ENABLE"

    # Each change is in the audit log with its before and after.
    with sqlite3.connect(tmp_path / "ttpulse.db") as db:
        logged = db.execute(
            "SELECT action, details FROM audit_log WHERE target_id = ? ORDER BY id",
            (world["cpc"],),
        ).fetchall()
    assert [a for a, _ in logged] == [
        "object.changed",
        "object.change_undone",
        "object.changed",
        "object.changed",
        "object.changed",
        "object.changed",
    ]

    # Another user replays the owner's buttons: refused, nothing changes on TikTok.
    intruder = await sandbox.user(812, language_code="en")
    await sign_up(intruder)
    menu = await intruder.last_bot_message()
    assert menu is not None
    for data in (pause, ok_data, done.button("↩️ Undo").callback_data or ""):
        said = await press_data_answer(intruder, data, menu.message_id)
        assert "no longer valid" in str(said["text"])
    assert (await state_of(api, tiktok, adv, "adgroup", world["cpc"])).status == "ENABLE"


async def test_bulk_pause_with_progress_undo_all_cancel_and_expiry(
    service: ServiceProcess,
    sandbox: SandboxClient,
    tiktok: RunningEmulator,
    api: TikTokClient,  # noqa: F811
    travel: Travel,  # noqa: F811
) -> None:
    token = tiktok.access_token
    adv = await usd_account(api, token)
    account = tiktok.state.advertisers[adv].name
    user = await sandbox.user(821, language_code="en")
    await connected_and_synced(user)
    listing = await manage_list(user, account)
    campaigns = [c for c in await api.get_campaigns(token, adv) if c.operation_status == "ENABLE"]
    campaign = next(c for c in campaigns if c.campaign_name in listing.text)
    await open_in_list(user, listing, campaign.campaign_name, "Campaign")
    groups = await tap(user, "Ad groups ›", "Tap a number")
    group_name = next(m[1] for m in ITEM.finditer(groups.text))
    await open_in_list(user, groups, group_name, "Ad group")
    ads_list = await tap(user, "Ads ›", "Tap a number")
    await tap(user, "☑️ Select several", "Tick the objects")
    picked = await tap(user, "Select all (up to 100)", "✅")
    group = next(g for g in await api.get_adgroups(token, adv) if g.adgroup_name == group_name)
    ads = [a for a in await api.get_ads(token, adv) if a.adgroup_id == group.adgroup_id]
    running = [a for a in ads if a.operation_status == "ENABLE"]
    assert running, "the picked ad group has no running ads"
    assert f"⏸ Pause ({len(ads)})" in picked.button_labels()

    # Pause them all: already paused ones are left out and said so.
    ask = await tap(user, f"⏸ Pause ({len(ads)})", "Confirm")
    if len(running) < len(ads):
        assert "already there" in ask.text
    done = await confirm(user)
    assert f"verified: {len(running)} of {len(running)}" in done.text
    for ad in running:
        assert (await state_of(api, tiktok, adv, "ad", ad.ad_id)).status == "DISABLE"
    label = "↩️ Undo" if len(running) == 1 else f"↩️ Undo all ({len(running)})"
    await tap(user, label, "↩️ Undone")
    for ad in running:
        assert (await state_of(api, tiktok, adv, "ad", ad.ad_id)).status == "ENABLE"

    # Back leads to the ticked list. Cancel changes nothing; neither does a confirmation left
    # for over ten minutes.
    await tap(user, "« Back", "Tick the objects")
    await tap(user, f"⏸ Pause ({len(ads)})", "Confirm")
    await tap(user, "✖ Cancel", "Cancelled")
    await tap(user, "« Back", "Tick the objects")
    ask = await tap(user, f"⏸ Pause ({len(ads)})", "Confirm")
    travel(timedelta(minutes=11))
    await tap(user, "✅ Confirm", "expired")
    for ad in running:
        assert (await state_of(api, tiktok, adv, "ad", ad.ad_id)).status == "ENABLE"
    assert ads_list.message_id == ask.message_id  # one message, edited screen after screen
