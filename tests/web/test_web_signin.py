"""Signing in from a plain browser, over HTTP against the dashboard in-process: the Login
Widget's data (valid, tampered, stale, another bot's, not signed up), Google through the sandbox
OIDC provider (link from the bot's offer, sign in, a state from another browser, another
user's offer), and cookies (no analytics cookie before consent; the choice recorded)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import urlsplit

import aiohttp
import pytest
from aiohttp import CookieJar, web
from aiohttp.test_utils import TestServer

from bot.i18n import make_i18n
from core import google_signin, web_auth
from core.billing.plans import PlanBook
from sandbox.oidc.provider import CLIENT_ID, CLIENT_SECRET, RunningProvider, start_provider
from sandbox.telegram.login import sign_login_data
from tests.web.conftest import TOKEN, Dash
from tests.web.seed import NOW
from web.app import mount
from web.cookies import ANALYTICS, CONSENT, LANG
from web.deps import WebDeps
from web.security import COOKIE

HOUR = timedelta(hours=1)


def widget(uid: int, at: int | None = None, token: str = TOKEN) -> dict[str, str]:
    return sign_login_data(token, {"id": uid, "first_name": "Ann", "username": "ann"},
                           int(NOW.timestamp()) if at is None else at)


def test_login_widget_data_is_checked_as_telegram_documents() -> None:
    good = web_auth.login_widget_user(TOKEN, widget(42), NOW, HOUR)
    assert good is not None and good.user_id == 42 and good.username == "ann"
    assert "photo_url" in widget(42)
    # Another id with the first one's hash; a later auth_date grafted on; a field added.
    assert web_auth.login_widget_user(TOKEN, {**widget(42), "id": "43"}, NOW, HOUR) is None
    old = widget(42, int((NOW - 2 * HOUR).timestamp()))
    assert web_auth.login_widget_user(TOKEN, old, NOW, HOUR) is None  # stale
    grafted = {**old, "auth_date": str(int(NOW.timestamp()))}
    assert web_auth.login_widget_user(TOKEN, grafted, NOW, HOUR) is None
    assert web_auth.login_widget_user(TOKEN, {**widget(42), "is_admin": "1"}, NOW, HOUR) is None
    # Signed with another bot's token, or with initData's key derivation: refused.
    assert web_auth.login_widget_user(TOKEN, widget(42, token="1:other"), NOW, HOUR) is None
    no_hash = {k: v for k, v in widget(42).items() if k != "hash"}
    assert web_auth.login_widget_user(TOKEN, no_hash, NOW, HOUR) is None
    future = widget(42, int((NOW + HOUR).timestamp()))
    assert web_auth.login_widget_user(TOKEN, future, NOW, HOUR) is None


async def test_login_widget_signs_in_signed_up_users_only(dash: Dash) -> None:
    client = await dash.client()

    async def post(fields: dict[str, str]) -> int:
        return (await client.post("/app/signin/telegram", json={"auth": fields})).status

    page = await (await client.get("/app/")).text()
    assert 'id="telegram-login"' in page and "/auth?bot_id=7100000001" in page
    assert await post(widget(777)) == 403  # Telegram's, but never signed up in the bot
    assert await post({**widget(dash.mine.user_id), "id": str(dash.other.user_id)}) == 403
    stale = widget(dash.mine.user_id, int((NOW - timedelta(days=2)).timestamp()))
    assert await post(stale) == 403
    assert "Glowly" not in await (await client.get("/app/")).text()
    resp = await client.post("/app/signin/telegram", json={"auth": widget(dash.mine.user_id)})
    assert resp.status == 200 and resp.cookies[COOKIE]["httponly"]
    assert "Glowly 501" in await (await client.get("/app/")).text()


# ---------------------------------------------------------------- Google


@pytest.fixture
async def oidc() -> AsyncIterator[RunningProvider]:
    running = await start_provider()
    running.config.now = lambda: NOW.timestamp()
    yield running
    await running.stop()


@pytest.fixture
async def gdash(dash: Dash, oidc: RunningProvider) -> AsyncIterator[TestServer]:
    """The same data behind a dashboard with Google sign-in configured (the sandbox's)."""
    server = TestServer(web.Application())
    await server.start_server()  # its port first: the redirect URI names it
    redirect = f"http://127.0.0.1:{server.port}/app/google/callback"
    client = google_signin.OidcClient(google_signin.OidcConfig(oidc.url, CLIENT_ID,
                                                               CLIENT_SECRET, redirect))
    app = web.Application()
    mount(app, WebDeps(dash.uow, dash.clock, make_i18n(), TOKEN,
                       f"http://127.0.0.1:{server.port}", plans=PlanBook(), google=client))
    await server.close()
    server = TestServer(app, port=int(urlsplit(redirect).port or 0))
    await server.start_server()
    yield server
    await server.close()


async def browser(server: TestServer) -> aiohttp.ClientSession:
    """A browser of its own (cookies) on the dashboard; closing it leaves the server up."""
    return aiohttp.ClientSession(base_url=str(server.make_url("/")),
                                 cookie_jar=CookieJar(unsafe=True))


async def at_provider(url: str, email: str = "demo@example.com") -> str:
    """Pick `email` on the provider's consent page; the callback path and query it sends to."""
    async with aiohttp.ClientSession() as http:
        page = await (await http.get(url)).text()
        assert f'data-email="{email}"' in page
        pick = url.replace("/authorize?", "/authorize/pick?") + "&email=" + email
        async with http.get(pick, allow_redirects=False) as resp:
            back = urlsplit(resp.headers["Location"])
    return f"{back.path}?{back.query}"


async def test_google_link_from_the_bots_offer_then_sign_in(dash: Dash, gdash: TestServer) -> None:
    uid = dash.mine.user_id
    offer = await google_signin.offer_link(dash.uow, dash.clock, uid)
    laptop = await browser(gdash)
    try:
        page = await (await laptop.get("/app/")).text()
        assert 'id="google-login"' in page
        resp = await laptop.get(f"/app/google/link/{offer}", allow_redirects=False)
        assert resp.status == 303 and resp.cookies["ttpulse_oidc"]["httponly"]
        back = await at_provider(resp.headers["Location"])
        resp = await laptop.get(back, allow_redirects=False)
        assert resp.status == 200 and 'id="google-linked"' in await resp.text()
        assert "demo@example.com" in await resp.text() and COOKIE in resp.cookies
        # The offer was used.
        again = await laptop.get(f"/app/google/link/{offer}", allow_redirects=False)
        assert again.status == 403 and 'data-code="offer"' in await again.text()
    finally:
        await laptop.close()
    phone = await browser(gdash)
    try:
        resp = await phone.get("/app/google/start", allow_redirects=False)
        back = await at_provider(resp.headers["Location"])
        resp = await phone.get(back, allow_redirects=False)
        assert resp.status == 303 and resp.headers["Location"] == "/app/"
        assert "Glowly 501" in await (await phone.get("/app/")).text()
    finally:
        await phone.close()
    # Unlinked in the bot: Google signs nobody in any more.
    assert await google_signin.unlink(dash.uow, uid)
    other = await browser(gdash)
    try:
        resp = await other.get("/app/google/start", allow_redirects=False)
        resp = await other.get(await at_provider(resp.headers["Location"]),
                               allow_redirects=False)
        assert resp.status == 403 and 'data-code="not_linked"' in await resp.text()
    finally:
        await other.close()


async def test_google_refusals_over_http(dash: Dash, gdash: TestServer,
                                         oidc: RunningProvider) -> None:
    offer = await google_signin.offer_link(dash.uow, dash.clock, dash.mine.user_id)
    first, second = await browser(gdash), await browser(gdash)
    try:
        resp = await first.get(f"/app/google/link/{offer}", allow_redirects=False)
        back = await at_provider(resp.headers["Location"])
        # The provider's answer replayed into another browser (login CSRF): its state cookie
        # is missing there.
        resp = await second.get(back, allow_redirects=False)
        assert resp.status == 403 and 'data-code="state"' in await resp.text()
        assert COOKIE not in resp.cookies
        # A spoiled ID token: refused with the check that failed, nothing linked.
        oidc.config.fault = "aud"
        resp = await first.get(back, allow_redirects=False)
        assert resp.status == 403 and 'data-code="aud"' in await resp.text()
        assert await google_signin.linked(dash.uow, dash.mine.user_id) is None
        # Someone else's offer opened in a browser signed in as me: refused.
        theirs = await google_signin.offer_link(dash.uow, dash.clock, dash.other.user_id)
        token = await web_auth.issue_link(dash.uow, dash.clock, dash.mine.user_id)
        await second.get(f"/app/signin/{token}")
        resp = await second.get(f"/app/google/link/{theirs}", allow_redirects=False)
        assert resp.status == 403 and 'data-code="offer"' in await resp.text()
        # Error from the provider (the user cancelled): refused, said plainly.
        resp = await first.get("/app/google/callback?error=access_denied&state=x",
                               allow_redirects=False)
        assert resp.status == 403
    finally:
        await first.close()
        await second.close()


# ---------------------------------------------------------------- cookies


async def test_no_analytics_cookie_before_consent_and_the_choice_recorded(dash: Dash) -> None:
    from sqlalchemy import select

    from storage.models import AuditEntry

    client = await dash.client()
    page = await (await client.get("/app/")).text()
    assert 'id="cookie-banner"' in page and 'id="cookie-banner" class="cookie-banner" ' \
        'role="dialog" aria-labelledby="cookie-title" data-choice=""' in page
    assert 'id="cookies-necessary"' in page and 'id="cookies-all"' in page

    def names() -> set[str]:
        return {c.key for c in client.session.cookie_jar}

    for path in ("/app/", "/app/stats", "/app/approvals", "/app/lang/ru?next=/app/"):
        await client.get(path)
    assert ANALYTICS not in names() and CONSENT not in names()
    assert LANG in names()  # functional: set because the language was picked
    resp = await client.post("/app/cookies", json={"choice": "necessary"})
    assert resp.status == 200 and ANALYTICS not in names()
    await client.get("/app/")
    assert ANALYTICS not in names()
    page = await (await client.get("/app/")).text()
    assert 'hidden data-choice="necessary"' in page  # the banner stays away
    await client.post("/app/cookies", json={"choice": "all"})
    assert ANALYTICS in names()
    await client.post("/app/cookies", json={"choice": "necessary"})  # withdrawn: dropped
    assert ANALYTICS not in names()
    assert (await client.post("/app/cookies", json={"choice": "everything"})).status == 400
    # A signed-in user's choice is in the audit log too.
    me = await dash.client(dash.mine.user_id)
    await me.post("/app/cookies", json={"choice": "all"})
    async with dash.uow() as u:
        rows = (await u.session.scalars(select(AuditEntry).where(
            AuditEntry.action == "web.cookies"))).all()
    assert [(r.actor_id, r.details["choice"]) for r in rows] == [(dash.mine.user_id, "all")]


async def test_language_cookie_and_no_open_redirect(dash: Dash) -> None:
    client = await dash.client()
    resp = await client.get("/app/lang/ru?next=/app/stats", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/app/stats"
    assert "Войти через Telegram" in await (await client.get("/app/")).text()
    for evil in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        resp = await client.get(f"/app/lang/en?next={evil}", allow_redirects=False)
        assert resp.headers["Location"] == "/app/", evil
    assert (await client.get("/app/lang/xx", allow_redirects=False)).status == 404


def test_google_and_widget_settings() -> None:
    from bot.app import google_client
    from core.settings import SettingsError, load_settings

    plain = load_settings(_env_file=None, google_client_id="", google_client_secret="")
    assert not plain.google_signin and google_client(plain) is None
    assert plain.telegram_oauth_url == "https://oauth.telegram.org"
    assert plain.oidc_issuer_url == "https://accounts.google.com"
    on = load_settings(_env_file=None, google_client_id="id.apps", google_client_secret="s3cret",
                       public_url="https://ttpulse.example")
    client = google_client(on)
    assert on.google_signin and client is not None and "s3cret" in on.secret_values()
    assert client.config.redirect_uri == "https://ttpulse.example/app/google/callback"
    with pytest.raises(SettingsError, match="OIDC_ISSUER_URL"):
        load_settings(_env_file=None, oidc_issuer_url="accounts.google.com")


async def test_analytics_cookie_is_dropped_in_the_telegram_frame_too(dash: Dash) -> None:
    """Behind https the Mini App is a third-party frame in web.telegram.org, where a browser
    ignores a Set-Cookie without SameSite=None (and so Secure): the deletion of the analytics
    cookie ("Necessary only", or any page after it) must carry them, as its setting does."""
    from aiohttp.test_utils import TestClient

    app = web.Application()
    mount(app, WebDeps(dash.uow, dash.clock, make_i18n(), TOKEN, "https://ttpulse.example"))
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        sent = {"Cookie": f"{ANALYTICS}=abc; {CONSENT}=all.1"}
        resp = await client.post("/app/cookies", json={"choice": "necessary"}, headers=sent)
        withdrawn = {"Cookie": f"{ANALYTICS}=abc; {CONSENT}=necessary.1"}
        page = await client.get("/app/", headers=withdrawn)
        for answer in (resp, page):
            dropped = [h for h in answer.headers.getall("Set-Cookie", [])
                       if h.startswith(f"{ANALYTICS}=")]
            assert len(dropped) == 1 and "Max-Age=0" in dropped[0], dropped
            assert "Secure" in dropped[0] and "SameSite=None" in dropped[0], dropped[0]
    finally:
        await client.close()
