"""The tracker emulators (Keitaro, Binom 1, Binom 2) over raw HTTP, fed by TikTok's clicks."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from sandbox.demo import demo_trackers_env, start_demo_trackers
from sandbox.tiktok.server import RunningEmulator, start_emulator
from sandbox.trackers.server import RunningTracker, start_tracker

NOW = "2026-11-29T12:00:00Z"
DAY = "2026-11-28"  # a finished day in every demo zone
LA = "America/Los_Angeles"  # Glowly US, the Keitaro demo account
KEI = "/admin_api/v1"
B2 = "/public/api/v1"


@pytest.fixture
async def tiktok() -> AsyncIterator[RunningEmulator]:
    """A frozen TikTok demo world."""
    emu = await start_emulator(fixture="demo", now=NOW)
    yield emu
    await emu.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain client session."""
    async with aiohttp.ClientSession() as s:
        yield s


async def call(http: aiohttp.ClientSession, method: str, url: str,
               **kw: Any) -> tuple[int, Any, aiohttp.ClientResponse]:
    """Send a request; the status, the JSON (or text) body, the response."""
    async with http.request(method, url, **kw) as r:
        text = await r.text()
        try:
            body: Any = json.loads(text)
        except ValueError:
            body = text
        return r.status, body, r


async def kei(http: aiohttp.ClientSession, tr: RunningTracker, method: str, path: str,
              body: Any = None) -> tuple[int, Any]:
    """A Keitaro call with the key."""
    st, b, _ = await call(http, method, tr.url + KEI + path, json=body,
                          headers={"Api-Key": tr.api_key})
    return st, b


async def kei_report(http: aiohttp.ClientSession, tr: RunningTracker, grouping: list[str],
                     metrics: list[str], tz: str = LA, day: str = DAY, **extra: Any
                     ) -> list[dict[str, Any]]:
    """report/build rows for one day."""
    body = {"range": {"from": day, "to": day, "timezone": tz}, "grouping": grouping,
            "metrics": metrics, **extra}
    st, b = await kei(http, tr, "POST", "/report/build", body)
    assert st == 200, b
    return b["rows"]


def tiktok_clicks(emu: RunningEmulator, campaign_ids: list[str], day: date) -> int:
    """TikTok's clicks of these campaigns on a day of their account."""
    engine, w = emu.emulator.engine, emu.state
    now = emu.clock.timestamp()
    return sum(f[2] for c in campaign_ids
               for f in engine.campaign_day(w.campaigns[c], day, now).values())


# ---------------------------------------------------------------------------- Keitaro


async def test_keitaro_auth_edition_and_error_shapes(
        tiktok: RunningEmulator, http: aiohttp.ClientSession) -> None:
    """401/402/404/406/400 answer with Keitaro's bodies."""
    tr = await start_tracker("keitaro", tiktok=tiktok)
    try:
        st, b, _ = await call(http, "GET", tr.url + KEI + "/campaigns")
        assert st == 401 and "error" in b
        st, b, _ = await call(http, "GET", tr.url + KEI + "/campaigns", headers={"Api-Key": "x"})
        assert st == 401 and "error" in b
        assert (await kei(http, tr, "GET", "/campaigns/999"))[0] == 404
        st, b = await kei(http, tr, "POST", "/campaigns/101/update_costs", {"cost": "1"})
        assert st == 406 and b["start_date"] and b["timezone"] and b["currency"]
        st, b = await kei(http, tr, "POST", "/report/build",
                          {"range": {"interval": "today"}, "grouping": ["day"],
                           "metrics": ["nonsense"]})
        assert st == 400 and "nonsense" in b["error"]
        tr.knobs["keitaro_edition"] = "basic"
        st, b = await kei(http, tr, "GET", "/campaigns")
        assert st == 402 and "edition" in b["error"]
    finally:
        await tr.stop()


