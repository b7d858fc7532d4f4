"""With an https Mini App URL the real service sets the bot's menu button to it and /web adds
an "Open the dashboard" button (the sandbox, like Telegram, takes only https for both)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.telegram.driver import SandboxClient
from tests.e2e.conftest import sandbox, service, telegram, tiktok  # noqa: F401 - fixtures
from tests.e2e.harness import ServiceProcess, sign_up

pytestmark = pytest.mark.e2e  # one at a time in an end-to-end lane (tests/conftest.py)
APP = "https://dash.example/app/"


@pytest.fixture
def service_env(tmp_path: Path) -> dict[str, str]:
    return {"MINI_APP_URL": APP}


async def test_https_mini_app_gets_the_menu_button_and_a_web_app_button(
    service: ServiceProcess, sandbox: SandboxClient  # noqa: F811
) -> None:
    user = await sandbox.user(1701, language_code="en")
    assert (await user.web_app_url()).startswith(APP + "#tgWebAppData=")  # the menu button
    await user.send("/web")
    refused = await user.expect("Please send /start")  # not signed up: no link
    assert "/app/signin/" not in refused.text
    await sign_up(user)
    await user.send("/web")
    sent = await user.expect("sign-in link")
    assert f"{service.url}/app/signin/" in sent.text
    [[button]] = sent.buttons
    assert button.web_app == APP
    pressed = await user.press(button.text)
    assert pressed["web_app_url"].startswith(APP + "#tgWebAppData=")
