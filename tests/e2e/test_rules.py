"""Automation rules end to end: the real bot process, the sandbox Telegram server and the TikTok
emulator, with the service's and the emulator's clocks moved together."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from core import changes
from core.tiktok import NoLimiter, TikTokClient
from sandbox.telegram.driver import ChatUser, MessageView, SandboxClient
from sandbox.tiktok.server import RunningEmulator
from tests.contract.test_changes import make_objects, usd_account
from tests.e2e.harness import ServiceProcess, generous_plans, press_data_answer, sign_up
from tests.e2e.test_stats import connected_and_synced


class Travel:
    """Moves the service's clock (its offset file) and the emulator's clock together."""

    def __init__(self, path: Path, tiktok: RunningEmulator) -> None:
        self.path, self.tiktok, self.offset = path, tiktok, 0.0

    def now(self) -> datetime:
        """The moment both clocks show."""
        return datetime.now(UTC) + timedelta(seconds=self.offset)

    def __call__(self, delta: timedelta) -> None:
        self.offset += delta.total_seconds()
        self.path.write_text(str(self.offset))
        self.tiktok.clock.advance(delta.total_seconds())


@pytest.fixture
def clock_file(tmp_path: Path) -> Path:
    return tmp_path / "clock-offset"


@pytest.fixture
def service_env(clock_file: Path, tmp_path: Path) -> dict[str, str]:
    # The emulator has no QPS limit here: a faster first sync keeps these tests short. Rules
    # run every 15 minutes on every account, beyond what Free allows (its limits:
    # test_plan_limits.py).
    return {"CLOCK_OFFSET_FILE": str(clock_file), "RULES_TICK_SECONDS": "1",
            "SYNC_TICK_SECONDS": "1", "NOTIFY_TICK_SECONDS": "0.5", "TIKTOK_QPS": "100",
            **generous_plans(tmp_path)}


@pytest.fixture
def travel(clock_file: Path, tiktok: RunningEmulator) -> Travel:
    return Travel(clock_file, tiktok)


@pytest.fixture
async def api(tiktok: RunningEmulator) -> AsyncIterator[TikTokClient]:
    async with aiohttp.ClientSession() as http:
        yield TikTokClient(base_url=tiktok.url, app_id=tiktok.app_id, secret=tiktok.secret,
                           session=http, limiter=NoLimiter())


async def running(api: TikTokClient, tiktok: RunningEmulator,
                  level: str) -> list[tuple[str, str, str]]:
    """(advertiser id, object id, name) of running objects of the default login (ad groups:
    those with a daily budget of their own)."""
    token, out = tiktok.access_token, []
    for adv in tiktok.state.users[tiktok.state.default_login].advertiser_ids:
        if level == "ad":
            out += [(adv, a.ad_id, a.ad_name) for a in await api.get_ads(token, adv)
                    if a.operation_status == "ENABLE"]
        else:
            out += [(adv, g.adgroup_id, g.adgroup_name)
                    for g in await api.get_adgroups(token, adv)
                    if g.operation_status == "ENABLE" and g.budget
                    and g.budget_mode == "BUDGET_MODE_DAY"]
    assert out, f"no running {level} in the demo world"
    return out


async def pick(api: TikTokClient, tiktok: RunningEmulator, level: str) -> tuple[str, str, str]:
    """The first running object of a level."""
    return (await running(api, tiktok, level))[0]


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


async def test_typed_rule_parse_error_and_approvals_approved_rejected_expired(
    service: ServiceProcess, sandbox: SandboxClient, tiktok: RunningEmulator,
    api: TikTokClient, travel: Travel,
) -> None:
    user = await sandbox.user(811, language_code="en")
    await connected_and_synced(user)
    (adv1, g1, n1), (adv2, g2, n2), (adv3, g3, n3) = (await running(api, tiktok, "adgroup"))[:3]
    budget1 = (await state_of(api, tiktok, adv1, "adgroup", g1)).budget
    assert budget1 is not None

    await user.send("/rules")
    await user.expect("You have no rules yet")
    await tap(user, "⌨️ Type a rule", "Send the rule as one line")
    await user.send("adgroup: spend >= and clicks > 3 -> pause")
    error = await user.expect("That is not a rule yet")
    assert "column 19" in error.text and "a number" in error.text
    await user.send("/cancel")
    await user.expect("Cancelled")

    # One rule over three ad groups: three approvals from one run, in one message.
    rule = "adgroup: impressions >= 0 in today -> budget +10% max 100000"
    await new_rule_by_text(user, rule, f"{g1} {g2} {g3}")
    travel(timedelta(minutes=16))
    digest = await user.wait_for(
        lambda m: "3 objects" in m.text and all(n[:60] in m.text for n in (n1, n2, n3)),
        timeout=30)
    assert digest.text.count("asks to change budget") == 3
    assert "✅ Approve all (3)" in digest.button_labels()
    # Nothing changes before a decision.
    assert (await state_of(api, tiktok, adv1, "adgroup", g1)).budget == budget1

    data = digest.button(own("✅", n1)).callback_data
    assert data is not None
    await user.press(own("✅", n1), message_id=digest.message_id)
    done = await user.wait_for(lambda m: m.message_id == digest.message_id
                               and own("↩️", n1) in m.button_labels())
    expected = (budget1 * Decimal("1.1")).quantize(Decimal("0.01"))
    assert (await state_of(api, tiktok, adv1, "adgroup", g1)).budget == expected
    assert "→" in done.text
    # The same approval pressed again (say from a second device) is applied once.
    answer = await press_data_answer(user, data, digest.message_id)
    assert "already decided" in str(answer.get("text"))
    assert (await state_of(api, tiktok, adv1, "adgroup", g1)).budget == expected

    before2 = (await state_of(api, tiktok, adv2, "adgroup", g2)).budget
    reject2 = next(b for row in done.buttons for b in row
                   if b.text == "✖ Reject" and b.callback_data
                   and any(c.text == own("✅", n2) for c in row))
    await press_data_answer(user, reject2.callback_data or "", digest.message_id)
    await user.wait_for(lambda m: m.message_id == digest.message_id and "rejected" in m.text)
    assert (await state_of(api, tiktok, adv2, "adgroup", g2)).budget == before2

    before3 = (await state_of(api, tiktok, adv3, "adgroup", g3)).budget
    travel(timedelta(minutes=121))  # past the 120-minute approval window
    answer = await press_data_answer(user, digest.button(own("✅", n3)).callback_data or "",
                                     digest.message_id)
    assert "Too late" in str(answer.get("text"))
    await user.wait_for(lambda m: m.message_id == digest.message_id and "expired" in m.text)
    assert (await state_of(api, tiktok, adv3, "adgroup", g3)).budget == before3


def own(mark: str, name: str) -> str:
    """An object's own button in a digest: the mark and the name cut to 20 characters."""
    return f"{mark} " + (name if len(name) <= 20 else name[:19] + "…")


