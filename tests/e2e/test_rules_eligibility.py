"""Budget and bid actions only where they can happen, end to end: a budget rule over ad groups
in ABO and CBO campaigns asks only about what can change, approvals change TikTok by the rule's
amount (read back from the emulator) and Undo restores it, `budget of campaign` changes the
campaign once for its ad groups; Manage offers budget and bid buttons only where they exist."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from bot.views.common import cut
from core.tiktok import TikTokClient
from sandbox.telegram.driver import ChatUser, MessageView, SandboxClient
from sandbox.tiktok.server import RunningEmulator
from tests.contract.test_changes import make_objects, usd_account
from tests.e2e import test_rules as rules
from tests.e2e.harness import ServiceProcess
from tests.e2e.test_manage import manage_list, open_in_list
from tests.e2e.test_rules import Travel, state_of, tap
from tests.e2e.test_stats import connected_and_synced

CENT = Decimal("0.01")
# The rules tests' fixtures: one clock moved for the service and the emulator together.
api, clock_file, service_env, travel = rules.api, rules.clock_file, rules.service_env, rules.travel


async def _groups(
    api: TikTokClient, tiktok: RunningEmulator
) -> tuple[str, list[tuple[str, str]], str, str, list[tuple[str, str]]]:
    """In one ad account: two running ad groups with a daily budget of their own (ABO), and a
    running CBO campaign with two running ad groups (advertiser, abo, campaign id, its name,
    cbo groups)."""
    token = tiktok.access_token
    for adv in tiktok.state.users[tiktok.state.default_login].advertiser_ids:
        campaigns = {c.campaign_id: c for c in await api.get_campaigns(token, adv)}
        groups = [g for g in await api.get_adgroups(token, adv) if g.operation_status == "ENABLE"]
        abo = [
            (g.adgroup_id, g.adgroup_name)
            for g in groups
            if g.campaign_id in campaigns
            and not campaigns[g.campaign_id].budget_optimize_on
            and g.budget_mode == "BUDGET_MODE_DAY"
        ]
        for c in campaigns.values():
            under = [
                (g.adgroup_id, g.adgroup_name) for g in groups if g.campaign_id == c.campaign_id
            ]
            running = c.budget_optimize_on and c.operation_status == "ENABLE"
            if running and len(under) >= 2 and len(abo) >= 2:
                return adv, abo[:2], c.campaign_id, c.campaign_name, under[:2]
    raise AssertionError("the demo needs an account with ABO and CBO ad groups running")


async def _rule(user: ChatUser, text: str, ids: list[str]) -> tuple[MessageView, MessageView]:
    """Type a rule over these ad groups (every 15 minutes); preview and backtest it; save it
    switched on."""
    await user.send("/rules")
    await user.expect("Rules")
    await tap(user, "⌨️ Type a rule", "Send the rule as one line")
    await user.send(text)
    await user.expect("New rule")
    await tap(user, "🎯 Scope", "Which accounts and objects")
    await tap(user, "▫️ Object ids…", "Send the object ids")
    await user.send(" ".join(ids))
    await user.expect("Objects: objects with ids")
    await tap(user, "⏰ Schedule & limit", "When the rule runs")
    await tap(user, "▫️ every 15 min", "✅ every 15 min")
    await tap(user, "« Draft", "New rule")
    preview = await tap(user, "🔎 Preview", "Matches now")
    await tap(user, "« Back", "New rule")
    backtest = await tap(user, "🧪 Backtest", "Backtest — last 7 days")
    await tap(user, "« Back", "New rule")
    await tap(user, "✅ Save and switch on", "🟢 on")
    return preview, backtest


async def _approve_and_undo(
    user: ChatUser,
    api: TikTokClient,
    tiktok: RunningEmulator,
    adv: str,
    level: str,
    object_id: str,
    ask: MessageView,
    name: str | None = None,
) -> None:
    """Approve: TikTok shows the budget 10 % up. Undo: back where it was. `name`: the object's
    row in a digest (its own buttons carry its name), else the object's own alert."""
    approve, undo = ("✅ Approve", "↩️ Undo (24 h)") if name is None else ("✅ " + name, "↩️ " + name)
    before = (await state_of(api, tiktok, adv, level, object_id)).budget
    assert before is not None
    await user.press(approve, message_id=ask.message_id)
    done = await user.wait_for(
        lambda m: (
            m.message_id == ask.message_id
            and any(b.startswith("↩️") and (name or "Undo") in b for b in m.button_labels())
        )
    )
    assert "→" in done.text
    after = (await state_of(api, tiktok, adv, level, object_id)).budget
    assert after == (before * Decimal("1.1")).quantize(CENT)
    await user.press(undo, message_id=ask.message_id)
    await user.wait_for(  # in a digest, another row may say "undone" already
        lambda m: (
            m.message_id == ask.message_id
            and ("undone" in m.text if name is None else undo not in m.button_labels())
        )
    )
    assert (await state_of(api, tiktok, adv, level, object_id)).budget == before


