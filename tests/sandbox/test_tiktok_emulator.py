"""The TikTok Marketing API emulator, driven over HTTP with plain aiohttp."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import sys
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from sandbox.tiktok.core import RawJSON
from sandbox.tiktok.delivery import DeliveryEngine
from sandbox.tiktok.server import RunningEmulator, start_emulator

NOW = "2026-11-29T12:00:00Z"
REPO = str(Path(__file__).resolve().parents[2])
US = "7310000000000000001"  # Glowly US, USD, America/Los_Angeles (demo fixture)


class Api:
    """A thin HTTP helper: JSON-encodes list/object query params (spec §1.4)."""

    def __init__(self, emu: RunningEmulator, session: aiohttp.ClientSession) -> None:
        """Bind to an emulator and a session."""
        self.emu = emu
        self.s = session
        self.token = emu.access_token

    def _headers(self, token: str | None) -> dict[str, str]:
        """The Access-Token header (the ready token unless overridden; empty = none)."""
        tok = self.token if token is None else token
        return {"Access-Token": tok} if tok else {}

    async def get(self, path: str, token: str | None = None, **params: Any) -> dict[str, Any]:
        """GET an API path and return the envelope."""
        q = {k: json.dumps(v) if isinstance(v, list | dict) else str(v) for k, v in params.items()}
        async with self.s.get(self.emu.api_url + path, params=q, headers=self._headers(token)) as r:
            assert r.status == 200
            return await r.json()

    async def post(
        self, path: str, body: dict[str, Any], token: str | None = None
    ) -> dict[str, Any]:
        """POST a JSON body and return the envelope."""
        async with self.s.post(
            self.emu.api_url + path, json=body, headers=self._headers(token)
        ) as r:
            assert r.status == 200
            return await r.json()

    async def control(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST to the control API."""
        async with self.s.post(f"{self.emu.url}/_emulator/{path}", json=body) as r:
            assert r.status == 200, await r.text()
            return await r.json()

    async def report(self, **params: Any) -> dict[str, Any]:
        """GET report/integrated/get/ for the US account with defaults."""
        base: dict[str, Any] = {"advertiser_id": US, "report_type": "BASIC", "page_size": 1000}
        base.update(params)
        return await self.get("report/integrated/get/", **base)


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    """A fresh demo emulator frozen at NOW, with a client."""
    emu = await start_emulator(fixture="demo", now=NOW)
    async with aiohttp.ClientSession() as session:
        yield Api(emu, session)
    await emu.stop()


def ok(resp: dict[str, Any]) -> Any:
    """The data of a successful envelope."""
    assert resp["code"] == 0, resp
    return resp["data"]


def err(resp: dict[str, Any], code: int) -> str:
    """The message of an error envelope with the given code and data {}."""
    assert resp["code"] == code, resp
    assert resp["data"] == {}
    assert resp["request_id"]
    return resp["message"]


# ------------------------------------------------------------------ transport


async def test_envelope_auth_errors_and_unknown_route(api: Api) -> None:
    """Envelope, unique request ids, 40104/40105/40001/40400."""
    a = await api.get("advertiser/info/", advertiser_ids=[US])
    b = await api.get("advertiser/info/", advertiser_ids=[US])
    assert ok(a)["list"][0]["currency"] == "USD"
    assert a["message"] == "OK" and a["request_id"] != b["request_id"]
    assert err(await api.get("advertiser/info/", token="", advertiser_ids=[US]), 40104)
    msg = err(await api.get("advertiser/info/", token="nope", advertiser_ids=[US]), 40105)
    assert msg == "Access token is incorrect or has been revoked."
    err(await api.get("advertiser/info/", advertiser_ids=["123"]), 40001)
    err(await api.get("campaign/gett/", advertiser_id=US), 40400)
    # without the trailing slash the route does not exist (spec §1.1)
    async with api.s.get(api.emu.api_url + "campaign/get", headers=api._headers(None)) as r:
        assert (await r.json())["code"] == 40400


async def test_json_in_query_and_validation(api: Api) -> None:
    """JSON-in-query decoding, id-list limits, page bounds, create validation."""
    err(await api.get("advertiser/info/", advertiser_ids="[not json"), 40002)
    err(await api.get("advertiser/info/", advertiser_ids=[US], fields=["name", "bogus"]), 40002)
    info = ok(await api.get("advertiser/info/", advertiser_ids=[US], fields=["name", "timezone"]))
    assert info["list"] == [{"name": "Glowly US", "timezone": "Etc/GMT+8"}]
    too_many = [str(i) for i in range(101)]
    err(await api.get("advertiser/info/", advertiser_ids=too_many), 40002)
    err(await api.get("campaign/get/", advertiser_id=US, filtering="{bad"), 40002)
    err(await api.get("campaign/get/", advertiser_id=US, filtering={"primary_status": "X"}), 40002)
    ids = [str(i) for i in range(101)]
    err(await api.get("campaign/get/", advertiser_id=US, filtering={"campaign_ids": ids}), 40002)
    err(await api.get("campaign/get/", advertiser_id=US, page_size=1001), 40002)
    err(await api.get("campaign/get/", advertiser_id=US, page=0), 40002)
    # required, enums, names, budget minimums on create (spec §4.2, §4.11)
    base = {
        "advertiser_id": US,
        "campaign_name": "x",
        "objective_type": "TRAFFIC",
        "budget_mode": "BUDGET_MODE_DAY",
        "budget": 100,
    }
    err(await api.post("campaign/create/", {**base, "objective_type": None}), 40002)
    err(await api.post("campaign/create/", {**base, "objective_type": "SALES"}), 40002)
    err(await api.post("campaign/create/", {**base, "campaign_name": "n" * 513}), 40002)
    err(await api.post("campaign/create/", {**base, "campaign_name": "hi 🚀"}), 40002)
    err(await api.post("campaign/create/", {**base, "budget": 10}), 40002)
    err(
        await api.post(
            "campaign/create/", {**base, "budget_mode": "BUDGET_MODE_DAY", "budget": None}
        ),
        40002,
    )
    async with api.s.post(
        api.emu.api_url + "campaign/create/",
        data="{oops",
        headers={**api._headers(None), "Content-Type": "application/json"},
    ) as r:
        assert (await r.json())["code"] == 40002


