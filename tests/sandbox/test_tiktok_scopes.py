"""Permission scopes at the emulator: the consent page grants or withholds each optional scope,
the token answer lists what was granted, and an endpoint outside the token's scopes is refused
with TikTok's code (spec §2.3, §8.1, §9)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from core.tiktok.scopes import SCOPE_IDS
from sandbox.tiktok.browser import click, redirect_query
from sandbox.tiktok.scopes import DEFAULT_SCOPE_IDS
from sandbox.tiktok.server import start_emulator
from tests.sandbox.test_tiktok_emulator import NOW, US, Api, err, ok

REDIRECT = "http://127.0.0.1:9/cb"


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    """A fresh demo emulator frozen at NOW, with a client."""
    emu = await start_emulator(fixture="demo", now=NOW)
    async with aiohttp.ClientSession() as session:
        yield Api(emu, session)
    await emu.stop()


async def _grant(api: Api, withhold: tuple[str, ...] = ()) -> dict:
    """Consent (withholding the named permissions) and exchange the code: the token answer."""
    consent = f"{api.emu.auth_url}?app_id={api.emu.app_id}&state=s&redirect_uri={REDIRECT}"
    _, location, _ = await click(consent, withhold=withhold)
    code = redirect_query(location)["auth_code"]
    body = {"app_id": api.emu.app_id, "secret": api.emu.secret, "auth_code": code}
    return ok(await api.post("oauth2/access_token/", body, token=""))


async def _report(api: Api, token: str) -> dict:
    """A one-day account report with the given token."""
    return await api.get(
        "report/integrated/get/", token=token, advertiser_id=US, report_type="BASIC",
        data_level="AUCTION_ADVERTISER", dimensions=["advertiser_id", "stat_time_day"],
        metrics=["spend"], start_date="2026-11-28", end_date="2026-11-28",
    )


def test_product_and_emulator_read_scope_ids_alike() -> None:
    """The product's table of scope ids is the emulator's default (neither is public)."""
    assert SCOPE_IDS == DEFAULT_SCOPE_IDS


async def test_consent_grants_every_optional_scope_by_default(api: Api) -> None:
    """Authorize as offered: every scope granted, comments answer."""
    tok = await _grant(api)
    assert tok["scope"] == sorted(DEFAULT_SCOPE_IDS.values())
    got = await api.get("pixel/list/", token=tok["access_token"], advertiser_id=US)
    assert got["code"] == 0


async def test_withheld_scope_is_missing_and_its_endpoints_refused(api: Api) -> None:
    """Withholding comments and pixels: the answer lacks them, their endpoints say 40001."""
    tok = await _grant(api, withhold=("Comment management", "Pixels and events"))
    assert DEFAULT_SCOPE_IDS["comments"] not in tok["scope"]
    assert DEFAULT_SCOPE_IDS["pixels"] not in tok["scope"]
    assert DEFAULT_SCOPE_IDS["audiences"] in tok["scope"]
    token = tok["access_token"]
    msg = err(await api.get("pixel/list/", token=token, advertiser_id=US), 40001)
    assert "Pixels and events" in msg
    # The rest still works: ads management and reporting are always granted.
    ok(await api.get("campaign/get/", token=token, advertiser_id=US))
    ok(await _report(api, token))
    await api.control("config", {"missing_scope_code": 40130})
    err(await api.get("pixel/list/", token=token, advertiser_id=US), 40130)


async def test_consent_form_submits_the_ticked_boxes(api: Api) -> None:
    """The checkbox form: only ticked optional scopes are granted."""
    params = {
        "app_id": api.emu.app_id, "state": "f", "redirect_uri": REDIRECT, "user": "demo",
        "scopes_form": "1", "scope": "catalogs",
    }
    async with api.s.get(api.emu.auth_url + "/authorize", params=params,
                         allow_redirects=False) as r:
        code = redirect_query(r.headers["Location"])["auth_code"]
    body = {"app_id": api.emu.app_id, "secret": api.emu.secret, "auth_code": code}
    tok = ok(await api.post("oauth2/access_token/", body, token=""))
    ids = DEFAULT_SCOPE_IDS
    assert tok["scope"] == sorted([ids["ads_management"], ids["reporting"], ids["catalogs"]])


async def test_old_token_file_gets_the_required_scopes(tmp_path: Path) -> None:
    """A token saved as [4] before scopes existed still reads reports after a restart."""
    store = tmp_path / "tokens.json"
    emu = await start_emulator(fixture="demo", now=NOW, token_file=str(store))
    app_id = emu.app_id
    await emu.stop()
    old = {"token": "old", "app_id": app_id, "login": "demo", "advertiser_ids": [US],
           "scope": [4], "created": 0, "revoked": False}
    store.write_text(json.dumps([old]))
    again = await start_emulator(fixture="demo", now=NOW, token_file=str(store))
    try:
        async with aiohttp.ClientSession() as s:
            api = Api(again, s)
            ok(await _report(api, "old"))
            err(await api.get("pixel/list/", token="old", advertiser_id=US), 40001)
    finally:
        await again.stop()
