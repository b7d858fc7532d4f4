"""Comments from the chat (issue 17): a user who turns comments on and picks a campaign gets
its ads' new comments with the ad's name, and hides one — hidden at the emulator; a comment
with one of the user's hide words comes hidden already, and Unhide undoes it at TikTok."""

from __future__ import annotations

import aiohttp
import pytest

from sandbox.telegram.driver import ChatUser, SandboxClient
from sandbox.tiktok.browser import click
from sandbox.tiktok.server import RunningEmulator
from tests.e2e.harness import ServiceProcess, sign_up
from tests.e2e.test_accounts import open_consent


@pytest.fixture
def service_env() -> dict[str, str]:
    """Pull watched campaigns every ~2 s instead of every 10 minutes."""
    return {"COMMENTS_PULL_MINUTES": "0.03"}


async def _pick_campaigns(user: ChatUser) -> None:
    """Settings → Optional features → Pick campaigns, waiting for the first sync."""
    for _ in range(20):
        await user.press("💬 Pick campaigns")
        try:
            await user.expect("Pick the campaigns", timeout=2)
            return
        except AssertionError:
            pass  # not synced yet: the same "no campaigns" screen, so no edit to wait for
        await user.press("« Back")
        await user.expect("Optional TikTok features")
    raise AssertionError("no campaign was synced")


async def test_new_comments_arrive_and_one_is_hidden_at_tiktok(
    service: ServiceProcess, sandbox: SandboxClient, tiktok: RunningEmulator
) -> None:
    user = await sandbox.user(672, first_name="Kai", language_code="en")
    await sign_up(user)
    await click(await open_consent(user), follow=True)
    await user.expect("✅ TikTok connected.")
    # A comment every 20 s per ad instead of one in ~40 minutes.
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
    await user.press("🚫 Hide words")
    await user.expect("Hide words")
    await user.send("scam, FAKE, развод")
    await user.expect("contain: scam, fake, развод")
    await _pick_campaigns(user)
    screen = await user.expect("Pick the campaigns")
    first = next(b for b in screen.button_labels() if b.startswith("⬜"))
    await user.press(first)
    await user.wait_for(lambda m: "✅ " + first[2:] in m.button_labels())

    card = await user.wait_for(
        lambda m: "New comment on" in m.text and "🙈 Hide" in m.button_labels(), timeout=30)
    assert "🙈 Hide" in card.button_labels() and "↩️ Reply" in card.button_labels()
    await user.press("🙈 Hide", card.message_id)
    await user.wait_for(lambda m: m.message_id == card.message_id and "Hidden on TikTok" in m.text)
    assert "HIDDEN" in tiktok.state.comment_status.values()

    auto = await user.wait_for(lambda m: "Hidden automatically" in m.text, timeout=60)
    hidden_ids = {c for c, v in tiktok.state.comment_status.items() if v == "HIDDEN"}
    await user.press("👁 Unhide", auto.message_id)
    await user.wait_for(lambda m: m.message_id == auto.message_id
                        and "🙈 Hide" in m.button_labels())
    now_hidden = {c for c, v in tiktok.state.comment_status.items() if v == "HIDDEN"}
    assert len(hidden_ids - now_hidden) == 1  # the one undone is public again at TikTok