async def test_pagination_and_fields(api: Api) -> None:
    """page/page_size/page_info, fields selection, bc/get and identity/get."""
    first = ok(await api.get("ad/get/", advertiser_id=US, page_size=7))
    info = first["page_info"]
    assert info["page"] == 1 and info["page_size"] == 7 and info["total_number"] > 30
    seen = [a["ad_id"] for a in first["list"]]
    for page in range(2, info["total_page"] + 1):
        seen += [
            a["ad_id"]
            for a in ok(await api.get("ad/get/", advertiser_id=US, page_size=7, page=page))["list"]
        ]
    assert len(seen) == len(set(seen)) == info["total_number"]
    past = ok(await api.get("ad/get/", advertiser_id=US, page_size=7, page=info["total_page"] + 1))
    assert past["list"] == []
    default = ok(await api.get("campaign/get/", advertiser_id=US))["page_info"]
    assert default["page_size"] == 10
    rows = ok(await api.get("campaign/get/", advertiser_id=US, fields=["campaign_id", "budget"]))
    assert set(rows["list"][0]) == {"campaign_id", "budget"}
    assert isinstance(rows["list"][0]["campaign_id"], str)
    bcs = ok(await api.get("bc/get/"))
    assert bcs["list"][0]["bc_info"]["name"] == "Demo Media BC" and bcs["page_info"]["page"] == 1
    err(await api.get("bc/get/", page_size=51), 40002)
    idents = ok(await api.get("identity/get/", advertiser_id=US))
    assert {i["identity_type"] for i in idents["identity_list"]} >= {"CUSTOMIZED_USER", "TT_USER"}
    err(await api.get("identity/get/", advertiser_id=US, identity_type="BC_AUTH_TT"), 40002)
    err(await api.get("identity/get/", advertiser_id=US, page_size=101), 40002)


# ------------------------------------------------------------------ objects


async def test_status_cascade_and_deleted_hidden(api: Api) -> None:
    """Pausing and deleting a campaign cascades; deleted objects are hidden."""
    camps = ok(
        await api.get(
            "campaign/get/",
            advertiser_id=US,
            page_size=100,
            filtering={"primary_status": "STATUS_DELIVERY_OK"},
        )
    )["list"]
    cid = camps[0]["campaign_id"]
    data = ok(
        await api.post(
            "campaign/status/update/",
            {"advertiser_id": US, "campaign_ids": [cid], "operation_status": "DISABLE"},
        )
    )
    assert data["campaign_ids"] == [cid] and data["status"] == "DISABLE"
    ags = ok(await api.get("adgroup/get/", advertiser_id=US, filtering={"campaign_ids": [cid]}))
    assert {g["secondary_status"] for g in ags["list"]} <= {"ADGROUP_STATUS_CAMPAIGN_DISABLE"}
    ads = ok(await api.get("ad/get/", advertiser_id=US, filtering={"campaign_ids": [cid]}))
    assert ads["list"] and all(
        a["secondary_status"] == "AD_STATUS_CAMPAIGN_DISABLE"
        for a in ads["list"]
        if a["operation_status"] == "ENABLE"
    )
    ok(
        await api.post(
            "campaign/status/update/",
            {"advertiser_id": US, "campaign_ids": [cid], "operation_status": "DELETE"},
        )
    )
    visible = ok(
        await api.get("campaign/get/", advertiser_id=US, filtering={"campaign_ids": [cid]})
    )
    assert visible["list"] == []
    every = ok(
        await api.get(
            "campaign/get/",
            advertiser_id=US,
            filtering={"campaign_ids": [cid], "primary_status": "STATUS_ALL"},
        )
    )
    assert every["list"][0]["secondary_status"] == "CAMPAIGN_STATUS_DELETE"
    assert (
        ok(await api.get("ad/get/", advertiser_id=US, filtering={"campaign_ids": [cid]}))["list"]
        == []
    )
    gone = ok(
        await api.get(
            "ad/get/",
            advertiser_id=US,
            filtering={"campaign_ids": [cid], "primary_status": "STATUS_ALL"},
        )
    )["list"]
    assert {a["secondary_status"] for a in gone} <= {
        "AD_STATUS_CAMPAIGN_DELETE",
        "AD_STATUS_DELETE",
    }
    err(
        await api.post(
            "campaign/status/update/",
            {"advertiser_id": US, "campaign_ids": [cid], "operation_status": "ENABLE"},
        ),
        40002,
    )
    err(
        await api.post(
            "campaign/update/", {"advertiser_id": US, "campaign_id": cid, "campaign_name": "again"}
        ),
        40002,
    )
    twenty_one = [
        a["ad_id"] for a in ok(await api.get("ad/get/", advertiser_id=US, page_size=21))["list"]
    ]
    err(
        await api.post(
            "ad/status/update/",
            {"advertiser_id": US, "ad_ids": twenty_one, "operation_status": "DISABLE"},
        ),
        40002,
    )
    err(
        await api.post(
            "ad/status/update/",
            {"advertiser_id": US, "ad_ids": twenty_one[:1], "operation_status": "PAUSE"},
        ),
        40002,
    )


async def _upload(
    api: Api, kind: str, content: bytes, name: str, signature: str | None = None
) -> dict[str, Any]:
    """Multipart upload with an MD5 signature."""
    form = aiohttp.FormData()
    form.add_field("advertiser_id", US)
    form.add_field("upload_type", "UPLOAD_BY_FILE")
    form.add_field(f"{kind}_signature", signature or hashlib.md5(content).hexdigest())
    form.add_field("file_name", name)
    form.add_field(f"{kind}_file", content, filename=name)
    async with api.s.post(
        api.emu.api_url + f"file/{kind}/ad/upload/", data=form, headers=api._headers(None)
    ) as r:
        return await r.json()


