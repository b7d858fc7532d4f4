"""Trackers through the chat: connect each kind (and every bad input), automatic mapping, Push
now (the tracker then holds TikTok's spend), Pull now, profit and ROI in stats, forged and stale
buttons refused."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from bot.callbacks import TrackerCb
from core.periods import local_today
from core.tiktok import ReportLevel
from sandbox.demo import demo_trackers_env
from sandbox.telegram.driver import ChatUser, MessageView, SandboxClient
from sandbox.tiktok.server import RunningEmulator
from sandbox.trackers.server import RunningTracker, start_tracker
from tests.e2e.harness import ServiceProcess, free_port, press_data_answer, sign_up
from tests.e2e.test_stats import connected_and_synced, tiktok_spend
from tests.e2e.test_templates import reply, tap

KIND_LABEL = {"keitaro": "Keitaro", "binom1": "Binom 1.x", "binom2": "Binom 2"}
# The demo world feeds the demo login's first, second and third ad account (USD, EUR, JPY)
# into Keitaro, Binom 1 and Binom 2; the trackers count in USD.
RATES = {"binom1": "EUR USD 1.08", "binom2": "USD JPY 150"}


@pytest.fixture
async def trackers(tiktok: RunningEmulator) -> AsyncIterator[dict[str, RunningTracker]]:
    """One emulator of each kind, fed by the TikTok emulator's clicks."""
    running = {kind: await start_tracker(kind, tiktok=tiktok) for kind in KIND_LABEL}
    yield running
    for t in running.values():
        await t.stop()


@pytest.fixture
def service_env(trackers: dict[str, RunningTracker]) -> dict[str, str]:
    """The service offers the emulators as demo trackers, as the offline demo does."""
    return {"DEMO_TRACKERS": demo_trackers_env(list(trackers.values()))}


async def open_integrations(user: ChatUser) -> None:
    """The Integrations screen from the main menu."""
    await user.send("/menu")
    await user.expect("Choose a section")
    await user.press("🔗 Integrations")
    await user.expect("Integrations")


async def fill_wizard(user: ChatUser, kind: str, url: str, key: str) -> None:
    """Add tracker up to its check screen; the key's message must be gone from the chat."""
    await open_integrations(user)
    await user.press("➕ Add tracker")
    await user.expect("step 1 of 5")
    await user.press(KIND_LABEL[kind])
    await user.expect("step 2 of 5")
    await user.send(url)
    await user.expect("step 3 of 5")
    sent = await user.send(key)
    await user.expect("step 4 of 5")
    mine = [m for m in await user.messages() if m.message_id == sent["message_id"]]
    assert mine and mine[0].deleted, "the message with the API key was not deleted"
    bot_texts = " ".join(m.text for m in await user.bot_messages(include_deleted=True))
    assert key not in bot_texts  # never shown back
    await user.send("UTC")
    await user.expect("step 5 of 5")
    await user.press("USD")
    await user.expect("check and test")


async def connect(user: ChatUser, tracker: RunningTracker) -> None:
    """Add a tracker through the wizard: test (its campaigns listed), then save."""
    await fill_wizard(user, tracker.kind, tracker.url, tracker.api_key)
    await user.press("🔌 Test connection")
    listed = await user.expect("answered. Campaigns found", timeout=30)
    assert "Main" in listed.text
    await user.press("💾 Save")
    await user.expect("is connected", timeout=30)


async def sync_now(user: ChatUser, label: str, done: str) -> MessageView:
    """Press Push now / Pull now until it runs (the scheduled run may hold the tracker for a
    moment: the bot then says so), and return how it ended."""
    for _ in range(30):
        await user.press(label)
        since = user.last_action_seq
        end = await user.wait_for(
            lambda m, since=since: m.seq > since  # type: ignore[misc]
            and (done in m.text or "being synced right now" in m.text),
            timeout=120,
        )
        if "being synced right now" not in end.text:
            return end
        await asyncio.sleep(1)
    raise AssertionError(f"{label} never ran")


async def set_rate(user: ChatUser, typed: str) -> None:
    """Set a currency rate on the rates screen."""
    await open_integrations(user)
    await user.press("💱 Currency rates")
    await user.expect("Currency rates")
    await user.press("✏️ Set a rate")
    await user.expect("Send the pair and the rate")
    await user.send("EUR EUR 1")
    await user.expect("must differ")
    await user.send(typed)
    await user.expect("✅ 1 ")