async def test_run_now_then_approve_all_on_a_digest_changes_each_once_and_undoes_one(
    service: ServiceProcess, sandbox: SandboxClient, tiktok: RunningEmulator,
    api: TikTokClient, travel: Travel,
) -> None:
    user = await sandbox.user(831, language_code="en")
    await connected_and_synced(user)
    groups = (await running(api, tiktok, "adgroup"))[:12]
    assert len(groups) == 12, "the demo world has fewer ad groups with a budget of their own"
    before = {g: (await state_of(api, tiktok, adv, "adgroup", g)).budget for adv, g, _ in groups}
    rule = "adgroup: impressions >= 0 in today -> budget +10% max 100000"
    screen = await new_rule_by_text(user, rule, " ".join(g for _, g, _ in groups))

    # Run now: no waiting for the schedule; the result says what the run did.
    await user.press("▶ Run now", message_id=screen.message_id)
    result = await user.wait_for(lambda m: m.message_id == screen.message_id
                                 and "ran now" in m.text, timeout=60)
    assert re.search(r"checked 12, matched 12, changed 0, asked 12", result.text), result.text
    assert "📜 Open the run" in result.button_labels()
    # A second press on the rule's screen as it was (a double tap) does not run it again.
    again = await press_data_answer(user, screen.button("▶ Run now").callback_data or "",
                                    screen.message_id)
    assert again is not None
    digest = await user.wait_for(lambda m: "12 objects" in m.text, timeout=30)
    labels = digest.button_labels()
    assert len(labels) <= 30 and "✅ Approve all (12)" in labels and "▶" in labels
    assert len(digest.text) <= 4096

    # The run, linked from the result: every object with its buttons, a page at a time.
    await user.press("📜 Open the run", message_id=screen.message_id)
    run = await user.wait_for(lambda m: m.message_id == screen.message_id
                              and "Run " in m.text and "›" in m.button_labels())
    assert len(run.button_labels()) <= 30 and run.text.count("waiting for approval") == 10

    everyone = digest.button("✅ Approve all (12)").callback_data or ""
    # Someone else's press of the owner's "Approve all" is refused and changes nothing.
    stranger = await sandbox.user(832, language_code="en")
    await sign_up(stranger)
    theirs = await stranger.last_bot_message()
    assert theirs is not None
    answer = await press_data_answer(stranger, everyone, theirs.message_id)
    assert "no longer valid" in str(answer.get("text"))
    for adv, g, _ in groups:
        assert (await state_of(api, tiktok, adv, "adgroup", g)).budget == before[g]

    await user.press("✅ Approve all (12)", message_id=digest.message_id)
    done = await user.wait_for(lambda m: m.message_id == digest.message_id
                               and "Approve all: changed 12" in m.text, timeout=60)
    assert "Approve all" not in " ".join(done.button_labels())
    raised = {g: (b * Decimal("1.1")).quantize(Decimal("0.01")) for g, b in before.items()}
    for adv, g, _ in groups:
        assert (await state_of(api, tiktok, adv, "adgroup", g)).budget == raised[g]

    # "Approve all" pressed again on the digest as it was: nothing changes a second time.
    await press_data_answer(user, everyone, digest.message_id)
    await user.wait_for(lambda m: m.message_id == digest.message_id
                        and "already decided 12" in m.text, timeout=60)
    for adv, g, _ in groups:
        assert (await state_of(api, tiktok, adv, "adgroup", g)).budget == raised[g]

    # Undo of one restores only that one.
    latest = await user.wait_for(lambda m: m.message_id == digest.message_id)
    label = next(b for b in latest.button_labels() if b.startswith("↩️ "))
    [(adv0, g0, _n0)] = [x for x in groups if own("↩️", x[2]) == label]
    rest = [x for x in groups if x[1] != g0]
    await user.press(label, message_id=latest.message_id)
    await user.wait_for(lambda m: m.message_id == digest.message_id and "undone 1" in m.text)
    assert (await state_of(api, tiktok, adv0, "adgroup", g0)).budget == before[g0]
    for adv, g, _ in rest:
        assert (await state_of(api, tiktok, adv, "adgroup", g)).budget == raised[g]
    # The double tap made no second run, and no second digest.
    said = [m.text for m in await user.bot_messages()]
    assert sum("12 objects" in t for t in said) == 1
    await user.press("« Run log", message_id=screen.message_id)
    log = await user.wait_for(lambda m: m.message_id == screen.message_id and "Run log" in m.text)
    assert log.text.count("checked 12, matched 12") == 1, log.text


