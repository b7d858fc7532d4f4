"""Trackers through the chat, for each kind (Keitaro, Binom 1.x, Binom 2) — issue 12's "Done
when": connect (and every bad input), automatic mapping, an outage (retried, shown as failing in
Integrations, nothing lost or doubled once it is back), Push now (the tracker then holds TikTok's
spend per campaign per day, converted with the user's rate; a second push changes nothing), the
push log, Pull now, profit and ROI in stats and the profit chart, an ROI rule that pauses at
TikTok what loses and skips what the tracker has no data for, a discrepancy alert when the
tracker loses clicks; a slow tracker (timeouts); forged and stale buttons refused."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from babel.dates import format_date

from bot.callbacks import TrackerCb
from core.money import money
from core.periods import local_today
from core.tiktok import NoLimiter, ReportLevel, TikTokClient
from sandbox.demo import demo_trackers_env
from sandbox.telegram.driver import ChatUser, MessageView, SandboxClient
from sandbox.tiktok.server import RunningEmulator
from sandbox.trackers.model import Attrs
from sandbox.trackers.server import RunningTracker, start_tracker
from tests.e2e.harness import (
    ServiceProcess,
    free_port,
    generous_plans,
    press_data_answer,
    sign_up,
)
from tests.e2e.test_stats import connected_and_synced
from tests.e2e.test_templates import reply, tap

KINDS = ("keitaro", "binom1", "binom2")
KIND_LABEL = {"keitaro": "Keitaro", "binom1": "Binom 1.x", "binom2": "Binom 2"}
# The demo world feeds the demo login's first, second and third ad account (USD, EUR, JPY)
# into Keitaro, Binom 1 and Binom 2; the trackers count in USD.
ACCOUNT_INDEX = {"keitaro": 0, "binom1": 1, "binom2": 2}
RATES = {"binom1": "EUR USD 1.08", "binom2": "USD JPY 150"}
# The service's per-call tracker timeout here (TRACKER_TIMEOUT_SECONDS), so a slow tracker
# times out in seconds, not in 4 × 20 s.
TIMEOUT_S = 2
COST_STEP = Decimal("0.0001")


@pytest.fixture
async def trackers(tiktok: RunningEmulator) -> AsyncIterator[dict[str, RunningTracker]]:
    """One emulator of each kind, fed by the TikTok emulator's clicks."""
    running = {kind: await start_tracker(kind, tiktok=tiktok) for kind in KIND_LABEL}
    yield running
    for t in running.values():
        await t.stop()


@pytest.fixture
def service_env(trackers: dict[str, RunningTracker], tmp_path: Path) -> dict[str, str]:
    """The service offers the emulators as demo trackers, as the offline demo does, and gives
    a tracker call TIMEOUT_S seconds; the emulator has no QPS limit here (a faster first sync).
    Every ad account is tracked and rules run every 15 minutes, beyond Free's limits."""
    return {
        "DEMO_TRACKERS": demo_trackers_env(list(trackers.values())),
        "TRACKER_TIMEOUT_SECONDS": str(TIMEOUT_S),
        "TIKTOK_QPS": "100",
        **generous_plans(tmp_path),
    }


@pytest.fixture
async def api(tiktok: RunningEmulator) -> AsyncIterator[TikTokClient]:
    """A TikTok client on the emulator, to read what TikTok itself says."""
    async with aiohttp.ClientSession() as http:
        yield TikTokClient(base_url=tiktok.url, app_id=tiktok.app_id, secret=tiktok.secret,
                           session=http, limiter=NoLimiter())


async def open_integrations(user: ChatUser) -> MessageView:
    """The Integrations screen from the main menu."""
    await user.send("/menu")
    await user.expect("Choose a section")
    await user.press("🔗 Integrations")
    return await user.expect("Integrations")


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