async def test_keitaro_campaigns_parameters_and_related_lists(
        tiktok: RunningEmulator, http: aiohttp.ClientSession) -> None:
    """Campaign list, deleted list, one campaign, streams and traffic sources."""
    tr = await start_tracker("keitaro", tiktok=tiktok)
    try:
        st, camps = await kei(http, tr, "GET", "/campaigns")
        assert st == 200 and [c["id"] for c in camps] == [101, 102, 103, 104, 105, 106]
        main = camps[0]
        assert main["parameters"]["ad_campaign_id"]["placeholder"] == "__CAMPAIGN_ID__"
        assert main["parameters"]["sub_id_1"]["name"] == "adgroup_id"
        assert main["parameters"]["creative_id"]["placeholder"] == "__CID__"
        assert camps[1]["parameters"]["sub_id_5"]["placeholder"] == "__CID__"
        assert camps[2]["parameters"]["creative_id"]["name"] == ""
        assert camps[5]["state"] == "disabled"
        assert [c["id"] for c in (await kei(http, tr, "GET", "/campaigns/deleted"))[1]] == [107]
        assert (await kei(http, tr, "GET", "/campaigns/102"))[1]["name"].endswith("| Scale")
        assert (await kei(http, tr, "GET", "/campaigns/101/streams"))[1][0]["campaign_id"] == 101
        assert len((await kei(http, tr, "GET", "/traffic_sources"))[1]) == 4
        ad = tiktok.state.ads[tiktok.state.adgroups[tiktok.state.campaigns[
            tr.feeds[101][0]].adgroup_ids[0]].ad_ids[0]]
        assert ad.extra["landing_page_url"].startswith(f"{tr.url}/{main['alias']}?campaign_id=")
    finally:
        await tr.stop()


async def test_keitaro_push_replaces_reads_back_and_zero_click_segment_holds_nothing(
        tiktok: RunningEmulator, http: aiohttp.ClientSession) -> None:
    """A pushed cost shows in the report and costs(); a re-push replaces; no clicks, no cost."""
    tr = await start_tracker("keitaro", tiktok=tiktok)
    try:
        rows = await kei_report(http, tr, ["creative_id"], ["clicks", "cost"],
                                filters=[{"name": "campaign_id", "operator": "EQUALS",
                                          "expression": 101}])
        ad = next(r["creative_id"] for r in rows if r["clicks"] > 0)
        push = {"start_date": f"{DAY} 00:00", "end_date": "2026-11-29 00:00", "timezone": LA,
                "cost": "152.37", "currency": "USD", "filters": {"creative_id": ad}}
        st, b = await kei(http, tr, "POST", "/campaigns/101/update_costs", push)
        assert st == 200 and b["success"] is True
        key = (date(2026, 11, 28), "creative_id", ad)
        assert tr.costs(101) == {key: Decimal("152.37")}
        rows = await kei_report(http, tr, ["day", "creative_id"], ["clicks", "cost", "cpc"])
        assert next(r for r in rows if r["creative_id"] == ad)["cost"] == 152.37
        st, _ = await kei(http, tr, "POST", "/campaigns/101/update_costs", {**push, "cost": 100})
        assert tr.costs(101) == {key: Decimal(100)}
        # Bulk, for an ad id no click carries: scheduled, but nothing lands.
        bulk = {"campaign_ids": [101], "timezone": LA, "currency": "USD",
                "costs": [{**push, "cost": "9.99", "filters": {"creative_id": "404"}}]}
        st, b = await kei(http, tr, "POST", "/clicks/update_costs", bulk)
        assert st == 200 and b == {"success": True}
        assert tr.costs(101) == {key: Decimal(100)}
        rows = await kei_report(http, tr, ["campaign_id"], ["cost"])
        assert {r["campaign_id"]: r["cost"] for r in rows}[101] == 100.0
        # EUR is converted to the tracker's USD.
        st, _ = await kei(http, tr, "POST", "/campaigns/101/update_costs",
                          {**push, "cost": "92", "currency": "EUR"})
        assert tr.costs(101) == {key: Decimal(100)}
        tr.knobs["keitaro_bulk_max_items"] = 1
        st, b = await kei(http, tr, "POST", "/clicks/update_costs",
                          {**bulk, "costs": bulk["costs"] * 2})
        assert st == 406 and "costs" in b
    finally:
        await tr.stop()


