"""A rule's approval decided on the dashboard: applied once (the chat's button then answers
"already decided"), and the chat's message that asked shows the decision, as after a press
there. The real service, the sandbox Telegram server and the TikTok emulator."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import aiohttp
import pytest

from core.tiktok import TikTokClient
from sandbox.telegram.driver import SandboxClient
from sandbox.tiktok.server import RunningEmulator
from tests.e2e.conftest import sandbox, service, telegram, tiktok  # noqa: F401 - fixtures
from tests.e2e.harness import ServiceProcess, press_data_answer
from tests.e2e.test_rules import (  # noqa: F401 - fixtures used by name
    Travel,
    api,
    clock_file,
    new_rule_by_text,
    running,
    service_env,
    state_of,
    travel,
)
from tests.e2e.test_stats import connected_and_synced

pytestmark = pytest.mark.e2e  # one at a time in an end-to-end lane (tests/conftest.py)
LINK = re.compile(r"https?://\S+/app/signin/[A-Za-z0-9_-]+")
CSRF = re.compile(r'<meta name="csrf-token" content="([0-9a-f]+)">')


async def test_approve_on_the_web_updates_the_chat_and_counts_once(
    service: ServiceProcess,  # noqa: F811
    sandbox: SandboxClient,  # noqa: F811
    tiktok: RunningEmulator,  # noqa: F811
    api: TikTokClient,  # noqa: F811
    travel: Travel,  # noqa: F811
) -> None:
    user = await sandbox.user(1801, language_code="en")
    await connected_and_synced(user)
    [(adv, group, _name)] = (await running(api, tiktok, "adgroup"))[:1]
    budget = (await state_of(api, tiktok, adv, "adgroup", group)).budget
    assert budget is not None
    await new_rule_by_text(user, "adgroup: impressions >= 0 in today -> budget +10% max 100000",
                           group)
    travel(timedelta(minutes=16))
    asked = await user.wait_for(lambda m: "asks to change budget" in m.text, timeout=30)
    approve = next(b for row in asked.buttons for b in row if b.text.startswith("✅"))

    await user.send("/web")
    link = LINK.search((await user.expect("sign-in link")).text)
    assert link is not None
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as web:
        async with web.get(link[0]) as resp:
            page = await resp.text()
        async with web.get(f"{service.url}/app/approvals") as resp:
            page = await resp.text()
        action_id = re.search(r'data-action="(\d+)"', page)
        csrf = CSRF.search(page)
        assert action_id is not None and csrf is not None, page
        async with web.post(f"{service.url}/app/approvals/{action_id[1]}/approve",
                            data={"_csrf": csrf[1]}) as resp:
            assert "Approved: done on TikTok and verified" in await resp.text()

    expected = (budget * Decimal("1.1")).quantize(Decimal("0.01"))
    assert (await state_of(api, tiktok, adv, "adgroup", group)).budget == expected
    # The chat's message now shows the decision (its Undo instead of Approve).
    redrawn = await user.wait_for(
        lambda m: m.message_id == asked.message_id and "→" in m.text
        and any(label.startswith("↩️") for label in m.button_labels()), timeout=20)
    assert not any(label.startswith("✅") for label in redrawn.button_labels())
    # The chat's old Approve, pressed now: already decided, applied once.
    answer = await press_data_answer(user, approve.callback_data or "", asked.message_id)
    assert "already decided" in str(answer.get("text"))
    assert (await state_of(api, tiktok, adv, "adgroup", group)).budget == expected
