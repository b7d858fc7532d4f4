"""Catalogs from the chat (issue 17): switched on in Settings → Optional features, the demo
Business Center's catalogs are listed with their products' review counts and their product
sets' product counts, and the all-in-review catalog is flagged."""

from __future__ import annotations

from sandbox.telegram.driver import SandboxClient
from sandbox.tiktok.browser import click
from tests.e2e.harness import ServiceProcess, sign_up
from tests.e2e.test_accounts import open_consent


async def test_catalogs_switch_on_lists_catalogs_with_counts(
    service: ServiceProcess, sandbox: SandboxClient
) -> None:
    user = await sandbox.user(673, first_name="Cat", language_code="en")
    await sign_up(user)
    url = await open_consent(user)
    await click(url, follow=True)
    await user.expect("✅ TikTok connected.")

    await user.send("/settings")
    await user.expect("Settings")
    await user.press("🧩 Optional features")
    screen = await user.expect("Optional TikTok features")
    assert "🛍 Catalogs" not in screen.button_labels()
    await user.press("Turn on catalogs")
    await user.expect("Catalogs (product sets and their review status): on")
    await user.press("🛍 Catalogs")
    screen = await user.expect("Glowly Store US")
    assert "Products: ✅ 18 approved · ⏳ 4 in review · ❌ 2 rejected" in screen.text
    assert "• All products: 24 products" in screen.text
    assert "• Bestsellers: 8 products" in screen.text
    assert "Glowly EU launch" in screen.text
    assert "No approved product yet" in screen.text

    # Accounts offers the same screen while catalogs are on.
    await user.press("« Accounts")
    accounts = await user.expect("Permissions:")
    assert "🛍 Catalogs" in accounts.button_labels()
    await user.press("🛍 Catalogs")
    await user.expect("Glowly Store US")