def until_local(travel: Travel, hour: int, minute: int, zone: str) -> timedelta:
    """How far ahead of the travelled "now" the next hour:minute of a time zone is."""
    now = travel.now().astimezone(ZoneInfo(zone))
    target = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if target <= now:
        target += timedelta(days=1)
    return target - now


async def test_freshness_guard_quiet_hours_digest_and_midnight_reenable(
    service: ServiceProcess, sandbox: SandboxClient, tiktok: RunningEmulator,
    api: TikTokClient, travel: Travel,
) -> None:
    # The user's evening (sign-up picks Berlin).
    travel(until_local(travel, 22, 30, "Europe/Berlin"))
    user = await sandbox.user(821, language_code="en")
    await connected_and_synced(user)
    ads = await running(api, tiktok, "ad")
    adv = ads[0][0]
    mine = [(oid, name) for a, oid, name in ads if a == adv][:5]
    assert len(mine) == 5
    zone = tiktok.state.advertisers[adv].timezone

    await user.send("/settings")
    await user.expect("Quiet hours: off")
    await tap(user, "🔔 Alerts", "Quiet hours: off")
    await tap(user, "22:00–08:00", "Quiet hours: 22:00–08:00")
    await new_rule_by_text(user, "ad: impressions >= 0 in today -> pause today",
                           " ".join(oid for oid, _ in mine))

    # TikTok's reports fail: the data ages past the rule's 90 minutes.
    cfg = tiktok.emulator.config
    cfg.fault_paths, cfg.fault_kinds, cfg.fault_rate = ["/open_api/v1.3/report/"], ["http5xx"], 1.0
    travel(timedelta(hours=2))
    travel(timedelta(minutes=16))  # a second skipped run must not say it again
    await asyncio.sleep(3)
    for oid, _ in mine:
        assert (await state_of(api, tiktok, adv, "ad", oid)).status == "ENABLE"

    cfg.fault_rate = 0.0  # reports work again; the rule acts on its next fresh run
    for _ in range(12):
        travel(timedelta(minutes=16))
        await asyncio.sleep(4)
        states = [(await state_of(api, tiktok, adv, "ad", oid)).status for oid, _ in mine]
        if states == ["DISABLE"] * 5:
            break
    else:
        raise AssertionError(f"the rule never acted: {states}")
    # Quiet hours: nothing about it has arrived yet.
    said = [m.text for m in await user.bot_messages()]
    assert not [t for t in said if "⏸ The rule «" in t or "5 objects" in t]

    travel(until_local(travel, 8, 5, "Europe/Berlin"))
    digest = await user.wait_for(lambda m: "5 objects" in m.text, timeout=30)
    assert all(name in digest.text for _, name in mine)
    assert digest.text.count("impressions today") == 5  # each object's own values
    assert sum(b.startswith("↩️ ") for b in digest.button_labels()) == 5  # and its own Undo
    assert "Open the run" in " ".join(digest.button_labels())
    skipped = await user.wait_for(lambda m: "⏸ The rule «" in m.text)
    assert "older than the rule allows (90 min)" in skipped.text
    assert tiktok.state.advertisers[adv].name in skipped.text
    await asyncio.sleep(2)
    messages = await user.bot_messages()
    # Told once per stale spell: the two skipped runs in the night made one notice. (The jump
    # to the morning may itself start a new spell — the rule can run before the sync catches
    # up — and that one is told once too.)
    notices = [m.text for m in messages if "⏸ The rule «" in m.text]
    assert len(notices) == len(set(notices)) and skipped.text in notices
    assert sum("5 objects" in m.text for m in messages) == 1  # one digest

    # Each paused ad comes back at the account's own midnight.
    travel(until_local(travel, 0, 1, zone))
    back = {}
    for _, name in mine:
        back[name] = await user.wait_for(
            lambda m, name=name: "is back on" in m.text and name in m.text, timeout=30)
    for oid, _ in mine:
        assert (await state_of(api, tiktok, adv, "ad", oid)).status == "ENABLE"
    # One should stay off after all: its card is one tap away.
    await user.press("⚙️ Keep it off…", message_id=back[mine[0][1]].message_id)
    await user.wait_for(lambda m: mine[0][1] in m.text and "⏸ Pause" in m.button_labels())


