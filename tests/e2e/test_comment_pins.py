"""Pinning a comment from the chat (issue 17): Pin on a new comment's card pins it at TikTok
(the emulator), and only then does the card say pinned and offer Unpin; Unpin undoes it."""

from __future__ import annotations

import aiohttp
import pytest

from sandbox.telegram.driver import SandboxClient
from sandbox.tiktok.browser import click
from sandbox.tiktok.server import RunningEmulator
from tests.e2e.harness import ServiceProcess, sign_up
from tests.e2e.test_accounts import open_consent
from tests.e2e.test_comments import _pick_campaigns


@pytest.fixture
def service_env() -> dict[str, str]:
    """Pull watched campaigns every ~2 s instead of every 10 minutes."""
    return {"COMMENTS_PULL_MINUTES": "0.03"}


async def test_pin_a_comment_pinned_at_tiktok(
    service: ServiceProcess, sandbox: SandboxClient, tiktok: RunningEmulator
) -> None:
    user = await sandbox.user(674, first_name="Pia", language_code="en")
    await sign_up(user)
    await click(await open_consent(user), follow=True)
    await user.expect("✅ TikTok connected.")
    async with aiohttp.ClientSession() as http, http.post(
        f"{tiktok.url}/_emulator/config",
        json={"comment_slot_seconds": 20, "comment_chance_percent": 100},
    ) as resp:
        assert resp.status == 200

    await user.send("/settings")
    await user.expect("Settings")
    await user.press("🧩 Optional features")
    await user.expect("Optional TikTok features")
    await user.press("Turn on comments")
    await user.expect("Comments on your ads: on")
    await _pick_campaigns(user)
    screen = await user.expect("Pick the campaigns")
    first = next(b for b in screen.button_labels() if b.startswith("⬜"))
    await user.press(first)
    await user.wait_for(lambda m: "✅ " + first[2:] in m.button_labels())

    card = await user.wait_for(
        lambda m: "New comment on" in m.text and "📌 Pin" in m.button_labels(), timeout=30)
    assert not tiktok.state.comment_pinned
    await user.press("📌 Pin", card.message_id)
    pinned = await user.wait_for(
        lambda m: m.message_id == card.message_id and "Pinned on TikTok" in m.text)
    assert "📍 Unpin" in pinned.button_labels()
    [comment_id] = tiktok.state.comment_pinned.values()
    assert tiktok.state.comment_ads[comment_id].name in card.text

    await user.press("📍 Unpin", card.message_id)
    await user.wait_for(lambda m: m.message_id == card.message_id
                        and "📌 Pin" in m.button_labels())
    assert not tiktok.state.comment_pinned
