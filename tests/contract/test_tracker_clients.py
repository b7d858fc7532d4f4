"""Contract tests: the three tracker clients against the tracker emulators (sandbox/trackers).

The emulators are fed by the TikTok emulator's demo world (fixture "demo": campaigns x01 Main
with the default id layout, x02 Scale with other fields, x03 No ids, x04 Campaign id only, x05
tracker-only traffic, x06 paused, x07 deleted). What a test compares against is what a user of
the tracker would see: the costs the tracker holds (`tracker.costs`), its own report engine
over its clicks (ground truth), and how many calls reached it (`tracker.calls`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from core.trackers.base import CostItem, RevenueRow, TrackerClient, TrackerError, TrackerKind
from core.trackers.binom1 import day_offset
from core.trackers.factory import make_client
from core.trackers.http import RetryPolicy
from core.trackers.keitaro import KeitaroClient
from sandbox.tiktok.server import RunningEmulator, start_emulator
from sandbox.trackers.reports import aggregate, day_range, zone
from sandbox.trackers.server import RunningTracker, start_tracker

KINDS: tuple[TrackerKind, ...] = ("keitaro", "binom1", "binom2")
BASE = {"keitaro": 100, "binom1": 200, "binom2": 300}  # demo campaign ids: BASE + 1..7
# The demo's TikTok ad account behind each kind (Glowly US / EU / JP) and its zone.
ZONES = {"keitaro": "America/Los_Angeles", "binom1": "Europe/Berlin", "binom2": "Asia/Tokyo"}
FAST = RetryPolicy(max_attempts=3, max_total_seconds=20, base_delay=0.01, max_delay=0.05)
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
Start = Callable[..., Awaitable[RunningTracker]]


@pytest.fixture
async def tiktok() -> AsyncIterator[RunningEmulator]:
    """The TikTok emulator whose ads feed the trackers' clicks."""
    emu = await start_emulator(fixture="demo", now=NOW)  # frozen: no postback lands mid-test
    try:
        yield emu
    finally:
        await emu.stop()


@pytest.fixture
async def start(tiktok: RunningEmulator) -> AsyncIterator[Start]:
    """Start tracker emulators of any kind on the shared TikTok world; stopped after the test."""
    running: list[RunningTracker] = []

    async def _start(kind: str, **knobs: Any) -> RunningTracker:
        tracker = await start_tracker(kind, tiktok=tiktok, **knobs)
        running.append(tracker)
        return tracker

    try:
        yield _start
    finally:
        for tracker in running:
            await tracker.stop()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """One HTTP session the clients share (not closed by them)."""
    async with aiohttp.ClientSession() as s:
        yield s


def client(tracker: RunningTracker, session: aiohttp.ClientSession, **kw: Any) -> TrackerClient:
    """A client built the way the product builds it: from what the user typed."""
    kw.setdefault("retry", FAST)
    kw.setdefault("timeout", 10.0)
    return make_client(tracker.kind, tracker.url, tracker.api_key, session=session, **kw)  # type: ignore[arg-type]


def cid(kind: str, n: int) -> str:
    """The demo campaign id x0n of a kind."""
    return str(BASE[kind] + n)


def today(tracker: RunningTracker, tz: str) -> date:
    """The tracker's today in a zone (its clock is the TikTok emulator's)."""
    return datetime.fromtimestamp(tracker.world.clock(), ZoneInfo(tz)).date()


def push_days(tracker: RunningTracker, tz: str, count: int = 2) -> list[date]:
    """Recent complete days; for Binom 1 only days it can take (whole-hour, no DST change)."""
    out: list[date] = []
    day = today(tracker, tz) - timedelta(days=1)
    while len(out) < count:
        if tracker.kind != "binom1" or day_offset(day, tz)[0] is not None:
            out.append(day)
        day -= timedelta(days=1)
    return sorted(out)


