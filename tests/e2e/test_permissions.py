"""Optional TikTok permissions from the chat (issue 17): what a consent granted shows in
Accounts, the feature switches in Settings, and a withheld permission explained with a way to
grant it."""

from __future__ import annotations

from sandbox.telegram.driver import SandboxClient
from sandbox.tiktok.browser import click
from tests.e2e.harness import ServiceProcess, sign_up
from tests.e2e.test_accounts import open_consent


async def test_withheld_comments_scope_is_shown_and_reconnect_grants_it(
    service: ServiceProcess, sandbox: SandboxClient
) -> None:
    user = await sandbox.user(671, first_name="Pia", language_code="en")
    await sign_up(user)
    url = await open_consent(user)
    await click(url, follow=True, withhold=("Comment management",))
    await user.expect("✅ TikTok connected.")

    await user.press("📊 Accounts")
    screen = await user.expect("Permissions:")
    assert "not granted: comments" in screen.text
    assert "pixels and events" in screen.text.split("not granted")[0]

    await user.send("/settings")
    await user.expect("Settings")
    await user.press("🧩 Optional features")
    screen = await user.expect("Optional TikTok features")
    assert "Comments on your ads: off" in screen.text
    await user.press("Turn on comments")
    screen = await user.expect("Not granted on TikTok for")
    assert "Comments on your ads: on" in screen.text
    assert "“Comment management” ticked" in screen.text
    reconnect = next(b for b in screen.button_labels() if b.startswith("🔄 Reconnect"))
    await user.press(reconnect)
    screen = await user.expect("authorize TTPulse")
    [again] = [b.url for row in screen.buttons for b in row if b.url]
    assert again is not None
    await click(again, follow=True)
    await user.expect("TikTok reconnected")

    await user.send("/settings")
    await user.expect("Settings")
    await user.press("🧩 Optional features")
    screen = await user.expect("Permission: granted.")
    await user.press("Turn off comments")
    await user.expect("Comments on your ads: off")
