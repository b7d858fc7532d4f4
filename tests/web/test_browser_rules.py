"""The dashboard's rules pages and budget change in a real headless chromium against the real
service process, the sandbox Telegram server and the TikTok emulator: type a bad rule and see
the live error at its column, fix it, save, switch it on; backtest chart drawn; change a
campaign's budget (verified on the emulator) and undo. Screenshots at phone and desktop width
into the run's temp folder, next to the other browser test's."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from core.tiktok import TikTokClient
from sandbox.telegram.driver import SandboxClient
from sandbox.tiktok.server import RunningEmulator
from tests.e2e.conftest import sandbox, service, telegram, tiktok  # noqa: F401 - fixtures
from tests.e2e.harness import ServiceProcess
from tests.e2e.test_rules import api, state_of  # noqa: F401 - fixture used by name
from tests.e2e.test_stats import connected_and_synced
from tests.web.browser import Browser
from tests.web.test_browser import service_env  # noqa: F401 - fixture

pytestmark = pytest.mark.e2e  # one at a time in an end-to-end lane (tests/conftest.py)


async def type_into(b: Browser, css: str, text: str) -> None:
    """Replace a field's text as typing would (an input event the page's script hears)."""
    await b.js("var f = document.querySelector(arguments[0]); f.value = arguments[1];"
               "f.dispatchEvent(new Event('input'))", css, text)


async def test_rules_and_budget_in_chromium(
    service: ServiceProcess,  # noqa: F811
    sandbox: SandboxClient,  # noqa: F811
    tiktok: RunningEmulator,  # noqa: F811
    api: TikTokClient,  # noqa: F811
    browser: Browser,
    shots: Path,
) -> None:
    user = await sandbox.user(1611, language_code="en")
    await connected_and_synced(user)
    b = browser
    await b.get(await user.web_app_url(f"{service.url}/app/"))
    await b.wait("return document.querySelectorAll('.card[data-account]').length")

    # Rules: a new one, typed wrong first — the error shows live, at its column.
    await b.click("nav.top a[href='/app/rules']")
    await b.wait("return document.getElementById('new-rule')")
    await b.click("#new-rule")
    await b.wait("return document.getElementById('rule-text')")
    await type_into(b, "#rule-text", "ad: spend >= 20 and -> pause")
    message = await b.wait("var e = document.getElementById('rule-error');"
                           "return !e.hidden && document.getElementById('rule-error-text')"
                           ".textContent")
    assert "column 21" in message and "metric" in message
    marked = await b.js("return document.querySelector('#rule-error-at').textContent")
    assert marked == "ad: spend >= 20 and \u27f6-> pause"
    await b.screenshot("rule-error")
    await type_into(b, "#rule-text", "ad: spend >= 20 and conversions = 0 in 3d -> pause")
    canonical = await b.wait("return !document.getElementById('rule-ok').hidden && "
                             "document.getElementById('rule-canonical').textContent")
    assert await b.js("return document.getElementById('rule-error').hidden")
    assert "conversions = 0 in 3d" in canonical
    await type_into(b, "#rule-name", "Losers")
    await b.click("#rule-save")
    await b.wait("return document.getElementById('said') && document.getElementById('runs')"
                 " === null && document.querySelector('h1').textContent === 'Losers'")
    await b.screenshot("rule")
    # Switched off when new; switch it on.
    await b.click("nav.top a[href='/app/rules']")
    await b.wait("return document.querySelector('[data-rule] .off')")
    await b.click("[data-rule] button.toggle")
    await b.wait("return document.querySelector('[data-rule] .on')")
    await b.screenshot("rules")
    # Its backtest: the chart draws.
    await b.click("[data-rule] h2 a")
    await b.wait("return document.getElementById('backtest')")
    await b.click("#backtest")
    await b.wait("var c = document.querySelector('#chart canvas');"
                 "return c && c.getBoundingClientRect().width > 0")
    await b.screenshot("rule-backtest")
    await b.click("#back")
    await b.click("#preview")
    await b.wait("return document.getElementById('result')")
    await b.screenshot("rule-preview")

    # A campaign's budget from the table: only where it has one; set, verified, undone.
    await b.click("nav.top a[href='/app/stats']")
    await b.wait("return document.querySelectorAll('#table tr[data-id]').length")
    link = await b.js("var a = document.querySelector('#table a.budget'); return a && a.href")
    assert link, "no campaign with a budget of its own in the emulator's account"
    campaign = await b.js("return document.querySelector('#table a.budget')"
                          ".closest('tr').dataset.id")
    adv = await b.js("return document.querySelector('h1').dataset.advertiser")
    account = await b.js("return new URLSearchParams(location.search).get('account')")
    before = (await state_of(api, tiktok, adv, "campaign", campaign)).budget
    assert before is not None
    new = before + Decimal("7.25")
    await b.get(link)
    await b.wait("return document.getElementById('amount')")
    await type_into(b, "#amount", str(new))
    await b.screenshot("budget")
    await b.click("#amount-next")
    await b.wait("return document.getElementById('confirm')")
    await b.screenshot("budget-confirm")
    await b.click("#confirm")
    await b.wait("return document.querySelector('#outcome li[data-state=applied]')", within=40)
    assert (await state_of(api, tiktok, adv, "campaign", campaign)).budget == new
    await b.click("#undo")
    await b.wait("return document.querySelector('#outcome li[data-state=undone]')", within=40)
    assert (await state_of(api, tiktok, adv, "campaign", campaign)).budget == before

    # Bulk: every ad row has a checkbox; two ticked, "Pause selected" proposes those two.
    await b.get(f"{service.url}/app/stats?account={account}&level=ad&period=30d")
    rows = await b.wait("return document.querySelectorAll('#table tr[data-id]').length")
    boxes = await b.js("return document.querySelectorAll('#table input[name=ids]').length")
    assert boxes == rows and not await b.js("return document.getElementById('bulk').hidden")
    ticked = await b.js(  # two active ads (a paused one would be left out as already so)
        "var bs = Array.from(document.querySelectorAll('#table tr[data-id]'))"
        ".filter(r => r.querySelector('button[value^=\\'pause:\\']'))"
        ".slice(0, 2).map(r => r.querySelector('input[name=ids]'));"
        "bs.forEach(b => b.click()); return bs.map(b => b.value)")
    assert len(ticked) == 2
    await b.click("#pause-selected")
    await b.wait("return document.getElementById('confirm')")
    await b.screenshot("bulk-confirm")
    assert await b.js("return document.querySelectorAll('ul.changes li').length") == 2
    await b.click("#cancel")
    await b.wait("return document.querySelector('#outcome li[data-state=rejected]')")
    for ad in ticked:
        assert (await state_of(api, tiktok, adv, "ad", ad)).status == "ENABLE"
    taken = await asyncio.to_thread(lambda: {p.name for p in shots.iterdir()})
    assert taken >= {f"{page}-{width}.png" for page in ("rule-error", "rules", "rule-backtest",
                                                         "budget-confirm", "bulk-confirm")
                     for width in ("desktop", "phone")}