async def test_create_flow_uploads_md5_and_duplicate_names(api: Api) -> None:
    """Campaign -> ad group -> uploads -> identity -> ad, with MD5 and name checks."""
    camp = ok(
        await api.post(
            "campaign/create/",
            {
                "advertiser_id": US,
                "campaign_name": "Launch 1",
                "objective_type": "WEB_CONVERSIONS",
                "budget_mode": "BUDGET_MODE_INFINITE",
                "request_id": "123456789",
            },
        )
    )
    again = ok(
        await api.post(
            "campaign/create/",
            {
                "advertiser_id": US,
                "campaign_name": "Launch 1",
                "objective_type": "WEB_CONVERSIONS",
                "budget_mode": "BUDGET_MODE_INFINITE",
                "request_id": "123456789",
            },
        )
    )
    assert again["campaign_id"] == camp["campaign_id"]
    # The pixel must be one the account may use (pixel/list answers its own); another is refused.
    pixel = ok(await api.get("pixel/list/", advertiser_id=US))["pixels"][0]["pixel_id"]
    ag_body = {
        "advertiser_id": US,
        "campaign_id": camp["campaign_id"],
        "adgroup_name": "AG 1",
        "budget_mode": "BUDGET_MODE_DAY",
        "budget": 50,
        "schedule_type": "SCHEDULE_FROM_NOW",
        "schedule_start_time": "2026-11-29 12:00:00",
        "optimization_goal": "CONVERT",
        "billing_event": "OCPM",
        "pacing": "PACING_MODE_SMOOTH",
        "placements": ["PLACEMENT_TIKTOK"],
        "location_ids": ["6252001"],
        "promotion_type": "WEBSITE",
        "pixel_id": pixel,
        "optimization_event": "COMPLETE_PAYMENT",
    }
    err(await api.post("adgroup/create/", {**ag_body, "pixel_id": "1"}), 40002)
    err(await api.post("adgroup/create/", {**ag_body, "location_ids": []}), 40002)
    err(
        await api.post("adgroup/create/", {**ag_body, "schedule_type": "SCHEDULE_START_END"}), 40002
    )
    ag = ok(await api.post("adgroup/create/", ag_body))
    assert ag["secondary_status"] == "ADGROUP_STATUS_DELIVERY_OK"
    video = b"\x00\x00\x00\x18ftypmp42" + b"x" * 500
    err(await _upload(api, "video", video, "clip.mp4", signature="0" * 32), 40900)
    up = await _upload(api, "video", video, "clip-new.mp4")
    vlist = ok(up)
    assert isinstance(vlist, list) and len(vlist) == 1
    assert vlist[0]["signature"] == hashlib.md5(video).hexdigest()
    err(await _upload(api, "video", video, "clip-new.mp4"), 40911)
    png = (
        b"\x89PNG\r\n\x1a\n"
        + b"\x00\x00\x00\rIHDR"
        + (720).to_bytes(4, "big")
        + (1280).to_bytes(4, "big")
        + b"\x08\x02\x00\x00\x00"
    )
    image = ok(await _upload(api, "image", png, "cover-new.png"))
    assert isinstance(image, dict) and (image["width"], image["height"]) == (720, 1280)
    err(await _upload(api, "image", png, "cover-new.png"), 40911)
    info = ok(
        await api.get(
            "file/video/ad/info/", advertiser_id=US, video_ids=[vlist[0]["video_id"], "v-unknown"]
        )
    )
    assert [v["video_id"] for v in info["list"]] == [vlist[0]["video_id"]]
    err(
        await api.get(
            "file/video/ad/info/", advertiser_id=US, video_ids=[str(i) for i in range(61)]
        ),
        40002,
    )
    err(
        await api.post(
            "identity/create/",
            {"advertiser_id": US, "display_name": "Glowly", "image_uri": image["image_id"]},
        ),
        40002,
    )
    square = png.replace((1280).to_bytes(4, "big"), (720).to_bytes(4, "big"))
    avatar = ok(await _upload(api, "image", square, "avatar.png"))
    ident = ok(
        await api.post(
            "identity/create/",
            {"advertiser_id": US, "display_name": "Glowly", "image_uri": avatar["image_id"]},
        )
    )
    creative = {
        "ad_name": "Ad 1",
        "ad_format": "SINGLE_VIDEO",
        "ad_text": "Buy now",
        "video_id": vlist[0]["video_id"],
        "image_ids": [image["image_id"]],
        "identity_id": ident["identity_id"],
        "identity_type": "CUSTOMIZED_USER",
        "call_to_action": "SHOP_NOW",
        "landing_page_url": "https://shop.example.com",
    }
    msg = err(
        await api.post(
            "ad/create/",
            {
                "advertiser_id": US,
                "adgroup_id": ag["adgroup_id"],
                "creatives": [{**creative, "identity_id": None}],
            },
        ),
        40002,
    )
    assert "identity_id" in msg
    err(
        await api.post(
            "ad/create/",
            {
                "advertiser_id": US,
                "adgroup_id": ag["adgroup_id"],
                "creatives": [{**creative, "ad_text": "t" * 101}],
            },
        ),
        40002,
    )
    # 1 to 20 creatives a call (spec §4.9): none, or 21, are refused whole (the ad group's
    # ads are counted below: nothing was made).
    for creatives in ([], [{**creative, "ad_name": f"Bulk {n}"} for n in range(21)]):
        body = {"advertiser_id": US, "adgroup_id": ag["adgroup_id"], "creatives": creatives}
        msg = err(await api.post("ad/create/", body), 40002)
        assert "creatives" in msg
    made = ok(
        await api.post(
            "ad/create/",
            {"advertiser_id": US, "adgroup_id": ag["adgroup_id"], "creatives": [creative]},
        )
    )
    assert len(made["ad_ids"]) == 1 and made["creatives"][0]["video_id"] == vlist[0]["video_id"]
    got = ok(await api.get("ad/get/", advertiser_id=US, filtering={"ad_ids": made["ad_ids"]}))[
        "list"
    ][0]
    assert got["ad_name"] == "Ad 1" and got["adgroup_id"] == ag["adgroup_id"]

    # request_id: documented for campaigns and ad groups only (spec §4.2, §4.6), so by default
    # a resent ad/create makes the ad again; the knob can make ads idempotent too.
    ag_again = ok(await api.post("adgroup/create/", {**ag_body, "request_id": "77"}))
    assert ok(await api.post("adgroup/create/", {**ag_body, "request_id": "77"})) == ag_again
    body = {
        "advertiser_id": US,
        "adgroup_id": ag["adgroup_id"],
        "creatives": [{**creative, "ad_name": "Ad 2"}],
        "request_id": "88",
    }
    first, second = ok(await api.post("ad/create/", body)), ok(await api.post("ad/create/", body))
    assert first["ad_ids"] != second["ad_ids"]
    await api.control("config", {"idempotent_creates": ["campaign", "adgroup", "ad"]})
    body["request_id"] = "89"
    first, second = ok(await api.post("ad/create/", body)), ok(await api.post("ad/create/", body))
    assert first["ad_ids"] == second["ad_ids"]
    ads = ok(
        await api.get("ad/get/", advertiser_id=US, filtering={"adgroup_ids": [ag["adgroup_id"]]})
    )
    assert sorted(a["ad_name"] for a in ads["list"]) == ["Ad 1", "Ad 2", "Ad 2", "Ad 2"]
    await api.control("config", {"idempotent_creates": []})
    camp_body = {
        "advertiser_id": US,
        "campaign_name": "Launch 2",
        "objective_type": "TRAFFIC",
        "budget_mode": "BUDGET_MODE_INFINITE",
        "request_id": "90",
    }
    first = ok(await api.post("campaign/create/", camp_body))
    second = ok(await api.post("campaign/create/", camp_body))
    assert first["campaign_id"] != second["campaign_id"]


# ------------------------------------------------------------------ OAuth


async def _consent(
    api: Api, state: str, user: str | None = None, action: str = "Authorize"
) -> dict[str, list[str]]:
    """Load the consent page and follow one of its links, like a terminal client would."""
    params = {
        "app_id": api.emu.app_id,
        "state": state,
        "redirect_uri": "https://svc.example.com/oauth/tiktok/callback",
    }
    if user:
        params["user"] = user
    async with api.s.get(api.emu.auth_url, params=params) as r:
        page = await r.text()
    assert "Authorize" in page and "Cancel" in page and "<script" not in page
    href = re.search(rf'<a href="([^"]+)">{action}</a>', page)
    assert href
    link = href.group(1).replace("&amp;", "&")
    async with api.s.get(link, allow_redirects=False) as r:
        assert r.status == 302
        target = urlsplit(r.headers["Location"])
    assert target.netloc == "svc.example.com"
    return parse_qs(target.query)