async def test_builder_between_not_equal_and_a_bid_rule_explained(
    service: ServiceProcess, sandbox: SandboxClient, tiktok: RunningEmulator,
    api: TikTokClient, travel: Travel,
) -> None:
    # Two custom-bid ad groups (CPC bid 1.50, OCPM target 12.00) before the first sync.
    adv = await usd_account(api, tiktok.access_token)
    made = await make_objects(api, tiktok.access_token, adv)
    user = await sandbox.user(821, language_code="en")
    await connected_and_synced(user)
    await user.send("/rules")
    await user.expect("You have no rules yet")
    await tap(user, "➕ Build a rule", "What should the rule look at?")
    await tap(user, "Ad group", "Which metric?")
    await tap(user, "CPA", "CPA is…")
    await tap(user, "between", "Send the two bounds")
    await user.send("1 x target")  # one bound only: asked again
    await user.expect("does not fit")
    await user.send("1 x target and 2 x target")
    await user.expect("Over which time window?")
    await tap(user, "last 14 days incl. today", "Conditions")
    await tap(user, "➕ OR another condition", "Which metric?")
    await tap(user, "status", "status is…")
    await tap(user, "≠", "Status ≠")
    await tap(user, "delivering", "Conditions")
    await tap(user, "➡️ Choose the action", "What should happen")
    draft = await tap(user, "notify", "New rule")
    assert ("adgroup: cpa between 1 x target and 2 x target in 14d incl today or "
            "status != delivering -> notify") in draft.text
    # A campaign has no bid: the typed form says so where the word is.
    await tap(user, "⌨️ Retype", "Send the rule as one line")
    await user.send("campaign: cpa > 1.5 x target in 3d -> pause")
    error = await user.expect("That is not a rule yet")
    assert "column 23" in error.text and "bids are set on its ad groups" in error.text
    await user.send("/cancel")
    await user.expect("Cancelled")
    # A rule on the ad group's own bid fires on the CPC group only, and says what it read.
    await new_rule_by_text(
        user, "adgroup: impressions >= 0 in today and bid <= 1.5 -> notify",
        f"{made['cpc']} {made['ocpm']}",
    )
    travel(timedelta(minutes=16))
    alert = await user.wait_for(lambda m: "Why:" in m.text and "CPC" in m.text, timeout=30)
    assert re.search(r"bid: \$1\.50", alert.text), alert.text
    # The run that sent it checked both groups and matched one (the OCPM target is 12.00).
    await user.send("/rules")
    await user.expect("Rules")
    view = await tap(user, "adgroup: impressions", "Last run:")
    assert "checked 2, matched 1" in view.text, view.text


