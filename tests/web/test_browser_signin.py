"""Signing in from a plain browser, in a real headless chromium against the real service
process, the sandbox Telegram server (playing oauth.telegram.org for the Login Widget) and the
sandbox OpenID Connect provider (playing Google): "Log in with Telegram" (and a user who never
signed up refused), the cookie banner (no analytics cookie before consent), linking Google from
the bot's Settings → Web sign-in, "Sign in with Google", unlinking. Screenshots at phone and
desktop width go to the run's folder."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sandbox.oidc.provider import CLIENT_ID, CLIENT_SECRET, RunningProvider, start_provider
from sandbox.telegram.driver import SandboxClient
from sandbox.telegram.server import RunningServer
from sandbox.telegram.webapp import launch_url, sign_init_data
from sandbox.tiktok.server import RunningEmulator
from tests.e2e.conftest import sandbox, service, telegram, tiktok  # noqa: F401 - fixtures
from tests.e2e.harness import ServiceProcess, sign_up
from tests.web.browser import Browser
from tests.web.conftest import TOKEN, Dash
from tests.web.seed import NOW

pytestmark = pytest.mark.e2e  # one at a time in an end-to-end lane (tests/conftest.py)
GOOGLE_LINK = re.compile(r"https?://\S+/app/google/link/[A-Za-z0-9_-]+")


@pytest.fixture
async def oidc() -> AsyncIterator[RunningProvider]:
    running = await start_provider()
    yield running
    await running.stop()


@pytest.fixture
def service_env(telegram: RunningServer, oidc: RunningProvider) -> dict[str, str]:  # noqa: F811
    """The Login Widget's confirmation at the sandbox Telegram server; Google's at the
    sandbox provider."""
    return {"TELEGRAM_OAUTH_URL": telegram.url, "OIDC_ISSUER_URL": oidc.url,
            "GOOGLE_CLIENT_ID": CLIENT_ID, "GOOGLE_CLIENT_SECRET": CLIENT_SECRET}


async def cookie_names(b: Browser) -> set[str]:
    return {c["name"] for c in await b.run(b.driver.get_cookies)}


async def test_login_widget_google_and_cookies_in_chromium(
    service: ServiceProcess,  # noqa: F811
    sandbox: SandboxClient,  # noqa: F811
    tiktok: RunningEmulator,  # noqa: F811
    browser: Browser,
    shots: Path,
) -> None:
    user = await sandbox.user(1701, first_name="Lena", username="lena_buys")
    await sign_up(user)
    stranger = await sandbox.user(1702, first_name="Eve")  # in Telegram, never signed up
    app = f"{service.url}/app/"
    b = browser

    # The sign-in page of a plain browser: the banner asks, nothing but necessary is set.
    await b.get(app)
    await b.wait("return document.getElementById('telegram-login')")
    assert await b.js("return !document.getElementById('cookie-banner').hidden")
    await b.screenshot("signin-page")
    assert "ttpulse_aid" not in await cookie_names(b)

    # Log in with Telegram as someone who never signed up: refused, no session.
    await b.click("#telegram-login")
    await b.wait("return document.querySelector('a.as[data-user=\"1702\"]')")
    await b.click("a.as[data-user='1702']")
    await b.wait("return !document.getElementById('widget-refused').hidden")
    assert "ttpulse_session" not in await cookie_names(b)
    assert stranger.user_id == 1702

    # …and as the signed-up user: the overview, signed in.
    await b.click("#telegram-login")
    await b.wait("return document.querySelector('a.as[data-user=\"1701\"]')")
    await b.click("a.as[data-user='1701']")
    await b.wait("return document.getElementById('signout')")
    assert "tgAuthResult" not in await b.js("return location.href")
    await b.screenshot("signed-in-by-widget")

    # Cookies: "Necessary only" sets no analytics cookie; "Accept all" later does.
    assert "ttpulse_aid" not in await cookie_names(b)
    await b.click("#cookies-necessary")
    await b.wait("return document.getElementById('cookie-banner').hidden")
    await b.get(app)
    await b.wait("return document.getElementById('signout')")
    assert await b.js("return document.getElementById('cookie-banner').hidden")
    assert "ttpulse_aid" not in await cookie_names(b)
    await b.click("#cookie-settings")
    await b.wait("return !document.getElementById('cookie-banner').hidden")
    await b.click("#cookies-all")
    await b.wait("return document.getElementById('cookie-banner').hidden")
    assert "ttpulse_aid" in await cookie_names(b)

    # Link Google from the bot: Settings → Web sign-in → Link Google account.
    await user.send("/settings")
    await user.expect("Settings")
    await user.press("🔑 Web sign-in")
    await user.expect("Google: not linked")
    await user.press("🔗 Link Google account")
    sent = await user.expect("Link a Google account")
    link = GOOGLE_LINK.search(sent.text)
    assert link is not None, sent.text
    await b.run(b.driver.delete_all_cookies)
    await b.get(link[0])
    await b.wait("return document.querySelector('a.account[data-email=\"demo@example.com\"]')")
    await b.screenshot("google-consent")
    await b.click("a.account[data-email='demo@example.com']")
    await b.wait("return document.getElementById('google-linked')")
    await b.screenshot("google-linked")

    # Sign in with Google in a fresh browser session.
    await b.run(b.driver.delete_all_cookies)
    await b.get(app)
    await b.click("#google-login")
    await b.wait("return document.querySelector('a.account')")
    await b.click("a.account[data-email='demo@example.com']")
    await b.wait("return document.getElementById('signout')")

    # Unlinked in the bot: Google signs nobody in any more.
    await user.send("/settings")
    await user.expect("Settings")
    await user.press("🔑 Web sign-in")
    await user.expect("Google: linked (demo@example.com)")
    await user.press("Unlink Google account")
    await user.expect("Google: not linked")
    await b.run(b.driver.delete_all_cookies)
    await b.get(app)
    await b.click("#google-login")
    await b.wait("return document.querySelector('a.account')")
    await b.click("a.account[data-email='demo@example.com']")
    await b.wait("return document.querySelector('#google-refused[data-code=not_linked]')")
    await b.screenshot("google-not-linked")


async def test_a_mini_app_launched_by_another_telegram_account_shows_theirs(
    dash: Dash, browser: Browser
) -> None:
    """Two Telegram accounts in one Telegram app share its web view's cookies: a launch by the
    second must not show (nor let it act on) the first one's dashboard."""
    app = str(dash.server.make_url("/app/"))
    b = browser

    def launch(uid: int) -> str:
        return launch_url(app, sign_init_data(TOKEN, {"id": uid, "first_name": "Ann"},
                                               int(NOW.timestamp())))

    def shows(text: str) -> str:
        return f"return document.body && document.body.innerText.indexOf('{text}') >= 0"

    await b.get(launch(dash.mine.user_id))
    await b.wait(shows("Glowly 501"))
    await b.get(launch(dash.other.user_id))
    await b.wait(shows("Glowly 502"))
    assert not await b.js(shows("Glowly 501"))
    # Launched by one who never signed up in the bot: refused, nobody's dashboard shown.
    await b.get(launch(777))
    await b.wait("var r = document.getElementById('refused'); return r && !r.hidden")
    assert not await b.js(shows("Glowly"))