async def test_consent_flow_code_once_expiry_cancel_and_revoke(api: Api) -> None:
    """Consent page, single-use one-hour codes, per-user accounts, cancel, revoke."""
    q = await _consent(api, "st-1")
    assert q["state"] == ["st-1"] and q["auth_code"] == q["code"]
    body = {"app_id": api.emu.app_id, "secret": api.emu.secret, "auth_code": q["auth_code"][0]}
    err(await api.post("oauth2/access_token/", {**body, "secret": "wrong"}, token=""), 40002)
    tok = ok(await api.post("oauth2/access_token/", body, token=""))
    assert set(tok["advertiser_ids"]) == set(api.emu.state.users["demo"].advertiser_ids)
    assert tok["scope"] and all(isinstance(s, int) for s in tok["scope"])
    err(await api.post("oauth2/access_token/", body, token=""), 40110)
    accounts = ok(
        await api.get(
            "oauth2/advertiser/get/",
            token=tok["access_token"],
            app_id=api.emu.app_id,
            secret=api.emu.secret,
        )
    )["list"]
    assert {a["advertiser_id"] for a in accounts} == set(tok["advertiser_ids"])
    # another login sees only its own accounts
    q2 = await _consent(api, "st-2", user="agency")
    tok2 = ok(
        await api.post("oauth2/access_token/", {**body, "auth_code": q2["code"][0]}, token="")
    )
    assert set(tok2["advertiser_ids"]) == set(api.emu.state.users["agency"].advertiser_ids)
    err(await api.get("advertiser/info/", token=tok2["access_token"], advertiser_ids=[US]), 40001)
    # codes expire after an hour of emulator time
    q3 = await _consent(api, "st-3")
    await api.control("clock", {"advance_seconds": 3601})
    msg = err(
        await api.post("oauth2/access_token/", {**body, "auth_code": q3["code"][0]}, token=""),
        40110,
    )
    assert "expired" in msg
    q4 = await _consent(api, "st-4", action="Cancel")
    assert q4["error"] == ["access_denied"] and q4["state"] == ["st-4"] and "code" not in q4
    # revocation: by the API and by the control endpoint
    revoked = ok(
        await api.post(
            "oauth2/revoke_token/",
            {
                "app_id": api.emu.app_id,
                "secret": api.emu.secret,
                "access_token": tok["access_token"],
            },
            token="",
        )
    )
    assert set(revoked["advertiser_ids"]) == set(tok["advertiser_ids"])
    err(await api.get("advertiser/info/", token=tok["access_token"], advertiser_ids=[US]), 40105)
    await api.control("revoke", {"access_token": tok2["access_token"]})
    err(await api.get("bc/get/", token=tok2["access_token"]), 40105)


# ------------------------------------------------------------------ knobs


async def test_qps_limit_faults_and_stats(api: Api) -> None:
    """QPS limit 40100, injected faults, latency and stats."""
    await api.control("reset_stats", {})
    await api.control("config", {"qps": 3})
    results = await asyncio.gather(*[api.get("bc/get/") for _ in range(10)])
    limited = [r for r in results if r["code"] == 40100]
    assert 1 <= len(limited) <= 7 and sum(r["code"] == 0 for r in results) >= 3
    assert re.fullmatch(
        rf"App {api.emu.app_id} reaches the QPS limit 3, current QPS is \d+\.",
        limited[0]["message"],
    )
    async with api.s.get(f"{api.emu.url}/_emulator/stats") as r:
        stats = await r.json()
    assert stats["rate_limited"] == len(limited)
    assert stats["requests"]["/open_api/v1.3/bc/get/"] == 10
    await api.control(
        "config", {"qps": 0, "fault_queue": ["50002", "http5xx", "html504"], "timeout_seconds": 0.1}
    )
    assert (await api.get("bc/get/"))["code"] == 50002
    async with api.s.get(api.emu.api_url + "bc/get/", headers=api._headers(None)) as r:
        assert r.status >= 500
    async with api.s.get(api.emu.api_url + "bc/get/", headers=api._headers(None)) as r:
        assert r.status == 504 and "html" in r.content_type
    assert ok(await api.get("bc/get/"))
    await api.control("config", {"fault_queue": ["timeout"], "timeout_seconds": 3})
    with pytest.raises(asyncio.TimeoutError):
        async with api.s.get(
            api.emu.api_url + "bc/get/",
            headers=api._headers(None),
            timeout=aiohttp.ClientTimeout(total=0.3),
        ):
            pass
    await api.control("config", {"fault_rate": 1.0, "fault_kinds": ["50002"]})
    assert (await api.get("bc/get/"))["code"] == 50002
    await api.control("config", {"fault_rate": 0.0, "latency_ms": 150})
    started = asyncio.get_running_loop().time()
    ok(await api.get("bc/get/"))
    assert asyncio.get_running_loop().time() - started >= 0.14


# ------------------------------------------------------------------ reports


def _sum(rows: list[dict[str, Any]], metric: str) -> Decimal:
    """Sum a metric over report rows."""
    return sum((Decimal(r["metrics"][metric]) for r in rows), Decimal(0))


BASE = [
    "spend",
    "impressions",
    "clicks",
    "conversion",
    "complete_payment",
    "total_complete_payment_rate",
]
ALL = [
    {"field_name": f, "filter_type": "IN", "filter_value": '["STATUS_ALL"]'}
    for f in ("campaign_status", "adgroup_status", "ad_status")
]


