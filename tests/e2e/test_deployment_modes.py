"""The same service behind a webhook, with Redis for conversation state, and under flood control."""

from __future__ import annotations

import aiohttp
import pytest

from sandbox.telegram.driver import SandboxClient
from tests.e2e.harness import ServiceProcess, sign_up
from tests.services import REDIS_URL, redis_client

SECRET = "e2e_webhook_secret-42"


class TestWebhook:
    @pytest.fixture
    def service_env(self) -> dict[str, str]:
        return {"WEBHOOK_SECRET": SECRET}

    async def test_updates_arrive_by_webhook(
        self, service: ServiceProcess, sandbox: SandboxClient
    ) -> None:
        [hook] = await sandbox.requests("setWebhook")
        assert hook["params"]["url"] == f"{service.url}/telegram/webhook"
        assert await sandbox.requests("getUpdates") == []  # no polling behind a webhook
        user = await sandbox.user(401, language_code="en")
        await sign_up(user)
        async with aiohttp.ClientSession() as http:
            forged = {
                "update_id": 1,
                "message": {
                    "message_id": 1,
                    "date": 0,
                    "chat": {"id": 401, "type": "private"},
                    "text": "/start",
                },
            }
            async with http.post(f"{service.url}/telegram/webhook", json=forged) as resp:
                assert resp.status == 401  # no secret header: not from Telegram
            headers = {"X-Telegram-Bot-Api-Secret-Token": "wrong"}
            async with http.post(
                f"{service.url}/telegram/webhook", json=forged, headers=headers
            ) as resp:
                assert resp.status == 401


class TestRedisState:
    @pytest.fixture
    async def service_env(self) -> dict[str, str]:
        client = await redis_client()
        await client.flushdb()  # the test database (/15 by default), never the default one
        await client.aclose()
        return {"REDIS_URL": REDIS_URL}

    async def test_flow_state_lives_in_redis_and_survives_restart(
        self, service: ServiceProcess, sandbox: SandboxClient
    ) -> None:
        user = await sandbox.user(402, language_code="en")
        await user.send("/start")
        await user.expect("Choose your language")
        await user.press("English")
        await user.expect("18 or older")
        client = await redis_client()
        try:
            keys = [k.decode() for k in await client.keys("fsm:*:402:402:*")]
            assert any(k.endswith(":state") for k in keys)
        finally:
            await client.aclose()
        await service.restart()
        await user.press("✅ I am 18 or older")
        await user.expect("Terms of Use")


@pytest.mark.allow_refusals(429)
async def test_flood_limits_are_waited_out_and_nothing_is_lost(
    service: ServiceProcess, sandbox: SandboxClient
) -> None:
    # Much stricter than Telegram: one message, then one per 3 s per chat.
    await sandbox.configure(per_chat_burst=1, per_chat_rate=0.34)
    user = await sandbox.user(403, language_code="en")
    for command in ("/help", "/privacy", "/cancel"):
        await user.send(command)
    await user.expect("There is nothing to cancel", timeout=30)
    texts = [m.text for m in await user.bot_messages()]
    assert len(texts) == 3 and "Commands" in texts[0] and "TTPulse Privacy Policy" in texts[1]
    floods = [r for r in await sandbox.refusals() if r["error_code"] == 429]
    assert floods and all(r["retry_after"] and r["retry_after"] > 0 for r in floods)
    assert any(e.get("event") == "telegram.flood_wait" for e in service.log_events())