async def test_keitaro_report_fields_filters_sort_and_delayed_cost(
        tiktok: RunningEmulator, http: aiohttp.ClientSession) -> None:
    """dimensions+measures equal grouping+metrics; filters, sort, paging; cost after the job."""
    tr = await start_tracker("keitaro", tiktok=tiktok, cost_delay_s=3600)
    try:
        a = await kei_report(http, tr, ["campaign_id", "day"], ["clicks", "sales", "revenue"])
        body = {"range": {"from": DAY, "to": DAY, "timezone": LA},
                "dimensions": ["campaign_id", "day"], "measures": ["clicks", "sales", "revenue"]}
        st, b = await kei(http, tr, "POST", "/report/build", body)
        assert st == 200 and b["rows"] == a and b["total"] == len(a)
        assert {r["campaign_id"] for r in a} == {101, 102, 103, 104, 105}
        rows = await kei_report(
            http, tr, ["campaign_id"], ["clicks"],
            filters=[{"name": "campaign_id", "operator": "IN_LIST", "expression": [101, 102]},
                     {"name": "clicks", "operator": "GREATER_THAN", "expression": 0}],
            sort=[{"name": "clicks", "order": "DESC"}], limit=1)
        assert len(rows) == 1 and rows[0]["campaign_id"] in (101, 102)
        rows = await kei_report(http, tr, ["ad_campaign_id"], ["clicks"],
                                filters=[{"name": "ad_campaign_id", "operator": "IS_SET",
                                          "expression": None}])
        ids = {r["ad_campaign_id"] for r in rows}
        fed = set(tr.feeds[101]) | set(tr.feeds[102]) | set(tr.feeds[104])
        assert ids & set(tr.feeds[101]) and ids - fed == {"1790999999999001"}
        push = {"start_date": f"{DAY} 00:00", "end_date": "2026-11-29 00:00", "timezone": LA,
                "cost": "50", "currency": "USD"}
        await kei(http, tr, "POST", "/campaigns/103/update_costs", push)
        rows = await kei_report(http, tr, ["campaign_id"], ["cost"])
        assert {r["campaign_id"]: r["cost"] for r in rows}[103] == 0.0
        tr.finish_tasks()
        rows = await kei_report(http, tr, ["campaign_id"], ["cost", "roi"])
        assert {r["campaign_id"]: r["cost"] for r in rows}[103] == 50.0
        st, b = await kei(http, tr, "POST", "/conversions/log",
                          {"range": {"interval": "yesterday", "timezone": LA}, "limit": 5})
        assert st == 200 and b["total"] >= len(b["rows"]) and b["rows"][0]["status"] in (
            "lead", "sale", "rejected")
    finally:
        await tr.stop()


async def test_clicks_follow_tiktok_per_day(
        tiktok: RunningEmulator, http: aiohttp.ClientSession) -> None:
    """Tracker clicks ≤ TikTok clicks of the mapped campaigns; equal at 100 % arrival, no drop."""
    tr = await start_tracker("keitaro", tiktok=tiktok)
    try:
        want = tiktok_clicks(tiktok, tr.feeds[101], date(2026, 11, 28))
        assert want > 0

        async def clicks() -> int:
            rows = await kei_report(http, tr, ["campaign_id", "day"], ["clicks"])
            return sum(r["clicks"] for r in rows if r["campaign_id"] == 101)

        default = await clicks()
        assert 0.9 * want <= default <= want
        tr.knobs["arrival_pct"] = 100
        assert await clicks() == want
        tr.knobs["drop_clicks_pct"] = 50
        assert await clicks() < want * 0.55
    finally:
        await tr.stop()


