"""Contract: OAuth, ad accounts, Business Centers, auth and permission errors."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from core.tiktok import (
    AuthCodeError,
    InvalidRequestError,
    PermissionDeniedError,
    TikTokClient,
    TokenInvalidError,
)
from tests.contract.conftest import Emu, ResponseChecker
from tests.contract.consent import obtain_auth_code

REDIRECT = "http://127.0.0.1:8080/oauth/tiktok/callback"


async def test_consent_exchange_list_revoke(emu: Emu, client: TikTokClient) -> None:
    url = client.consent_url("state-42", REDIRECT)
    parts = urlsplit(url)
    assert url.startswith(emu.auth_url)
    assert parse_qs(parts.query) == {
        "app_id": [emu.app_id],
        "state": ["state-42"],
        "redirect_uri": [REDIRECT],
    }
    code, state = await obtain_auth_code(emu, url)
    assert state == "state-42"

    grant = await client.exchange_auth_code(code)
    assert grant.access_token and grant.advertiser_ids
    assert all(isinstance(i, str) for i in grant.advertiser_ids)
    with pytest.raises(AuthCodeError):  # single use, spec §2.2
        await client.exchange_auth_code(code)

    listed = await client.get_authorized_advertisers(grant.access_token)
    assert {a.advertiser_id for a in listed} == set(grant.advertiser_ids)
    assert all(a.advertiser_name for a in listed)

    revoked = await client.revoke_token(grant.access_token)
    assert set(revoked.advertiser_ids) == set(grant.advertiser_ids)
    with pytest.raises(TokenInvalidError):
        await client.get_advertisers(grant.access_token, list(grant.advertiser_ids))


async def test_advertisers_and_business_centers(
    emu: Emu, client: TikTokClient, checker: ResponseChecker
) -> None:
    token = emu.access_token
    listed = await client.get_authorized_advertisers(token)
    ids = [a.advertiser_id for a in listed]
    assert len(ids) >= 5
    advertisers = await client.get_advertisers(token, ids)
    assert {a.advertiser_id for a in advertisers} == set(ids)
    for adv in advertisers:
        assert adv.currency and adv.display_timezone and adv.status
        assert adv.balance is not None and adv.create_time is not None
    subset = await client.get_advertisers(token, ids[:2], fields=["advertiser_id", "currency"])
    assert [a.advertiser_id for a in subset] == ids[:2]
    assert all(a.currency for a in subset)

    bcs = await client.get_business_centers(token)
    assert bcs and all(bc.bc_id.isdigit() and bc.name for bc in bcs)
    assert {"advertiser/info/", "bc/get/", "oauth2/advertiser/get/"} <= checker.paths()


async def test_revoked_token_means_reconnect_without_retry(emu: Emu, client: TikTokClient) -> None:
    token = emu.access_token
    ids = [a.advertiser_id for a in await client.get_authorized_advertisers(token)]
    await emu.ctl("POST", "revoke", {"access_token": token})
    await emu.ctl("POST", "reset_stats")
    with pytest.raises(TokenInvalidError) as info:
        await client.get_campaigns(token, ids[0])
    assert info.value.code == 40105 and info.value.request_id
    assert await emu.requests() == {"campaign/get/": 1}


async def test_missing_token(client: TikTokClient, emu: Emu) -> None:
    with pytest.raises(TokenInvalidError) as info:
        await client.get_business_centers("")
    assert info.value.code == 40104


async def test_foreign_advertiser_is_permission_error(emu: Emu, client: TikTokClient) -> None:
    await emu.ctl("POST", "reset_stats")
    with pytest.raises(PermissionDeniedError) as info:
        await client.get_campaigns(emu.access_token, "7310000000009999999")
    assert info.value.code == 40001
    assert (await emu.requests()) == {"campaign/get/": 1}


async def test_invalid_request_carries_tiktok_message(emu: Emu, client: TikTokClient) -> None:
    with pytest.raises(AuthCodeError) as info:
        await client.exchange_auth_code("no-such-code")
    assert info.value.code == 40110
    ids = [a.advertiser_id for a in await client.get_authorized_advertisers(emu.access_token)]
    with pytest.raises(InvalidRequestError) as bad:
        await client.get_campaigns(
            emu.access_token, ids[0], filtering={"primary_status": "NOT_A_STATUS"}
        )
    assert bad.value.code == 40002
    assert "primary_status" in bad.value.message