async def test_report_totals_agree_across_levels_and_hours(api: Api) -> None:
    """Ad = ad group = campaign = account totals; hours add up to days."""
    totals = {}
    for level, dim in (
        ("AUCTION_ADVERTISER", "advertiser_id"),
        ("AUCTION_CAMPAIGN", "campaign_id"),
        ("AUCTION_ADGROUP", "adgroup_id"),
        ("AUCTION_AD", "ad_id"),
    ):
        data = ok(
            await api.report(
                data_level=level,
                dimensions=[dim, "stat_time_day"],
                metrics=BASE,
                start_date="2026-11-20",
                end_date="2026-11-29",
                filtering=ALL,
            )
        )
        assert data["page_info"]["total_number"] == len(data["list"])
        totals[level] = {m: _sum(data["list"], m) for m in BASE}
    assert totals["AUCTION_ADVERTISER"]["spend"] > 0
    assert len({json.dumps({k: str(v) for k, v in t.items()}) for t in totals.values()}) == 1
    day = ok(
        await api.report(
            data_level="AUCTION_CAMPAIGN",
            dimensions=["campaign_id"],
            metrics=BASE,
            start_date="2026-11-27",
            end_date="2026-11-27",
            filtering=ALL,
        )
    )["list"]
    hours = ok(
        await api.report(
            data_level="AUCTION_CAMPAIGN",
            dimensions=["campaign_id", "stat_time_hour"],
            metrics=BASE,
            start_date="2026-11-27",
            end_date="2026-11-27",
            filtering=ALL,
        )
    )["list"]
    assert len({r["dimensions"]["stat_time_hour"] for r in hours}) == 24
    for row in day:
        cid = row["dimensions"]["campaign_id"]
        mine = [h for h in hours if h["dimensions"]["campaign_id"] == cid]
        for m in BASE:
            assert _sum(mine, m) == Decimal(row["metrics"][m]), (cid, m)
    lifetime = ok(
        await api.report(
            data_level="AUCTION_ADVERTISER",
            dimensions=["advertiser_id"],
            metrics=["spend"],
            query_lifetime="true",
        )
    )["list"]
    assert Decimal(lifetime[0]["metrics"]["spend"]) >= totals["AUCTION_ADVERTISER"]["spend"]


async def test_report_formats_spans_and_filters(api: Api) -> None:
    """Metric string formats, ordering, span limits, filters and future dates."""
    rows = ok(
        await api.report(
            data_level="AUCTION_CAMPAIGN",
            dimensions=["campaign_id", "stat_time_day"],
            metrics=[
                "spend",
                "impressions",
                "ctr",
                "cpc",
                "cpm",
                "cost_per_conversion",
                "conversion_rate",
                "cost_per_result",
                "complete_payment_roas",
                "secondary_goal_result",
                "campaign_name",
            ],
            start_date="2026-11-28",
            end_date="2026-11-28",
            order_field="spend",
        )
    )["list"]
    assert rows
    spends = [Decimal(r["metrics"]["spend"]) for r in rows]
    assert spends == sorted(spends, reverse=True)
    m = rows[0]["metrics"]
    assert re.fullmatch(r"\d+\.\d{3}", m["spend"]) and re.fullmatch(r"\d+", m["impressions"])
    assert re.fullmatch(r"\d+\.\d{2}0", m["cpc"]) and re.fullmatch(r"\d+\.\d{2}0", m["cpm"])
    assert re.fullmatch(r"\d+\.\d{2}", m["ctr"]) and re.fullmatch(
        r"\d+\.\d{4}", m["cost_per_result"]
    )
    assert m["secondary_goal_result"] == "-" and m["campaign_name"]
    assert rows[0]["dimensions"]["stat_time_day"] == "2026-11-28 00:00:00"
    common = {"data_level": "AUCTION_AD", "metrics": ["spend"]}
    err(
        await api.report(
            **common,
            dimensions=["ad_id", "stat_time_day"],
            start_date="2026-10-01",
            end_date="2026-10-31",
        ),
        40002,
    )
    err(
        await api.report(
            **common,
            dimensions=["ad_id", "stat_time_hour"],
            start_date="2026-11-27",
            end_date="2026-11-28",
        ),
        40002,
    )
    err(
        await api.report(
            **common, dimensions=["campaign_id"], start_date="2026-11-27", end_date="2026-11-28"
        ),
        40002,
    )
    err(
        await api.report(
            **common,
            dimensions=["ad_id"],
            start_date="2026-11-27",
            end_date="2026-11-28",
            filtering=[{"field_name": "ad_ids", "filter_type": "IN", "filter_value": ["1"]}],
        ),
        40002,
    )
    err(
        await api.report(
            **{**common, "metrics": ["spend", "no_such_metric"]},
            dimensions=["ad_id"],
            start_date="2026-11-27",
            end_date="2026-11-28",
        ),
        40002,
    )
    err(
        await api.report(
            data_level="AUCTION_ADVERTISER",
            metrics=["ad_name"],
            dimensions=["advertiser_id"],
            start_date="2026-11-27",
            end_date="2026-11-28",
        ),
        40002,
    )
    one = rows[0]["dimensions"]["campaign_id"]
    only = ok(
        await api.report(
            data_level="AUCTION_CAMPAIGN",
            dimensions=["campaign_id"],
            metrics=["spend"],
            start_date="2026-11-28",
            end_date="2026-11-28",
            filtering=[
                {
                    "field_name": "campaign_ids",
                    "filter_type": "IN",
                    "filter_value": json.dumps([one]),
                }
            ],
        )
    )["list"]
    assert [r["dimensions"]["campaign_id"] for r in only] == [one]
    future = ok(
        await api.report(
            data_level="AUCTION_ADVERTISER",
            dimensions=["advertiser_id"],
            metrics=["spend"],
            start_date="2026-12-01",
            end_date="2026-12-05",
        )
    )
    assert future["list"] == []


async def test_budget_caps_are_respected(api: Api) -> None:
    """Daily spend never exceeds the ad group / campaign budget, and some hit it."""
    w = api.emu.state
    rows = ok(
        await api.report(
            data_level="AUCTION_ADGROUP",
            dimensions=["adgroup_id", "stat_time_day"],
            metrics=["spend"],
            start_date="2026-11-01",
            end_date="2026-11-28",
            filtering=ALL,
        )
    )["list"]
    capped = 0
    for row in rows:
        ag = w.adgroups[row["dimensions"]["adgroup_id"]]
        if ag.budget_mode != "BUDGET_MODE_DAY":
            continue
        day = datetime.strptime(row["dimensions"]["stat_time_day"], "%Y-%m-%d %H:%M:%S")
        tz = w.advertisers[ag.advertiser_id].tz
        start = day.replace(tzinfo=tz).timestamp()
        budget = max(ag.budget.at(start), ag.budget.at(start + 86399))
        spend = Decimal(row["metrics"]["spend"])
        assert spend <= budget, (ag.adgroup_id, row)
        capped += spend >= budget * Decimal("0.97")
    assert capped > 0, "some ad groups should spend their whole budget"
    camps = ok(
        await api.report(
            data_level="AUCTION_CAMPAIGN",
            dimensions=["campaign_id", "stat_time_day"],
            metrics=["spend"],
            start_date="2026-11-01",
            end_date="2026-11-28",
            filtering=ALL,
        )
    )["list"]
    for row in camps:
        camp = w.campaigns[row["dimensions"]["campaign_id"]]
        if camp.budget_mode == "BUDGET_MODE_DAY":
            assert Decimal(row["metrics"]["spend"]) <= camp.budget.current()


