"""Audience management against the emulator as outside clients call it (spec §9 "Audience
management (DMP)"): custom_audience/update (rename; APPEND, REMOVE, REPLACE of files, each
recomputed over emulated time), lookalike/update, rule/create from the account's pixels and
ad groups, share / share/cancel / share/log between accounts of one Business Center,
apply / apply/log reflected in adgroup/get, and saved audiences. The installed official SDK has
only custom_audience/list, which reads what the others changed; the rest goes over raw HTTP
with the bodies of TikTok's SDK docs (sandbox/tiktok/audience_admin.py cites them). Every
reply is checked against the response schemas (the shared ones, and below the ones these
paths answer)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import business_api_client as sdk
import pytest
from pydantic import StrictBool, StrictInt, StrictStr

from tests.contract.conftest import API_PREFIX, Emu, ResponseChecker
from tests.contract.raw_api import Api
from tests.contract.schemas import NumericId, PageInfo, _Obj, _validate, check_response
from tests.contract.test_official_sdk import call, first_account, official, ok

NOW = datetime.fromisoformat("2026-11-30T12:00:00+00:00")
READY = 600  # audience_ready_seconds of these tests


# ---------------------------------------------------------------- reply schemas of new paths


class Empty(_Obj):
    """`data: {}`."""


class NewAudience(_Obj):
    custom_audience_id: NumericId


class ShareLogRow(_Obj):
    shared_advertiser_id: NumericId
    shared_advertiser_name: StrictStr
    custom_audience_id: NumericId
    status: StrictStr


class ShareLog(_Obj):
    list: list[ShareLogRow]


class ApplyLogRow(_Obj):
    audience_id: NumericId
    adgroup_id: NumericId
    adgroup_name: StrictStr
    usage_mode: StrictStr
    editor: StrictStr
    action_timestamp: StrictStr


class ApplyLog(_Obj):
    advertiser_id: NumericId
    page_info: PageInfo
    list: list[ApplyLogRow]


class SavedAudience(_Obj):
    saved_audience_id: NumericId
    saved_audience_name: StrictStr
    location_ids: list[NumericId]
    audience_ids: list[NumericId]
    excluded_audience_ids: list[NumericId]
    age_groups: list[StrictStr]
    gender: StrictStr | None
    operating_systems: list[StrictStr]
    actions: list[dict[str, Any]]


class SavedList(_Obj):
    saved_audiences: list[SavedAudience]
    page_info: PageInfo


class NewSaved(_Obj):
    saved_audience_id: NumericId


class NewEventSet(_Obj):
    """offline/create/ (offline_create.yml): the set these tests build an audience from."""

    event_set_id: NumericId


class ListedAudience(_Obj):
    """The list fields these tests lean on, as the Go SDK's list.go types them."""

    audience_id: NumericId
    cover_num: StrictInt
    is_valid: StrictBool
    shared: StrictBool
    is_creator: StrictBool
    owner_id: NumericId


NEW_SCHEMAS: dict[str, type[_Obj]] = {
    "dmp/custom_audience/update/": Empty,
    "dmp/custom_audience/lookalike/update/": Empty,
    "dmp/custom_audience/rule/create/": NewAudience,
    "dmp/custom_audience/share/": Empty,
    "dmp/custom_audience/share/cancel/": Empty,
    "dmp/custom_audience/share/log/": ShareLog,
    "dmp/custom_audience/apply/": Empty,
    "dmp/custom_audience/apply/log/": ApplyLog,
    "dmp/saved_audience/create/": NewSaved,
    "dmp/saved_audience/list/": SavedList,
    "dmp/saved_audience/delete/": Empty,
    "offline/create/": NewEventSet,
}


class Checker(ResponseChecker):
    """The shared spec check, plus the schemas of the paths this module adds."""

    def trace_config(self) -> aiohttp.TraceConfig:
        config = aiohttp.TraceConfig()

        async def on_end(session: aiohttp.ClientSession, ctx: SimpleNamespace,
                         params: Any) -> None:
            url = params.url
            if API_PREFIX not in url.path:
                return
            path = url.path.split(API_PREFIX, 1)[1]
            body = await params.response.read()
            self.checked.append((params.method, path, params.response.status))
            if path not in NEW_SCHEMAS:
                self.problems += check_response(params.method, path, dict(url.query),
                                                params.response.status, body)
                return
            # Envelope and error rules through the shared check (an error never reaches the
            # "no schema" branch), the success body against this module's schema.
            payload = await params.response.json()
            if payload.get("code") != 0:
                self.problems += check_response(params.method, path, dict(url.query),
                                                params.response.status, body)
                return
            self.problems += _validate(NEW_SCHEMAS[path], payload["data"], path)

        config.on_request_end.append(on_end)
        return config