async def test_tracker_roi_rule_built_with_buttons_skips_ads_the_tracker_has_no_data_for(
    service: ServiceProcess, sandbox: SandboxClient, tiktok: RunningEmulator,
    api: TikTokClient,
) -> None:
    # No tracker is connected: no ad has tracker data, so a loss-cutting ROI rule judges none
    # of them — never reads the missing revenue as zero and pauses everything.
    user = await sandbox.user(831, language_code="en")
    await connected_and_synced(user)
    ads = await running(api, tiktok, "ad")
    await user.send("/rules")
    await user.expect("You have no rules yet")
    await tap(user, "➕ Build a rule", "What should the rule look at?")
    await tap(user, "Ad", "Which metric?")
    await tap(user, "🎯 Tracker: revenue, profit, ROI…", "Which tracker metric?")
    await tap(user, "ROI (tracker)", "ROI (tracker) is…")
    await tap(user, "<", "Send the value")
    await user.send("-30")
    windows = await user.expect("Over which time window?")
    assert "last hour" not in windows.button_labels()  # trackers report days
    await tap(user, "last 3 days", "Conditions")
    await tap(user, "➡️ Choose the action", "What should happen")
    draft = await tap(user, "pause", "New rule")
    assert "ad: roi < -30 in 3d -> pause" in draft.text
    preview = await tap(user, "🔎 Preview", "Matches now")
    found = re.search(r"Matches now: 0 of (\d+) checked", preview.text)
    assert found and int(found[1]) >= len(ads), preview.text
    assert f"Skipped {found[1]}: the tracker has no data for them" in preview.text
    await tap(user, "« Back", "New rule")
    backtest = await tap(user, "🧪 Backtest", "Backtest — last 7 days")
    assert "Would have fired 0 times" in backtest.text
    assert "Tracker data for 0 of 7 days" in backtest.text
