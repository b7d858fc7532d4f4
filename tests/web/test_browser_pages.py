# ruff: noqa: F811 - pytest fixtures imported by name come back as parameters
"""Settings, privacy, billing and launches in a real headless chromium against the real service
process, the sandbox Telegram server and the TikTok emulator: every page opened and shot at
phone and desktop width; an export built and downloaded from the page; a plan's invoice sent
into the chat; a launch planned, approved and followed live to done from the web, checked on
the emulator."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from core.tiktok import TikTokClient
from sandbox.telegram.driver import SandboxClient
from sandbox.tiktok.server import RunningEmulator
from tests.e2e.conftest import sandbox, service, telegram, tiktok  # noqa: F401 - fixtures
from tests.e2e.harness import ServiceProcess, generous_plans
from tests.e2e.test_launch import (
    ACCOUNTS,
    add_images,
    identities,
    import_template,
    made,
    template,
)
from tests.e2e.test_rules import api  # noqa: F401 - fixture used by name
from tests.e2e.test_stats import connected_and_synced
from tests.web.browser import Browser

pytestmark = pytest.mark.e2e  # one at a time in an end-to-end lane (tests/conftest.py)


@pytest.fixture
def service_env(tmp_path: Path) -> dict[str, str]:
    """Every ad account of the login tracked, launches unlimited; exports built at once."""
    return {**generous_plans(tmp_path), "NOTIFY_TICK_SECONDS": "0.5",
            "EXPORT_DIR": str(tmp_path / "exports")}


async def test_settings_privacy_billing_and_a_launch_in_chromium(
    service: ServiceProcess,
    sandbox: SandboxClient,
    tiktok: RunningEmulator,
    api: TikTokClient,
    browser: Browser,
    shots: Path,
) -> None:
    user = await sandbox.user(1701, language_code="en")
    await connected_and_synced(user)
    await identities(api, tiktok, ACCOUNTS[:1])
    await import_template(user, template("Web launch", Decimal(50)))
    await add_images(user, 1)
    b = browser
    await b.get(await user.web_app_url(f"{service.url}/app/"))
    await b.wait("return document.querySelectorAll('.card[data-account]').length")

    # Settings: a time zone typed as a city, saved through the chat's use-case.
    await b.click("nav.top a[href='/app/settings']")
    await b.wait("return document.getElementById('f-typed')")
    await b.js("document.getElementById('f-typed').value = 'Tokyo'")
    await b.click("#zone button[type=submit]")
    await b.wait("return document.getElementById('said') && "
                 "document.getElementById('f-zone').value === 'Asia/Tokyo'")
    await b.screenshot("settings")

    # Privacy: the export built by the worker, then downloaded from the page.
    await b.get(f"{service.url}/app/privacy")
    await b.click("#export-start")
    await b.wait("return document.getElementById('export-download')", within=40)
    got = await b.js("return fetch(document.getElementById('export-download').href)"
                     ".then(r => [r.status, r.headers.get('content-type')])")
    assert got == [200, "application/zip"]
    await b.screenshot("privacy")
    await b.click("#activity-link")
    await b.wait("return document.getElementById('entries')")
    text = await b.js("return document.getElementById('entries').innerText")
    assert "Data export requested" in text and "Signed up" in text
    await b.screenshot("activity")
    await b.get(f"{service.url}/app/privacy/delete")
    await b.wait("return document.getElementById('delete-form')")
    await b.screenshot("delete")

    # Billing: a Buy button sends the Stars invoice into the chat.
    await b.click("nav.top a[href='/app/billing']")
    await b.wait("return document.querySelector('#plans button.buy[data-r=\\'0\\']')")
    since = user.last_action_seq
    await b.click("#plans button.buy[data-r='0']")
    await b.wait("return document.querySelector('#said[data-said=sent]')")
    invoice = await user.wait_for(lambda m: m.seq > since and m.kind == "invoice", 15)
    assert invoice.invoice is not None and invoice.invoice["currency"] == "XTR"
    await b.screenshot("billing")

    # The template editor: an ad group's budget that is not a number is said beside it.
    await b.click("nav.top a[href='/app/launches']")
    await b.click("#template-list a")
    await b.wait("return document.getElementById('template-form')")
    await b.js("document.getElementById('g0.gb').value = 'lots'")
    await b.click("#template-save")
    await b.wait("return document.querySelector('[data-error-for=\"g0.gb\"]')")
    await b.screenshot("template-editor")

    # Launches: plan, approve, the progress followed live to done.
    await b.get(f"{service.url}/app/launches")
    await b.wait("return document.getElementById('launch-form')")
    await b.screenshot("launches")
    await b.js("for (const l of document.querySelectorAll('#f-accounts label.pick')) {"
               " if (l.innerText.indexOf(arguments[0]) >= 0) l.querySelector('input').click(); }"
               "document.querySelector('#f-creatives input').click()", ACCOUNTS[0])
    await b.click("#plan")
    await b.wait("return document.getElementById('approve')", within=40)
    plan = await b.js("return document.getElementById('launch').innerText")
    assert f"{ACCOUNTS[0]}: 1 campaign, 1 ad group, 1 ad" in plan
    await b.screenshot("launch-plan")
    await b.click("#approve")
    await b.wait("return document.getElementById('progress') || "
                 "document.querySelector('#launch[data-state=done]')")
    await b.screenshot("launch-progress")
    await b.wait("return document.querySelector('#launch[data-state=done]')", within=60)
    summary = await b.js("return document.getElementById('launch').innerText")
    assert "3 of 3 created" in summary
    await b.screenshot("launch-done")
    objects = await made(api, tiktok, "")
    assert (len(objects["campaign"]), len(objects["adgroup"]), len(objects["ad"])) == (1, 1, 1)
    await b.get(f"{service.url}/app/launches")
    await b.wait("return document.querySelector('#launches tr[data-state=done]')")

    taken = await asyncio.to_thread(lambda: {p.name for p in shots.iterdir()})
    assert taken >= {f"{page}-{width}.png"
                     for page in ("settings", "privacy", "activity", "delete", "billing",
                                  "launches", "launch-plan", "launch-done", "template-editor")
                     for width in ("desktop", "phone")}
