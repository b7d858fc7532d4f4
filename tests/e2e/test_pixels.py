"""Pixels from the chat (issue 17): off, Accounts shows no Pixels button; switched on in
Settings → Optional features, an ad account's pixels are listed with their events' counts and
the demo's never-fired test pixel is flagged."""

from __future__ import annotations

from sandbox.telegram.driver import SandboxClient
from sandbox.tiktok.browser import click
from tests.e2e.harness import ServiceProcess, sign_up
from tests.e2e.test_accounts import open_consent


async def test_pixels_switch_on_lists_pixels_with_counts(
    service: ServiceProcess, sandbox: SandboxClient
) -> None:
    user = await sandbox.user(672, first_name="Pix", language_code="en")
    await sign_up(user)
    url = await open_consent(user)
    await click(url, follow=True)
    await user.expect("✅ TikTok connected.")

    await user.press("📊 Accounts")
    screen = await user.expect("Permissions:")
    assert "🎯 Pixels" not in screen.button_labels()

    await user.send("/settings")
    await user.expect("Settings")
    await user.press("🧩 Optional features")
    await user.expect("Optional TikTok features")
    await user.press("Turn on pixels and events")
    screen = await user.expect("Pixels and events (counts per ad account, launch checks): on")
    await user.press("🎯 Pixels")
    screen = await user.expect("Choose an ad account")
    for label in [b for b in screen.button_labels() if not b.startswith("«")]:
        await user.press(label)
        screen = await user.expect("Counts are by the ad account's days")
        if "Landing test pixel" in screen.text:
            break
        await user.press("« Ad accounts")
        screen = await user.expect("Choose an ad account")
    assert "Landing test pixel" in screen.text
    assert "Complete payment: today" in screen.text
    assert "has not fired in 7 days" in screen.text