async def sync_now(user: ChatUser, label: str, *ends: str) -> MessageView:
    """Press Push now / Pull now until it runs (the scheduled run may hold the tracker for a
    moment: the bot then says so), and return how it ended (a message with one of `ends`)."""
    for _ in range(30):
        await user.press(label)
        since = user.last_action_seq
        end = await user.wait_for(
            lambda m, since=since: m.seq > since  # type: ignore[misc]
            and (any(e in m.text for e in ends) or "being synced right now" in m.text),
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


# What the tracker should hold -------------------------------------------------------------------


def backed_off(service: ServiceProcess, since: int, reason: str) -> bool:
    """Whether the service logged, after its `since`-th log line, a tracker call retried three
    times for `reason`, each wait longer than the one before (exponential back-off)."""
    waits: dict[str, list[float]] = {}
    for event in service.log_events()[since:]:
        if event.get("event") == "tracker.retry" and event.get("reason") == reason:
            delay = event.get("delay_s")
            assert isinstance(delay, int | float)
            waits.setdefault(str(event.get("op")), []).append(float(delay))
    return any(len(w) >= 3 and w[0] < w[1] < w[2] for w in waits.values())


def in_usd(spend: Decimal, currency: str) -> Decimal:
    """TikTok's spend as the USD cost a push sends: the user's rate ("EUR USD 1.08" multiplies
    euros; "USD JPY 150" divides yen, its inverse), rounded half-up to 4 decimals."""
    if currency == "USD":
        return spend
    value = spend * Decimal("1.08") if currency == "EUR" else spend / Decimal(150)
    assert currency in ("EUR", "JPY"), currency
    return value.quantize(COST_STEP, rounding=ROUND_HALF_UP)


def binom1_refuses(zone: str, day: date) -> bool:
    """Binom 1 takes one whole-hour UTC offset per call: a day whose offset changes (DST) or is
    not whole hours is refused for it."""
    z = ZoneInfo(zone)
    start = datetime.combine(day, time(0), z).utcoffset() or timedelta(0)
    end = datetime.combine(day + timedelta(days=1), time(0), z).utcoffset() or timedelta(0)
    return start != end or start.total_seconds() % 3600 != 0


async def daily_spend(
    api: TikTokClient, tiktok: RunningEmulator, adv_id: str, first: date, last: date
) -> dict[tuple[str, date], Decimal]:
    """TikTok's own campaign spend per day (its report, the account's days)."""
    rows = await api.get_report(tiktok.access_token, adv_id, ReportLevel.CAMPAIGN, first, last)
    return {
        (r.object_id, r.stat_time.date()): r.spend or Decimal(0)
        for r in rows
        if r.stat_time is not None
    }


async def tracker_clicks(
    tracker: RunningTracker, camp_id: int, tiktok_campaign: str, day: date, zone: str
) -> int:
    """The clicks the tracker counted for a TikTok campaign on a day (a cost needs clicks to
    sit on: a segment without any holds nothing, whatever was pushed)."""
    camp = tracker.world.campaigns[camp_id]
    field = next((p.field for p in camp.params if p.placeholder == "__CAMPAIGN_ID__"), None)
    z = ZoneInfo(zone)
    a = int(datetime.combine(day, time(0), z).timestamp())
    b = int(datetime.combine(day + timedelta(days=1), time(0), z).timestamp())

    def pred(attrs: Attrs) -> bool:
        """A click of that TikTok campaign."""
        return field is None or attrs.get(field) == tiktok_campaign

    def count() -> int:
        """Clicks in the day (in the emulator's own thread)."""
        return sum(i1 - i0 for _, i0, i1 in tracker.world.matching([camp], a, b, pred))

    return await asyncio.get_running_loop().run_in_executor(tracker.tracker.executor, count)


def held_costs(
    tracker: RunningTracker, links: dict[str, int], until: date
) -> dict[tuple[str, date], Decimal]:
    """What the tracker holds per mapped TikTok campaign and day up to `until`: its stored
    cost per pushed segment, the segment's filter naming the TikTok campaign (a tracker
    campaign fed by one TikTok campaign may hold it unfiltered)."""
    out: dict[tuple[str, date], Decimal] = {}
    for camp_id in sorted(set(links.values())):
        fed = [tc for tc, c in links.items() if c == camp_id]
        for (day, field, value), cost in tracker.costs(camp_id).items():
            if day > until:
                continue
            tiktok_campaign = value if field is not None else None
            if tiktok_campaign is None:
                assert len(fed) == 1, (camp_id, fed)
                tiktok_campaign = fed[0]
            assert tiktok_campaign in fed, (camp_id, field, value)
            key = (str(tiktok_campaign), day)
            assert key not in out, f"two segments hold {key}"
            out[key] = cost
    return out


async def assert_costs_are_spend(
    api: TikTokClient, tiktok: RunningEmulator, tracker: RunningTracker, adv_id: str, zone: str,
    currency: str, links: dict[str, int], settled: date,
) -> dict[tuple[str, date], Decimal]:
    """On every settled day (2 or more days old in the ad account's zone) of the 30 a first push
    covers, the tracker holds exactly TikTok's spend of each mapped campaign in USD — nothing
    lost, nothing doubled (DST-change days refused for Binom 1, segments without clicks hold
    nothing) — and its campaigns no TikTok campaign is mapped to hold none; returns what it
    holds."""
    first = settled - timedelta(days=27)
    spend = await daily_spend(api, tiktok, adv_id, first, settled)
    held = held_costs(tracker, links, settled)
    compared = 0
    for tc, camp_id in sorted(links.items()):
        for n in range((settled - first).days + 1):
            day = first + timedelta(days=n)
            spent = spend.get((tc, day), Decimal(0))
            got = held.pop((tc, day), None)
            if tracker.kind == "binom1" and binom1_refuses(zone, day):
                assert got is None, (tc, day, "a DST-change day was sent to Binom 1")
                continue
            if got is None and spent > 0:
                clicks = await tracker_clicks(tracker, camp_id, tc, day, zone)
                assert clicks == 0, (tc, day, spent, "TikTok's spend is missing at the tracker")
                continue
            want = in_usd(spent, currency) if spent else None
            assert got == want, (tc, day, spent, got, want)
            compared += want is not None
    assert not held, f"the tracker holds costs of days or campaigns never spent: {held}"
    assert compared >= 5, "too few campaign-days to compare"
    for camp_id in set(tracker.world.campaigns) - set(links.values()):
        assert not tracker.costs(camp_id), f"unmapped tracker campaign {camp_id} got a cost"
    return held_costs(tracker, links, settled)


# Mapping, stats, rules ---------------------------------------------------------------------------


async def tiktok_campaigns(
    api: TikTokClient, tiktok: RunningEmulator, adv_id: str
) -> dict[str, tuple[str, str]]:
    """TikTok campaign id → (name, operation status), as TikTok says now."""
    return {
        c.campaign_id: (c.campaign_name or "", c.operation_status or "")
        for c in await api.get_campaigns(tiktok.access_token, adv_id, include_deleted=True)
    }


def mapped_links(
    text: str, names: dict[str, str], tracker: RunningTracker
) -> dict[str, int]:
    """The links the Mapping screen lists (TikTok campaign id → tracker campaign id), each one
    checked against what really feeds that tracker campaign."""
    tracker_ids = {c.name: c.id for c in tracker.world.campaigns.values()}
    by_name = {name: tc for tc, name in names.items()}
    links: dict[str, int] = {}
    for line in text.splitlines():
        found = re.match(r"^\d+\. (.+) → (.+) · (automatic|by hand|by name pattern)$", line)
        if found:
            tc, camp_id = by_name[found[1]], tracker_ids[found[2]]
            assert tc in tracker.feeds[camp_id], (line, tracker.feeds[camp_id])
            links[tc] = camp_id
    return links


def roi_by_campaign(text: str, names: dict[str, str]) -> dict[str, Decimal]:
    """ROI per TikTok campaign id as a drill-down lists it (campaigns without tracker data or
    without spend have none)."""
    by_name = {name: tc for tc, name in names.items()}
    out: dict[str, Decimal] = {}
    current: str | None = None
    for line in text.splitlines():
        head = re.match(r"^\d+\. (.+?)(?: · (?:▶ active|⏸ paused|✖ deleted))?$", line)
        if head and head[1] in by_name:
            current = by_name[head[1]]
            continue
        roi = re.search(r"🧾 Tracker: .* · ROI (-?[\d,]+(?:\.\d+)?)%", line)
        if roi and current is not None:
            out[current] = Decimal(roi[1].replace(",", ""))
    return out


def threshold_between(values: list[Decimal]) -> Decimal:
    """A threshold in the widest gap between the ROIs shown, so some are below and some above
    whatever the rounding of the shown values (just above the only one, if there is one)."""
    ordered = sorted(set(values))
    assert ordered, "no running campaign with tracker data and spend in the demo world"
    if len(ordered) == 1:
        return ordered[0] + 1
    low, high = max(itertools.pairwise(ordered), key=lambda p: p[1] - p[0])
    assert high - low >= 1, ordered
    return ((low + high) / 2).quantize(Decimal("0.1"))


async def log_of(user: ChatUser, log: MessageView, shown: date, day: date) -> MessageView:
    """From the push log of `shown`, press ‹ until the log of `day` is on the screen."""
    message_id = log.message_id
    while shown > day:
        shown -= timedelta(days=1)
        await user.press("‹ " + format_date(shown, "d MMM", locale="en"), message_id=message_id)
        want = format_date(shown, "medium", locale="en")
        log = await user.wait_for(
            lambda m, want=want: m.message_id == message_id and want in m.text  # type: ignore[misc]
        )
    return log


async def open_card(user: ChatUser, kind: str) -> MessageView:
    """The tracker's card, from Integrations."""
    await open_integrations(user)
    await user.press(f"⚙️ {KIND_LABEL[kind]}")
    return await user.expect("Mapped TikTok campaigns")


LATE_S = TIMEOUT_S + 0.5  # a tracker this slow answers every call after the client gave up


async def slow_tracker(
    user: ChatUser, service: ServiceProcess, api: TikTokClient, tiktok: RunningEmulator,
    tracker: RunningTracker, adv_id: str, links: dict[str, int],
    held: dict[tuple[str, date], Decimal], settled: date,
) -> None:
    """A slow Keitaro: within the timeout it just works; beyond it each call is retried, then
    the push says it timed out and the tracker shows failing; fast again, the push catches up
    and the tracker holds TikTok's spend exactly once (the timed-out attempts, which the
    tracker still applied late, replaced, never added)."""
    zone = tiktok.state.advertisers[adv_id].timezone
    await open_card(user, "keitaro")
    tracker.knobs["slow_s"] = TIMEOUT_S / 2
    await sync_now(user, "📤 Push now", "📤 Costs pushed:")
    assert held_costs(tracker, links, settled) == held

    tracker.knobs["slow_s"] = LATE_S
    logged = len(service.log_events())
    failed = await sync_now(user, "📤 Push now", "❌ Push to")
    assert "did not answer in time" in failed.text, failed.text
    assert f"Details: no answer within {TIMEOUT_S} s" in failed.text, failed.text
    await user.press("« Tracker")
    card = await user.expect("Mapped TikTok campaigns")
    assert "⚠️ failing since" in card.text and "push: no answer in time" in card.text, card.text
    assert backed_off(service, logged, "timeout"), "the slow push was not retried with back-off"

    tracker.knobs["slow_s"] = 0
    await sync_now(user, "📤 Push now", "📤 Costs pushed:")
    # The attempts that timed out may still reach the tracker, late: wait for them to land (the
    # costs are then the same whether they did or not).
    await asyncio.sleep(LATE_S)
    assert held_costs(tracker, links, settled) == held
    await assert_costs_are_spend(api, tiktok, tracker, adv_id, zone, "USD", links, settled)
    listed = await open_integrations(user)
    assert "✅ active" in listed.text, listed.text


# What each kind answers a cost push that it took, as the push log quotes it.
ANSWER = {
    "keitaro": "Job successfully scheduled",
    "binom1": "check_status: true",
    "binom2": '"status": "scheduled"',
}


@pytest.mark.parametrize("kind", KINDS)
async def test_each_kind_connect_outage_push_pull_profit_rule_and_discrepancy(
    kind: str,
    service: ServiceProcess,
    sandbox: SandboxClient,
    tiktok: RunningEmulator,
    trackers: dict[str, RunningTracker],
    api: TikTokClient,
) -> None:
    user = await sandbox.user(1200 + ACCOUNT_INDEX[kind], language_code="en")
    await connected_and_synced(user)
    tracker = trackers[kind]
    adv_id = tiktok.state.users[tiktok.state.default_login].advertiser_ids[ACCOUNT_INDEX[kind]]
    adv = tiktok.state.advertisers[adv_id]
    zone, currency = adv.timezone, adv.currency  # the account's zone as TikTok gives it
    # Compared: settled days (TikTok still revises yesterday and today after our last sync).
    settled = local_today(datetime.now(UTC), zone) - timedelta(days=2)
    assert currency == {"keitaro": "USD", "binom1": "EUR", "binom2": "JPY"}[kind]
    if kind in RATES:
        await set_rate(user, RATES[kind])
    await connect(user, tracker)

    # Automatic mapping: each TikTok campaign whose ads pass its id to a tracker campaign.
    before = await tiktok_campaigns(api, tiktok, adv_id)
    names = {tc: name for tc, (name, _status) in before.items()}
    assert len(set(names.values())) == len(names), "campaign names must tell campaigns apart"
    await user.press("🧭 Map campaigns")
    await user.expect("Mapping")
    await user.press("🔄 Run automatic mapping")
    mapped = await user.expect("Automatic mapping", timeout=60)
    links = mapped_links(mapped.text, names, tracker)
    fed = {tc for tcs in tracker.feeds.values() for tc in tcs}
    assert len(links) >= 4 and set(links) <= fed, mapped.text
    unmapped = [tc for tc in before if tc not in links]  # c7 (no tracker campaign), c5 (no ids)
    assert unmapped and "Unmapped spend" in mapped.text, mapped.text

    # An outage: Push now and Pull now fail after retries with back-off, and say why; the card
    # and Integrations show the tracker failing.
    await user.press("« Tracker")
    await user.expect("Mapped TikTok campaigns")
    tracker.knobs["down"] = True
    logged = len(service.log_events())
    failed = await sync_now(user, "📤 Push now", "❌ Push to")
    assert "unavailable right now" in failed.text and "HTTP 503" in failed.text, failed.text
    assert "Nothing is lost: it is retried" in failed.text
    assert backed_off(service, logged, "unavailable"), "the push was not retried with back-off"
    await user.press("« Tracker")
    card = await user.expect("Mapped TikTok campaigns")
    assert "⚠️ failing since" in card.text and "push: tracker unavailable" in card.text, card.text
    failed = await sync_now(user, "📥 Pull now", "❌ Pull from")
    assert "unavailable right now" in failed.text, failed.text
    listed = await open_integrations(user)
    assert "⚠️ failing since" in listed.text and "tracker unavailable" in listed.text, listed.text

    # Back up: Push now sends TikTok's spend, and the tracker holds exactly that per campaign and
    # day (in USD at the user's rate), whatever the outage cut short.
    tracker.knobs["down"] = False
    await user.press(f"⚙️ {KIND_LABEL[kind]}")
    await user.expect("Mapped TikTok campaigns")
    pushed = await sync_now(user, "📤 Push now", "📤 Costs pushed:", "📤 Nothing to push")
    assert re.search(r"📤 Costs pushed: \d+ accepted, 0 refused by the tracker", pushed.text), (
        pushed.text
    )
    held = await assert_costs_are_spend(
        api, tiktok, tracker, adv_id, zone, currency, links, settled
    )

    # The push log of a settled day: each campaign's spend, what was sent, the tracker's answer.
    spend = await daily_spend(api, tiktok, adv_id, settled, settled)
    await user.press("📜 Push log")
    log = await user.expect("Push log")
    log = await log_of(user, log, local_today(datetime.now(UTC), "UTC"), settled)
    assert re.search(r"Sent: [1-9]\d* · refused by the tracker: \d+ · not sent: 0", log.text), (
        log.text
    )
    sent_lines = [
        f"spend {money(spend[(tc, settled)], currency, 'en')} → sent "
        f"{money(in_usd(spend[(tc, settled)], currency), 'USD', 'en')}"
        for tc in links
        if spend.get((tc, settled))
    ]
    assert sent_lines and any(line in log.text for line in sent_lines), (sent_lines, log.text)
    assert "✅" in log.text and ANSWER[kind] in log.text, log.text

    # A second push replaces what the tracker holds: nothing changes, nothing doubles.
    await user.press("« Tracker", message_id=log.message_id)
    await user.expect("Mapped TikTok campaigns")
    await sync_now(user, "📤 Push now", "📤 Costs pushed:")
    assert held_costs(tracker, links, settled) == held

    # Pull: revenue, profit and ROI beside TikTok's numbers; the tracker is active again.
    pulled = await sync_now(user, "📥 Pull now", "📥 Revenue pulled")
    assert re.search(r"Revenue pulled: [1-9]", pulled.text), pulled.text
    listed = await open_integrations(user)
    assert "✅ active" in listed.text and "failing" not in listed.text, listed.text
    await user.send("/stats")
    summary = await user.expect("Stats · Last 7 days")
    assert "Tracker: revenue" in summary.text and "ROI" in summary.text, summary.text
    await user.press(f"🔎 {adv.name}")
    campaigns = await user.wait_for(lambda m: "Campaigns · Last 7 days" in m.text)
    roi = roi_by_campaign(campaigns.text, names)
    assert set(roi) <= set(links) and len(roi) >= 2, campaigns.text

    # The profit chart comes with the charts, as a picture.
    await user.press("📊 Charts", message_id=campaigns.message_id)
    chart = await user.wait_for(
        lambda m: m.kind == "photo" and "Profit by day" in m.text, timeout=60
    )
    png = await sandbox.download(chart.file["download_path"])  # type: ignore[index]
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000

    # An ROI rule over the campaigns of this account and the next one pauses at TikTok the
    # running ones losing more than the threshold, leaves the others running, and skips those
    # the tracker has no data for (the other account's, the unmapped ones) — it never reads
    # missing revenue as a loss.
    owned = tiktok.state.users[tiktok.state.default_login].advertiser_ids
    accounts = [adv_id, owned[(ACCOUNT_INDEX[kind] + 1) % len(owned)]]
    everyone: dict[str, tuple[str, str]] = {}
    for account in accounts:
        everyone.update(await tiktok_campaigns(api, tiktok, account))
    assert len(everyone) <= 20  # what a rule's id filter takes
    running = {tc for tc, (_name, status) in everyone.items() if status == "ENABLE"}
    threshold = threshold_between([v for tc, v in roi.items() if tc in running])
    losing = {tc for tc, value in roi.items() if value < threshold and tc in running}
    no_data = running - set(links)
    assert losing and no_data, (roi, running)
    await user.send("/rules")
    await user.expect("Rules")
    await tap(user, "⌨️ Type a rule", "Send the rule as one line")
    await user.send(f"campaign: roi < {threshold} in 7d -> pause")
    await user.expect("New rule")
    await tap(user, "🎯 Scope", "Which accounts and objects")
    await tap(user, "▫️ Object ids…", "Send the object ids")
    await user.send(" ".join(everyone))
    await user.expect("Objects: objects with ids")
    screen = await tap(user, "💾 Save", "▶ Run now")
    await user.press("▶ Run now", message_id=screen.message_id)
    result = await user.wait_for(lambda m: m.message_id == screen.message_id
                                 and "ran now" in m.text, timeout=60)
    done = re.search(r"checked (\d+), matched (\d+), changed (\d+), asked 0, skipped (\d+)",
                     result.text)
    assert done, result.text
    assert (int(done[1]), int(done[2]), int(done[3])) == (
        len(running), len(losing), len(losing)), (result.text, roi, threshold)
    assert int(done[4]) >= len(no_data - set(roi)), result.text
    await user.press("📜 Open the run", message_id=screen.message_id)
    run = await user.wait_for(lambda m: m.message_id == screen.message_id and "Run " in m.text
                              and "⏭ Skipped" in m.text)
    assert "the tracker has no data for them" in run.text, run.text
    after: dict[str, tuple[str, str]] = {}
    for account in accounts:
        after.update(await tiktok_campaigns(api, tiktok, account))
    for tc, (_name, status) in after.items():
        if tc in losing:
            assert status == "DISABLE", (tc, roi[tc], threshold, "not paused at TikTok")
        else:  # above the threshold, or no tracker data: left as it was
            assert status == everyone[tc][1], (tc, roi.get(tc), threshold, "changed at TikTok")

    if kind == "keitaro":  # its bulk cost API makes a push one call: slowness is cheap to show
        await slow_tracker(user, service, api, tiktok, tracker, adv_id, links, held, settled)

    # A broken redirect loses most clicks: one "broken redirect or postback?" alert.
    tracker.knobs["drop_clicks_pct"] = 60
    await open_card(user, kind)
    await sync_now(user, "📥 Pull now", "📥 Revenue pulled")
    alert = await user.wait_for(lambda m: "Broken redirect or postback?" in m.text, timeout=30)
    assert "❗ Clicks: TikTok" in alert.text and "⚙️ Open tracker" in alert.button_labels()
    found = re.search(r"Clicks: TikTok ([\d,]+) · tracker ([\d,]+) \((-[\d.]+)%\)", alert.text)
    assert found and float(found[3]) < -20, alert.text
    assert any(names[tc] in alert.text for tc in links), alert.text


OTHER_KIND = {"keitaro": "binom2", "binom1": "keitaro", "binom2": "keitaro"}


@pytest.mark.parametrize("kind", KINDS)
async def test_each_bad_input_says_why_and_stores_nothing(
    kind: str, service: ServiceProcess, sandbox: SandboxClient,
    trackers: dict[str, RunningTracker],
) -> None:
    # One Add tracker form, its mistakes fixed one at a time as a user would: each failed test
    # says why in its own words, and nothing is stored until one passes.
    user = await sandbox.user(1300, language_code="en")
    await sign_up(user)
    tracker, other = trackers[kind], trackers[OTHER_KIND[kind]]
    wrong_key = "not-the-key-" + "x" * 20

    async def test_fails(*words: str, button: str = "🔌 Test connection") -> None:
        """Test the connection: it fails for the reason `words` say."""
        await user.press(button)
        failed = await user.expect("Connection test failed", timeout=60)
        assert "Nothing was stored." in failed.text, failed.text
        assert all(w in failed.text for w in words), (words, failed.text)
        for key in (tracker.api_key, other.api_key, wrong_key):
            assert key not in failed.text

    async def retype(button: str, text: str) -> None:
        """Change the URL or the key from the failure screen, back to the check screen."""
        await user.press(button)
        await user.expect("step 2 of 5" if button == "✏️ URL" else "step 3 of 5")
        await user.send(text)
        await user.expect("check and test")

    await fill_wizard(user, kind, f"http://127.0.0.1:{free_port()}", wrong_key)
    await test_fails("No tracker answers at that address")
    await retype("✏️ URL", tracker.url)
    await test_fails("The tracker refused the API key")
    await retype("🔑 API key", tracker.api_key)
    tracker.knobs["html"] = True  # a login page where the API should be
    await test_fails("web page instead of API data")
    tracker.knobs["html"] = False
    tracker.knobs["slow_s"] = TIMEOUT_S + 1  # slower than TRACKER_TIMEOUT_SECONDS, every retry
    await test_fails("did not answer in time", f"Details: no answer within {TIMEOUT_S} s",
                     button="🔁 Test again")
    tracker.knobs["slow_s"] = 0
    await retype("✏️ URL", other.url)  # another kind of tracker answers there
    await test_fails("not as this kind of tracker does")
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