async def test_a_click_at_2330_lands_on_its_day_in_each_zone(
        tiktok: RunningEmulator, http: aiohttp.ClientSession) -> None:
    """23:30 in New York is the same day there and the next day in UTC, in all three kinds."""
    when = datetime(2026, 11, 27, 23, 30, tzinfo=ZoneInfo("America/New_York")).timestamp()
    for kind, camp in (("keitaro", 106), ("binom1", 206), ("binom2", 306)):
        tr = await start_tracker(kind, tiktok=tiktok)
        try:
            tr.add_click(camp, when, {"t3": "77"}, payout=Decimal(30))
            if kind == "keitaro":
                for tz, day in (("America/New_York", "2026-11-27"), ("UTC", "2026-11-28")):
                    rows = await kei_report(http, tr, ["campaign_id", "day"],
                                            ["clicks", "revenue"], tz=tz, day=day)
                    assert {"campaign_id": 106, "day": day, "clicks": 1, "revenue": 30.0} in rows
            elif kind == "binom1":
                for off, day in (("-5", "2026-11-27"), ("0", "2026-11-28")):
                    q = {"page": "Stats", "camp_id": "206", "group1": "31", "date": "12",
                         "date_s": "2026-11-27", "date_e": "2026-11-28", "timezone": off,
                         "api_key": tr.api_key}
                    st, rows, _ = await call(http, "GET", tr.url, params=q)
                    assert st == 200 and [(r["name"], r["clicks"]) for r in rows] == [(day, "1")]
            else:
                for tz, day in (("America/New_York", "2026-11-27"), ("UTC", "2026-11-28")):
                    q = {"ids[]": "306", "groupings[]": ["campaign", "day"],
                         "datePreset": "custom_time", "dateFrom": "2026-11-27 00:00:00",
                         "dateTo": "2026-11-28 23:59:59", "timezone": tz}
                    _, b, _ = await call(http, "GET", tr.url + B2 + "/report/campaign",
                                          params=q, headers={"api-key": tr.api_key})
                    assert [(r["level"], r["name"], r["clicks"]) for r in b["report"]] == [
                        (1, "Paused test", 1), (2, day, 1)]
        finally:
            await tr.stop()


# ---------------------------------------------------------------------------- Binom 1


async def test_binom1_lists_stats_and_cost_push(
        tiktok: RunningEmulator, http: aiohttp.ClientSession) -> None:
    """String numbers, levels, both parameter spellings, replace-not-add, key errors."""
    tr = await start_tracker("binom1", tiktok=tiktok)
    try:
        assert tr.url.endswith("/index.php")
        st, b, _ = await call(http, "GET", tr.url, params={"page": "Campaigns", "api_key": "x"})
        assert "error" in b
        base = {"api_key": tr.api_key, "timezone": "1"}
        st, camps, _ = await call(http, "GET", tr.url, params={**base, "page": "Campaigns",
                                                               "date": "2"})
        assert [c["id"] for c in camps] == ["201", "202", "203", "204", "205", "206"]
        assert all(isinstance(camps[0][k], str) for k in ("clicks", "revenue", "cost", "roi"))
        assert "click.php?camp_id=201&key=" in camps[0]["url"] and "t1" not in camps[0]["url"]
        q = {**base, "page": "Stats", "camp_id": "201", "group1": "31", "group2": "283",
             "date": "12", "date_s": DAY, "date_e": DAY}
        st, rows, _ = await call(http, "GET", tr.url, params=q)
        assert rows[0]["level"] == "1" and rows[0]["name"] == DAY
        assert {r["level"] for r in rows[1:]} == {"2"}
        assert rows[0]["cr"].endswith("%") and rows[0]["roi"].endswith("%")
        ad = next(r["name"] for r in rows[1:] if int(r["clicks"].replace(",", "")) > 0)
        push = {**base, "page": "save_update_costs", "camp_id": "201", "date": "12",
                "date_s": DAY, "date_e": DAY, "cost": "12.5", "token_number": "3",
                "token_value": ad}
        st, b, _ = await call(http, "GET", tr.url, params=push)
        assert st == 200 and b["check_status"] == "true"
        key = (date(2026, 11, 28), "t3", ad)
        assert tr.costs(201) == {key: Decimal("12.5")}
        old = {**base, "page": "save_update_costs", "camp_id": "201", "date": "12",
               "date_s": DAY, "date_e": DAY, "type": "1", "value": "20", "token_id": "3",
               "token_val": ad}
        await call(http, "GET", tr.url, params=old)
        assert tr.costs(201) == {key: Decimal(20)}
        _, rows, _ = await call(http, "GET", tr.url, params=q)
        assert next(r for r in rows if r["name"] == ad)["cost"] == "20.00"
        await call(http, "GET", tr.url, params={**push, "token_value": "nobody"})
        assert tr.costs(201) == {key: Decimal(20)}
        tr.knobs["binom1_version"] = "1.8"
        _, camps, _ = await call(http, "GET", tr.url, params={**base, "page": "Campaigns"})
        assert {"rev", "spend", "ts", "link"} <= set(camps[0])
        _, arm, _ = await call(http, "GET", tr.base_url + "/arm.php",
                                params={"api_key": tr.api_key, "action": "campaign@get_all"})
        assert arm[1]["traffic_source"]["tokens"][-1] == {
            "number": "6", "name": "ad_id", "placeholder": "__CID__"}
    finally:
        await tr.stop()


