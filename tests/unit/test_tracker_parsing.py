"""Unit tests: tracker clients against a scripted local server replaying the spec's JSON shapes.

The replies are the shapes recorded in shared/spec/trackers-binom-keitaro.md (§1-§3), not our
emulator; the emulator is exercised by tests/contract/test_tracker_clients.py.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from core.trackers.base import CostItem, RevenueRow, TrackerError
from core.trackers.binom1 import Binom1Client, day_offset, group_code, offset_runs
from core.trackers.binom2 import Binom2Client
from core.trackers.factory import client_factory, make_client, normalize_url
from core.trackers.http import (
    RetryPolicy,
    TrackerHttp,
    dumps,
    loads,
    retry_after_seconds,
    to_decimal,
)
from core.trackers.keitaro import KeitaroClient, id_fields_from_parameters

KEY = "k3y/SECRET+42"  # has characters that URL-encoding changes, to test redaction of both
FAST = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02)

Reply = Any  # a JSON value (200) or a callable(request) -> web.StreamResponse


@dataclass
class Fake:
    """A scripted tracker: per route key a queue of replies; every call recorded."""

    scripts: dict[str, list[Reply]] = field(default_factory=dict)
    calls: list[tuple[str, str, list[tuple[str, str]], dict[str, str], Any]] = field(
        default_factory=list
    )

    def on(self, key: str, *replies: Reply) -> None:
        """Queue replies for `key` ("METHOD /path", "?page=X" or "?action=X" appended)."""
        self.scripts.setdefault(key, []).extend(replies)

    def keyed(self, key: str) -> list[tuple[str, str, list[tuple[str, str]], dict[str, str], Any]]:
        """Calls made to `key`."""
        return [c for c in self.calls if c[0] == key]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Answer from the script (the last reply repeats), recording the call."""
        key = f"{request.method} {request.path}"
        for name in ("page", "action"):
            if name in request.query:
                key += f"?{name}={request.query[name]}"
        raw = await request.read()
        body = json.loads(raw) if raw else None
        self.calls.append(
            (key, request.path, list(request.query.items()), dict(request.headers), body)
        )
        queue = self.scripts.get(key)
        if not queue:
            return web.json_response({"error": f"no script for {key}"}, status=404)
        reply = queue.pop(0) if len(queue) > 1 else queue[0]
        if callable(reply):
            result = reply(request)
            return await result if asyncio.iscoroutine(result) else result
        return web.json_response(reply)


@pytest.fixture
async def fake() -> AsyncIterator[tuple[Fake, str]]:
    """A running scripted server and its origin URL."""
    script = Fake()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", script.handle)
    server = TestServer(app)
    await server.start_server()
    try:
        yield script, str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A client session the test owns."""
    async with aiohttp.ClientSession() as s:
        yield s


def status(
    code: int,
    payload: Any = None,
    *,
    text: str | None = None,
    headers: dict[str, str] | None = None,
) -> Callable[[web.Request], web.Response]:
    """A scripted reply with a status code and a JSON (or text/HTML) body."""

    def reply(_: web.Request) -> web.Response:
        if text is not None:
            return web.Response(status=code, text=text, content_type="text/html", headers=headers)
        return web.json_response(payload, status=code, headers=headers)

    return reply


class Sleeps:
    """Records the back-off delays a client asks for, then sleeps a token moment."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)


# Spec §1.1: a Keitaro campaign object (the official schema's fields).
KEITARO_CAMPAIGN = {
    "id": 12,
    "alias": "tt-us-1",
    "type": "position",
    "name": "TT US #1",
    "cookies_ttl": 24,
    "position": 0,
    "state": "active",
    "cost_type": "CPC",
    "cost_value": 0,
    "cost_currency": "",
    "cost_auto": False,
    "group_id": 3,
    "bind_visitors": None,
    "traffic_source_id": 5,
    "token": "...",
    "parameters": {
        "ad_campaign_id": {"name": "campaign_id", "placeholder": "__CAMPAIGN_ID__", "alias": ""},
        "creative_id": {"name": "ad_id", "placeholder": "__CID__", "alias": ""},
        "sub_id_1": {"name": "adgroup_id", "placeholder": "__AID__", "alias": ""},
        "keyword": {"name": "q", "placeholder": "{keyword}", "alias": ""},
    },
    "postbacks": [],
    "notes": "",
    "created_at": "...",
    "updated_at": "...",
}


def item(
    campaign: str = "12",
    day: date = date(2026, 7, 1),
    cost: str = "80.10",
    zone: str = "America/New_York",
    field_: str | None = "creative_id",
    value: str | None = "1790000000000099",
    currency: str = "USD",
) -> CostItem:
    """A cost item with the spec's example values."""
    return CostItem(campaign, day, zone, Decimal(cost), currency, field_, value)