def read_zone(kind: str, tz: str, day: date) -> str:
    """The zone the tracker reads a day in: Binom 1 takes the day's whole-hour UTC offset."""
    if kind != "binom1":
        return tz
    offset = day_offset(day, tz)[0]
    assert offset is not None
    return str(offset)


async def truth(
    tracker: RunningTracker,
    campaign_id: str,
    field: str | None,
    start: date,
    end: date,
    tz: str,
    *,
    offset: str | None = None,
) -> dict[tuple[date, str | None], RevenueRow]:
    """The emulator's own report engine over its clicks: what the tracker knows (ground truth)."""
    w = tracker.world

    def run() -> dict[tuple[Any, ...], Any]:
        zone_ = zone(offset or read_zone(tracker.kind, tz, start))
        a, b = day_range(start, end, zone_)
        dims = ["day", *([field] if field else [])]
        return aggregate(
            w, [w.campaigns[int(campaign_id)]], a, b, zone_, dims, lambda c, attrs, d: attrs.get(d)
        )

    got = await asyncio.get_running_loop().run_in_executor(tracker.tracker.executor, run)
    out: dict[tuple[date, str | None], RevenueRow] = {}
    for key, f in got.items():
        day = date.fromisoformat(key[0])
        value = (key[1] or None) if field else None
        if tracker.kind == "keitaro":
            row = RevenueRow(
                campaign_id,
                day,
                value,
                f.clicks,
                f.sales,
                f.leads,
                f.rejected,
                dec(f.sale_revenue),
                dec(f.lead_revenue),
            )
        else:  # Binom: leads are all conversions, revenue all of theirs (spec §0)
            row = RevenueRow(
                campaign_id,
                day,
                value,
                f.clicks,
                f.conversions,
                0,
                0,
                dec(f.sale_revenue + f.lead_revenue),
            )
        out[(day, value)] = row
    return out


async def held_by_day(
    tracker: RunningTracker, campaign_id: str, field: str, start: date, end: date, tz: str
) -> dict[tuple[date, str | None], Fraction]:
    """Cost on the tracker's clicks per day (in the account's zone) and id value."""
    w = tracker.world

    def run() -> dict[tuple[Any, ...], Any]:
        zone_ = zone(read_zone(tracker.kind, tz, start))
        a, b = day_range(start, end, zone_)
        return aggregate(
            w,
            [w.campaigns[int(campaign_id)]],
            a,
            b,
            zone_,
            ["day", field],
            lambda c, attrs, d: attrs.get(d),
        )

    got = await asyncio.get_running_loop().run_in_executor(tracker.tracker.executor, run)
    return {(date.fromisoformat(k[0]), k[1]): f.cost for k, f in got.items() if f.cost}


def dec(value: Fraction) -> Decimal:
    """An exact-cents Fraction as Decimal."""
    return Decimal(value.numerator) / Decimal(value.denominator)


def by_key(rows: list[RevenueRow]) -> dict[tuple[date, str | None], RevenueRow]:
    """Pulled rows keyed like the ground truth (each key once)."""
    out = {(r.day, r.id_value): r for r in rows}
    assert len(out) == len(rows), "a (day, id) came back twice"
    return out


async def campaign_values(
    tracker: RunningTracker,
    api: TrackerClient,
    campaign_id: str,
    field: str,
    days: list[date],
    tz: str,
) -> list[str]:
    """The TikTok campaign ids with clicks in the tracker campaign on every one of `days`."""
    rows = await api.pull([campaign_id], field, days[0], days[-1], tz)
    per_day = [{r.id_value for r in rows if r.day == d and r.clicks and r.id_value} for d in days]
    common = sorted(set.intersection(*per_day))
    assert common, "the demo should feed clicks on these days"
    return common


def costs_of(items: list[CostItem]) -> dict[tuple[date, str | None, str | None], Decimal]:
    """What the tracker should hold after these items: one total per segment."""
    return {(i.day, i.id_field, i.id_value): i.cost for i in items}