# ---------------------------------------------------------------------------- Binom 2


async def test_binom2_auth_lists_report_levels_and_background_cost(
        tiktok: RunningEmulator, http: aiohttp.ClientSession) -> None:
    """401/403, paging, {"report": [...]} levels, a task that lands the cost when it finishes."""
    tr = await start_tracker("binom2", tiktok=tiktok, cost_delay_s=3600)
    try:
        url = tr.url + B2
        assert (await call(http, "GET", url + "/campaign/list/filtered"))[0] == 401
        st, _, _ = await call(http, "GET", url + "/campaign/list/filtered",
                              headers={"api-key": "wrong"})
        assert st == 403
        h = {"API-KEY": tr.api_key}
        st, page, _ = await call(http, "GET", url + "/campaign/list/filtered",
                                 params={"limit": "2", "offset": "1"}, headers=h)
        assert [c["id"] for c in page] == [302, 303]
        st, b, _ = await call(http, "GET", url + "/campaign/301/link", headers=h)
        assert "/click?camp_id=301&key=" in b["link"]
        q = {"ids[]": "301", "groupings[]": ["campaign", "token_3"], "datePreset": "custom_time",
             "dateFrom": f"{DAY} 00:00:00", "dateTo": f"{DAY} 23:59:59", "timezone": "Asia/Tokyo"}
        st, b, _ = await call(http, "GET", url + "/report/campaign", params=q, headers=h)
        rep = b["report"]
        assert rep[0]["level"] == 1 and rep[0]["entity_id"] == 301
        assert rep[0]["clicks"] == sum(r["clicks"] for r in rep[1:])
        ad = next(r["name"] for r in rep[1:] if r["clicks"])
        body = {"datePreset": "custom_time", "dateFrom": f"{DAY} 00:00:00",
                "dateTo": f"{DAY} 23:59:59", "timezone": "Asia/Tokyo", "cost": 7.5,
                "currency": "USD", "model": "COSTS", "tokenId": 3, "tokenValue": ad}
        st, _, _ = await call(http, "PUT", url + "/clicks/campaign/301", json=body, headers=h)
        assert st == 200
        st, tasks, _ = await call(http, "GET", url + "/monitor/background_tasks", headers=h)
        assert tasks[0]["type"] == "update_cost" and tasks[0]["status"] == "in_progress"
        assert tr.costs(301) == {}
        tr.finish_tasks()
        st, tasks, _ = await call(http, "GET", url + "/monitor/background_tasks", headers=h)
        assert tasks[0]["status"] == "finished" and tasks[0]["subjectIds"] == ["301"]
        assert tr.costs(301) == {(date(2026, 11, 28), "t3", ad): Decimal("7.5")}
        st, b, _ = await call(http, "GET", url + "/report/campaign",
                              params={**q, "limit": "2", "offset": "0"}, headers=h)
        assert len(b["report"]) == 2
        st, b, _ = await call(http, "GET", url + "/report/campaign", params=q, headers=h)
        assert next(r for r in b["report"] if r["name"] == ad)["cost"] == 7.5
        st, groups, _ = await call(http, "GET", url + "/report/campaign/groupings", headers=h)
        assert {"token_3", "day", "campaign"} <= {g["value"] for g in groups}
        st, stats, _ = await call(http, "GET", url + "/stats/campaign", headers=h,
                                  params={"datePreset": "yesterday", "timezone": "UTC"})
        assert {"clicks", "leads", "revenue", "cost", "roi"} <= set(stats[0])
        st, v1, _ = await call(http, "GET", tr.base_url + "/index.php",
                               params={"page": "Campaigns", "api_key": tr.api_key})
        assert v1[0]["id"] == "301"
    finally:
        await tr.stop()