# --- URLs --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "typed", "stored"),
    [
        ("keitaro", "https://trk.example.com", "https://trk.example.com"),
        ("keitaro", "https://trk.example.com/admin_api/v1/", "https://trk.example.com"),
        ("keitaro", " trk.example.com/ ", "https://trk.example.com"),
        ("keitaro", "localhost:8080", "https://localhost:8080"),
        ("binom1", "https://trk.example.com", "https://trk.example.com/index.php"),
        (
            "binom1",
            "https://trk.example.com/go.php?page=Campaigns&api_key=X",
            "https://trk.example.com/go.php",
        ),
        (
            "binom1",
            "http://trk.example.com:8080/panel/",
            "http://trk.example.com:8080/panel/index.php",
        ),
        ("binom2", "https://TRK.example.com/public/api/v1", "https://trk.example.com"),
        ("binom2", "https://trk.example.com/", "https://trk.example.com"),
    ],
)
def test_normalize_url_per_kind(kind: Any, typed: str, stored: str) -> None:
    """What a user types becomes one canonical address per kind."""
    assert normalize_url(kind, typed) == stored


@pytest.mark.parametrize("typed", ["ftp://trk.example.com", "", "https://", "mailto:x@y.z"])
def test_normalize_url_refuses_non_http(typed: str) -> None:
    """Anything but an http(s) address is bad_url."""
    with pytest.raises(TrackerError) as err:
        normalize_url("keitaro", typed)
    assert err.value.reason == "bad_url"


def test_make_client_appends_each_api_path() -> None:
    """Each kind's client calls its own API path under the stored address."""
    keitaro = make_client("keitaro", "https://t.example/admin_api/v1", "k")
    binom1 = make_client("binom1", "https://t.example", "k")
    binom2 = make_client("binom2", "https://t.example", "k")
    assert isinstance(keitaro, KeitaroClient)
    assert keitaro.base_url == "https://t.example/admin_api/v1"
    assert isinstance(binom1, Binom1Client)
    assert binom1.base_url == "https://t.example/index.php"
    assert binom1.arm_url == "https://t.example/arm.php"
    assert isinstance(binom2, Binom2Client)
    assert binom2.base_url == "https://t.example/public/api/v1"


# --- numbers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("2,038", Decimal(2038)),
        ("4.51%", Decimal("4.51")),
        ("-", Decimal(0)),
        (None, Decimal(0)),
        ("9.10000", Decimal("9.10000")),
        (7, Decimal(7)),
        ("1,234.50", Decimal("1234.50")),
    ],
)
def test_to_decimal_strips_binom_decorations(raw: Any, want: Decimal) -> None:
    """Binom's text numbers (spec §2.1) read as exact Decimals."""
    assert to_decimal(raw) == want


def test_json_money_never_passes_a_float() -> None:
    """Decoding keeps 310.5 as Decimal; encoding writes Decimal digits as a JSON number."""
    decoded = loads(b'{"revenue": 310.5, "clicks": 1200}')
    assert decoded == {"revenue": Decimal("310.5"), "clicks": 1200}
    assert isinstance(decoded["revenue"], Decimal)
    exact = "0.1000000000000000055511151231257827"
    assert dumps({"cost": Decimal(exact), "n": [Decimal("1E+2")]}) == (
        b'{"cost": ' + exact.encode() + b', "n": [100]}'
    )


def test_retry_after_reads_seconds_and_dates() -> None:
    """Retry-After as delta-seconds or an HTTP date; junk is ignored."""
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # already past
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


# --- Keitaro -----------------------------------------------------------------------------


def test_keitaro_id_fields_come_from_parameter_placeholders() -> None:
    """The spec's parameters map each TikTok macro to its Keitaro field (§1.1, §4)."""
    assert id_fields_from_parameters(KEITARO_CAMPAIGN["parameters"]) == {
        "campaign": "ad_campaign_id",
        "ad": "creative_id",
        "adgroup": "sub_id_1",
    }
    renumbered = {"sub_id_7": {"name": "ad_id", "placeholder": "__CID__"}}
    assert id_fields_from_parameters(renumbered) == {"ad": "sub_id_7"}


async def test_keitaro_lists_campaigns_without_deleted(
    fake: tuple[Fake, str], session: aiohttp.ClientSession
) -> None:
    """Deleted campaigns are left out; id fields and the alias link are filled."""
    script, url = fake
    paused = {
        **KEITARO_CAMPAIGN,
        "id": 13,
        "alias": "p",
        "name": "Paused",
        "state": "disabled",
        "parameters": {},
    }
    gone = {**KEITARO_CAMPAIGN, "id": 14, "name": "Gone", "state": "deleted"}
    script.on("GET /admin_api/v1/campaigns", [KEITARO_CAMPAIGN, paused, gone])
    client = make_client("keitaro", url, KEY, session=session)
    campaigns = await client.list_campaigns()
    assert [(c.id, c.name, c.active) for c in campaigns] == [
        ("12", "TT US #1", True),
        ("13", "Paused", False),
    ]
    assert campaigns[0].id_fields == {
        "campaign": "ad_campaign_id",
        "ad": "creative_id",
        "adgroup": "sub_id_1",
    }
    assert campaigns[0].link == f"{url}/tt-us-1"
    assert campaigns[1].id_fields == {}
    assert script.calls[0][3]["Api-Key"] == KEY