async def test_budget_rules_ask_only_what_can_change_in_abo_and_cbo(
    service: ServiceProcess,
    sandbox: SandboxClient,
    tiktok: RunningEmulator,
    api: TikTokClient,
    travel: Travel,
) -> None:
    user = await sandbox.user(831, language_code="en")
    await connected_and_synced(user)
    adv, abo, campaign, campaign_name, cbo = await _groups(api, tiktok)
    cbo_budget = (await state_of(api, tiktok, adv, "campaign", campaign)).budget

    # Over two ABO and two CBO ad groups: only the ABO ones are asked about.
    ids = [g for g, _ in abo + cbo]
    preview, backtest = await _rule(
        user, "adgroup: impressions >= 0 in today -> budget +10% max 1000000", ids
    )
    assert "Matches now: 4 of 4 checked" in preview.text, preview.text
    for screen in (preview, backtest):  # the reason, where the user looks before saving
        assert "Skipped 2" in screen.text and "the budget is set on the campaign" in screen.text
    travel(timedelta(minutes=16))
    # One tick, one digest: the two ABO ad groups to approve, the CBO ones counted as skipped.
    digest = await user.wait_for(
        lambda m: "2 objects" in m.text and all(name in m.text for _, name in abo), timeout=60
    )
    assert "waiting for approval 2" in digest.text, digest.text
    assert "Skipped 2" in digest.text and "the budget is set on the campaign" in digest.text
    assert not [name for _, name in cbo if name in digest.text]  # never asked, never "failed"
    for g, name in abo:
        await _approve_and_undo(user, api, tiktok, adv, "adgroup", g, digest, cut(name, 20))
    texts = " ".join(m.text for m in await user.bot_messages())
    assert "Not changed" not in texts
    assert (await state_of(api, tiktok, adv, "campaign", campaign)).budget == cbo_budget

    await user.send("/rules")
    listing = await user.expect("Rules (1)")
    await tap(user, listing.button_labels()[0], "Switch off")
    await tap(user, "⏸ Switch off", "⏸ off")
    log = await tap(user, "📜 Run log", "Run log")
    assert "matched 4" in log.text and "skipped 2" in log.text, log.text
    run = next(b for b in log.button_labels() if ":" in b)  # the run, by its local time
    detail = await tap(user, run, "Skipped 2")
    assert "the budget is set on the campaign" in detail.text, detail.text

    # The same ad groups, written to act on the campaign's budget: the CBO campaign is asked
    # about once for its two ad groups; the ABO campaign has no budget to change.
    await _rule(
        user, "adgroup: impressions >= 0 in today -> budget of campaign +10% max 1000000", ids
    )
    travel(timedelta(minutes=16))
    ask = await user.wait_for(
        lambda m: "asks to change budget" in m.text and campaign_name in m.text, timeout=60
    )
    assert "for 2 matched" in ask.text and all(name in ask.text for _, name in cbo)
    await _approve_and_undo(user, api, tiktok, adv, "campaign", campaign, ask)


async def test_manage_offers_budget_and_bid_buttons_only_where_they_exist(
    service: ServiceProcess,
    sandbox: SandboxClient,
    tiktok: RunningEmulator,
    api: TikTokClient,
) -> None:
    token = tiktok.access_token
    adv = await usd_account(api, token)
    await make_objects(api, token, adv)
    user = await sandbox.user(841, language_code="en")
    await connected_and_synced(user)
    listing = await manage_list(user, tiktok.state.advertisers[adv].name)

    # ABO without a campaign budget: nothing to change on the campaign.
    card = await open_in_list(user, listing, "Changes | ABO", "Campaign")
    assert "no campaign budget" in card.text
    assert not [b for b in card.button_labels() if b.startswith("💰") or "budget" in b]

    # An ad group under CBO on lowest cost: neither budget nor bid buttons; the card says where
    # the budget is and opens the campaign, where the budget can be changed.
    listing = await manage_list(user, tiktok.state.advertisers[adv].name)
    card = await open_in_list(user, listing, "Changes | CBO", "Campaign")
    assert "💰 +10%" in card.button_labels()
    card = await tap(user, "Ad groups ›", "Tap a number")
    card = await open_in_list(user, card, "Under CBO", "Ad group")
    assert "Budget is set on the campaign: $100.00 a day" in card.text
    assert "automatic (no bid to set)" in card.text
    labels = card.button_labels()
    assert not [b for b in labels if b.startswith("💰") or "budget" in b or "Bid" in b], labels
    campaign = await tap(user, "📂 Open the campaign", "Changes | CBO")
    assert "💰 +10%" in campaign.button_labels() and "Campaign" in campaign.text