# --- listing ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
async def test_lists_campaigns_with_their_id_fields(
    start: Start, session: aiohttp.ClientSession, kind: TrackerKind
) -> None:
    """Every campaign but the deleted one, id fields read from its own config, links filled."""
    tracker = await start(kind)
    campaigns = {c.id: c for c in await client(tracker, session).list_campaigns()}
    assert sorted(campaigns) == [cid(kind, n) for n in range(1, 7)]  # x07 is deleted
    default, custom = (
        ("ad_campaign_id", "sub_id_1", "creative_id"),
        ("sub_id_3", "sub_id_4", "sub_id_5"),
    )
    if kind != "keitaro":
        default, custom = ("t1", "t2", "t3"), ("t4", "t5", "t6")
    levels = ("campaign", "adgroup", "ad")
    assert dict(campaigns[cid(kind, 1)].id_fields) == dict(zip(levels, default, strict=True))
    assert dict(campaigns[cid(kind, 2)].id_fields) == dict(zip(levels, custom, strict=True))
    assert dict(campaigns[cid(kind, 3)].id_fields) == {}
    assert dict(campaigns[cid(kind, 4)].id_fields) == {"campaign": default[0]}
    assert [c.active for c in campaigns.values()] == [True] * 5 + [False]
    for campaign in campaigns.values():
        assert (
            campaign.link and campaign.link.split("?")[0] == tracker.link(campaign.id).split("?")[0]
        )
    assert "Main" in campaigns[cid(kind, 1)].name


async def test_binom1_without_arm_uses_the_token_convention(
    start: Start, session: aiohttp.ClientSession
) -> None:
    """An older Binom 1 (no arm.php): the t1/t2/t3 convention of spec §4 is assumed."""
    tracker = await start("binom1", binom1_arm=False)
    campaigns = await client(tracker, session).list_campaigns()
    assert {c.id: dict(c.id_fields) for c in campaigns}[cid("binom1", 1)] == {
        "campaign": "t1",
        "adgroup": "t2",
        "ad": "t3",
    }
    assert tracker.calls["page=Campaigns"] == 1


@pytest.mark.parametrize("envelope", [None, "data", "items"])
async def test_binom2_lists_bare_or_wrapped(
    start: Start, session: aiohttp.ClientSession, envelope: str | None
) -> None:
    """The campaign list as a bare list or under data/items (spec §3.1) reads the same."""
    tracker = await start("binom2", binom2_list_envelope=envelope)
    campaigns = await client(tracker, session).list_campaigns()
    assert len(campaigns) == 6


async def test_binom1_old_key_names_and_plain_numbers(
    start: Start, session: aiohttp.ClientSession
) -> None:
    """Binom 1.8 spellings (`link`, `rev`) and unformatted numbers read the same (spec §2.1)."""
    tracker = await start("binom1", binom1_version="1.8", binom1_pretty_numbers=False)
    api = client(tracker, session)
    main = {c.id: c for c in await api.list_campaigns()}[cid("binom1", 1)]
    assert main.link == tracker.link(main.id)
    tz = ZONES["binom1"]
    days = push_days(tracker, tz, 3)
    rows = await api.pull([main.id], "t3", days[0], days[-1], tz)
    assert by_key(rows) == await truth(tracker, main.id, "t3", days[0], days[-1], tz)


