"""The dashboard in a real headless chromium against the real service process, the sandbox
Telegram server and the TikTok emulator: sign in by the Mini App's initData and by a /web link
(forged and stale initData refused), stats (period, sort, chart), CSV, pause and undo an ad
(checked on the emulator). Screenshots of every page at phone and desktop width go to the
test run's temp folder (printed)."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, parse_qsl, urlencode

import pytest

from core.tiktok import TikTokClient
from sandbox.telegram.driver import SandboxClient
from sandbox.telegram.webapp import launch_url, sign_init_data
from sandbox.tiktok.server import RunningEmulator
from tests.e2e.conftest import sandbox, service, telegram, tiktok  # noqa: F401 - fixtures
from tests.e2e.harness import TOKEN, ServiceProcess, generous_plans
from tests.e2e.test_rules import api, state_of  # noqa: F401 - fixture used by name
from tests.e2e.test_stats import connected_and_synced
from tests.web.browser import Browser

# One at a time with the other end-to-end tests (tests/conftest.py groups them by folder).
pytestmark = pytest.mark.e2e  # one at a time in an end-to-end lane (tests/conftest.py)
LINK = re.compile(r"https?://\S+/app/signin/[A-Za-z0-9_-]+")


@pytest.fixture
def service_env(tmp_path: Path) -> dict[str, str]:
    """Every ad account of the login tracked (tests/e2e/test_stats.py)."""
    return generous_plans(tmp_path)


def forged(url: str, user_id: int) -> str:
    """The same launch URL with another user id in its initData (the hash left as it was)."""
    base, fragment = url.split("#", 1)
    data = dict(parse_qsl(parse_qs(fragment)["tgWebAppData"][0]))
    data["user"] = re.sub(r'"id":\d+', f'"id":{user_id}', data["user"])
    return launch_url(base, urlencode(data))


async def test_dashboard_in_chromium(
    service: ServiceProcess,  # noqa: F811
    sandbox: SandboxClient,  # noqa: F811
    tiktok: RunningEmulator,  # noqa: F811
    api: TikTokClient,  # noqa: F811
    browser: Browser,
    shots: Path,
) -> None:
    user = await sandbox.user(1601, language_code="en")
    await connected_and_synced(user)
    app = f"{service.url}/app/"
    b = browser

    # Forged and stale initData: refused, no session.
    good = await user.web_app_url(app)
    for bad in (forged(good, 1602), launch_url(app, sign_init_data(
            TOKEN, {"id": 1601, "first_name": "Demo"}, int(time.time()) - 3 * 86400))):
        await b.get(bad)
        await b.wait("return !document.getElementById('refused').hidden")
    await b.screenshot("signin-refused")

    # The Mini App: initData from the launch URL signs in.
    await b.get(good)
    await b.wait("return document.querySelectorAll('.card[data-account]').length")
    await b.screenshot("overview")

    # Stats: the table, the chart, another period, sorting.
    await b.click("nav.top a[href='/app/stats']")
    await b.wait("return document.querySelectorAll('#table tr[data-id]').length")
    await b.wait("var c = document.querySelector('#chart canvas');"
                 "return c && c.getBoundingClientRect().width > 0 && c.height > 0")
    await b.click("#periods a[data-period='30d']")
    await b.wait("return location.search.indexOf('period=30d') >= 0 && "
                 "document.querySelector('#periods a.on').dataset.period === '30d'")
    await b.wait("var c = document.querySelector('#chart canvas'); return c && c.width > 0")
    await b.click("#table th:nth-child(3)")  # Spend, biggest first
    spends = await b.js("return Array.from(document.querySelectorAll('#table tr[data-id]'))"
                        ".map(r => r.cells[2].dataset.v)")
    assert [Decimal(s) for s in spends] == sorted((Decimal(s) for s in spends), reverse=True)
    await b.click("#table th:nth-child(3)")  # and smallest first
    again = await b.js("return Array.from(document.querySelectorAll('#table tr[data-id]'))"
                       ".map(r => r.cells[2].dataset.v)")
    assert [Decimal(s) for s in again] == sorted(Decimal(s) for s in spends)
    await b.screenshot("stats")

    # CSV of what is on screen: filtered by a name typed on the page, amounts exact.
    name = await b.js("return document.querySelector('#table tr[data-id]').cells[0].dataset.v")
    await b.js("var f = document.getElementById('filter'); f.value = arguments[0];"
               "f.dispatchEvent(new Event('input'))", name)
    shown = await b.js("return Array.from(document.querySelectorAll('#table tr[data-id]'))"
                       ".filter(r => !r.hidden).map(r => [r.cells[0].dataset.v,"
                       " r.cells[2].dataset.v])")
    text = await b.js("return fetch(document.getElementById('csv').href).then(r => r.text())")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert [(r["name"], Decimal(r["spend"])) for r in rows] == [
        (n, Decimal(s)) for n, s in shown]

    # Pause an ad from the table, confirm, verified on TikTok; then undo.
    account = await b.js("return new URLSearchParams(location.search).get('account')")
    await b.get(f"{service.url}/app/stats?account={account}&level=ad&period=30d")
    await b.wait("return document.querySelector('#table button[value^=\\'pause:\\']')")
    adv = await b.js("return document.querySelector('h1').dataset.advertiser")
    ad_id = await b.js("return document.querySelector('#table button[value^=\\'pause:\\']')"
                       ".closest('tr').dataset.id")
    assert (await state_of(api, tiktok, adv, "ad", ad_id)).status == "ENABLE"
    await b.js("document.querySelector('#table button[value^=\\'pause:\\']').click()")
    await b.wait("return document.getElementById('confirm')")
    await b.screenshot("manage-confirm")
    await b.click("#confirm")
    await b.wait("return document.querySelector('#outcome li[data-state=applied]')", within=40)
    assert (await state_of(api, tiktok, adv, "ad", ad_id)).status == "DISABLE"
    await b.screenshot("manage-done")
    await b.click("#undo")
    await b.wait("return document.querySelector('#outcome li[data-state=undone]')", within=40)
    assert (await state_of(api, tiktok, adv, "ad", ad_id)).status == "ENABLE"

    await b.click("nav.top a[href='/app/approvals']")
    await b.wait("return document.querySelector('h1')")
    await b.screenshot("approvals")

    # In a plain browser: /web's one-time link signs in, once.
    await b.run(b.driver.delete_all_cookies)
    await user.send("/web")
    sent = await user.expect("sign-in link")
    link = LINK.search(sent.text)
    assert link is not None, sent.text
    await b.get(link[0])
    await b.wait("return document.querySelectorAll('.card[data-account]').length")
    await b.click("#signout")
    await b.wait("return document.getElementById('howto')")
    await b.get(link[0])
    await b.wait("return document.getElementById('refused')")
    taken = await asyncio.to_thread(lambda: {p.name for p in shots.iterdir()})
    assert taken >= {
        f"{page}-{width}.png" for page in ("overview", "stats") for width in ("desktop", "phone")}
