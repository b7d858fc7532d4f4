# ruff: noqa: F811 - pytest fixtures imported by name come back as parameters
"""Pixels end to end (issue 17): launch pre-flight stops a launch whose pixel event never fired,
before anything is made; and "tracking broken?" — a pixel silenced at the emulator while its
ads spend brings one alert in the chat, then "back to normal" when its events resume."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest

from core.templates.document import to_document
from core.templates.model import AdGroupSpec, AdSpec, CampaignSpec, Naming, Template
from core.tiktok import TikTokClient
from sandbox.telegram.driver import ChatUser, SandboxClient
from sandbox.tiktok.server import RunningEmulator
from tests.e2e.harness import ServiceProcess, generous_plans
from tests.e2e.test_launch import IDENTITY, add_images, identities, import_template, made, prepare
from tests.e2e.test_rules import Travel, api, clock_file, tap, travel  # noqa: F401
from tests.e2e.test_stats import connected_and_synced

EU_PIXEL = "7317000000000000002"  # the demo's "Glowly EU pixel"


@pytest.fixture
def service_env(clock_file: Path, tmp_path: Path) -> dict[str, str]:
    return {
        "CLOCK_OFFSET_FILE": str(clock_file),
        "SYNC_TICK_SECONDS": "1",
        "NOTIFY_TICK_SECONDS": "0.5",
        "TIKTOK_QPS": "100",
        **generous_plans(tmp_path),
    }


def _register_template() -> dict[str, object]:
    """A conversions template optimising for ON_WEB_REGISTER: set up on the demo's "Landing
    test pixel" of Glowly US, and never fired."""
    return to_document(
        Template(
            name="Signups",
            campaign=CampaignSpec("WEB_CONVERSIONS"),
            adgroups=(
                AdGroupSpec(
                    geo="US",
                    location_ids=("6252001",),
                    budget=Decimal(50),
                    optimization_event="ON_WEB_REGISTER",
                ),
            ),
            ad=AdSpec(
                texts=("Join today",),
                identity_name=IDENTITY,
                landing_url="https://shop.example/join?cid=__CAMPAIGN_ID__",
            ),
            naming=Naming(campaign="{account} · {date}", adgroup="{geo}", ad="{creative} #{n}"),
        )
    )


async def test_preflight_stops_a_launch_whose_event_never_fired(
    service: ServiceProcess,
    sandbox: SandboxClient,
    tiktok: RunningEmulator,
    api: TikTokClient,
) -> None:
    user = await sandbox.user(951, language_code="en")
    await connected_and_synced(user)
    await identities(api, tiktok, ("Glowly US",))
    await import_template(user, _register_template())
    await add_images(user, 1)
    await prepare(user, "Signups", ("Glowly US",), 1)
    problems = await tap(user, "🛫 Check and plan", "Pre-flight found")
    line = next(x for x in problems.text.splitlines() if "ON_WEB_REGISTER" in x)
    assert "Glowly US" in line and "has not fired in the last 7 days" in line
    assert "Landing test pixel" in line
    assert "✅ Approve" not in problems.button_labels()
    assert (await made(api, tiktok, ""))["campaign"] == []


async def _emulator(tiktok: RunningEmulator, name: str, body: dict[str, object]) -> object:
    async with (
        aiohttp.ClientSession() as http,
        http.request(
            "GET" if not body else "POST", f"{tiktok.url}/_emulator/{name}", json=body or None
        ) as resp,
    ):
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def _stats_reads(tiktok: RunningEmulator) -> int:
    counts = (await _emulator(tiktok, "stats", {}))["requests"]  # type: ignore[index]
    return sum(n for path, n in counts.items() if path.endswith("pixel/event/stats/"))


async def _pixels_on(user: ChatUser) -> None:
    await user.send("/settings")
    await user.expect("Settings")
    await user.press("🧩 Optional features")
    await user.expect("Optional TikTok features")
    await user.press("Turn on pixels and events")
    await user.expect("Pixels and events (counts per ad account, launch checks): on")


async def _alerts(user: ChatUser, head: str) -> list[str]:
    return [
        m.text for m in await user.bot_messages() if head in m.text and "Glowly EU pixel" in m.text
    ]


async def test_a_silent_pixel_alerts_once_then_back_to_normal(
    service: ServiceProcess,
    sandbox: SandboxClient,
    tiktok: RunningEmulator,
    travel: Travel,
) -> None:
    user = await sandbox.user(952, language_code="en")
    await connected_and_synced(user)
    await _pixels_on(user)
    for _ in range(60):  # the first read learns the counts
        if await _stats_reads(tiktok) >= 3:
            break
        await asyncio.sleep(0.5)
    await _emulator(tiktok, "pixel_silence", {"pixel_id": EU_PIXEL})

    travel(timedelta(hours=4))
    alert = None
    for _ in range(6):  # each step: the syncs catch up on the spend, the watch reads again
        try:
            alert = await user.wait_for(
                lambda m: "Tracking broken?" in m.text and "Glowly EU pixel" in m.text, timeout=8
            )
            break
        except AssertionError:
            travel(timedelta(minutes=31))
    assert alert is not None, "no tracking alert"
    assert "Complete payment" in alert.text and "Campaigns:" in alert.text
    assert "€" in alert.text  # the EU account's spend, in its currency

    travel(timedelta(minutes=31))  # read again, still silent: not said twice
    await asyncio.sleep(4)
    assert len(await _alerts(user, "Tracking broken?")) == 1

    await _emulator(tiktok, "pixel_silence", {"pixel_id": EU_PIXEL, "silent": False})
    back = None
    for _ in range(8):  # the next purchase may take a while at night (the account's hours)
        travel(timedelta(minutes=31))
        try:
            back = await user.wait_for(
                lambda m: "Back to normal" in m.text and "Glowly EU pixel" in m.text, timeout=8
            )
            break
        except AssertionError:
            pass
    assert back is not None, "no back-to-normal message"
    assert "Complete payment" in back.text
    assert len(await _alerts(user, "Tracking broken?")) == 1
    assert len(await _alerts(user, "Back to normal")) == 1