@pytest.mark.parametrize("kind", ["keitaro", "binom1", "binom2"])
async def test_connect_map_push_pull_and_profit_in_stats(
    kind: str,
    service: ServiceProcess,
    sandbox: SandboxClient,
    tiktok: RunningEmulator,
    trackers: dict[str, RunningTracker],
) -> None:
    user = await sandbox.user(1200 + len(kind), language_code="en")
    await connected_and_synced(user)
    if kind in RATES:
        await set_rate(user, RATES[kind])
    tracker = trackers[kind]
    await connect(user, tracker)

    await user.press("🧭 Map campaigns")
    await user.expect("Mapping")
    await user.press("🔄 Run automatic mapping")
    mapped = await user.expect("Automatic mapping", timeout=60)
    assert "→" in mapped.text and "automatic" in mapped.text, mapped.text
    assert "Unmapped spend" in mapped.text  # c7 spends with no tracker campaign

    await user.press("« Tracker")
    await user.expect("Mapped TikTok campaigns")
    pushed = await sync_now(user, "📤 Push now", "📤 Costs pushed:")
    assert "accepted" in pushed.text, pushed.text

    main = next(c for c in tracker.world.campaigns.values() if c.name.endswith("| Main"))
    held = tracker.costs(main.id)
    assert held, "the tracker holds no cost for its main campaign"
    if kind == "keitaro":  # USD account, USD tracker: the cost is TikTok's spend itself
        adv_id = tiktok.state.users[tiktok.state.default_login].advertiser_ids[0]
        adv = tiktok.state.advertisers[adv_id]
        # Settled days only: TikTok still revises yesterday and today after our last sync.
        settled = local_today(datetime.now(UTC), adv.timezone) - timedelta(days=2)
        compared = 0
        for (day, field, value), cost in held.items():
            assert field == "ad_campaign_id" and value is not None
            if day > settled:
                continue
            spend = await tiktok_spend(tiktok, adv_id, ReportLevel.CAMPAIGN, day, day)
            assert cost == spend.get(value, Decimal(0)), (day, value)
            compared += 1
        assert compared > 0

    await sync_now(user, "📤 Push now", "📤 Costs pushed:")
    assert tracker.costs(main.id) == held  # a second push replaces, never adds

    if kind == "keitaro":
        tracker.knobs["drop_clicks_pct"] = 60  # a broken redirect loses most clicks
    await sync_now(user, "📥 Pull now", "📥 Revenue pulled")
    if kind == "keitaro":
        alert = await user.wait_for(lambda m: "Broken redirect or postback?" in m.text,
                                    timeout=30)
        assert "Clicks: TikTok" in alert.text and "⚙️ Open tracker" in alert.button_labels()
    await user.press("📜 Push log")
    log = await user.expect("Push log")
    assert isinstance(log.text, str)

    await user.send("/stats")
    summary = await user.expect("Stats · Last 7 days")
    assert "Tracker: revenue" in summary.text and "ROI" in summary.text, summary.text


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("bad_url", "No tracker answers at that address"),
        ("bad_key", "The tracker refused the API key"),
        ("wrong_kind", "not as this kind of tracker does"),
        ("html", "web page instead of API data"),
    ],
)
async def test_each_bad_input_says_why_and_stores_nothing(
    case: str, words: str, service: ServiceProcess, sandbox: SandboxClient,
    trackers: dict[str, RunningTracker],
) -> None:
    user = await sandbox.user(1300 + len(case), language_code="en")
    await sign_up(user)
    keitaro = trackers["keitaro"]
    kind, url, key = "keitaro", keitaro.url, keitaro.api_key
    if case == "bad_url":
        url = f"http://127.0.0.1:{free_port()}"
    elif case == "bad_key":
        key = "not-the-key-" + "x" * 20
    elif case == "wrong_kind":
        kind = "binom2"
    else:
        keitaro.knobs["html"] = True
    await fill_wizard(user, kind, url, key)
    await user.press("🔌 Test connection")
    failed = await user.expect("Connection test failed", timeout=60)
    assert words in failed.text and "Nothing was stored." in failed.text, failed.text
    assert key not in failed.text
    await user.press("✖ Cancel")
    listed = await user.expect("No tracker is connected")
    assert not [b for b in listed.button_labels() if b.startswith("⚙️")]


