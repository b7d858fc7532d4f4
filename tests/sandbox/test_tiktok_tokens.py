"""With `token_file`, tokens the emulator issued outlive its restart, as TikTok's do."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from sandbox.tiktok.browser import click, redirect_query
from sandbox.tiktok.server import start_emulator

API = "/open_api/v1.3/"


async def _advertisers(url: str, app_id: str, secret: str, token: str) -> dict:
    async with aiohttp.ClientSession() as http, http.get(
        f"{url}{API}oauth2/advertiser/get/",
        params={"app_id": app_id, "secret": secret},
        headers={"Access-Token": token},
    ) as resp:
        return await resp.json()


async def test_tokens_survive_a_restart_and_so_does_a_revocation(tmp_path: Path) -> None:
    store = tmp_path / "tokens.json"
    emu = await start_emulator(fixture="demo", token_file=str(store))
    consent = f"{emu.auth_url}?app_id={emu.app_id}&state=s&redirect_uri=http://127.0.0.1:9/cb"
    _, location, _ = await click(consent)
    code = redirect_query(location)["auth_code"]
    async with aiohttp.ClientSession() as http, http.post(
        f"{emu.url}{API}oauth2/access_token/",
        json={"app_id": emu.app_id, "secret": emu.secret, "auth_code": code},
    ) as resp:
        token = (await resp.json())["data"]["access_token"]
    app_id, secret = emu.app_id, emu.secret
    await emu.stop()

    again = await start_emulator(fixture="demo", token_file=str(store))
    try:
        reply = await _advertisers(again.url, app_id, secret, token)
        assert reply["code"] == 0 and len(reply["data"]["list"]) == 3
        async with aiohttp.ClientSession() as http, http.post(
            f"{again.url}/_emulator/revoke", json={"access_token": token}
        ) as resp:
            assert resp.status == 200
    finally:
        await again.stop()

    third = await start_emulator(fixture="demo", token_file=str(store))
    try:
        assert (await _advertisers(third.url, app_id, secret, token))["code"] == 40105
    finally:
        await third.stop()

    fresh = await start_emulator(fixture="demo")  # without the file: an unknown token
    try:
        assert (await _advertisers(fresh.url, app_id, secret, token))["code"] != 0
    finally:
        await fresh.stop()