@pytest.fixture
async def checker() -> AsyncIterator[ResponseChecker]:
    """Every reply must match its schema (this module's for the paths it adds)."""
    state = Checker()
    yield state
    assert not state.problems, "spec drift:\n" + "\n".join(state.problems[:40])


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    """A fixed clock and a short computation, moved on by the tests."""
    return {"fixture": "demo", "now": NOW.isoformat(), "audience_ready_seconds": READY}


# ---------------------------------------------------------------- helpers


def _rows(start: int, stop: int) -> bytes:
    """SHA-256 hashed identifiers u<start>..u<stop-1>, one a line."""
    return "".join(hashlib.sha256(f"u{i}@x.io".encode()).hexdigest() + "\n"
                   for i in range(start, stop)).encode()


async def _upload(api: Api, adv: str, content: bytes, ctype: str = "EMAIL_SHA256") -> str:
    form = aiohttp.FormData(default_to_multipart=True)
    form.add_field("advertiser_id", adv)
    form.add_field("calculate_type", ctype)
    form.add_field("file_signature", hashlib.md5(content).hexdigest())
    form.add_field("file", content, filename="rows.txt", content_type="text/plain")
    async with api.session.post(api.api_url + "dmp/custom_audience/file/upload/", data=form,
                                headers=api.headers) as r:
        reply = await r.json()
    assert reply["code"] == 0, reply
    return str(reply["data"]["file_path"])


def _ok(reply: dict[str, Any]) -> dict[str, Any]:
    assert reply["code"] == 0, reply
    data: dict[str, Any] = reply["data"]
    return data


async def _audience(api: Api, adv: str, name: str, start: int, stop: int) -> str:
    path = await _upload(api, adv, _rows(start, stop))
    data = _ok(await api.post("dmp/custom_audience/create/", {
        "advertiser_id": adv, "custom_audience_name": name, "calculate_type": "EMAIL_SHA256",
        "file_paths": [path]}))
    return str(data["custom_audience_id"])


async def _listed(api: Api, adv: str, aud_id: str) -> dict[str, Any] | None:
    data = _ok(await api.get("dmp/custom_audience/list/", advertiser_id=adv, page_size=100))
    found = [a for a in data["list"] if a["audience_id"] == aud_id]
    return found[0] if found else None


async def _later(emu: Emu, seconds: int) -> None:
    """Move the emulator's (frozen) clock on."""
    await emu.ctl("POST", "clock", {"advance_seconds": seconds})


def _accounts(emu: Emu) -> tuple[str, str, str]:
    """Two accounts of the demo owner's Business Center and one of another center only."""
    owner = emu.state.users[emu.state.default_login]
    mine = owner.advertiser_ids
    other = next(a for a in emu.state.advertisers if a not in mine)
    return mine[0], mine[1], other


async def _adgroups(api: Api, adv: str, n: int) -> list[str]:
    data = _ok(await api.get("adgroup/get/", advertiser_id=adv, page_size=n))
    return [g["adgroup_id"] for g in data["list"]]


async def _targeting(api: Api, adv: str, ag_id: str) -> tuple[list[str], list[str]]:
    data = _ok(await api.get("adgroup/get/", advertiser_id=adv,
                             filtering={"adgroup_ids": [ag_id]}))
    [g] = data["list"]
    return g["audience_ids"], g["excluded_audience_ids"]


# ---------------------------------------------------------------- update and refresh


