# ruff: noqa: F811 - pytest fixtures imported by name come back as parameters
"""A burst of negative comments end to end (issue 17): the user lists negative words and a
threshold; a burst under an ad brings one alert with examples; Hide all hides them at the
emulator, Undo shows them again, a repeated tap or another user's tap changes nothing."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest

from sandbox.telegram.driver import SandboxClient
from sandbox.tiktok.server import RunningEmulator
from tests.e2e.harness import ServiceProcess, generous_plans, press_data_answer, sign_up
from tests.e2e.test_comments import _pick_campaigns
from tests.e2e.test_rules import Travel, clock_file, travel  # noqa: F401
from tests.e2e.test_stats import connected_and_synced


@pytest.fixture
def service_env(clock_file: Path, tmp_path: Path) -> dict[str, str]:
    return {
        "CLOCK_OFFSET_FILE": str(clock_file),
        "SYNC_TICK_SECONDS": "1",
        "COMMENTS_PULL_MINUTES": "0.03",
        "NOTIFY_TICK_SECONDS": "0.5",
        "TIKTOK_QPS": "100",
        **generous_plans(tmp_path),
    }


async def _emulator(tiktok: RunningEmulator, name: str, body: dict[str, object] | None) -> object:
    async with (
        aiohttp.ClientSession() as http,
        http.request(
            "POST" if body else "GET", f"{tiktok.url}/_emulator/{name}", json=body
        ) as resp,
    ):
        assert resp.status == 200, await resp.text()
        return await resp.json()


def _hidden(tiktok: RunningEmulator) -> set[str]:
    return {c for c, v in tiktok.state.comment_status.items() if v == "HIDDEN"}


async def test_a_burst_alerts_once_and_hide_all_is_undoable(
    service: ServiceProcess,
    sandbox: SandboxClient,
    tiktok: RunningEmulator,
    travel: Travel,
) -> None:
    user = await sandbox.user(961, first_name="Bea", language_code="en")
    await connected_and_synced(user)
    await user.send("/settings")
    await user.expect("Settings")
    await user.press("🧩 Optional features")
    await user.expect("Optional TikTok features")
    await user.press("Turn on comments")
    await user.expect("Comments on your ads: on")
    await user.press("😡 Negative words")
    await user.expect("Negative words")
    await user.press("3")
    await user.wait_for(lambda m: "✅ 3" in m.button_labels())
    await user.send("scam, FAKE, развод")
    await user.expect("under one ad containing: scam, fake, развод")
    await _pick_campaigns(user)
    screen = await user.expect("Pick the campaigns")
    first = next(b for b in screen.button_labels() if b.startswith("⬜"))
    await user.press(first)
    await user.wait_for(lambda m: "✅ " + first[2:] in m.button_labels())
    for _ in range(60):  # the first pull (what was written before the watch stays quiet)
        counts = (await _emulator(tiktok, "stats", None))["requests"]  # type: ignore[index]
        if any(p.endswith("comment/list/") for p in counts):
            break
        await asyncio.sleep(0.5)

    # Half an hour of comments, one every 2 minutes per ad, about a third negative.
    await _emulator(tiktok, "config", {"comment_slot_seconds": 120, "comment_chance_percent": 100})
    travel(timedelta(minutes=30))
    alert = await user.wait_for(lambda m: "negative comments" in m.text, timeout=60)
    hide = next(b for b in alert.button_labels() if b.startswith("🙈 Hide all"))
    count = int(hide.rsplit(" ", 1)[1])
    assert count >= 3 and 1 <= alert.text.count("• ") <= 3  # a few examples quoted

    before = _hidden(tiktok)
    hide_data = alert.button(hide).callback_data
    await user.press(hide, alert.message_id)
    hidden_view = await user.wait_for(
        lambda m: m.message_id == alert.message_id and "Hidden on TikTok:" in m.text, timeout=20
    )
    assert len(_hidden(tiktok) - before) == count
    assert hide_data is not None
    again = await press_data_answer(user, hide_data, alert.message_id)
    assert "Already done" in str(again["text"])
    assert len(_hidden(tiktok) - before) == count

    intruder = await sandbox.user(962, language_code="en")
    await sign_up(intruder)
    menu = await intruder.last_bot_message()
    assert menu is not None
    undo_data = hidden_view.button("↩️ Undo").callback_data
    assert undo_data is not None
    refused = await press_data_answer(intruder, undo_data, menu.message_id)
    assert "turned off" in str(refused["text"]) or "not among yours" in str(refused["text"])
    assert len(_hidden(tiktok) - before) == count

    await user.press("↩️ Undo", alert.message_id)
    await user.wait_for(
        lambda m: (
            m.message_id == alert.message_id
            and any(b.startswith("🙈 Hide all") for b in m.button_labels())
        ),
        timeout=20,
    )
    assert _hidden(tiktok) - before == set()

    travel(timedelta(minutes=11))  # more negative comments within the hour: no second alert
    await asyncio.sleep(5)
    bursts = [
        m.text.splitlines()[0] for m in await user.bot_messages() if "negative comments" in m.text
    ]
    names = [t.split(" on ", 1)[1] for t in bursts]
    assert len(names) == len(set(names))