async def test_forged_stale_and_other_users_tracker_refused(
    service: ServiceProcess, sandbox: SandboxClient, trackers: dict[str, RunningTracker]
) -> None:
    owner = await sandbox.user(1401, language_code="en")
    other = await sandbox.user(1402, language_code="ru")
    await sign_up(owner)
    await sign_up(other, language="Русский", zone="Берлин")
    await connect(owner, trackers["binom2"])
    await owner.press("⚙️ Open tracker")
    card = await owner.expect("Mapped TikTok campaigns")

    menu = await other.last_bot_message()
    assert menu is not None
    for forged in ("tr", "dcy", "push", "map", "log"):
        data = TrackerCb(a=forged, id=1).pack()
        answer = await press_data_answer(other, data, menu.message_id)
        assert "нет среди ваших" in str(answer.get("text")), (forged, answer)
    answer = await press_data_answer(other, "ig:nonsense", menu.message_id)
    assert answer.get("show_alert")

    # The owner's tracker is untouched by the forged "disconnect".
    await owner.press("🔌 Disconnect", message_id=card.message_id)
    await owner.expect("deletes its API key now")
    await owner.press("Yes, disconnect")
    await owner.expect("is disconnected")
    # A button of the card shown before the disconnect is stale now.
    answer = await press_data_answer(owner, TrackerCb(a="push", id=1).pack(), card.message_id)
    assert "not among yours" in str(answer.get("text"))
    await open_integrations(owner)
    await owner.expect("No tracker is connected")
    assert date.today()  # the test ran to the end


async def test_demo_tracker_is_one_tap_and_still_tested(
    service: ServiceProcess, sandbox: SandboxClient, trackers: dict[str, RunningTracker]
) -> None:
    user = await sandbox.user(1501, language_code="en")
    await sign_up(user)
    await open_integrations(user)
    await user.press("➕ Add tracker")
    await user.expect("demo trackers below")
    trackers["binom1"].knobs["down"] = True
    await user.press("🧪 Demo: Demo Binom 1")
    review = await user.expect("check and test")
    assert trackers["binom1"].api_key not in review.text and "(hidden)" in review.text
    await user.press("🔌 Test connection")
    failed = await user.expect("Connection test failed", timeout=60)
    assert "unavailable right now" in failed.text
    trackers["binom1"].knobs["down"] = False
    await user.press("🔁 Test again")
    await user.expect("answered. Campaigns found", timeout=60)
    await user.press("💾 Save")
    await user.expect("Demo Binom 1 (Binom 1.x) is connected", timeout=60)
    await open_integrations(user)
    listed = await user.expect("Integrations")
    assert "Demo Binom 1" in listed.text and "active" in listed.text


async def test_template_builder_offers_the_tracker_url_suffix(
    service: ServiceProcess, sandbox: SandboxClient, trackers: dict[str, RunningTracker]
) -> None:
    user = await sandbox.user(1601, language_code="en")
    await sign_up(user)
    await connect(user, trackers["keitaro"])
    await tap(user, "« Integrations", "Integrations")
    await user.send("/menu")
    await user.expect("Choose a section")
    await tap(user, "🚀 Launch", "Launch campaigns in bulk")
    await tap(user, "📋 Templates", "You have no templates yet")
    await tap(user, "➕ New template", "Send a name for the template")
    await reply(user, "Glowly US", "What is the campaign's objective?")
    await tap(user, "Traffic", "How is the campaign's budget set?")
    await tap(user, "Daily", "Send the campaign's budget")
    await reply(user, "100", "Which geo?")
    await tap(user, "US", "Send the budget of ad group US")
    await reply(user, "50", "Send the ad texts")
    await reply(user, "Glow in 7 days", "Send the landing page URL")
    await reply(user, "https://shop.example/p", "Send the display name")
    await reply(user, "Glowly", "Which call to action")
    await tap(user, "Shop now", "New template «Glowly US»")
    await tap(user, "📣 Ad", "Landing URL")
    await tap(user, "🔗 Landing URL", "Send the landing page URL")
    offer = await tap(user, "🔗 Tracker URL suffix", "campaign_id=__CAMPAIGN_ID__")
    suffix = "campaign_id=__CAMPAIGN_ID__&adgroup_id=__AID__&ad_id=__CID__"
    assert suffix in offer.text
    now = await tap(user, "➕ Append to my URL", "Now:")
    assert f"https://shop.example/p?{suffix}" in now.text