async def _today(api: Api, level: str, obj_id: str) -> Decimal:
    """Today's spend of one ad or ad group."""
    dim = {"AUCTION_AD": "ad_id", "AUCTION_ADGROUP": "adgroup_id"}[level]
    rows = ok(
        await api.report(
            data_level=level,
            dimensions=[dim],
            metrics=["spend"],
            start_date="2026-11-29",
            end_date="2026-11-29",
            filtering=[
                {"field_name": f"{dim}s", "filter_type": "IN", "filter_value": json.dumps([obj_id])}
            ],
        )
    )["list"]
    return Decimal(rows[0]["metrics"]["spend"]) if rows else Decimal(0)


async def test_today_grows_pause_stops_spend_budget_change_shows(api: Api) -> None:
    """Today grows with the clock; a pause freezes spend; a budget raise shows later."""
    # 12:00 UTC is 04:00 in Los Angeles: the day is young.
    ads = ok(
        await api.get(
            "ad/get/",
            advertiser_id=US,
            page_size=200,
            filtering={"primary_status": "STATUS_DELIVERY_OK"},
        )
    )["list"]
    uncapped = [
        a
        for a in ads
        if api.emu.state.campaigns[a["campaign_id"]].budget_mode == "BUDGET_MODE_INFINITE"
    ]
    pause, keep = uncapped[0]["ad_id"], uncapped[-1]["ad_id"]
    before = {a: await _today(api, "AUCTION_AD", a) for a in (pause, keep)}
    assert before[pause] > 0
    ok(
        await api.post(
            "ad/status/update/",
            {"advertiser_id": US, "ad_ids": [pause], "operation_status": "DISABLE"},
        )
    )
    await api.control("clock", {"advance_seconds": 4 * 3600})
    after = {a: await _today(api, "AUCTION_AD", a) for a in (pause, keep)}
    assert after[pause] == before[pause]
    assert after[keep] > before[keep]
    # a budget raise on a capped ad group shows in later spend only
    await api.control("clock", {"now": "2026-11-29T09:00:00Z"})  # 01:00 in Los Angeles
    w = api.emu.state
    groups = [
        g
        for g in w.adgroups.values()
        if g.advertiser_id == US
        and g.budget_mode == "BUDGET_MODE_DAY"
        and g.status.current() == "ENABLE"
        and w.campaigns[g.campaign_id].status.current() == "ENABLE"
        and len(g.budget.points) == 1
    ]
    probe = []
    for g in groups:
        start = await _today(api, "AUCTION_ADGROUP", g.adgroup_id)
        probe.append((g, start))
    await api.control("clock", {"now": "2026-11-30T07:59:00Z"})
    full = [(g, s, await _today(api, "AUCTION_ADGROUP", g.adgroup_id)) for g, s in probe]
    capped = [(g, s, f) for g, s, f in full if f >= g.budget.current() * Decimal("0.97")]
    assert capped
    g, early, old_total = capped[0]
    await api.control("clock", {"now": "2026-11-29T09:00:00Z"})
    assert await _today(api, "AUCTION_ADGROUP", g.adgroup_id) == early
    ok(
        await api.post(
            "adgroup/update/",
            {
                "advertiser_id": US,
                "adgroup_id": g.adgroup_id,
                "budget": float(g.budget.current() * 5),
            },
        )
    )
    assert await _today(api, "AUCTION_ADGROUP", g.adgroup_id) == early
    await api.control("clock", {"now": "2026-11-30T07:59:00Z"})
    assert await _today(api, "AUCTION_ADGROUP", g.adgroup_id) > old_total


async def test_clock_and_world_endpoints(api: Api) -> None:
    """Clock control and the world summary."""
    data = await api.control("clock", {"now": "2026-11-29T13:00:00Z"})
    assert data["now"].startswith("2026-11-29T13:00:00")
    assert api.emu.clock.now() == datetime.fromisoformat("2026-11-29T13:00:00+00:00")
    api.emu.clock.advance(60)
    assert api.emu.clock.now() - datetime.fromisoformat(NOW.replace("Z", "+00:00")) == timedelta(
        hours=1, minutes=1
    )
    async with api.s.get(f"{api.emu.url}/_emulator/world") as r:
        world = await r.json()
    assert world["counts"]["ads"] >= 300 and len(world["advertisers"]) == 5
    assert {a["currency"] for a in world["advertisers"]} == {"USD", "EUR", "JPY", "GBP", "BRL"}


async def test_scale_fixture_builds_and_reports() -> None:
    """50 accounts and 100,000 ads; a 30-day ad-level report pages past 10,000 rows and adds up
    (its speed is bench.tiktok_pull's and bench.sync's to measure, not a test's)."""
    emu = await start_emulator(fixture="scale", now=NOW)
    try:
        assert len(emu.state.advertisers) == 50 and len(emu.state.ads) == 100_000
        adv = next(iter(emu.state.advertisers))
        async with aiohttp.ClientSession() as session:
            api = Api(emu, session)
            data = ok(
                await api.report(
                    advertiser_id=adv,
                    data_level="AUCTION_AD",
                    dimensions=["ad_id", "stat_time_day"],
                    metrics=["spend"],
                    start_date="2026-10-31",
                    end_date="2026-11-29",
                )
            )
            assert data["page_info"]["total_number"] > 10_000
            total = ok(
                await api.report(
                    advertiser_id=adv,
                    data_level="AUCTION_ADVERTISER",
                    dimensions=["advertiser_id"],
                    metrics=["spend"],
                    start_date="2026-10-31",
                    end_date="2026-11-29",
                )
            )
            assert Decimal(total["list"][0]["metrics"]["spend"]) > 0
    finally:
        await emu.stop()


