"""Seeing inside: correlation ids reach outgoing calls' log lines, events reach the metrics,
lease takeovers are counted, the database gauges read sanely, and /metrics is guarded."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import SendMessage
from aiogram.types import Chat, Message, Update, User
from aiohttp import web
from aiohttp.test_utils import TestServer
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.metrics import (
    BotApiAsked,
    BotApiMetrics,
    Metrics,
    UpdateMetrics,
    address_is_private,
    metrics_handler,
)
from bot.webhook import WebhookStats
from core import observe
from core.clock import FixedClock
from core.logs import CorrelationFilter, JsonFormatter, correlation_id
from core.scheduler import Tick, _guarded
from core.tiktok.ratelimit import NoLimiter
from core.tiktok.transport import RetryPolicy, Transport
from core.trackers.http import TrackerHttp
from storage import leases
from storage.db import session_factory
from storage.models import OutboxMessage, SyncJob
from storage.uow import UnitOfWorkFactory
from storage.vault import Vault, generate_key_entry, parse_keyring
from tests.unit.tracker_fakes import NOW, USER, seed_account, seed_user


class Collect(logging.Handler):
    """Keeps records, stamped as the service's handler stamps them."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []
        self.addFilter(CorrelationFilter())

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def events(self, name: str) -> list[logging.LogRecord]:
        return [r for r in self.records if r.getMessage() == name]


@pytest.fixture
def logs() -> Iterator[Collect]:
    handler, root = Collect(), logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.fixture
def metrics() -> Iterator[Metrics]:
    m = Metrics(cadence_s=900)
    observe.install(m)
    try:
        yield m
    finally:
        observe.install(observe.NullObserver())


@pytest.fixture
async def remote() -> AsyncIterator[str]:
    """A stand-in for TikTok and a tracker: answers a TikTok envelope and a tracker list."""

    async def tiktok(_: web.Request) -> web.Response:
        await asyncio.sleep(0.01)  # long enough for two updates' calls to overlap
        return web.json_response({"code": 0, "message": "OK", "data": {}, "request_id": "r1"})

    async def tracker(_: web.Request) -> web.Response:
        return web.json_response([{"id": 1}])

    app = web.Application()
    app.router.add_get("/open_api/v1.3/advertiser/info/", tiktok)
    app.router.add_get("/admin_api/v1/campaigns", tracker)
    server = TestServer(app)
    await server.start_server()
    yield str(server.make_url("")).rstrip("/")
    await server.close()


def sample(m: Metrics, name: str, **labels: str) -> float:
    """A sample's value from the registry (0 when absent)."""
    value = m.registry.get_sample_value(name, labels)
    return value or 0.0


def update(update_id: int, text: str = "/stats") -> Update:
    user = User(id=7, is_bot=False, first_name="A")
    msg = Message(
        message_id=1,
        date=datetime.now(UTC),
        chat=Chat(id=7, type="private"),
        from_user=user,
        text=text,
    )
    return Update(update_id=update_id, message=msg)


async def test_an_updates_id_reaches_its_tiktok_calls_log_line_and_the_counts(
    logs: Collect, metrics: Metrics, remote: str
) -> None:
    async with aiohttp.ClientSession() as http:
        api = Transport(
            base_url=remote,
            session=http,
            limiter=NoLimiter(),
            retry=RetryPolicy(),
            request_timeout=5,
        )
        middleware = UpdateMetrics(metrics)

        async def handler(event: Any, data: dict[str, Any]) -> str:
            logging.getLogger("core.stats").info("stats.shown")
            await api.call("GET", "advertiser/info/", token="access-tok-9x")
            return "done"

        async def one(update_id: int) -> None:
            await middleware(handler, update(update_id), {})

        # Two updates at once, each in its own task as aiogram runs them: no id leaks across.
        await asyncio.gather(one(4242), one(4243))
    calls = logs.events("tiktok.call")
    assert sorted(getattr(r, "cid", None) for r in calls) == ["u4242", "u4243"]
    assert sorted(getattr(r, "cid", None) for r in logs.events("stats.shown")) == [
        "u4242",
        "u4243",
    ]
    line = json.loads(JsonFormatter().format(calls[0]))
    assert line["cid"] in ("u4242", "u4243") and line["path"] == "advertiser/info/"
    assert "access-tok-9x" not in json.dumps(line)
    assert sample(metrics, "ttpulse_updates_total", type="message", outcome="handled") == 2
    assert sample(metrics, "ttpulse_update_handling_seconds_count", type="message") == 2
    assert (
        sample(metrics, "ttpulse_tiktok_requests_total", endpoint="advertiser/info/", code="0") == 2
    )