async def test_keitaro_push_is_one_bulk_call_per_campaign(
    fake: tuple[Fake, str], session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Items go in bulk per campaign, chunked, with the spec's body shape (§1.2b)."""
    script, url = fake
    monkeypatch.setattr("core.trackers.keitaro.MAX_COSTS_PER_REQUEST", 2)
    script.on("POST /admin_api/v1/clicks/update_costs", {"success": True})
    items = [
        item(value="1"),
        item(campaign="13", value="9"),
        item(value="2"),
        item(value="3", cost="72.27"),
    ]
    outcomes = await make_client("keitaro", url, KEY, session=session).push_costs(items)
    assert [o.item for o in outcomes] == items and all(o.ok for o in outcomes)
    bodies = [c[4] for c in script.calls]
    assert [(b["campaign_ids"], len(b["costs"])) for b in bodies] == [
        ([12], 2),
        ([12], 1),
        ([13], 1),
    ]
    first = bodies[0]
    assert first["timezone"] == "America/New_York" and first["currency"] == "USD"
    assert first["only_campaign_uniques"] == 0
    assert first["costs"][0] == {
        "start_date": "2026-07-01 00:00",
        "end_date": "2026-07-02 00:00",
        "cost": "80.10",
        "timezone": "America/New_York",
        "currency": "USD",
        "filters": {"creative_id": "1"},
    }
    assert bodies[1]["costs"][0]["cost"] == "72.27"


async def test_keitaro_push_failure_fails_its_items_with_the_words(
    fake: tuple[Fake, str], session: aiohttp.ClientSession
) -> None:
    """A refused call fails its own items with the tracker's message, trimmed; others pass."""
    script, url = fake
    script.on(
        "POST /admin_api/v1/clicks/update_costs",
        status(406, {"costs": ["x" * 400]}),
        {"success": True},
    )
    items = [item(), item(campaign="13")]
    outcomes = await make_client("keitaro", url, KEY, session=session).push_costs(items)
    assert [o.ok for o in outcomes] == [False, True]
    assert outcomes[0].answer.startswith("refused: ") and "xxxx" in outcomes[0].answer
    assert len(outcomes[0].answer) <= 300


async def test_keitaro_pull_maps_sales_and_leads(
    fake: tuple[Fake, str], session: aiohttp.ClientSession
) -> None:
    """conversions=sales, pending=leads, revenue=sale_revenue; Decimal from the JSON text."""
    script, url = fake
    script.on(
        "POST /admin_api/v1/report/build",
        {
            "rows": [
                {
                    "campaign_id": 12,
                    "day": "2026-07-01",
                    "creative_id": "1790000000000099",
                    "clicks": 1200,
                    "conversions": 9,
                    "leads": 4,
                    "sales": 5,
                    "rejected": 1,
                    "revenue": 310.5,
                    "sale_revenue": 250.25,
                    "lead_revenue": "60.25",
                }
            ],
            "total": 1,
            "meta": [],
        },
    )
    rows = await make_client("keitaro", url, KEY, session=session).pull(
        ["12"], "creative_id", date(2026, 7, 1), date(2026, 7, 7), "America/New_York"
    )
    assert rows == [
        RevenueRow(
            "12",
            date(2026, 7, 1),
            "1790000000000099",
            1200,
            5,
            4,
            1,
            Decimal("250.25"),
            Decimal("60.25"),
        )
    ]
    body = script.calls[0][4]
    assert body["range"] == {
        "from": "2026-07-01",
        "to": "2026-07-07",
        "timezone": "America/New_York",
    }
    assert body["grouping"] == ["campaign_id", "day", "creative_id"]
    assert set(body["metrics"]) >= {"clicks", "sales", "leads", "sale_revenue", "lead_revenue"}
    assert body["filters"] == [{"name": "campaign_id", "operator": "IN_LIST", "expression": [12]}]


async def test_keitaro_pull_falls_back_to_dimensions_and_remembers(
    fake: tuple[Fake, str], session: aiohttp.ClientSession
) -> None:
    """A 400 naming `grouping` makes the client send dimensions/measures, and keep doing so."""
    script, url = fake

    def build(request: web.Request) -> Any:
        async def answer() -> web.Response:
            body = await request.json()
            if "grouping" in body:
                return web.json_response({"error": "Unknown field grouping"}, status=400)
            offset = body["offset"]
            rows = [
                {
                    "campaign_id": 12,
                    "day": f"2026-07-0{offset + 1}",
                    "clicks": 3,
                    "sales": 1,
                    "leads": 0,
                    "rejected": 0,
                    "sale_revenue": "1.5",
                    "lead_revenue": 0,
                }
            ]
            return web.json_response({"rows": rows, "total": 2})

        return answer()

    script.on("POST /admin_api/v1/report/build", build)
    client = make_client("keitaro", url, KEY, session=session)
    rows = await client.pull(["12"], None, date(2026, 7, 1), date(2026, 7, 2), "UTC")
    assert [(r.day, r.id_value, r.revenue) for r in rows] == [
        (date(2026, 7, 1), None, Decimal("1.5")),
        (date(2026, 7, 2), None, Decimal("1.5")),
    ]
    sent = [c[4] for c in script.calls]
    assert ["grouping" in b for b in sent] == [True, False, False]  # tried once, then paged
    await client.pull(["12"], None, date(2026, 7, 1), date(2026, 7, 1), "UTC")
    assert all("dimensions" in c[4] for c in script.calls[3:])


# --- error reasons -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (status(401, {"error": "Access denied"}), "bad_key"),
        (status(403, {"error": "Forbidden"}), "bad_key"),
        (status(402, {"error": "Admin API is not available in that edition"}), "edition"),
        (status(404, text="<html><title>404 Not Found</title></html>"), "wrong_kind"),
        (status(200, {"rows": []}), "wrong_kind"),  # JSON, but not a campaign list
        (status(200, text="<!DOCTYPE html><html><title>Login</title></html>"), "not_json"),
        (status(200, text="garbage{"), "not_json"),
    ],
)
async def test_keitaro_error_reasons(
    fake: tuple[Fake, str], session: aiohttp.ClientSession, reply: Reply, reason: str
) -> None:
    """Each way of failing gets its own reason."""
    script, url = fake
    script.on("GET /admin_api/v1/campaigns", reply)
    with pytest.raises(TrackerError) as err:
        await make_client("keitaro", url, KEY, session=session, retry=FAST).list_campaigns()
    assert err.value.reason == reason
    assert len(script.calls) == 1  # none of these is retried


