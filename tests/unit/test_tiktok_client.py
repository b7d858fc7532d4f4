"""Unit tests: TikTokClient against a scripted local HTTP server (no emulator)."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from core.tiktok import (
    InvalidRequestError,
    NoLimiter,
    PermissionDeniedError,
    RateLimitedError,
    ReportLevel,
    RetryPolicy,
    ServerError,
    TikTokClient,
    TimeGrain,
    TokenInvalidError,
    TransportError,
)

TOKEN = "tok-SECRET-123"
SECRET = "app-secret-xyz"

Reply = dict[str, Any] | Callable[[web.Request], Any]


@dataclass
class Fake:
    """Scripted server: per path a queue of replies (dict = envelope, callable = custom)."""

    scripts: dict[str, list[Reply]] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, str], dict[str, str], bytes]] = field(default_factory=list)
    default: Callable[[str, dict[str, str]], dict[str, Any]] | None = None

    def push(self, path: str, *replies: Reply) -> None:
        self.scripts.setdefault(path, []).extend(replies)

    def count(self, path: str) -> int:
        return sum(1 for p, *_ in self.calls if p == path)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path.removeprefix("/open_api/v1.3/")
        multipart = request.content_type.startswith("multipart/")
        body = b"" if multipart else await request.read()  # the handler parses multipart
        self.calls.append((path, dict(request.query), dict(request.headers), body))
        queue = self.scripts.get(path)
        reply: Reply | None = queue.pop(0) if queue else None
        if reply is None and self.default is not None:
            reply = self.default(path, dict(request.query))
        if reply is None:
            reply = ok({})
        if callable(reply):
            result = reply(request)
            if asyncio.iscoroutine(result):
                result = await result
            return result
        return web.json_response(reply)


def ok(data: Any) -> dict[str, Any]:
    return {"code": 0, "message": "OK", "request_id": "rid-ok", "data": data}


def err(code: int, message: str = "bad") -> dict[str, Any]:
    return {"code": code, "message": message, "request_id": f"rid-{code}", "data": {}}


def page(items: list[dict[str, Any]], number: int, total_pages: int, key: str = "list") -> dict:
    return ok(
        {
            key: items,
            "page_info": {
                "page": number,
                "page_size": 1000,
                "total_number": 0,
                "total_page": total_pages,
            },
        }
    )


@pytest.fixture
async def fake() -> AsyncIterator[tuple[Fake, TikTokClient]]:
    state = Fake()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", state.handle)
    server = TestServer(app)
    await server.start_server()
    client = TikTokClient(
        base_url=str(server.make_url("/")),
        app_id="app-1",
        secret=SECRET,
        limiter=NoLimiter(),
        retry=RetryPolicy(max_attempts=4, max_total_seconds=5, base_delay=0.01, max_delay=0.05),
        request_timeout=0.3,
    )
    yield state, client
    await client.close()
    await server.close()


async def test_get_sends_header_and_json_params(fake: tuple[Fake, TikTokClient]) -> None:
    state, client = fake
    state.push(
        "campaign/get/",
        page(
            [{"campaign_id": "1", "advertiser_id": "9", "campaign_name": "c", "budget": 50}], 1, 1
        ),
    )
    camps = await client.get_campaigns(
        TOKEN,
        "9",
        fields=["campaign_id", "budget"],
        filtering={"campaign_ids": ["1"]},
        include_deleted=True,
    )
    assert camps[0].campaign_id == "1" and str(camps[0].budget) == "50"
    path, query, headers, _ = state.calls[0]
    assert path == "campaign/get/"
    assert headers["Access-Token"] == TOKEN
    assert json.loads(query["fields"]) == ["campaign_id", "budget"]
    assert json.loads(query["filtering"]) == {"campaign_ids": ["1"], "primary_status": "STATUS_ALL"}
    assert query["page"] == "1" and query["page_size"] == "1000"


async def test_every_page_is_fetched(fake: tuple[Fake, TikTokClient]) -> None:
    state, client = fake

    def by_page(path: str, query: dict[str, str]) -> dict[str, Any]:
        n = int(query["page"])
        items = [
            {"ad_id": f"{n}-{i}", "adgroup_id": "g", "campaign_id": "c", "advertiser_id": "9"}
            for i in range(3)
        ]
        return page(items, n, 4)

    state.default = by_page
    ads = await client.get_ads(TOKEN, "9")
    assert len(ads) == 12
    assert sorted(int(q["page"]) for _, q, _, _ in state.calls) == [1, 2, 3, 4]


async def test_long_id_filter_is_split(fake: tuple[Fake, TikTokClient]) -> None:
    state, client = fake
    state.default = lambda path, q: page([], 1, 1)
    await client.get_adgroups(TOKEN, "9", filtering={"adgroup_ids": [str(i) for i in range(250)]})
    sizes = sorted(len(json.loads(q["filtering"])["adgroup_ids"]) for _, q, _, _ in state.calls)
    assert sizes == [50, 100, 100]


async def test_retry_then_success(fake: tuple[Fake, TikTokClient]) -> None:
    state, client = fake

    def html(request: web.Request) -> web.Response:
        return web.Response(status=504, text="<html>504 Gateway</html>", content_type="text/html")

    state.push(
        "advertiser/info/",
        err(50002),
        html,
        err(40100),
        ok({"list": [{"advertiser_id": "9", "name": "A", "currency": "USD"}]}),
    )
    advs = await client.get_advertisers(TOKEN, ["9"])
    assert advs[0].name == "A"
    assert state.count("advertiser/info/") == 4


async def test_no_retry_on_validation(fake: tuple[Fake, TikTokClient]) -> None:
    state, client = fake
    state.push("campaign/create/", err(40002, "Invalid param: budget"))
    with pytest.raises(InvalidRequestError) as info:
        await client.create_campaign(TOKEN, "9", {"campaign_name": "x"})
    assert info.value.message == "Invalid param: budget" and info.value.code == 40002
    assert info.value.request_id == "rid-40002"
    assert state.count("campaign/create/") == 1


@pytest.mark.parametrize(
    ("code", "cls"),
    [(40105, TokenInvalidError), (40001, PermissionDeniedError)],
)
async def test_no_retry_on_auth(fake: tuple[Fake, TikTokClient], code: int, cls: type) -> None:
    state, client = fake
    state.push("advertiser/info/", err(code))
    with pytest.raises(cls):
        await client.get_advertisers(TOKEN, ["9"])
    assert state.count("advertiser/info/") == 1


async def test_retries_are_bounded(fake: tuple[Fake, TikTokClient]) -> None:
    state, client = fake
    state.push("bc/get/", *[err(40100)] * 10)
    with pytest.raises(RateLimitedError):
        await client.get_business_centers(TOKEN)
    assert state.count("bc/get/") == 4


async def test_timeout_is_transport_error(fake: tuple[Fake, TikTokClient]) -> None:
    state, client = fake

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.json_response(ok({}))

    state.push("identity/get/", *[slow] * 4)
    with pytest.raises(TransportError) as info:
        await client.get_identities(TOKEN, "9")
    assert isinstance(info.value, ServerError)
    assert state.count("identity/get/") == 4


async def test_total_time_bound(fake: tuple[Fake, TikTokClient]) -> None:
    state, client = fake
    client.transport.retry = RetryPolicy(
        max_attempts=50, max_total_seconds=0.5, base_delay=0.2, max_delay=0.2
    )
    state.push("bc/get/", *[err(50000)] * 50)
    with pytest.raises(ServerError):
        await client.get_business_centers(TOKEN)
    # Each wait is 0.1-0.2 s (equal jitter), so at most 5 attempts start within the 0.5 s
    # budget — far below the 50 the attempt limit alone would allow.
    assert state.count("bc/get/") <= 5


async def test_create_request_id_stable_across_retries(fake: tuple[Fake, TikTokClient]) -> None:
    state, client = fake
    state.push("adgroup/create/", err(50002), ok({"adgroup_id": 123}))
    assert await client.create_adgroup(TOKEN, "9", {"adgroup_name": "g"}) == "123"
    bodies = [json.loads(b) for p, _, _, b in state.calls if p == "adgroup/create/"]
    assert bodies[0]["request_id"] == bodies[1]["request_id"]
    assert bodies[0]["advertiser_id"] == "9"


async def test_status_update_batches_of_20(fake: tuple[Fake, TikTokClient]) -> None:
    state, client = fake

    def echo(request: web.Request) -> Any:
        async def inner() -> web.Response:
            body = json.loads(await request.read())
            return web.json_response(ok({"ad_ids": body["ad_ids"], "status": "DISABLE"}))

        return inner()

    state.push("ad/status/update/", echo, echo, echo)
    result = await client.update_ad_status(TOKEN, "9", [str(i) for i in range(45)], "DISABLE")
    assert len(result.ids) == 45 and result.status == "DISABLE"
    sizes = [len(json.loads(b)["ad_ids"]) for p, _, _, b in state.calls]
    assert sizes == [20, 20, 5]
    with pytest.raises(ValueError):
        await client.update_ad_status(TOKEN, "9", ["1"], "PAUSE")


async def test_partial_success_errors(fake: tuple[Fake, TikTokClient]) -> None:
    state, client = fake
    state.push(
        "adgroup/status/update/",
        {
            "code": 20001,
            "message": "partial",
            "request_id": "r",
            "data": {
                "adgroup_ids": ["1"],
                "status": "ENABLE",
                "error_list": [{"adgroup_id": "2", "error_message": "deleted"}],
            },
        },
    )
    result = await client.update_adgroup_status(TOKEN, "9", ["1", "2"], "ENABLE")
    assert result.ids == ("1",) and result.errors == {"2": "deleted"}


async def test_video_upload_multipart_with_md5(fake: tuple[Fake, TikTokClient]) -> None:
    state, client = fake
    content = b"\x00\x00fake-mp4" * 100
    seen: dict[str, Any] = {}

    async def upload(request: web.Request) -> web.Response:
        form = await request.post()
        seen.update({k: form[k] for k in form})
        seen["video_bytes"] = form["video_file"].file.read()  # type: ignore[union-attr]
        return web.json_response(
            ok(
                [
                    {
                        "video_id": "v1",
                        "signature": form["video_signature"],
                        "file_name": form["file_name"],
                        "width": 720,
                    }
                ]
            )
        )

    state.push("file/video/ad/upload/", upload)
    video = await client.upload_video_file(TOKEN, "9", content, "clip.mp4")
    assert video.video_id == "v1" and video.width == 720
    assert seen["video_signature"] == hashlib.md5(content).hexdigest()
    assert seen["upload_type"] == "UPLOAD_BY_FILE"
    assert seen["video_bytes"] == content


async def test_report_windows_and_rows(fake: tuple[Fake, TikTokClient]) -> None:
    state, client = fake

    def rows(path: str, q: dict[str, str]) -> dict[str, Any]:
        return page(
            [
                {
                    "dimensions": {"ad_id": "1", "stat_time_day": f"{q['start_date']} 00:00:00"},
                    "metrics": {"spend": "1.500", "impressions": "10", "ctr": "-"},
                }
            ],
            1,
            1,
        )

    state.default = rows
    got = await client.get_report(TOKEN, "9", ReportLevel.AD, date(2024, 1, 1), date(2024, 2, 14))
    windows = sorted((q["start_date"], q["end_date"]) for _, q, _, _ in state.calls)
    assert windows == [("2024-01-01", "2024-01-30"), ("2024-01-31", "2024-02-14")]
    q = state.calls[0][1]
    assert json.loads(q["dimensions"]) == ["ad_id", "stat_time_day"]
    assert q["data_level"] == "AUCTION_AD" and q["report_type"] == "BASIC"
    assert "spend" in json.loads(q["metrics"])
    assert json.loads(json.loads(q["filtering"])[0]["filter_value"]) == ["STATUS_ALL"]
    assert len(got) == 2 and str(got[0].spend) == "1.500" and got[0].ctr is None
    state.calls.clear()
    await client.get_report(
        TOKEN, "9", ReportLevel.CAMPAIGN, date(2024, 1, 1), date(2024, 1, 3), grain=TimeGrain.HOUR
    )
    assert len(state.calls) == 3
    assert all(q["start_date"] == q["end_date"] for _, q, _, _ in state.calls)


async def test_oauth_calls_and_no_secret_in_logs(
    fake: tuple[Fake, TikTokClient], caplog: pytest.LogCaptureFixture
) -> None:
    state, client = fake
    caplog.set_level(logging.DEBUG, logger="core.tiktok")
    state.push(
        "oauth2/access_token/", ok({"access_token": TOKEN, "advertiser_ids": ["9"], "scope": [4]})
    )
    state.push(
        "oauth2/advertiser/get/", ok({"list": [{"advertiser_id": 9, "advertiser_name": "A"}]})
    )
    state.push("oauth2/revoke_token/", ok({"app_id": "app-1", "advertiser_ids": ["9"]}))
    grant = await client.exchange_auth_code("auth-code-777")
    assert grant.access_token == TOKEN and grant.advertiser_ids == ("9",)
    advs = await client.get_authorized_advertisers(TOKEN)
    assert advs[0].advertiser_id == "9"
    revoked = await client.revoke_token(TOKEN)
    assert revoked.advertiser_ids == ("9",)
    body = json.loads(state.calls[0][3])
    assert body == {"app_id": "app-1", "secret": SECRET, "auth_code": "auth-code-777"}
    assert "Access-Token" not in state.calls[0][2]
    records = [r for r in caplog.records if r.getMessage() == "tiktok.call"]
    assert len(records) == 3
    assert {r.path for r in records} == {
        "oauth2/access_token/",
        "oauth2/advertiser/get/",  # type: ignore[attr-defined]
        "oauth2/revoke_token/",
    }
    assert all(hasattr(r, "latency_ms") and hasattr(r, "request_id") for r in records)
    dump = " ".join(str(r.__dict__) for r in caplog.records)
    for secret in (TOKEN, SECRET, "auth-code-777"):
        assert secret not in dump


async def test_consent_url(fake: tuple[Fake, TikTokClient]) -> None:
    _, client = fake
    assert client.consent_url("s1", "http://x/cb").startswith(
        "https://business-api.tiktok.com/portal/auth?app_id=app-1&state=s1&redirect_uri=http"
    )


async def test_transport_errors_never_carry_credentials(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="core.tiktok")
    client = TikTokClient(
        base_url="http://127.0.0.1:9",
        app_id="app-1",
        secret=SECRET,
        limiter=NoLimiter(),
        retry=RetryPolicy(max_attempts=2, max_total_seconds=2, base_delay=0.01, max_delay=0.01),
    )
    try:
        with pytest.raises(TransportError) as info:
            await client.get_authorized_advertisers(TOKEN)  # secret travels in the query
    finally:
        await client.close()
    text = str(info.value) + " ".join(str(r.__dict__) for r in caplog.records)
    assert SECRET not in text and TOKEN not in text
    failures = [r for r in caplog.records if getattr(r, "failure", None)]
    assert len(failures) == 2 and failures[0].path == "oauth2/advertiser/get/"  # type: ignore[attr-defined]


async def test_report_table_parsed_at_decode_equals_report_rows(
    fake: tuple[Fake, TikTokClient],
) -> None:
    """Pages parsed as they are decoded (odd items too) read as get_report reads them."""
    state, client = fake
    items: list[Any] = [
        {
            "dimensions": {"ad_id": f"a{n}", "stat_time_day": f"2024-01-0{1 + n % 3} 00:00:00"},
            "metrics": {"spend": f"{n}.125", "impressions": str(n), "campaign_id": "c"},
        }
        for n in range(7)
    ]
    odd: list[Any] = [*items[:2], "not an object", None, {"dimensions": {"ad_id": "z"}}]

    def by_page(path: str, q: dict[str, str]) -> dict[str, Any]:
        return page(odd if q["page"] == "2" else items, int(q["page"]), 2)

    state.default = by_page
    metrics = ("spend", "impressions", "campaign_id")
    day = date(2024, 1, 1)
    gc_was = gc.isenabled()
    table = await client.get_report_table(TOKEN, "9", ReportLevel.AD, day, day, metrics=metrics)
    rows = await client.get_report(TOKEN, "9", ReportLevel.AD, day, day, metrics=metrics)
    assert gc.isenabled() == gc_was  # the collector runs again after each page's decode
    assert len(table) == len(rows) == len(items) + len(odd)
    # Pages come in the order they arrive: compare as sets of rows.
    from_table = sorted(
        zip(
            table.object_ids,
            map(str, table.stat_times),
            *(map(repr, table.metrics[m]) for m in metrics),
            strict=True,
        )
    )
    from_rows = sorted(
        (r.object_id, str(r.stat_time), *(repr(r.metrics.get(m)) for m in metrics)) for r in rows
    )
    assert from_table == from_rows


async def test_parse_is_given_only_successful_replies(fake: tuple[Fake, TikTokClient]) -> None:
    """`parse` sees a good reply's data; an error reply raises as before, unparsed."""
    state, client = fake
    seen: list[Any] = []

    def parse(data: Any) -> int:
        seen.append(data)
        return 7

    state.push("report/integrated/get/", err(40100, "slow down"), ok({"list": [1]}))
    reply = await client.transport.call("GET", "report/integrated/get/", token=TOKEN, parse=parse)
    assert reply.data == 7 and seen == [{"list": [1]}]
    state.push("report/integrated/get/", err(40002, "bad field"))
    with pytest.raises(InvalidRequestError):
        await client.transport.call("GET", "report/integrated/get/", token=TOKEN, parse=parse)
    assert len(seen) == 1 and gc.isenabled()