async def test_update_appends_removes_replaces_renames_and_recomputes(
    emu: Emu, api: Api
) -> None:
    """Each file action changes the rows as TikTok describes it; the audience is computed
    again (not valid, size 0) until audience_ready_seconds pass; a rename is immediate; get's
    history lists every change; a change leaving under 1000 people is refused untouched."""
    adv = first_account(emu)
    aud = await _audience(api, adv, "Buyers", 0, 1500)
    await _later(emu, READY + 1)
    assert (await _listed(api, adv, aud) or {})["cover_num"] == 1050  # 70% of 1500

    more = await _upload(api, adv, _rows(1400, 2100))  # 100 already in, 600 new
    _ok(await api.post("dmp/custom_audience/update/", {
        "advertiser_id": adv, "custom_audience_id": aud, "file_paths": [more],
        "action": "APPEND"}))
    computing = await _listed(api, adv, aud) or {}
    assert (computing["is_valid"], computing["cover_num"]) == (False, 0)
    await _later(emu, READY + 1)
    ready = await _listed(api, adv, aud) or {}
    assert (ready["is_valid"], ready["cover_num"]) == (True, 2100 * 70 // 100)

    gone = await _upload(api, adv, _rows(0, 300))
    _ok(await api.post("dmp/custom_audience/update/", {
        "advertiser_id": adv, "custom_audience_id": aud, "file_paths": [gone],
        "action": "REMOVE"}))
    await _later(emu, READY + 1)
    assert (await _listed(api, adv, aud) or {})["cover_num"] == 1800 * 70 // 100

    fresh = await _upload(api, adv, _rows(5000, 7000))
    _ok(await api.post("dmp/custom_audience/update/", {  # REPLACE is the default action
        "advertiser_id": adv, "custom_audience_id": aud, "file_paths": [fresh]}))
    await _later(emu, READY + 1)
    assert (await _listed(api, adv, aud) or {})["cover_num"] == 1400

    too_few = await _upload(api, adv, _rows(5000, 6000))
    refused = await api.post("dmp/custom_audience/update/", {
        "advertiser_id": adv, "custom_audience_id": aud, "file_paths": [too_few],
        "action": "REMOVE"})
    assert refused["code"] == 40002 and refused["data"] == {}
    still = await _listed(api, adv, aud) or {}
    assert (still["is_valid"], still["cover_num"]) == (True, 1400)

    _ok(await api.post("dmp/custom_audience/update/", {
        "advertiser_id": adv, "custom_audience_id": aud, "custom_audience_name": "Buyers v2"}))
    renamed = await _listed(api, adv, aud) or {}
    assert (renamed["name"], renamed["is_valid"]) == ("Buyers v2", True)

    got = _ok(await api.get("dmp/custom_audience/get/", advertiser_id=adv,
                            custom_audience_ids=[aud]))
    history = got["list"][0]["audience_history"]
    assert [h["action"] for h in history] == ["CREATE", "APPEND", "REMOVE", "REPLACE",
                                              "RENAME"]
    assert all(h["editor"] == "open_api" and h["opt_time"] for h in history)


async def test_update_refusals_and_sub_type(emu: Emu, api: Api) -> None:
    """Nothing to change, a file of another hashing, an unknown audience, a sub type other
    than REACH_FREQUENCY, files on a lookalike: refused; REACH_FREQUENCY reads back."""
    adv = first_account(emu)
    aud = await _audience(api, adv, "Base", 0, 1500)
    base = {"advertiser_id": adv, "custom_audience_id": aud}
    assert (await api.post("dmp/custom_audience/update/", base))["code"] == 40002
    phones = await _upload(api, adv, _rows(0, 1500), "PHONE_SHA256")
    wrong = await api.post("dmp/custom_audience/update/", {**base, "file_paths": [phones]})
    assert wrong["code"] == 40002
    bad_action = await api.post("dmp/custom_audience/update/", {
        **base, "file_paths": [phones], "action": "MERGE"})
    assert bad_action["code"] == 40002
    unknown = await api.post("dmp/custom_audience/update/", {
        "advertiser_id": adv, "custom_audience_id": "190000000", "custom_audience_name": "x"})
    assert unknown["code"] == 40007
    normal = await api.post("dmp/custom_audience/update/", {**base,
                                                          "audience_sub_type": "NORMAL"})
    assert normal["code"] == 40002
    _ok(await api.post("dmp/custom_audience/update/", {**base,
                                                     "audience_sub_type": "REACH_FREQUENCY"}))
    assert (await _listed(api, adv, aud) or {})["audience_sub_type"] == "REACH_FREQUENCY"

    await _later(emu, READY + 1)
    lal = _ok(await api.post("dmp/custom_audience/lookalike/create/", {
        "advertiser_id": adv, "custom_audience_name": "LAL",
        "lookalike_spec": {"source_audience_id": aud, "audience_size": "NARROW"}}))
    lal_id = lal["custom_audience_id"]
    more = await _upload(api, adv, _rows(0, 10))
    on_lal = await api.post("dmp/custom_audience/update/", {
        "advertiser_id": adv, "custom_audience_id": lal_id, "file_paths": [more]})
    assert on_lal["code"] == 40002
    rf_lal = await api.post("dmp/custom_audience/update/", {
        "advertiser_id": adv, "custom_audience_id": lal_id,
        "audience_sub_type": "REACH_FREQUENCY"})
    assert rf_lal["code"] == 40002


async def test_lookalike_refresh_recomputes_only_lookalikes(emu: Emu, api: Api) -> None:
    """lookalike/update makes a computed lookalike compute again; a customer-file audience
    cannot be refreshed; get's history shows the refresh."""
    adv = first_account(emu)
    src = await _audience(api, adv, "Seed", 0, 300)
    await _later(emu, READY + 1)
    lal = _ok(await api.post("dmp/custom_audience/lookalike/create/", {
        "advertiser_id": adv, "custom_audience_name": "LAL",
        "lookalike_spec": {"source_audience_id": src, "audience_size": "BROAD"}}))
    lal_id = lal["custom_audience_id"]
    await _later(emu, READY + 1)
    assert (await _listed(api, adv, lal_id) or {})["is_valid"] is True

    _ok(await api.post("dmp/custom_audience/lookalike/update/", {
        "advertiser_id": adv, "custom_audience_ids": [lal_id]}))
    assert (await _listed(api, adv, lal_id) or {})["is_valid"] is False
    await _later(emu, READY + 1)
    refreshed = await _listed(api, adv, lal_id) or {}
    assert refreshed["is_valid"] is True and refreshed["cover_num"] == 11_000_000
    not_lal = await api.post("dmp/custom_audience/lookalike/update/", {
        "advertiser_id": adv, "custom_audience_ids": [src]})
    assert not_lal["code"] == 40002
    got = _ok(await api.get("dmp/custom_audience/get/", advertiser_id=adv,
                            custom_audience_ids=[lal_id]))
    assert [h["action"] for h in got["list"][0]["audience_history"]] == ["CREATE", "REFRESH"]


# ---------------------------------------------------------------- rule audiences


async def test_rule_audience_from_the_accounts_pixel_and_ad_groups(emu: Emu, api: Api) -> None:
    """A website audience from a pixel pixel/list shows for the account; an engagement one from
    its ad groups; an offline one from its offline event set; listed with list.go's type names,
    computed over time. Pixels or event sets of another account, events of another kind,
    missing or forbidden sources are refused."""
    adv, _, other = _accounts(emu)
    [px] = [p["pixel_id"] for p in
            _ok(await api.get("pixel/list/", advertiser_id=adv))["pixels"]][:1]
    [foreign_px] = [p["pixel_id"] for p in
                    _ok(await api.get("pixel/list/", advertiser_id=other))["pixels"]][:1]

    def body(kind: str, rule: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {"advertiser_id": adv, "custom_audience_name": f"{kind} rule",
                "audience_type": kind,
                "rule_spec": {"inclusion_rule_set": {"operator": "OR", "rules": [rule]}},
                **extra}

    def event(value: str) -> dict[str, Any]:
        return {"operator": "OR",
                "filters": [{"field": "EVENT", "operator": "EQ", "value": value}]}

    site = _ok(await api.post("dmp/custom_audience/rule/create/", body("PIXEL", {
        "event_source_ids": [px], "retention_days": 30,
        "filter_set": event("COMPLETE PAYMENT")})))["custom_audience_id"]
    listed = await _listed(api, adv, site) or {}
    assert listed["audience_type"] == "Website Audience"
    assert (listed["is_valid"], listed["cover_num"], listed["is_auto_refresh"]) == (False, 0,
                                                                                   True)
    assert px in listed["rule"]
    await _later(emu, READY + 1)
    ready = await _listed(api, adv, site) or {}
    assert ready["is_valid"] and ready["cover_num"] > 0
    ListedAudience.model_validate(ready)

    groups = await _adgroups(api, adv, 2)
    engaged = _ok(await api.post("dmp/custom_audience/rule/create/", body("ENGAGEMENT", {
        "event_source_ids": groups, "retention_days": 7, "filter_set": event("CLICK")},
        is_auto_refresh=False)))["custom_audience_id"]
    shown = await _listed(api, adv, engaged) or {}
    assert (shown["audience_type"], shown["is_auto_refresh"]) == ("Engagement Audience", False)

    event_set = _ok(await api.post("offline/create/", {
        "advertiser_id": adv, "name": "Store sales", "description": ""}))["event_set_id"]
    foreign_set = _ok(await api.post("offline/create/", {
        "advertiser_id": other, "name": "Theirs", "description": ""}))["event_set_id"]
    offline = _ok(await api.post("dmp/custom_audience/rule/create/", body("OFFLINE", {
        "event_source_ids": [event_set], "retention_days": 90,
        "filter_set": event("OFFLINE COMPLETE PAYMENT")})))["custom_audience_id"]
    assert (await _listed(api, adv, offline) or {})["audience_type"] == (
        "Offline Activity Audience")

    refusals = [
        body("PIXEL", {"event_source_ids": [foreign_px], "retention_days": 30}),
        body("PIXEL", {"retention_days": 30}),  # a website audience names its pixels
        body("PIXEL", {"event_source_ids": [px], "retention_days": 30,
                       "filter_set": event("CLICK")}),  # an ad event, not a site one
        body("PIXEL", {"event_source_ids": [px]}),  # no lookback
        body("LEAD_GENERATION", {"event_source_ids": groups, "retention_days": 30}),
        body("ENGAGEMENT", {"event_source_ids": ["1"], "retention_days": 30}),
        body("OFFLINE", {"event_source_ids": [foreign_set], "retention_days": 30}),
        body("TIKTOK_SHOP", {"event_source_ids": ["1"], "retention_days": 30}),
        {**body("PIXEL", {"event_source_ids": [px], "retention_days": 30}),
         "rule_spec": {"inclusion_rule_set": {"operator": "AND", "rules": []}}},
    ]
    for bad in refusals:
        reply = await api.post("dmp/custom_audience/rule/create/", bad)
        assert reply["code"] == 40002, (bad, reply)
    assert {a["audience_id"] for a in _ok(await api.get(
        "dmp/custom_audience/list/", advertiser_id=adv, page_size=100))["list"]} == {
            site, engaged, offline}


# ---------------------------------------------------------------- sharing


async def test_share_shows_the_audience_to_the_other_account_until_cancelled(
    emu: Emu, api: Api
) -> None:
    """Shared with an account of the same Business Center, the audience is in that account's
    list (read with TikTok's own SDK) as shared, not its creator, owned by the sharer; the
    owner's list shows it shared; only the owner may change or delete it; the log records the
    share and its cancellation, after which the other account no longer sees it."""
    owner, peer, outsider = _accounts(emu)
    aud = await _audience(api, owner, "Shared", 0, 300)
    assert (await api.post("dmp/custom_audience/share/", {
        "advertiser_id": owner, "custom_audience_ids": [aud],
        "shared_advertiser_ids": [outsider]}))["code"] == 40002  # another Business Center
    _ok(await api.post("dmp/custom_audience/share/", {
        "advertiser_id": owner, "custom_audience_ids": [aud], "shared_advertiser_ids": [peer]}))

    sdk_api = sdk.AudienceApi(official(emu))
    theirs = ok(await call(sdk_api.dmp_custom_audience_list, peer, emu.access_token,
                           page_size=100))
    [seen] = [a for a in theirs["list"] if a["audience_id"] == aud]
    assert (seen["shared"], seen["is_creator"], seen["owner_id"]) == (True, False, owner)
    mine = await _listed(api, owner, aud) or {}
    assert (mine["shared"], mine["is_creator"], mine["owner_id"]) == (True, True, owner)
    got = _ok(await api.get("dmp/custom_audience/get/", advertiser_id=peer,
                            custom_audience_ids=[aud]))
    assert got["list"][0]["audience_details"]["is_creator"] is False

    rename = await api.post("dmp/custom_audience/update/", {
        "advertiser_id": peer, "custom_audience_id": aud, "custom_audience_name": "mine"})
    assert rename["code"] == 40001
    delete = await api.post("dmp/custom_audience/delete/", {
        "advertiser_id": peer, "custom_audience_ids": [aud]})
    assert delete["code"] == 40007
    assert (await api.get("dmp/custom_audience/share/log/", advertiser_id=peer,
                          custom_audience_id=aud))["code"] == 40001

    log = _ok(await api.get("dmp/custom_audience/share/log/", advertiser_id=owner,
                            custom_audience_id=aud))
    assert [(r["shared_advertiser_id"], r["status"]) for r in log["list"]] == [(peer, "SHARED")]
    assert log["list"][0]["shared_advertiser_name"] == emu.state.advertisers[peer].name

    _ok(await api.post("dmp/custom_audience/share/cancel/", {
        "advertiser_id": owner, "custom_audience_id": aud, "shared_advertiser_id": peer}))
    assert await _listed(api, peer, aud) is None
    assert (await _listed(api, owner, aud) or {})["shared"] is False
    log = _ok(await api.get("dmp/custom_audience/share/log/", advertiser_id=owner,
                            custom_audience_id=aud))
    assert [r["status"] for r in log["list"]] == ["CANCELLED"]
    again = await api.post("dmp/custom_audience/share/cancel/", {
        "advertiser_id": owner, "custom_audience_id": aud, "shared_advertiser_id": peer})
    assert again["code"] == 40002

    # Shared again, then deleted by its owner: gone for both accounts.
    _ok(await api.post("dmp/custom_audience/share/", {
        "advertiser_id": owner, "custom_audience_ids": [aud], "shared_advertiser_ids": [peer]}))
    assert (await _listed(api, peer, aud) or {}).get("is_creator") is False
    _ok(await api.post("dmp/custom_audience/delete/", {"advertiser_id": owner,
                                                       "custom_audience_ids": [aud]}))
    assert await _listed(api, peer, aud) is None
    assert (await api.get("dmp/custom_audience/share/log/", advertiser_id=owner,
                          custom_audience_id=aud))["code"] == 40007


# ---------------------------------------------------------------- apply


async def test_apply_include_exclude_disconnect_reads_back_in_adgroup_get(
    emu: Emu, api: Api
) -> None:
    """Apply Include puts the id (a string) in the ad groups' audience_ids, Exclude moves it to
    excluded_audience_ids, Disconnect takes it out; apply/log keeps the latest Apply per ad
    group in the asked time zone; a shared audience may be applied by the account it was
    shared with; wrong input is refused."""
    owner, peer, _ = _accounts(emu)
    aud = await _audience(api, owner, "Apply me", 0, 300)
    g1, g2 = await _adgroups(api, owner, 2)
    _ok(await api.post("dmp/custom_audience/apply/", {
        "advertiser_id": owner, "custom_audience_id": aud, "adgroup_ids": [g1, g2],
        "action_mode": "Apply", "usage_mode": "Include"}))
    assert await _targeting(api, owner, g1) == ([aud], [])
    assert await _targeting(api, owner, g2) == ([aud], [])

    await _later(emu, 3600)
    _ok(await api.post("dmp/custom_audience/apply/", {
        "advertiser_id": owner, "custom_audience_id": aud, "adgroup_ids": [g2],
        "action_mode": "Apply", "usage_mode": "Exclude"}))
    assert await _targeting(api, owner, g2) == ([], [aud])
    _ok(await api.post("dmp/custom_audience/apply/", {
        "advertiser_id": owner, "custom_audience_id": aud, "adgroup_ids": [g1],
        "action_mode": "Disconnect"}))
    assert await _targeting(api, owner, g1) == ([], [])

    log = _ok(await api.get("dmp/custom_audience/apply/log/", advertiser_id=owner,
                            custom_audience_ids=[aud], timezone="Asia/Tokyo"))
    assert log["page_info"]["total_number"] == 2
    assert [(r["adgroup_id"], r["usage_mode"]) for r in log["list"]] == [(g2, "Exclude"),
                                                                        (g1, "Include")]
    first_apply = (NOW + timedelta(hours=9)).strftime("%Y-%m-%d %H:%M:%S")
    assert log["list"][1]["action_timestamp"] == first_apply  # Tokyo is UTC+9
    page = _ok(await api.get("dmp/custom_audience/apply/log/", advertiser_id=owner,
                             custom_audience_ids=[aud], page=2, page_size=1))
    assert [r["adgroup_id"] for r in page["list"]] == [g1]

    _ok(await api.post("dmp/custom_audience/share/", {
        "advertiser_id": owner, "custom_audience_ids": [aud], "shared_advertiser_ids": [peer]}))
    [pg] = await _adgroups(api, peer, 1)
    _ok(await api.post("dmp/custom_audience/apply/", {
        "advertiser_id": peer, "custom_audience_id": aud, "adgroup_ids": [pg],
        "action_mode": "Apply", "usage_mode": "Include"}))
    assert await _targeting(api, peer, pg) == ([aud], [])

    base = {"advertiser_id": owner, "custom_audience_id": aud, "adgroup_ids": [g1]}
    for bad, code in (
        ({**base, "action_mode": "Apply"}, 40002),  # usage_mode is required with Apply
        ({**base, "action_mode": "Attach", "usage_mode": "Include"}, 40002),
        ({**base, "adgroup_ids": [pg], "action_mode": "Apply", "usage_mode": "Include"}, 40002),
        ({**base, "custom_audience_id": "190000000", "action_mode": "Disconnect"}, 40007),
    ):
        reply = await api.post("dmp/custom_audience/apply/", bad)
        assert reply["code"] == code, (bad, reply)
    _ok(await api.post("dmp/custom_audience/update/", {
        "advertiser_id": owner, "custom_audience_id": aud,
        "audience_sub_type": "REACH_FREQUENCY"}))
    rf = await api.post("dmp/custom_audience/apply/", {**base, "action_mode": "Apply",
                                                       "usage_mode": "Include"})
    assert rf["code"] == 40002  # an R&F audience fits R&F ad groups only
    assert await _targeting(api, owner, g1) == ([], [])


# ---------------------------------------------------------------- saved audiences


async def test_saved_audiences_are_listed_and_deletable(emu: Emu, api: Api) -> None:
    """A saved audience keeps its targeting (ids as strings, behaviour periods as documented),
    is listed and filtered by id, and is gone once deleted; invalid targeting, audiences not
    in the account and one saved audience over the account's cap are refused."""
    adv, _, other = _accounts(emu)
    aud = await _audience(api, adv, "For saving", 0, 300)
    made = _ok(await api.post("dmp/saved_audience/create/", {
        "advertiser_id": adv, "saved_audience_name": "US women 25-34",
        "location_ids": [6252001], "gender": "GENDER_FEMALE", "age_groups": ["AGE_25_34"],
        "audience_ids": [aud], "operating_systems": ["IOS"],
        "actions": [{"action_scene": "CREATOR_RELATED", "action_period": 15,
                     "video_user_actions": ["FOLLOWING"], "action_category_ids": ["1"]}]}))
    sid = made["saved_audience_id"]
    second = _ok(await api.post("dmp/saved_audience/create/", {
        "advertiser_id": adv, "saved_audience_name": "Everyone US",
        "location_ids": ["6252001"]}))["saved_audience_id"]

    listed = _ok(await api.get("dmp/saved_audience/list/", advertiser_id=adv))
    assert [s["saved_audience_id"] for s in listed["saved_audiences"]] == [sid, second]
    first = listed["saved_audiences"][0]
    assert first["location_ids"] == ["6252001"] and first["audience_ids"] == [aud]
    assert first["actions"][0]["action_period"] == 0  # CREATOR_RELATED always uses 0
    picked = _ok(await api.get("dmp/saved_audience/list/", advertiser_id=adv,
                               saved_audience_ids=[second]))
    assert [s["saved_audience_name"] for s in picked["saved_audiences"]] == ["Everyone US"]
    assert _ok(await api.get("dmp/saved_audience/list/", advertiser_id=other))[
        "saved_audiences"] == []

    base = {"advertiser_id": adv, "saved_audience_name": "x", "location_ids": ["6252001"]}
    for bad in (
        {"advertiser_id": adv, "saved_audience_name": "no place"},
        {**base, "operating_systems": ["IOS", "ANDROID"]},
        {**base, "audience_ids": ["190000000"]},
        {**base, "gender": "GENDER_ANY"},
        {**base, "saved_audience_name": "🎯 emoji"},
        {**base, "device_price_ranges": [0, 275]},
        {**base, "actions": [{"action_scene": "VIDEO_RELATED", "action_period": 7,
                              "video_user_actions": ["FOLLOWING"],
                              "action_category_ids": ["1"]}]},
    ):
        reply = await api.post("dmp/saved_audience/create/", bad)
        assert reply["code"] == 40002, (bad, reply)
    await emu.ctl("POST", "config", {"saved_audience_max": 2})
    assert (await api.post("dmp/saved_audience/create/", base))["code"] == 40002

    _ok(await api.post("dmp/saved_audience/delete/", {"advertiser_id": adv,
                                                      "saved_audience_ids": [sid]}))
    left = _ok(await api.get("dmp/saved_audience/list/", advertiser_id=adv))
    assert [s["saved_audience_id"] for s in left["saved_audiences"]] == [second]
    again = await api.post("dmp/saved_audience/delete/", {"advertiser_id": adv,
                                                          "saved_audience_ids": [sid]})
    assert again["code"] == 40007
    assert (await api.get("dmp/saved_audience/list/", advertiser_id=adv,
                          page_size=101))["code"] == 40002


async def test_the_new_paths_need_the_audience_scope(emu: Emu, session: Any) -> None:
    """A token granted without Audience management is refused on every new path."""
    minted = await emu.ctl("POST", "token", {"withhold": ["audiences"]})
    api = Api(emu.api_url, minted["access_token"], session)
    adv = first_account(emu)
    assert (await api.get("dmp/saved_audience/list/", advertiser_id=adv))["code"] == 40001
    for path in ("dmp/custom_audience/update/", "dmp/custom_audience/share/",
                 "dmp/custom_audience/apply/", "dmp/custom_audience/rule/create/"):
        assert (await api.post(path, {"advertiser_id": adv}))["code"] == 40001, path


async def test_shares_applies_and_saved_audiences_outlive_a_restart(tmp_path: Path) -> None:
    """With `world_file` (the offline demo's), what audience management changed is kept."""
    from sandbox.tiktok.server import start_emulator

    kept = str(tmp_path / "world.pickle")
    first = await start_emulator(fixture="demo", now=NOW.isoformat(), world_file=kept)
    owner = first.state.users[first.state.default_login].advertiser_ids[0]
    peer = first.state.users[first.state.default_login].advertiser_ids[1]
    async with aiohttp.ClientSession() as session:
        api = Api(first.api_url, first.access_token, session)
        aud = await _audience(api, owner, "Kept", 0, 300)
        [group] = await _adgroups(api, owner, 1)
        _ok(await api.post("dmp/custom_audience/share/", {
            "advertiser_id": owner, "custom_audience_ids": [aud],
            "shared_advertiser_ids": [peer]}))
        _ok(await api.post("dmp/custom_audience/apply/", {
            "advertiser_id": owner, "custom_audience_id": aud, "adgroup_ids": [group],
            "action_mode": "Apply", "usage_mode": "Exclude"}))
        saved = _ok(await api.post("dmp/saved_audience/create/", {
            "advertiser_id": owner, "saved_audience_name": "Kept too",
            "location_ids": ["6252001"]}))["saved_audience_id"]
    await first.stop()

    again = await start_emulator(fixture="demo", now=NOW.isoformat(), world_file=kept)
    try:
        async with aiohttp.ClientSession() as session:
            api = Api(again.api_url, again.access_token, session)
            assert (await _listed(api, peer, aud) or {}).get("is_creator") is False
            assert await _targeting(api, owner, group) == ([], [aud])
            log = _ok(await api.get("dmp/custom_audience/apply/log/", advertiser_id=owner,
                                    custom_audience_ids=[aud]))
            assert [r["adgroup_id"] for r in log["list"]] == [group]
            listed = _ok(await api.get("dmp/saved_audience/list/", advertiser_id=owner))
            assert [s["saved_audience_id"] for s in listed["saved_audiences"]] == [saved]
    finally:
        await again.stop()