# ---------------------------------------------------------------------------- knobs


async def test_knobs_down_html_rate_limit_slow(
        tiktok: RunningEmulator, http: aiohttp.ClientSession) -> None:
    """down -> 5xx, html -> 200 text/html, rate limit -> 429 + Retry-After, slow still answers."""
    tr = await start_tracker("binom2", tiktok=tiktok)
    try:
        url, h = tr.url + B2 + "/campaign/list/filtered", {"api-key": tr.api_key}
        tr.knobs["down"] = True
        assert (await call(http, "GET", url, headers=h))[0] >= 500
        tr.knobs.update(down=False, html=True)
        st, body, r = await call(http, "GET", url, headers=h)
        assert st == 200 and r.content_type == "text/html" and "<html" in body
        tr.knobs.update(html=False, rate_limit=2, retry_after_s=3)
        got = [await call(http, "GET", url, headers=h) for _ in range(3)]
        assert [g[0] for g in got[:2]] == [200, 200]
        assert got[2][0] == 429 and got[2][2].headers["Retry-After"] == "3"
        tr.knobs.update(rate_limit=0, slow_s=0.05)
        assert (await call(http, "GET", url, headers=h))[0] == 200
        assert tr.calls["GET /public/api/v1/campaign/list/filtered"] >= 3
    finally:
        await tr.stop()


def test_demo_trackers_env_lists_what_the_bot_offers() -> None:
    """DEMO_TRACKERS is a JSON list with kind, name, url, api_key, time_zone, currency."""

    class Fake:
        """A stand-in with the fields the env needs."""

        def __init__(self, kind: str) -> None:
            """Fill the fields."""
            self.kind, self.url, self.api_key = kind, f"http://h/{kind}", "k"
            self.world = type("W", (), {"time_zone": "UTC", "currency": "USD"})()

    env = json.loads(demo_trackers_env([Fake("keitaro"), Fake("binom1")]))  # type: ignore[list-item]
    assert env[1] == {"kind": "binom1", "name": "Demo Binom 1", "url": "http://h/binom1",
                      "api_key": "k", "time_zone": "UTC", "currency": "USD"}


async def test_demo_trackers_keep_their_address_and_key_across_runs(
    tiktok: RunningEmulator, tmp_path: Path
) -> None:
    """A tracker connected in one demo run still answers in the next; if its port is taken
    meanwhile it comes up elsewhere with the same key."""
    first = await start_demo_trackers(tiktok, tmp_path)
    for tr in first:
        await tr.stop()
    again = await start_demo_trackers(tiktok, tmp_path)
    assert [(t.url, t.api_key) for t in again] == [(t.url, t.api_key) for t in first]
    keitaro = again[0]
    for tr in again[1:]:
        await tr.stop()
    try:  # the Keitaro port still in use: a new port, the same key
        moved = await start_demo_trackers(tiktok, tmp_path)
        assert moved[0].url != keitaro.url and moved[0].api_key == keitaro.api_key
        assert [(t.url, t.api_key) for t in moved[1:]] == [(t.url, t.api_key) for t in first[1:]]
        for tr in moved:
            await tr.stop()
    finally:
        await keitaro.stop()