# --- push ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
async def test_push_costs_reach_the_tracker_in_the_fewest_calls(
    start: Start, session: aiohttp.ClientSession, kind: TrackerKind
) -> None:
    """Per day and TikTok campaign, the tracker holds exactly the pushed total."""
    tracker = await start(kind)
    api = client(tracker, session)
    camp = {c.id: c for c in await api.list_campaigns()}[cid(kind, 1)]
    field = camp.id_fields["campaign"]
    tz = ZONES[kind]
    days = push_days(tracker, tz)
    values = await campaign_values(tracker, api, camp.id, field, days, tz)
    items = [
        CostItem(camp.id, day, tz, Decimal(f"{10 + n}.{day.day:02d}"), "USD", field, value)
        for day in days
        for n, value in enumerate(values)
    ]
    before = dict(tracker.calls)
    outcomes = await api.push_costs(items)
    assert [o.item for o in outcomes] == items
    assert all(o.ok for o in outcomes), [o.answer for o in outcomes]
    assert tracker.costs(camp.id) == costs_of(items)
    # ... and on exactly the clicks of that day in the account's zone (not a shifted day).
    held = await held_by_day(tracker, camp.id, field, days[0], days[-1], tz)
    assert held == {(i.day, i.id_value): Fraction(str(i.cost)) for i in items}
    sent = {k: v - before.get(k, 0) for k, v in tracker.calls.items() if v != before.get(k, 0)}
    expected = {
        "keitaro": {"POST /admin_api/v1/clicks/update_costs": 1},
        "binom1": {"page=save_update_costs": len(items)},
        "binom2": {"PUT /public/api/v1/clicks/campaign/{id}": len(items)},
    }[kind]
    assert sent == expected


@pytest.mark.parametrize("kind", KINDS)
async def test_repush_replaces_never_adds(
    start: Start, session: aiohttp.ClientSession, kind: TrackerKind
) -> None:
    """Pushing a day again replaces its cost; pushing the same again changes nothing."""
    tracker = await start(kind)
    api = client(tracker, session)
    camp_id = cid(kind, 1)
    field = "ad_campaign_id" if kind == "keitaro" else "t1"
    tz = ZONES[kind]
    days = push_days(tracker, tz, 1)
    values = await campaign_values(tracker, api, camp_id, field, days, tz)
    first = [CostItem(camp_id, days[0], tz, Decimal("50.00"), "USD", field, v) for v in values]
    second = [CostItem(camp_id, days[0], tz, Decimal("20.25"), "USD", field, v) for v in values]
    assert all(o.ok for o in await api.push_costs(first))
    assert all(o.ok for o in await api.push_costs(second))
    assert tracker.costs(camp_id) == costs_of(second)
    assert all(o.ok for o in await api.push_costs(second))
    assert tracker.costs(camp_id) == costs_of(second)


@pytest.mark.parametrize("kind", KINDS)
async def test_push_a_campaign_total_without_a_filter(
    start: Start, session: aiohttp.ClientSession, kind: TrackerKind
) -> None:
    """A campaign that passes no ids takes the day's total on all its clicks."""
    tracker = await start(kind)
    api = client(tracker, session)
    camp_id = cid(kind, 3)
    tz = ZONES[kind]
    days = push_days(tracker, tz)
    items = [CostItem(camp_id, d, tz, Decimal("33.30"), "USD") for d in days]
    assert all(o.ok for o in await api.push_costs(items))
    assert tracker.costs(camp_id) == {(d, None, None): Decimal("33.30") for d in days}


@pytest.mark.parametrize("kind", KINDS)
async def test_push_to_an_unknown_campaign_fails_only_its_items(
    start: Start, session: aiohttp.ClientSession, kind: TrackerKind
) -> None:
    """The tracker's refusal comes back on its own items, in order; the others land."""
    tracker = await start(kind)
    api = client(tracker, session)
    tz = ZONES[kind]
    day = push_days(tracker, tz, 1)[0]
    items = [
        CostItem("999", day, tz, Decimal(5), "USD"),
        CostItem(cid(kind, 3), day, tz, Decimal(7), "USD"),
    ]
    outcomes = await api.push_costs(items)
    assert [o.ok for o in outcomes] == [False, True]
    assert "not found" in outcomes[0].answer.lower() and len(outcomes[0].answer) <= 300
    assert tracker.costs(cid(kind, 3)) == {(day, None, None): Decimal(7)}