async def test_a_tick_run_gets_its_own_id_on_its_tracker_calls(
    logs: Collect, metrics: Metrics, remote: str
) -> None:
    async with aiohttp.ClientSession() as http:
        tracker = TrackerHttp(remote, "s3cret-key", session=http)

        async def job() -> None:
            await tracker.request("GET", "/admin_api/v1/campaigns", op="campaigns", root=True)

        run = _guarded(Tick("trackers", 60, job))
        await asyncio.create_task(run())
        await asyncio.create_task(run())
    ids = [getattr(r, "cid", "") for r in logs.events("tracker.call")]
    assert len(ids) == 2 and all(i.startswith("t-trackers-") for i in ids)
    assert ids[0] != ids[1]  # each run of the job its own id
    assert correlation_id.get() is None  # nothing leaked into the caller
    assert (
        sample(
            metrics,
            "ttpulse_tracker_requests_total",
            tracker="tracker",
            endpoint="campaigns",
            code="200",
        )
        == 2
    )


async def test_a_failing_update_is_counted_as_an_error(metrics: Metrics) -> None:
    async def broken(event: Any, data: dict[str, Any]) -> None:
        raise RuntimeError("bug")

    with pytest.raises(RuntimeError):
        await UpdateMetrics(metrics)(broken, update(1), {})
    assert sample(metrics, "ttpulse_updates_total", type="message", outcome="error") == 1


async def test_bot_api_calls_refusals_and_pacing_waits_are_counted(metrics: Metrics) -> None:
    asked, counted = BotApiAsked(), BotApiMetrics(metrics)
    answers: list[Exception | None] = [
        TelegramRetryAfter(SendMessage(chat_id=1, text="x"), "Too Many Requests", 1),
        None,
    ]

    async def send(bot: Any, method: Any) -> Any:
        failure = answers.pop(0)
        if failure is not None:
            raise failure
        return "ok"

    async def paced(bot: Any, method: Any) -> Any:
        # A pacer that holds the call 20 ms, then retries once after a refusal (as bot/pacing.py).
        await asyncio.sleep(0.02)
        try:
            return await counted(send, bot, method)
        except TelegramRetryAfter:
            await asyncio.sleep(0.02)
            return await counted(send, bot, method)

    assert await asked(paced, None, SendMessage(chat_id=1, text="hi")) == "ok"  # type: ignore[arg-type]
    assert sample(metrics, "ttpulse_telegram_requests_total", method="sendMessage", code="429") == 1
    assert sample(metrics, "ttpulse_telegram_requests_total", method="sendMessage", code="200") == 1
    assert sample(metrics, "ttpulse_telegram_refusals_total", method="sendMessage", code="429") == 1
    assert sample(metrics, "ttpulse_rate_limit_waits_total", limiter="telegram") == 2
    assert sample(metrics, "ttpulse_rate_limit_wait_seconds_total", limiter="telegram") >= 0.03


def test_only_loopback_and_private_peers_scrape_without_a_token() -> None:
    assert address_is_private("127.0.0.1") and address_is_private("::1")
    assert address_is_private("10.1.2.3") and address_is_private("172.18.0.5")
    assert not address_is_private("8.8.8.8") and not address_is_private(None)
    assert not address_is_private("not-an-ip")


@pytest.fixture
def uow(engine: AsyncEngine) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(session_factory(engine), Vault(parse_keyring(generate_key_entry("k"))))


async def test_a_claim_of_an_expired_lease_is_a_takeover(uow: UnitOfWorkFactory) -> None:
    seen: list[tuple[str, int]] = []
    leases.on_takeover(lambda kind, n: seen.append((kind, n)))
    try:
        await seed_user(uow)
        world = await seed_account(uow)
        async with uow() as u:
            u.session.add_all(
                [
                    # Held by a worker that died: its lease lapsed a minute ago.
                    SyncJob(
                        ad_account_id=world.account_id,
                        kind="today",
                        due_at=NOW,
                        lease_owner="dead",
                        lease_until=NOW - timedelta(minutes=1),
                    ),
                    # Given back cleanly: not a takeover.
                    SyncJob(ad_account_id=world.account_id, kind="window", due_at=NOW),
                ]
            )
            await u.commit()
        async with uow() as u:
            jobs = await u.sync.claim("me", NOW, NOW + timedelta(minutes=5), 10)
            await u.commit()
        assert len(jobs) == 2
        assert seen == [("sync", 1)]
        async with uow() as u:  # both held now, and not expired: nothing to claim
            assert await u.sync.claim("other", NOW, NOW + timedelta(minutes=5), 10) == []
        assert seen == [("sync", 1)]
        # An alert whose sender died mid-send (its lease lapsed, not sent) and a fresh one.
        async with uow() as u:
            u.session.add_all(
                [
                    OutboxMessage(
                        user_id=USER,
                        kind="x",
                        dedup_key="a",
                        params={},
                        next_attempt_at=NOW,
                        lease_until=NOW - timedelta(seconds=1),
                    ),
                    OutboxMessage(
                        user_id=USER, kind="x", dedup_key="b", params={}, next_attempt_at=NOW
                    ),
                ]
            )
            await u.commit()
        for one_per_user in (True, False):
            async with uow() as u:
                got = await u.outbox.claim(
                    NOW, NOW + timedelta(minutes=1), 10, one_per_user=one_per_user
                )
                await u.commit()
            assert len(got) == 1  # the oldest (taken over), then the other
        assert seen == [("sync", 1), ("outbox", 1)]
    finally:
        leases.on_takeover(lambda kind, n: None)