async def test_cli_prints_credentials_and_serves() -> None:
    """``python -m sandbox.tiktok`` prints the five lines, then answers with that token."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sandbox.tiktok",
        "--port",
        "0",
        "--fixture",
        "demo",
        "--qps",
        "50",
        "--now",
        NOW,
        "--frozen",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        cwd=REPO,
    )
    try:
        assert proc.stdout is not None
        lines = {}
        for _ in range(5):
            raw = await asyncio.wait_for(proc.stdout.readline(), 20)
            key, _, value = raw.decode().strip().partition("=")
            lines[key] = value
        assert list(lines) == [
            "app_id",
            "secret",
            "access_token",
            "tiktok_api_url",
            "tiktok_auth_url",
        ]
        assert lines["tiktok_auth_url"].startswith(lines["tiktok_api_url"])
        async with (
            aiohttp.ClientSession() as s,
            s.get(
                lines["tiktok_api_url"] + "/open_api/v1.3/oauth2/advertiser/get/",
                params={"app_id": lines["app_id"], "secret": lines["secret"]},
                headers={"Access-Token": lines["access_token"]},
            ) as r,
        ):
            assert len(ok(await r.json())["list"]) == 5
    finally:
        proc.terminate()
        await proc.wait()


# ------------------------------------------------------------------ create validation


async def test_create_checks_optional_enums_types_and_ad_content(api: Api) -> None:
    """Optional enums and types on the three creates, ad text emoji, image ads, landing URLs
    (spec §4.2, §4.6, §4.9, §4.11): each refused with 40002 naming the field, while the same
    body without the fault is accepted."""
    camp_body = {
        "advertiser_id": US,
        "campaign_name": "Checks",
        "objective_type": "TRAFFIC",
        "budget_mode": "BUDGET_MODE_INFINITE",
        "bid_type": "BID_TYPE_CUSTOM",
        "optimization_goal": "CLICK",
        "sales_destination": "WEBSITE",
    }
    for key, bad in (
        ("bid_type", "BID_TYPE_MAX"),
        ("optimization_goal", "CLICKS"),
        ("sales_destination", "SHOP"),
        ("virtual_objective_type", "LEADS"),
    ):
        assert key in err(await api.post("campaign/create/", {**camp_body, key: bad}), 40002)
    camp = ok(await api.post("campaign/create/", camp_body))
    ag_body = {
        "advertiser_id": US,
        "campaign_id": camp["campaign_id"],
        "adgroup_name": "Checks",
        "budget_mode": "BUDGET_MODE_DAY",
        "budget": 50,
        "schedule_type": "SCHEDULE_FROM_NOW",
        "schedule_start_time": "2026-11-29 12:00:00",
        "optimization_goal": "CLICK",
        "billing_event": "CPC",
        "pacing": "PACING_MODE_SMOOTH",
        "placement_type": "PLACEMENT_TYPE_AUTOMATIC",
        "location_ids": ["6252001"],
        "promotion_type": "WEBSITE",
        "languages": ["en"],
        "comment_disabled": True,
        "bid_type": "BID_TYPE_CUSTOM",
        "bid_price": 1.5,
    }
    for key, bad in (
        ("languages", "en"),
        ("comment_disabled", "yes"),
        ("identity_type", "PAGE"),
        ("bid_price", 0),
    ):
        assert key in err(await api.post("adgroup/create/", {**ag_body, key: bad}), 40002)
    ag = ok(await api.post("adgroup/create/", ag_body))
    assert ag["languages"] == ["en"] and ag["comment_disabled"] is True
    png = (
        b"\x89PNG\r\n\x1a\n"
        + b"\x00\x00\x00\rIHDR"
        + (1200).to_bytes(4, "big")
        + (628).to_bytes(4, "big")
        + b"\x08\x02\x00\x00\x00"
    )
    image = ok(await _upload(api, "image", png, "pangle-banner.png"))
    creative = {
        "ad_name": "Image ad",
        "ad_format": "SINGLE_IMAGE",
        "ad_text": "Glow in 7 days",
        "image_ids": [image["image_id"]],
        "call_to_action": "LEARN_MORE",
        "landing_page_url": "https://trk.example.com/x?c=__CAMPAIGN_ID__&a=__AID__&d=__CID__",
    }
    body = {"advertiser_id": US, "adgroup_id": ag["adgroup_id"]}
    for key, bad in (
        ("ad_text", "Glow 🚀"),
        ("image_ids", None),
        ("landing_page_url", "https://"),
        ("landing_page_url", "https://shop example.com/"),
    ):
        faulty = {k: v for k, v in {**creative, key: bad}.items() if v is not None}
        msg = err(await api.post("ad/create/", {**body, "creatives": [faulty]}), 40002)
        assert key in msg
    made = ok(await api.post("ad/create/", {**body, "creatives": [creative]}))
    assert made["creatives"][0]["landing_page_url"] == creative["landing_page_url"]


async def test_control_unshare_and_revoke_a_whole_login(api: Api) -> None:
    """An ad account taken away from a login stops answering its tokens and leaves the list;
    revoking by login refuses every token of it."""
    creds = {"app_id": api.emu.app_id, "secret": api.emu.secret}
    other = (await api.control("token", {}))["access_token"]
    await api.control("unshare", {"advertiser_id": US})
    listed = ok(await api.get("oauth2/advertiser/get/", **creds))["list"]
    assert US not in {a["advertiser_id"] for a in listed} and listed
    for token in (api.token, other):
        err(await api.get("advertiser/info/", token=token, advertiser_ids=[US]), 40001)
    assert US not in api.emu.state.users["demo"].advertiser_ids  # a new consent lacks it too
    async with api.s.post(f"{api.emu.url}/_emulator/unshare", json={"advertiser_id": US}) as r:
        assert r.status == 404  # not reachable any more
    assert (await api.control("revoke", {"user": "demo"}))["revoked"] == 2
    for token in (api.token, other):
        err(await api.get("oauth2/advertiser/get/", token=token, **creds), 40105)


# ------------------------------------------------------------------ report caches


async def _report_text(api: Api, **params: Any) -> str:
    """A report page's body as sent, without its request id."""
    base: dict[str, Any] = {"advertiser_id": US, "report_type": "BASIC", "page_size": 1000}
    q = {
        k: json.dumps(v) if isinstance(v, list | dict) else str(v)
        for k, v in {**base, **params}.items()
    }
    async with api.s.get(
        api.emu.api_url + "report/integrated/get/", params=q, headers=api._headers(None)
    ) as r:
        text = await r.text()
    assert json.loads(text)["code"] == 0, text
    return re.sub(r'"request_id": "[^"]*"', '"request_id": ""', text)


TODAY_REPORTS: list[dict[str, Any]] = [
    {"data_level": level, "dimensions": [dim, grain], "metrics": metrics,
     "start_date": day, "end_date": day}
    for level, dim in (("AUCTION_CAMPAIGN", "campaign_id"), ("AUCTION_AD", "ad_id"))
    for grain in ("stat_time_day", "stat_time_hour")
    # yesterday, today and tomorrow in the account's zone (Los Angeles)
    for day in ("2026-11-28", "2026-11-29", "2026-11-30")
    for metrics in (BASE, ["spend", "cpc", "ctr", "reach", "cost_per_conversion", "likes"])
]


async def _fresh(api: Api) -> list[str]:
    """The today reports from an engine and report cache that remember nothing."""
    emu = api.emu.emulator
    emu.engine = DeliveryEngine(emu.world)
    emu.caches.clear()
    return [await _report_text(api, **r) for r in TODAY_REPORTS]