async def test_5xx_is_retried_then_succeeds(
    fake: tuple[Fake, str], session: aiohttp.ClientSession
) -> None:
    """A 502 HTML gateway page and a 500 are retried with back-off; the third answer wins."""
    script, url = fake
    sleeps = Sleeps()
    script.on(
        "GET /admin_api/v1/campaigns",
        status(502, text="<html>Bad gateway</html>"),
        status(500, {"error": "boom"}),
        [KEITARO_CAMPAIGN],
    )
    client = make_client("keitaro", url, KEY, session=session, retry=FAST, sleep=sleeps)
    assert [c.id for c in await client.list_campaigns()] == ["12"]
    assert len(sleeps.delays) == 2 and len(script.calls) == 3


async def test_429_waits_for_retry_after(
    fake: tuple[Fake, str], session: aiohttp.ClientSession
) -> None:
    """The back-off never waits less than the tracker's Retry-After."""
    script, url = fake
    sleeps = Sleeps()
    script.on(
        "GET /admin_api/v1/campaigns",
        status(429, {"error": "slow down"}, headers={"Retry-After": "2"}),
        [],
    )
    client = make_client("keitaro", url, KEY, session=session, retry=FAST, sleep=sleeps)
    assert await client.list_campaigns() == []
    assert sleeps.delays and sleeps.delays[0] >= 2


async def test_unavailable_after_the_last_attempt_is_retryable(
    fake: tuple[Fake, str], session: aiohttp.ClientSession
) -> None:
    """Past the attempts, the error says retryable so the schedule comes back later."""
    script, url = fake
    script.on("GET /public/api/v1/campaign/list/filtered", status(503, {"error": "down"}))
    client = make_client("binom2", url, KEY, session=session, retry=FAST, sleep=Sleeps())
    with pytest.raises(TrackerError) as err:
        await client.list_campaigns()
    assert (err.value.reason, err.value.retryable, len(script.calls)) == ("unavailable", True, 3)


