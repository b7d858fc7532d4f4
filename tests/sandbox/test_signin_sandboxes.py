"""The sandbox's stand-ins for sign-in: oauth.telegram.org's /auth pages (Login Widget data
signed as Telegram signs it) and the OpenID Connect provider playing Google (discovery, JWKS,
token endpoint refusals)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode, urlsplit

import aiohttp

from core.web_auth import login_widget_user
from sandbox.oidc.provider import CLIENT_ID, CLIENT_SECRET, start_provider
from sandbox.telegram.server import start_server

TOKEN = "7100000009:SandboxLoginToken"


async def test_telegram_auth_page_signs_the_chosen_user_as_telegram_does() -> None:
    server = await start_server(token=TOKEN)
    try:
        async with aiohttp.ClientSession() as http:
            await http.post(f"{server.url}/_sandbox/users",
                            json={"user_id": 55, "first_name": "Lena", "username": "lena"})
            q = {"bot_id": "7100000009", "origin": "http://site.example",
                 "request_access": "write", "return_to": "http://site.example/app/"}
            page = await (await http.get(f"{server.url}/auth?{urlencode(q)}")).text()
            assert 'data-user="55"' in page and "Lena (@lena)" in page
            for bad in ({**q, "bot_id": "1"}, {**q, "return_to": "http://evil.example/app/"}):
                assert (await http.get(f"{server.url}/auth?{urlencode(bad)}")).status == 400
            resp = await http.get(f"{server.url}/auth/confirm?{urlencode({**q, 'user_id': 55})}",
                                  allow_redirects=False)
            back = resp.headers["Location"]
        assert back.startswith("http://site.example/app/#tgAuthResult=")
        raw = back.split("tgAuthResult=", 1)[1]
        data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        assert data["id"] == 55 and data["username"] == "lena" and "hash" in data
        who = login_widget_user(TOKEN, {k: str(v) for k, v in data.items()},
                                datetime.now(UTC), timedelta(minutes=5))
        assert who is not None and who.user_id == 55
    finally:
        await server.stop()


async def test_oidc_provider_discovery_keys_and_token_refusals() -> None:
    running = await start_provider()
    try:
        async with aiohttp.ClientSession() as http:
            meta = await (await http.get(
                f"{running.url}/.well-known/openid-configuration")).json()
            assert meta["issuer"] == running.url
            assert meta["id_token_signing_alg_values_supported"] == ["RS256"]
            keys = await (await http.get(meta["jwks_uri"])).json()
            assert [k["kty"] for k in keys["keys"]] == ["RSA"] and "d" not in keys["keys"][0]
            # An unknown client, a wrong secret, an unknown code.
            form = {"grant_type": "authorization_code", "code": "nope",
                    "redirect_uri": "http://x/cb", "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET}
            resp = await http.post(meta["token_endpoint"], data={**form, "client_secret": "x"})
            assert resp.status == 401 and (await resp.json())["error"] == "invalid_client"
            resp = await http.post(meta["token_endpoint"], data=form)
            assert resp.status == 400 and (await resp.json())["error"] == "invalid_grant"
            bad = {"client_id": "stranger", "redirect_uri": "http://x/cb",
                   "response_type": "code", "scope": "openid", "state": "s"}
            assert (await http.get(f"{meta['authorization_endpoint']}?{urlencode(bad)}")
                    ).status == 400
            good = {**bad, "client_id": CLIENT_ID, "nonce": "n"}
            resp = await http.get(
                f"{meta['authorization_endpoint'].replace('/authorize', '/authorize/pick')}?"
                f"{urlencode({**good, 'email': 'demo@example.com'})}", allow_redirects=False)
            assert urlsplit(resp.headers["Location"]).query.endswith("state=s")
    finally:
        await running.stop()
