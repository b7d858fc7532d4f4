"""Google sign-in through OpenID Connect against the sandbox provider (sandbox/oidc): linking
from the bot's one-time offer, signing in by the linked `sub`, and every refusal — bad state,
bad nonce, wrong audience, wrong issuer, an expired ID token, a bad signature, a Google
account nobody linked, one already linked to someone else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from core import google_signin as g
from core.clock import FixedClock
from core.users import SignUp, register_user
from sandbox.oidc.provider import CLIENT_ID, CLIENT_SECRET, RunningProvider, start_provider
from storage.db import session_factory
from storage.uow import UnitOfWorkFactory
from storage.vault import Vault, generate_key_entry, parse_keyring
from tests.web.seed import NOW

REDIRECT = "http://127.0.0.1:1/app/google/callback"


@pytest.fixture
def uow(engine: AsyncEngine) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(session_factory(engine), Vault(parse_keyring(generate_key_entry("k"))))


@pytest.fixture
async def provider() -> AsyncIterator[RunningProvider]:
    running = await start_provider()
    running.config.now = lambda: NOW.timestamp()  # the provider's clock is the test's
    yield running
    await running.stop()


def client_for(provider: RunningProvider, client_id: str = CLIENT_ID) -> g.OidcClient:
    return g.OidcClient(g.OidcConfig(provider.url, client_id, CLIENT_SECRET, REDIRECT))


async def signed_up(uow: UnitOfWorkFactory, uid: int) -> None:
    await register_user(uow, FixedClock(NOW), SignUp(uid, "Ann", None, None, "en",
                                                     "Europe/Berlin", None, False))


async def consent(url: str, email: str = "demo@example.com") -> dict[str, str]:
    """What the browser does at the provider: open the consent page, pick `email`; the query
    the provider sends back to the redirect URI."""
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as resp:
            assert resp.status == 200, await resp.text()
            page = await resp.text()
        assert f'data-email="{email}"' in page
        base = url.split("/authorize", 1)[0]
        pick = base + "/authorize/pick?" + urlsplit(url).query + "&email=" + email
        async with http.get(pick, allow_redirects=False) as resp:
            assert resp.status == 302
            back = resp.headers["Location"]
    assert back.startswith(REDIRECT)
    return dict(parse_qsl(urlsplit(back).query))


async def round_trip(uow: UnitOfWorkFactory, client: g.OidcClient, user_id: int | None,
                     email: str = "demo@example.com", state: str | None = None
                     ) -> g.Finished:
    clock = FixedClock(NOW)
    url, bound = await g.begin(uow, clock, client, user_id)
    query = await consent(url, email)
    return await g.finish(uow, clock, client, bound if state is None else state, query)


async def test_link_then_sign_in_then_unlink(uow: UnitOfWorkFactory,
                                              provider: RunningProvider) -> None:
    clock = FixedClock(NOW)
    await signed_up(uow, 42)
    client = client_for(provider)
    # Not linked yet: Google alone signs nobody in.
    with pytest.raises(g.Refused) as refused:
        await round_trip(uow, client, None)
    assert refused.value.code == "not_linked"
    assert await g.offer_link(uow, clock, 777) is None  # never signed up: no offer
    offer = await g.offer_link(uow, clock, 42)
    assert offer is not None
    older = await g.offer_link(uow, clock, 42)  # a double tap: only the newest link works
    offer = await g.offer_link(uow, clock, 42)
    assert older is not None and offer is not None
    assert await g.take_offer(uow, clock, older) is None
    assert await g.take_offer(uow, clock, offer) == 42
    assert await g.take_offer(uow, clock, offer) is None  # once
    done = await round_trip(uow, client, 42)
    assert done == g.Finished(42, True, "demo@example.com")
    linked = await g.linked(uow, 42)
    assert linked is not None and linked.email == "demo@example.com" and linked.subject
    # Now "Sign in with Google" finds the user by the ID token's sub.
    assert await round_trip(uow, client, None) == g.Finished(42, False, "demo@example.com")
    # Another Google account signs nobody in; the same one cannot be linked to someone else.
    with pytest.raises(g.Refused) as refused:
        await round_trip(uow, client, None, "agency@example.com")
    assert refused.value.code == "not_linked"
    await signed_up(uow, 43)
    with pytest.raises(g.Refused) as refused:
        await round_trip(uow, client, 43)
    assert refused.value.code == "taken"
    assert await g.unlink(uow, 42) is True and await g.unlink(uow, 42) is False
    with pytest.raises(g.Refused) as refused:
        await round_trip(uow, client, None)
    assert refused.value.code == "not_linked"


async def test_an_offer_expires_after_ten_minutes(uow: UnitOfWorkFactory) -> None:
    await signed_up(uow, 42)
    offer = await g.offer_link(uow, FixedClock(NOW), 42)
    assert offer is not None
    late = FixedClock(NOW + g.OFFER_TTL)
    assert await g.take_offer(uow, late, offer) is None


@pytest.mark.parametrize("fault", ["aud", "iss", "expired", "signature", "nonce"])
async def test_a_spoiled_id_token_is_refused(uow: UnitOfWorkFactory, provider: RunningProvider,
                                             fault: str) -> None:
    await signed_up(uow, 42)
    client = client_for(provider)
    await round_trip(uow, client, 42)  # linked with a good token first
    provider.config.fault = fault
    with pytest.raises(g.Refused) as refused:
        await round_trip(uow, client, None)
    assert refused.value.code == fault
    provider.config.fault = None
    assert (await round_trip(uow, client, None)).user_id == 42


async def test_our_client_id_is_the_audience(uow: UnitOfWorkFactory,
                                             provider: RunningProvider) -> None:
    """A token the provider made for its client is refused by a client with another id (the
    token is right; it is not for us)."""
    await signed_up(uow, 42)
    await round_trip(uow, client_for(provider), 42)
    clock = FixedClock(NOW)
    ours = client_for(provider)
    url, bound = await g.begin(uow, clock, ours, None)
    query = await consent(url)
    other = client_for(provider, "another-app.apps.example")
    other._metadata = await ours.metadata()
    token = await ours.exchange(query["code"], await _verifier(uow, bound))
    with pytest.raises(g.Refused) as refused:
        await other.verify(token, await _nonce(uow, bound), NOW)
    assert refused.value.code == "aud"


async def _verifier(uow: UnitOfWorkFactory, state: str) -> str:
    async with uow() as u:
        from storage.models import WebOidcFlow

        row = await u.session.get(WebOidcFlow, g._digest(state))
        assert row is not None
        return row.verifier


async def _nonce(uow: UnitOfWorkFactory, state: str) -> str:
    async with uow() as u:
        from storage.models import WebOidcFlow

        row = await u.session.get(WebOidcFlow, g._digest(state))
        assert row is not None
        return row.nonce


async def test_bad_state_is_refused_and_a_state_works_once(uow: UnitOfWorkFactory,
                                                           provider: RunningProvider) -> None:
    await signed_up(uow, 42)
    client = client_for(provider)
    await round_trip(uow, client, 42)
    clock = FixedClock(NOW)
    # The state that came back is not the one this browser left with (login CSRF).
    url, bound = await g.begin(uow, clock, client, None)
    query = await consent(url)
    for wrong in ("", "x" * 43, bound[:-1] + ("A" if bound[-1] != "A" else "B")):
        with pytest.raises(g.Refused) as refused:
            await g.finish(uow, clock, client, wrong, query)
        assert refused.value.code == "state"
    with pytest.raises(g.Refused) as refused:
        await g.finish(uow, clock, client, bound, {**query, "state": "forged"})
    assert refused.value.code == "state"
    assert (await g.finish(uow, clock, client, bound, query)).user_id == 42
    with pytest.raises(g.Refused) as refused:  # the same state (and code) again
        await g.finish(uow, clock, client, bound, query)
    assert refused.value.code == "state"
    # A state older than the flow's 10 minutes.
    url, bound = await g.begin(uow, clock, client, None)
    query = await consent(url)
    with pytest.raises(g.Refused) as refused:
        await g.finish(uow, FixedClock(NOW + g.FLOW_TTL), client, bound, query)
    assert refused.value.code == "state"


async def test_a_replayed_code_or_a_wrong_pkce_verifier_is_refused(
        uow: UnitOfWorkFactory, provider: RunningProvider) -> None:
    client = client_for(provider)
    url, _bound = await g.begin(uow, FixedClock(NOW), client, None)
    query = await consent(url)
    with pytest.raises(g.Refused) as refused:
        await client.exchange(query["code"], "not-the-verifier")
    assert refused.value.code == "token"


async def test_the_link_is_in_the_export_and_goes_with_the_account(
        uow: UnitOfWorkFactory, tmp_path: Path) -> None:
    """web_identities is in the data inventory: /export holds the linked sub and email, and
    deleting the account deletes the link (tests/unit/test_privacy_* drive both by it)."""
    import json
    import zipfile

    from core.privacy import erase, export
    from tests.unit.test_privacy_erase import FakeTikTok
    from tests.unit.test_privacy_export import Texts

    clock = FixedClock(NOW)
    await signed_up(uow, 42)
    await g._link(uow, clock, 42, g.Verified("104331", "ann@example.com"))

    async def progress(done: int, total: int) -> None:
        return None

    path = tmp_path / "42.zip"
    await export.build_zip(uow, 42, path, Texts(), progress, NOW)
    docs = {n: json.loads(zipfile.ZipFile(path).read(n))
            for n in zipfile.ZipFile(path).namelist() if n.endswith(".json")}
    [ident] = docs["identity.json"]["tables"]["web_identities"]
    assert ident["subject"] == "104331" and ident["provider"] == "google"
    [contact] = docs["contact.json"]["tables"]["web_identities"]
    assert contact["email"] == "ann@example.com"
    await erase.request_erasure(uow, clock, FakeTikTok(), 42, "minor", 900)  # type: ignore[arg-type]
    assert await g.linked(uow, 42) is None
    async with uow() as u:
        assert await u.privacy.counts(42) == {}