async def test_keitaro_bulk_is_chunked_at_the_limit(
    start: Start, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a tracker that takes at most 2 costs per call, 5 items go in 3 calls, all held."""
    monkeypatch.setattr("core.trackers.keitaro.MAX_COSTS_PER_REQUEST", 2)
    tracker = await start("keitaro", keitaro_bulk_max_items=2)
    api = client(tracker, session)
    tz = ZONES["keitaro"]
    days = push_days(tracker, tz, 5)
    items = [
        CostItem(cid("keitaro", 3), d, tz, Decimal("1.5") + n, "USD") for n, d in enumerate(days)
    ]
    assert all(o.ok for o in await api.push_costs(items))
    assert tracker.calls["POST /admin_api/v1/clicks/update_costs"] == 3
    assert tracker.costs(cid("keitaro", 3)) == costs_of(items)


async def test_binom1_refuses_a_dst_day_without_calling(
    start: Start, session: aiohttp.ClientSession
) -> None:
    """A day whose UTC offset changes is refused with the reason and never sent (spec §0)."""
    tracker = await start("binom1")
    item = CostItem(cid("binom1", 3), date(2026, 3, 29), "Europe/Berlin", Decimal(9), "USD")
    [outcome] = await client(tracker, session).push_costs([item])
    assert not outcome.ok and "changes on 2026-03-29" in outcome.answer
    assert tracker.calls["page=save_update_costs"] == 0


# --- pull ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
async def test_pull_matches_the_trackers_own_numbers(
    start: Start, session: aiohttp.ClientSession, kind: TrackerKind
) -> None:
    """By day and ad id, clicks, conversions and revenue equal the tracker's ground truth."""
    tracker = await start(kind)
    api = client(tracker, session)
    camp_id = cid(kind, 1)
    field = "creative_id" if kind == "keitaro" else "t3"
    tz = ZONES[kind]
    days = push_days(tracker, tz, 3)
    rows = await api.pull([camp_id], field, days[0], days[-1], tz)
    expected = await truth(tracker, camp_id, field, days[0], days[-1], tz)
    assert by_key(rows) == expected
    assert sum(r.conversions for r in rows) > 0 and sum(r.revenue for r in rows) > 0


@pytest.mark.parametrize("kind", KINDS)
async def test_pull_campaign_totals_without_an_id_field(
    start: Start, session: aiohttp.ClientSession, kind: TrackerKind
) -> None:
    """A campaign that passes no ids is read as one row per day."""
    tracker = await start(kind)
    camp_id = cid(kind, 3)
    tz = ZONES[kind]
    days = push_days(tracker, tz, 2)
    rows = await client(tracker, session).pull([camp_id], None, days[0], days[-1], tz)
    assert by_key(rows) == await truth(tracker, camp_id, None, days[0], days[-1], tz)
    assert {r.day for r in rows} == set(days)


async def test_keitaro_pull_is_one_call_for_several_campaigns(
    start: Start, session: aiohttp.ClientSession
) -> None:
    """Keitaro reads every campaign in one report call (spec §1.3 IN_LIST filter)."""
    tracker = await start("keitaro")
    api = client(tracker, session)
    tz = ZONES["keitaro"]
    days = push_days(tracker, tz, 2)
    ids = [cid("keitaro", 1), cid("keitaro", 4)]
    rows = await api.pull(ids, "ad_campaign_id", days[0], days[-1], tz)
    assert tracker.calls["POST /admin_api/v1/report/build"] == 1
    for camp_id in ids:
        mine = [r for r in rows if r.campaign_id == camp_id]
        assert by_key(mine) == await truth(
            tracker, camp_id, "ad_campaign_id", days[0], days[-1], tz
        )


@pytest.mark.parametrize("names", ["dimensions", "grouping"])
async def test_keitaro_report_field_names_either_version(
    start: Start, session: aiohttp.ClientSession, names: str
) -> None:
    """Either report field-name pair alone is read right; the client remembers which worked."""
    tracker = await start("keitaro", keitaro_report_fields=names)
    api = client(tracker, session)
    assert isinstance(api, KeitaroClient)
    tz = ZONES["keitaro"]
    days = push_days(tracker, tz, 2)
    for _ in range(2):
        rows = await api.pull([cid("keitaro", 1)], "creative_id", days[0], days[-1], tz)
        assert by_key(rows) == await truth(
            tracker, cid("keitaro", 1), "creative_id", days[0], days[-1], tz
        )
    assert api.report_names == (
        (names, "measures") if names == "dimensions" else (names, "metrics")
    )
    wasted = 1 if names == "dimensions" else 0  # the first try with grouping, once
    assert tracker.calls["POST /admin_api/v1/report/build"] == 2 + wasted


# --- errors ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
async def test_bad_key(
    start: Start,
    session: aiohttp.ClientSession,
    kind: TrackerKind,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A wrong key is bad_key, asked once, and the key typed never shows in errors or logs."""
    caplog.set_level(logging.DEBUG)
    tracker = await start(kind)
    wrong = "wrong-SECRET-key"
    api = make_client(kind, tracker.url, wrong, session=session, retry=FAST)
    with pytest.raises(TrackerError) as err:
        await api.list_campaigns()
    assert (err.value.reason, err.value.retryable) == ("bad_key", False)
    assert sum(tracker.calls.values()) == 1
    ours = [str(r.__dict__) for r in caplog.records if r.name.startswith("core.")]
    assert not any("SECRET" in t for t in [str(err.value), *ours])


@pytest.mark.parametrize("kind", KINDS)
async def test_wrong_url(start: Start, session: aiohttp.ClientSession, kind: TrackerKind) -> None:
    """Nothing listening at the address: bad_url."""
    tracker = await start(kind)
    url, key = tracker.url, tracker.api_key
    await tracker.stop()
    with pytest.raises(TrackerError) as err:
        await make_client(kind, url, key, session=session, retry=FAST).list_campaigns()
    assert err.value.reason == "bad_url"


@pytest.mark.parametrize(
    ("mine", "theirs"),
    [("keitaro", "binom2"), ("keitaro", "binom1"), ("binom2", "keitaro"), ("binom1", "keitaro")],
)
async def test_wrong_kind(
    start: Start, session: aiohttp.ClientSession, mine: TrackerKind, theirs: str
) -> None:
    """A client pointed at another kind of tracker says wrong_kind, not a key problem."""
    tracker = await start(theirs)
    api = make_client(mine, tracker.base_url, tracker.api_key, session=session, retry=FAST)
    with pytest.raises(TrackerError) as err:
        await api.list_campaigns()
    assert err.value.reason == "wrong_kind"


async def test_keitaro_edition_without_the_api(
    start: Start, session: aiohttp.ClientSession
) -> None:
    """Keitaro's 402 (no Admin API in this edition) is its own reason."""
    tracker = await start("keitaro", keitaro_edition="starter")
    with pytest.raises(TrackerError) as err:
        await client(tracker, session).list_campaigns()
    assert err.value.reason == "edition" and "edition" in err.value.detail


@pytest.mark.parametrize("kind", KINDS)
async def test_html_answer_is_not_json(
    start: Start, session: aiohttp.ClientSession, kind: TrackerKind
) -> None:
    """A login page where JSON belongs: not_json, not retried."""
    tracker = await start(kind, html=True)
    with pytest.raises(TrackerError) as err:
        await client(tracker, session).list_campaigns()
    assert err.value.reason == "not_json" and "HTML" in err.value.detail
    assert tracker.calls["html"] == 1


@pytest.mark.parametrize("kind", KINDS)
async def test_slow_tracker_times_out(
    start: Start, session: aiohttp.ClientSession, kind: TrackerKind
) -> None:
    """Slower than the client's timeout: reason timeout, retryable for the next schedule."""
    tracker = await start(kind, slow_s=2.0)
    api = client(
        tracker,
        session,
        timeout=0.3,
        retry=RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.01),
    )
    with pytest.raises(TrackerError) as err:
        await api.list_campaigns()
    assert (err.value.reason, err.value.retryable) == ("timeout", True)


@pytest.mark.parametrize("kind", KINDS)
async def test_outage_is_retried_then_succeeds(
    start: Start, session: aiohttp.ClientSession, kind: TrackerKind
) -> None:
    """A 503 is retried after a back-off; when the tracker is back the call succeeds."""
    tracker = await start(kind, down=True)
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        tracker.knobs["down"] = False  # the tracker comes back during the back-off

    campaigns = await client(tracker, session, sleep=sleep).list_campaigns()
    assert len(campaigns) == 6
    assert tracker.calls["down"] == 1 and len(waits) == 1


@pytest.mark.parametrize("kind", KINDS)
async def test_outage_past_the_attempts_is_retryable(
    start: Start, session: aiohttp.ClientSession, kind: TrackerKind
) -> None:
    """Down through every attempt: unavailable, retryable, for listing and a push alike."""
    tracker = await start(kind, down=True)
    api = client(tracker, session)
    with pytest.raises(TrackerError) as err:
        await api.list_campaigns()
    assert (err.value.reason, err.value.retryable) == ("unavailable", True)
    assert tracker.calls["down"] == FAST.max_attempts
    tz = ZONES[kind]
    day = push_days(tracker, tz, 1)[0]
    items = [
        CostItem(cid(kind, 3), day, tz, Decimal(1), "USD"),
        CostItem(cid(kind, 4), day, tz, Decimal(2), "USD"),
    ]
    with pytest.raises(TrackerError) as err:
        await api.push_costs(items)  # nothing reached the tracker: the status says failing
    assert (err.value.reason, err.value.retryable) == ("unavailable", True)
    assert tracker.calls["down"] == 2 * FAST.max_attempts  # the second item was not tried


@pytest.mark.parametrize("kind", KINDS)
async def test_outage_mid_push_fails_the_rest_without_calling(
    start: Start, kind: TrackerKind
) -> None:
    """The tracker goes down after the first call: that item landed, the rest say not sent."""
    tracker = await start(kind)
    trace = aiohttp.TraceConfig()

    async def went_down(*_: Any) -> None:
        tracker.knobs["down"] = True

    trace.on_request_end.append(went_down)
    tz = ZONES[kind]
    day = push_days(tracker, tz, 1)[0]
    items = [
        CostItem(cid(kind, 3), day, tz, Decimal(1), "USD"),
        CostItem(cid(kind, 4), day, tz, Decimal(2), "USD"),
        CostItem(cid(kind, 1), day, tz, Decimal(3), "USD"),
    ]
    async with aiohttp.ClientSession(trace_configs=[trace]) as traced:
        outcomes = await client(tracker, traced).push_costs(items)
    assert [o.ok for o in outcomes] == [True, False, False]
    assert outcomes[1].answer.startswith("unavailable: HTTP 503")
    assert outcomes[2].answer.startswith("not sent: unavailable")
    assert tracker.calls["down"] == FAST.max_attempts
    assert tracker.costs(cid(kind, 3)) == {(day, None, None): Decimal(1)}


@pytest.mark.parametrize("kind", KINDS)
async def test_rate_limit_honours_retry_after(
    start: Start, session: aiohttp.ClientSession, kind: TrackerKind
) -> None:
    """Over the tracker's rate, its 429 Retry-After is waited out, then the call succeeds."""
    tracker = await start(kind, rate_limit=1, retry_after_s=1)
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(seconds)

    api = client(tracker, session, sleep=sleep)
    tz = ZONES[kind]
    day = push_days(tracker, tz, 1)[0]
    items = [CostItem(cid(kind, 3), day, tz, Decimal(n + 1), "USD") for n in range(2)]
    items[1] = CostItem(cid(kind, 4), day, tz, Decimal(2), "USD")
    outcomes = await api.push_costs(items)
    assert all(o.ok for o in outcomes), [o.answer for o in outcomes]
    if kind == "keitaro":  # one bulk call per campaign: two calls in the same second
        assert tracker.calls["POST /admin_api/v1/clicks/update_costs"] == 2
    assert tracker.calls["rate_limited"] >= 1
    assert waits and min(waits) >= 1


async def test_binom1_pull_across_a_dst_change_reads_each_offset(
    start: Start, session: aiohttp.ClientSession
) -> None:
    """Days before and after a DST change are read with their own UTC offset (one call each)."""
    tracker = await start("binom1")
    camp_id = cid("binom1", 1)
    rows = await client(tracker, session).pull(
        [camp_id], "t3", date(2026, 10, 24), date(2026, 10, 26), "Europe/Berlin"
    )
    summer = await truth(
        tracker, camp_id, "t3", date(2026, 10, 24), date(2026, 10, 25), "Europe/Berlin", offset="2"
    )
    winter = await truth(
        tracker, camp_id, "t3", date(2026, 10, 26), date(2026, 10, 26), "Europe/Berlin", offset="1"
    )
    assert rows and by_key(rows) == {**summer, **winter}
    assert tracker.calls["page=Stats"] == 2


@pytest.mark.parametrize("kind", KINDS)
async def test_reading_goes_through_every_page(
    start: Start, session: aiohttp.ClientSession, kind: TrackerKind, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With tiny pages, listing and pulling still return everything, page after page."""
    for name in (
        "keitaro.CAMPAIGNS_PAGE",
        "keitaro.REPORT_PAGE",
        "binom2.CAMPAIGNS_PAGE",
        "binom2.REPORT_PAGE",
    ):
        monkeypatch.setattr(f"core.trackers.{name}", 4)
    tracker = await start(kind)
    api = client(tracker, session)
    assert len(await api.list_campaigns()) == 6
    field = "creative_id" if kind == "keitaro" else "t3"
    tz = ZONES[kind]
    days = push_days(tracker, tz, 2)
    rows = await api.pull([cid(kind, 1)], field, days[0], days[-1], tz)
    assert by_key(rows) == await truth(tracker, cid(kind, 1), field, days[0], days[-1], tz)
    pages = {
        "keitaro": "POST /admin_api/v1/report/build",
        "binom2": "GET /public/api/v1/report/campaign",
    }
    if kind in pages:
        assert tracker.calls[pages[kind]] >= -(-len(rows) // 4) > 1  # really paged


async def test_binom2_text_errors_fail_only_their_items(
    start: Start, session: aiohttp.ClientSession
) -> None:
    """A plain-text 404 for one campaign fails that item; the push goes on (spec §3.4)."""
    tracker = await start("binom2", binom2_error_shape="text")
    tz = ZONES["binom2"]
    day = push_days(tracker, tz, 1)[0]
    items = [
        CostItem("999", day, tz, Decimal(5), "USD"),
        CostItem(cid("binom2", 3), day, tz, Decimal(7), "USD"),
    ]
    outcomes = await client(tracker, session).push_costs(items)
    assert [o.ok for o in outcomes] == [False, True]
    assert outcomes[0].answer == "not_found: Campaign not found"


@pytest.mark.parametrize("status", [401, 403, 500])
async def test_binom1_key_error_under_any_http_status(
    start: Start, session: aiohttp.ClientSession, status: int
) -> None:
    """Binom 1's key error is bad_key whatever HTTP status carries it (spec §2.4)."""
    tracker = await start("binom1", binom1_error_status=status)
    api = make_client(
        "binom1",
        tracker.url,
        "wrong-key",
        session=session,
        retry=FAST,
        sleep=lambda _: asyncio.sleep(0),
    )
    with pytest.raises(TrackerError) as err:
        await api.list_campaigns()
    assert err.value.reason == "bad_key"