async def test_the_database_gauges_and_the_guarded_route(uow: UnitOfWorkFactory) -> None:
    await seed_user(uow)
    world = await seed_account(uow)
    async with uow() as u:
        u.session.add(
            SyncJob(
                ad_account_id=world.account_id,
                kind="today",
                due_at=NOW,
                last_ok_at=NOW - timedelta(minutes=7),
            )
        )
        u.session.add(
            OutboxMessage(
                user_id=USER,
                kind="x",
                dedup_key="k1",
                params={},
                created_at=NOW - timedelta(minutes=3),
                next_attempt_at=NOW,
            )
        )
        u.session.add(
            OutboxMessage(
                user_id=USER,
                kind="x",
                dedup_key="k2",
                params={},
                created_at=NOW - timedelta(hours=3),
                next_attempt_at=NOW,
                sent_at=NOW,
            )
        )
        await u.commit()
    m = Metrics(cadence_s=900)
    clock = FixedClock(NOW)
    app = web.Application()
    app.router.add_get("/metrics", metrics_handler(m, uow, clock, "tok3n-value"))
    server = TestServer(app)
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            url = str(server.make_url("/metrics"))
            async with http.get(url) as resp:
                assert resp.status == 401
            async with http.get(url, headers={"Authorization": "Bearer wrong"}) as resp:
                assert resp.status == 401
            async with http.get(url, headers={"Authorization": "Bearer tok3n-value"}) as resp:
                assert resp.status == 200
                assert resp.headers["Content-Type"].startswith("text/plain")
                text = await resp.text()
    finally:
        await server.close()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    values = {s.name: s.value for f in families.values() for s in f.samples if not s.labels}
    assert values["ttpulse_outbox_depth"] == 1
    assert values["ttpulse_outbox_oldest_age_seconds"] == 180
    assert values["ttpulse_sync_lag_max_seconds"] == 420
    assert values["ttpulse_sync_lag_seconds_count"] == 1
    assert values["ttpulse_metrics_database_up"] == 1
    buckets = [
        (s.labels["le"], s.value)
        for s in families["ttpulse_sync_lag_seconds"].samples
        if s.name.endswith("_bucket")
    ]
    assert dict(buckets)["300.0"] == 0 and dict(buckets)["600.0"] == 1
    assert dict(buckets)["+Inf"] == 1
    counts = [v for _, v in buckets]
    assert counts == sorted(counts)


async def test_without_a_token_a_public_peer_is_refused() -> None:
    m = Metrics()

    class Peer:
        remote = "8.8.8.8"
        headers: dict[str, str] = {}

    handler = metrics_handler(m, None, FixedClock(NOW), None)  # type: ignore[arg-type]
    resp = await handler(Peer())  # type: ignore[arg-type]
    assert resp.status == 403
    assert b"ttpulse_updates" in generate_latest(m.registry)


async def test_without_a_token_loopback_scrapes(uow: UnitOfWorkFactory) -> None:
    app = web.Application()
    app.router.add_get("/metrics", metrics_handler(Metrics(), uow, FixedClock(NOW), None))
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.get(str(server.make_url("/metrics"))) as resp,
        ):
            assert resp.status == 200
            text = await resp.text()
    finally:
        await server.close()
    names = {f.name for f in text_string_to_metric_families(text)}
    assert {"ttpulse_outbox_depth", "ttpulse_sync_lag_seconds", "ttpulse_launch_items"} <= names


async def test_install_wraps_the_pacer_between_the_bot_api_middlewares() -> None:
    from aiogram import Bot, Dispatcher

    from bot.pacing import PacingMiddleware

    bot = Bot("42:" + "A" * 35)
    pacer = PacingMiddleware()
    bot.session.middleware(pacer)
    m = Metrics()
    try:
        m.install(Dispatcher(), bot)
        chain = list(bot.session.middleware)
        assert [type(x) for x in chain] == [BotApiAsked, PacingMiddleware, BotApiMetrics]
        assert chain[1] is pacer
        assert observe.current() is m
    finally:
        observe.install(observe.NullObserver())
        await bot.session.close()


def test_webhook_deliveries_are_exported_by_outcome() -> None:
    metrics, stats = Metrics(), WebhookStats()
    metrics.watch_webhook(stats)
    stats.handled, stats.duplicates, stats.busy = 7, 2, 1
    text = generate_latest(metrics.registry).decode()
    assert 'ttpulse_webhook_deliveries_total{outcome="handled"} 7.0' in text
    assert 'ttpulse_webhook_deliveries_total{outcome="duplicates"} 2.0' in text
    stats.duplicates += 1  # read at scrape time, never a stale copy
    assert 'outcome="duplicates"} 3.0' in generate_latest(metrics.registry).decode()