async def test_running_day_answers_as_a_fresh_engine(api: Api) -> None:
    """Reports of yesterday, today and tomorrow, served from the emulator's kept day plans
    (across requests, levels and clock moves), read exactly as an engine computing from
    scratch: hours already passed, the hour in progress, after pauses and resumes, and after
    the clock went back."""
    ags = ok(await api.get("adgroup/get/", advertiser_id=US, page_size=100))["list"]
    ads = ok(await api.get("ad/get/", advertiser_id=US, page_size=100))["list"]
    steps: list[tuple[float, dict[str, Any] | None]] = [
        (0, None),
        (1500, {"path": "adgroup/status/update/", "adgroup_ids": [ags[0]["adgroup_id"]],
                "operation_status": "DISABLE"}),
        (2400, {"path": "ad/status/update/", "ad_ids": [ads[-1]["ad_id"]],
                "operation_status": "DISABLE"}),
        (1800, {"path": "adgroup/status/update/", "adgroup_ids": [ags[0]["adgroup_id"]],
                "operation_status": "ENABLE"}),
        (-5400, None),
        (7200, None),
    ]
    moved = 0
    for seconds, change in steps:
        if seconds:
            await api.control("clock", {"advance_seconds": seconds})
        if change is not None:
            path = change.pop("path")
            ok(await api.post(path, {"advertiser_id": US, **change}))
        # Twice through the kept plans (the second read of each comes from what the first
        # left behind), then from scratch; the report cache is emptied before each pass.
        kept = []
        for _ in range(2):
            api.emu.emulator.caches.clear()
            kept.append([await _report_text(api, **r) for r in TODAY_REPORTS])
        assert kept[0] == kept[1] == await _fresh(api)
        moved += 1
    assert moved == len(steps)
    at = TODAY_REPORTS.index(
        {"data_level": "AUCTION_CAMPAIGN", "dimensions": ["campaign_id", "stat_time_hour"],
         "metrics": BASE, "start_date": "2026-11-29", "end_date": "2026-11-29"}
    )
    hourly = json.loads(kept[0][at])["data"]["list"]  # today (Los Angeles) by hour
    assert any(Decimal(r["metrics"]["spend"]) > 0 for r in hourly)


async def test_report_pages_as_text_equal_the_encoded_rows(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Report pages written straight as JSON text are byte for byte what encoding the row
    dicts gives: attributes (names with quotes and Cyrillic), totals, sorting, no id dimension,
    country codes, paging past the end, several advertisers."""
    from sandbox.tiktok import reports

    camps = ok(await api.get("campaign/get/", advertiser_id=US, page_size=100))["list"]
    await api.post("campaign/update/", {"advertiser_id": US, "campaign_id": camps[0]["campaign_id"],
                                        "campaign_name": 'Летняя "распродажа" \\ 100%s'})
    queries: list[dict[str, Any]] = [
        {"data_level": "AUCTION_AD", "dimensions": ["ad_id", "stat_time_day"],
         "metrics": ["campaign_name", "adgroup_name", "ad_name", "bid", "spend", "cpc",
                     "campaign_id", "adgroup_id", "ad_id_v2", "currency", "advertiser_name"],
         "start_date": "2026-11-20", "end_date": "2026-11-29", "enable_total_metrics": "true"},
        {"data_level": "AUCTION_CAMPAIGN", "dimensions": ["campaign_id", "country_code"],
         "metrics": BASE, "start_date": "2026-11-20", "end_date": "2026-11-29",
         "order_field": "spend", "order_type": "ASC"},
        {"data_level": "AUCTION_ADGROUP", "dimensions": ["stat_time_hour"], "metrics": BASE,
         "start_date": "2026-11-28", "end_date": "2026-11-28", "page_size": 7, "page": 2},
        {"data_level": "AUCTION_AD", "dimensions": ["ad_id"], "metrics": BASE,
         "start_date": "2026-11-28", "end_date": "2026-11-28", "page": 9},
        {"data_level": "AUCTION_ADVERTISER", "dimensions": ["advertiser_id", "stat_time_day"],
         "metrics": [*BASE, "currency"], "start_date": "2026-11-25", "end_date": "2026-11-29",
         "advertiser_ids": [US, str(int(US) + 104729)]},  # the demo's second account
    ]
    as_text = [await _report_text(api, **q) for q in queries]
    api.emu.emulator.caches.clear()
    monkeypatch.setattr(
        reports, "render_json",
        lambda q, *grouped: RawJSON(json.dumps(reports.render(q, *grouped), ensure_ascii=False)),
    )
    assert as_text == [await _report_text(api, **q) for q in queries]
    assert "Летняя \\\"распродажа\\\" \\\\ 100%s" in as_text[0]


# What a sync asks for (core/sync.py): the back window by day, and today, yesterday and the
# backfill's older days by hour, with the ad's parents as attributes.
SYNC_REPORTS: list[dict[str, Any]] = [
    {"data_level": level, "dimensions": [dim, grain], "start_date": start, "end_date": end,
     "metrics": [*BASE, "campaign_id", "adgroup_id"] if level == "AUCTION_AD" else BASE}
    for level, dim in (("AUCTION_CAMPAIGN", "campaign_id"), ("AUCTION_AD", "ad_id"))
    for grain, start, end in (
        # 62 days back, in spans of at most 30 days (spec §7.1)
        ("stat_time_day", "2026-09-28", "2026-10-27"),
        ("stat_time_day", "2026-10-28", "2026-11-26"),
        ("stat_time_day", "2026-11-27", "2026-11-29"),
        *(("stat_time_hour", day, day) for day in
          ("2026-11-25", "2026-11-26", "2026-11-27", "2026-11-28", "2026-11-29")),
    )
]


async def test_warm_leaves_answers_unchanged(api: Api) -> None:
    """POST /_emulator/warm computes the delivery model ahead; every report a sync asks for
    then reads byte for byte as from an engine that computed nothing ahead, also after the
    clock moved and a paused ad group changed today's delivery."""
    ags = ok(await api.get("adgroup/get/", advertiser_id=US, page_size=100))["list"]
    async with api.s.post(f"{api.emu.url}/_emulator/warm", json={"advertiser_ids": ["1"]}) as r:
        assert r.status == 404  # an unknown account is refused, nothing warmed
    for change in (None, "advance", "pause"):
        if change == "advance":
            await api.control("clock", {"advance_seconds": 5400})
        elif change == "pause":
            ok(await api.post("adgroup/status/update/", {
                "advertiser_id": US, "adgroup_ids": [ags[0]["adgroup_id"]],
                "operation_status": "DISABLE"}))
        fresh = await _fresh_reports(api)
        emu = api.emu.emulator
        emu.engine = DeliveryEngine(emu.world)
        emu.caches.clear()
        warmed = await api.control("warm", {})
        assert warmed["campaigns"] > 0 and warmed["campaign_days"] > 0 and warmed["plans"] > 0
        assert [await _report_text(api, **r) for r in SYNC_REPORTS] == fresh
    rows = json.loads(fresh[0])["data"]["list"]
    assert len(rows) > 50 and any(Decimal(r["metrics"]["spend"]) > 0 for r in rows)


async def _fresh_reports(api: Api) -> list[str]:
    """SYNC_REPORTS from an engine and report cache that remember nothing."""
    emu = api.emu.emulator
    emu.engine = DeliveryEngine(emu.world)
    emu.caches.clear()
    return [await _report_text(api, **r) for r in SYNC_REPORTS]