async def test_timeout_reason(fake: tuple[Fake, str], session: aiohttp.ClientSession) -> None:
    """A tracker slower than the client's timeout gives reason timeout, retryable."""
    script, url = fake

    async def slow(_: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.json_response([])

    script.on("GET /admin_api/v1/campaigns", slow)
    client = make_client(
        "keitaro", url, KEY, session=session, timeout=0.2, retry=RetryPolicy(max_attempts=1)
    )
    with pytest.raises(TrackerError) as err:
        await client.list_campaigns()
    assert (err.value.reason, err.value.retryable) == ("timeout", True)


@pytest.mark.parametrize("kind", ["keitaro", "binom1", "binom2"])
async def test_client_factory_timeout_reaches_every_kind(kind: str) -> None:
    """The service's factory (TRACKER_TIMEOUT_SECONDS) gives each kind's client that timeout:
    a tracker slower than it is a timeout saying how long was waited; the default is 20 s."""

    async def slow(_: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.json_response([])

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", slow)
    server = TestServer(app)
    await server.start_server()
    url = str(server.make_url("")).rstrip("/")
    default, client = client_factory()(kind, url, KEY), client_factory(0.2)(kind, url, KEY)
    assert isinstance(default, TrackerHttp) and isinstance(client, TrackerHttp)
    assert default.timeout == 20
    client.retry = RetryPolicy(max_attempts=1)
    try:
        with pytest.raises(TrackerError) as err:
            await asyncio.wait_for(client.list_campaigns(), 1.5)
    finally:
        await client.close()
        await server.close()
    assert (err.value.reason, err.value.detail) == ("timeout", "no answer within 0.2 s")


async def test_connection_refused_is_bad_url_and_hides_the_key(
    session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    """Nobody listening: bad_url; neither the error nor a log line carries the key."""
    caplog.set_level(logging.DEBUG)
    client = make_client("binom1", "http://127.0.0.1:9", KEY, session=session, retry=FAST)
    with pytest.raises(TrackerError) as err:
        await client.list_campaigns()
    assert err.value.reason == "bad_url"
    texts = [
        str(err.value),
        err.value.detail,
        repr(err.value.__cause__),
        repr(err.value.__context__),
        caplog.text,
    ]
    assert not any(KEY in t or "SECRET" in t for t in texts)


# --- Binom 1 -----------------------------------------------------------------------------

# Spec §2.1: the official page=Campaigns example (1.9 key names).
BINOM1_CAMPAIGN = {
    "id": "10",
    "status": "1",
    "name": "Test Camp",
    "keyword": "676zlthzbiagiyetab8v",
    "group_id": "2",
    "group_name": "Test",
    "ts_id": "2",
    "ts_name": "Test",
    "clicks": "2038",
    "leads": "92",
    "revenue": "9.10000",
    "cost": "20.38000",
    "profit": "-11.28000",
    "roi": "-55.35",
    "cr": "4.5142",
    "epc": "0.0045",
    "cpc": "0.0100",
    "current_cpc": "0.01000",
    "auto_cpc": 0,
    "url": "http://tracker.com/click.php?camp_id=10&key=...",
}


def test_binom1_day_offsets() -> None:
    """Whole-hour stable days give the offset; DST and half-hour days are refused with why."""
    assert day_offset(date(2026, 7, 1), "Europe/Moscow") == (3, "")
    assert day_offset(date(2026, 7, 1), "America/New_York") == (-4, "")
    offset, why = day_offset(date(2026, 3, 8), "America/New_York")
    assert offset is None and "changes on 2026-03-08" in why
    offset, why = day_offset(date(2026, 7, 1), "Asia/Kolkata")
    assert offset is None and "UTC+05:30" in why and "whole-hour" in why


def test_binom1_group_codes_and_offset_runs() -> None:
    """Token 1 is 27, tokens 2-10 are 282-290 (§2.3); a DST change splits a pull range."""
    assert [group_code(f) for f in ("t1", "t2", "t3", "token_10")] == [27, 282, 283, 290]
    assert offset_runs(date(2026, 3, 7), date(2026, 3, 10), "America/New_York") == [
        (date(2026, 3, 7), date(2026, 3, 8), -5),
        (date(2026, 3, 9), date(2026, 3, 10), -4),
    ]
    with pytest.raises(TrackerError) as err:
        offset_runs(date(2026, 7, 1), date(2026, 7, 1), "Asia/Kolkata")
    assert err.value.reason == "refused"


async def test_binom1_push_sends_both_spellings_and_needs_check_status(
    fake: tuple[Fake, str], session: aiohttp.ClientSession
) -> None:
    """One GET per item with 1.8 and 1.9 names; only check_status "true" is success (§2.2)."""
    script, url = fake
    script.on(
        "GET /index.php?page=save_update_costs",
        {"check_status": "true"},
        {"status": "queued"},
        {"error": "Campaign not found"},
    )
    items = [
        item(campaign="10", field_="t3", value="1790000000000099"),
        item(campaign="10", field_=None, value=None),
        item(campaign="11"),
    ]
    items[2] = CostItem("11", date(2026, 7, 1), "UTC", Decimal("5"), "USD", "t3", "7")
    outcomes = await make_client("binom1", url, KEY, session=session).push_costs(items)
    assert [o.ok for o in outcomes] == [True, False, False]
    assert outcomes[2].answer == "not_found: Campaign not found"
    query = dict(script.calls[0][2])
    assert query == {
        "page": "save_update_costs",
        "camp_id": "10",
        "date": "12",
        "date_s": "2026-07-01",
        "date_e": "2026-07-01",
        "timezone": "-4",
        "type": "1",
        "cost": "80.10",
        "value": "80.10",
        "token_number": "3",
        "token_value": "1790000000000099",
        "token_id": "3",
        "token_val": "1790000000000099",
        "api_key": KEY,
    }
    assert "token_number" not in dict(script.calls[1][2])
    assert dict(script.calls[2][2])["timezone"] == "0"


async def test_binom1_push_refuses_a_dst_day_without_calling(
    fake: tuple[Fake, str], session: aiohttp.ClientSession
) -> None:
    """A day whose offset changes is a failed outcome with the reason; no call is made."""
    script, url = fake
    script.on("GET /index.php?page=save_update_costs", {"check_status": "true"})
    items = [item(day=date(2026, 3, 8), field_="t3"), item(day=date(2026, 3, 9), field_="t3")]
    outcomes = await make_client("binom1", url, KEY, session=session).push_costs(items)
    assert [o.ok for o in outcomes] == [False, True]
    assert "changes on 2026-03-08" in outcomes[0].answer
    assert len(script.calls) == 1


async def test_binom1_bad_key_text_is_bad_key_and_redacted(
    fake: tuple[Fake, str], session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    """Binom's key error (200 with an error string) is bad_key; the echoed key is hidden."""
    caplog.set_level(logging.DEBUG)
    script, url = fake
    script.on("GET /index.php?page=Campaigns", {"error": f"Invalid API key {KEY}"})
    with pytest.raises(TrackerError) as err:
        await make_client("binom1", url, KEY, session=session).list_campaigns()
    assert err.value.reason == "bad_key"
    assert "SECRET" not in str(err.value) and "***" in err.value.detail
    ours = [str(r.__dict__) for r in caplog.records if r.name.startswith("core.")]
    assert ours and not any("SECRET" in t for t in ours)


async def test_binom1_lists_with_the_convention_when_arm_is_missing(
    fake: tuple[Fake, str], session: aiohttp.ClientSession
) -> None:
    """No arm.php (older 1.x): id fields follow the t1/t2/t3 convention; link from url/link."""
    script, url = fake
    old = {**BINOM1_CAMPAIGN, "id": "11", "name": "Old", "status": "0", "link": "http://l/11"}
    del old["url"]
    script.on("GET /index.php?page=Campaigns", [BINOM1_CAMPAIGN, old])
    campaigns = await make_client("binom1", url, KEY, session=session).list_campaigns()
    assert [(c.id, c.active, c.link) for c in campaigns] == [
        ("10", True, BINOM1_CAMPAIGN["url"]),
        ("11", False, "http://l/11"),
    ]
    assert campaigns[0].id_fields == {"campaign": "t1", "adgroup": "t2", "ad": "t3"}


async def test_binom1_lists_id_fields_from_arm_tokens(
    fake: tuple[Fake, str], session: aiohttp.ClientSession
) -> None:
    """With arm.php campaign@get_all, the campaign's own token placeholders decide."""
    script, url = fake
    script.on("GET /index.php?page=Campaigns", [BINOM1_CAMPAIGN])
    script.on(
        "GET /arm.php?action=campaign@get_all",
        [
            {
                "id": 10,
                "ts": {
                    "tokens": [
                        {"name": "cid", "placeholder": "__CAMPAIGN_ID__"},
                        {"name": "placement", "placeholder": "__PLACEMENT__"},
                        {"name": "ad", "placeholder": "__CID__"},
                    ]
                },
            }
        ],
    )
    campaigns = await make_client("binom1", url, KEY, session=session).list_campaigns()
    assert campaigns[0].id_fields == {"campaign": "t1", "ad": "t3"}


async def test_binom1_pull_walks_levels_and_both_spellings(
    fake: tuple[Fake, str], session: aiohttp.ClientSession
) -> None:
    """Days at level 1, token values at level 2; "2,038" and 1.8's `rev` read right."""
    script, url = fake
    script.on(
        "GET /index.php?page=Stats",
        [
            {"level": "1", "name": "2026-07-01", "clicks": "2,038", "leads": "3", "revenue": "9.1"},
            {
                "level": "2",
                "name": "1790000000000099",
                "clicks": "2,000",
                "leads": "2",
                "revenue": "7.50000",
                "roi": "4.51%",
            },
            {"level": "2", "name": "1790000000000100", "clicks": "38", "leads": "1", "rev": "1.6"},
            {"level": "1", "name": "2026-07-02", "clicks": "5", "leads": "0", "revenue": "0"},
            {"level": "2", "name": "1790000000000099", "clicks": "5", "leads": "0", "revenue": "0"},
        ],
    )
    rows = await make_client("binom1", url, KEY, session=session).pull(
        ["10"], "t3", date(2026, 7, 1), date(2026, 7, 2), "Europe/Moscow"
    )
    assert [(r.day.day, r.id_value, r.clicks, r.conversions, r.revenue) for r in rows] == [
        (1, "1790000000000099", 2000, 2, Decimal("7.50000")),
        (1, "1790000000000100", 38, 1, Decimal("1.6")),
        (2, "1790000000000099", 5, 0, Decimal(0)),
    ]
    query = dict(script.calls[0][2])
    assert (query["group1"], query["group2"], query["date"], query["timezone"]) == (
        "31",
        "283",
        "12",
        "3",
    )
    assert (query["date_s"], query["date_e"]) == ("2026-07-01", "2026-07-02")


# --- Binom 2 -----------------------------------------------------------------------------


async def test_binom2_lists_with_traffic_source_tokens(
    fake: tuple[Fake, str], session: aiohttp.ClientSession
) -> None:
    """Pages until short; deleted left out; tokens read once per traffic source."""
    script, url = fake
    script.on(
        "GET /public/api/v1/campaign/list/filtered",
        {
            "data": [
                {"id": 264, "name": "TT 1", "status": "active", "link": "https://t/click?id=264"},
                {"id": 265, "name": "TT 2", "status": "paused"},
                {"id": 266, "name": "Old", "is_deleted": True},
            ]
        },
    )
    script.on("GET /public/api/v1/campaign/264", {"id": 264, "trafficSourceId": 7})
    script.on("GET /public/api/v1/campaign/265", {"id": 265, "trafficSourceId": 7})
    script.on("GET /public/api/v1/campaign/265/link", {"link": "https://t/click?id=265"})
    script.on(
        "GET /public/api/v1/traffic_source/7",
        {
            "id": 7,
            "tokens": [
                {"name": "campaign_id", "value": "__CAMPAIGN_ID__"},
                {"name": "adgroup_id", "value": "__AID__"},
                {"name": "ad_id", "value": "__CID__"},
            ],
        },
    )
    campaigns = await make_client("binom2", url, KEY, session=session).list_campaigns()
    assert [(c.id, c.active, c.link) for c in campaigns] == [
        ("264", True, "https://t/click?id=264"),
        ("265", False, "https://t/click?id=265"),
    ]
    assert campaigns[1].id_fields == {"campaign": "t1", "adgroup": "t2", "ad": "t3"}
    assert len(script.keyed("GET /public/api/v1/traffic_source/7")) == 1
    assert script.calls[0][3]["api-key"] == KEY


async def test_push_log_quotes_the_trackers_json_as_json(
    fake: tuple[Fake, str], session: aiohttp.ClientSession
) -> None:
    """What a tracker answered a cost item is logged in its own JSON, never Python's repr of
    the decoded value ({'taskId': 7} is not what Binom said)."""
    script, url = fake
    script.on("PUT /public/api/v1/clicks/campaign/264", {"taskId": 7, "status": "scheduled"})
    script.on("GET /index.php?page=save_update_costs", {"status": "queued", "rate": 1.5})
    script.on("POST /admin_api/v1/clicks/update_costs", {"success": False, "jobs": [1]})
    binom = [item("264", field_="t3")]
    binom2 = await make_client("binom2", url, KEY, session=session).push_costs(binom)
    binom1 = await make_client("binom1", url, KEY, session=session).push_costs(binom)
    keitaro = await make_client("keitaro", url, KEY, session=session).push_costs([item("5")])
    assert (binom2[0].ok, binom2[0].answer) == (True, '{"taskId": 7, "status": "scheduled"}')
    assert (binom1[0].ok, binom1[0].answer) == (False, '{"status": "queued", "rate": 1.5}')
    assert (keitaro[0].ok, keitaro[0].answer) == (False, '{"success": false, "jobs": [1]}')


async def test_binom2_push_body(fake: tuple[Fake, str], session: aiohttp.ClientSession) -> None:
    """PUT per item with custom_time, COSTS, token filter and currency (§3.2)."""
    script, url = fake
    script.on("PUT /public/api/v1/clicks/campaign/264", status(200, text=""))
    script.on("PUT /public/api/v1/clicks/campaign/999", status(404, {"error": "Not found"}))
    items = [
        CostItem(
            "264",
            date(2026, 7, 1),
            "America/New_York",
            Decimal("152.37"),
            "USD",
            "t3",
            "1790000000000099",
        ),
        CostItem("999", date(2026, 7, 1), "UTC", Decimal("1"), "EUR"),
    ]
    outcomes = await make_client("binom2", url, KEY, session=session).push_costs(items)
    assert [o.ok for o in outcomes] == [True, False]
    assert outcomes[1].answer == "not_found: Not found"
    assert script.calls[0][4] == {
        "datePreset": "custom_time",
        "dateFrom": "2026-07-01 00:00:00",
        "dateTo": "2026-07-01 23:59:59",
        "timezone": "America/New_York",
        "cost": 152.37,
        "currency": "USD",
        "model": "COSTS",
        "tokenId": 3,
        "tokenValue": "1790000000000099",
    }


async def test_binom2_pull_pages_and_keeps_the_day(
    fake: tuple[Fake, str], session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page break between a day row and its token rows keeps the day (§3.3 paging)."""
    script, url = fake
    monkeypatch.setattr("core.trackers.binom2.REPORT_PAGE", 2)
    script.on(
        "GET /public/api/v1/report/campaign",
        {
            "report": [
                {"level": 1, "name": "2026-07-01", "clicks": 9},
                {"level": 2, "name": "A", "clicks": 4, "leads": 1, "revenue": 2.5},
            ]
        },
        {"report": [{"level": 2, "name": "B", "clicks": 5, "leads": 0, "revenue": 0}]},
    )
    rows = await make_client("binom2", url, KEY, session=session).pull(
        ["264"], "t3", date(2026, 7, 1), date(2026, 7, 1), "UTC"
    )
    assert [(r.day, r.id_value, r.clicks, r.revenue) for r in rows] == [
        (date(2026, 7, 1), "A", 4, Decimal("2.5")),
        (date(2026, 7, 1), "B", 5, Decimal(0)),
    ]
    first = script.calls[0][2]
    assert ("groupings[]", "day") in first and ("groupings[]", "token_3") in first
    assert ("dateFrom", "2026-07-01 00:00:00") in first and ("offset", "0") in first
    assert ("offset", "2") in script.calls[1][2]


async def test_binom1_key_echoed_in_an_error_page_is_redacted(
    fake: tuple[Fake, str], session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    """A gateway page that echoes the query (key URL-encoded) never leaks it into the error."""
    caplog.set_level(logging.DEBUG)
    script, url = fake

    def echo(request: web.Request) -> web.Response:
        return web.Response(status=502, text=f"<p>upstream failed for {request.query_string}</p>")

    script.on("GET /index.php?page=Stats", echo)
    client = make_client("binom1", url, KEY, session=session, retry=FAST, sleep=Sleeps())
    with pytest.raises(TrackerError) as err:
        await client.pull(["10"], "t3", date(2026, 7, 1), date(2026, 7, 1), "UTC")
    assert err.value.reason == "unavailable" and "api_key=***" in err.value.detail
    ours = "\n".join(
        r.getMessage() + str(r.__dict__) for r in caplog.records if r.name.startswith("core.")
    )
    for text in (str(err.value), ours):
        assert "SECRET" not in text


async def test_close_releases_only_an_own_session(
    fake: tuple[Fake, str], session: aiohttp.ClientSession
) -> None:
    """A client closes the session it made itself, and leaves a given one open."""
    script, url = fake
    script.on("GET /public/api/v1/campaign/list/filtered", [])
    own = make_client("binom2", url, KEY)
    assert await own.list_campaigns() == []
    assert isinstance(own, Binom2Client)
    made = own.session
    await own.close()
    assert made.closed
    shared = make_client("binom2", url, KEY, session=session)
    assert await shared.list_campaigns() == []
    await shared.close()
    assert not session.closed


async def test_push_raises_when_nothing_reached_the_tracker(
    fake: tuple[Fake, str], session: aiohttp.ClientSession
) -> None:
    """A bad key on the first call is raised (the tracker's status), not logged per item."""
    script, url = fake
    script.on("PUT /public/api/v1/clicks/campaign/264", status(403, {"message": "Access denied"}))
    client = make_client("binom2", url, KEY, session=session)
    with pytest.raises(TrackerError) as err:
        await client.push_costs([item(campaign="264", field_="t3"), item(campaign="264")])
    assert err.value.reason == "bad_key" and len(script.calls) == 1


async def test_push_after_a_refusal_still_raises_nothing(
    fake: tuple[Fake, str], session: aiohttp.ClientSession
) -> None:
    """Once the tracker answered anything, later tracker-wide failures become outcomes."""
    script, url = fake
    script.on("PUT /public/api/v1/clicks/campaign/999", status(404, {"message": "Not found"}))
    script.on("PUT /public/api/v1/clicks/campaign/264", status(401, {"message": "Expired key"}))
    client = make_client("binom2", url, KEY, session=session)
    items = [
        item(campaign="999", field_="t3"),
        item(campaign="264", field_="t3"),
        item(campaign="264", field_="t3", value="2"),
    ]
    outcomes = await client.push_costs(items)
    assert [o.answer for o in outcomes] == [
        "not_found: Not found",
        "bad_key: HTTP 401: Expired key",
        "not sent: bad_key: HTTP 401: Expired key",
    ]
