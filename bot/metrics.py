"""Prometheus metrics: the families an operator watches, and the `/metrics` route.

Events (updates, Bot API / TikTok / tracker calls, rate-limit waits, rule runs, lease
takeovers) are counted by this instance: core reports them through core/observe.py, the
dispatcher and the Bot API session through the middlewares below. Backlogs and lags (outbox,
sync lag, launch items) live in the shared database and are read when scraped, so they are the
same from whichever instance answers.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from contextvars import ContextVar
from dataclasses import asdict
from typing import Any

from aiogram import BaseMiddleware, Bot, Dispatcher
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import TelegramObject, Update
from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from bot.webhook import WebhookStats
from core import observe
from core.clock import Clock
from core.logs import correlation_id
from storage.uow import UnitOfWorkFactory

log = logging.getLogger(__name__)
# No `*_created` series next to every counter and histogram: Prometheus' text format does not
# need them, and they double the size of each scrape (a process-wide switch; ours is the only
# registry here).
disable_created_metrics()

# Seconds: handlers and outgoing calls (a chart or a report can take seconds).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# Seconds since an ad account's last good sync: around the 15-minute cadence, then hours.
LAG_BUCKETS = (
    60.0,
    300.0,
    600.0,
    900.0,
    1200.0,
    1800.0,
    2700.0,
    3600.0,
    7200.0,
    14400.0,
    43200.0,
    86400.0,
)
LEASE_KINDS = ("sync", "rules", "launches", "trackers", "outbox")
LIMITERS = ("telegram", "tiktok")
RULE_OUTCOMES = ("ok", "stale", "error")
LAUNCH_ITEM_STATES = ("pending", "creating", "created", "failed")
# A wait shorter than this is a free slot, not a wait (the count would say every call waited).
_WAIT_FLOOR_S = 0.001
_SNAPSHOT_EVERY_S = 2.0  # scrapes closer together than this reuse the last database read


class Metrics(observe.Observer):
    """One instance's metric families (a registry of its own, so tests can build several)."""

    def __init__(self, cadence_s: float = 900.0) -> None:
        r = self.registry = CollectorRegistry()
        self.updates = Counter(
            "ttpulse_updates",
            "Telegram updates handled, by type and outcome "
            "(handled, unhandled: no handler matched, error, cancelled).",
            ["type", "outcome"],
            registry=r,
        )
        self.update_seconds = Histogram(
            "ttpulse_update_handling_seconds",
            "Time from an update entering the handlers to its handler returning.",
            ["type"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.telegram = Counter(
            "ttpulse_telegram_requests",
            "Bot API requests sent (each attempt), by method and "
            "result code (200, 400, 403, 429, 5xx, network).",
            ["method", "code"],
            registry=r,
        )
        self.telegram_refusals = Counter(
            "ttpulse_telegram_refusals",
            "Bot API requests Telegram refused (any code but 200), by method and code.",
            ["method", "code"],
            registry=r,
        )
        self.telegram_seconds = Histogram(
            "ttpulse_telegram_request_seconds",
            "Bot API request latency.",
            ["method"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.tiktok = Counter(
            "ttpulse_tiktok_requests",
            "TikTok Marketing API requests (each attempt), by "
            "endpoint and TikTok's code (0 is success; http_5xx, timeout, …).",
            ["endpoint", "code"],
            registry=r,
        )
        self.tiktok_seconds = Histogram(
            "ttpulse_tiktok_request_seconds",
            "TikTok Marketing API request latency.",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.tracker = Counter(
            "ttpulse_tracker_requests",
            "Tracker API requests (each attempt), by tracker kind, "
            "endpoint and HTTP status (or timeout, bad_url, unavailable).",
            ["tracker", "endpoint", "code"],
            registry=r,
        )
        self.tracker_seconds = Histogram(
            "ttpulse_tracker_request_seconds",
            "Tracker API request latency.",
            ["tracker"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.waits = Counter(
            "ttpulse_rate_limit_waits",
            "Outgoing calls that waited for a rate-limit slot or a "
            "server's retry-after, by limiter.",
            ["limiter"],
            registry=r,
        )
        self.wait_seconds = Counter(
            "ttpulse_rate_limit_wait_seconds",
            "Seconds spent waiting for rate limits.",
            ["limiter"],
            registry=r,
        )
        self.rule_runs = Counter(
            "ttpulse_rule_runs",
            "Rule runs by outcome (ok, stale: data too old, error).",
            ["outcome"],
            registry=r,
        )
        self.rule_actions = Counter(
            "ttpulse_rule_actions",
            "Rule actions by their state at the end of the run "
            "(applied, proposed, notified, skipped, failed, …).",
            ["outcome"],
            registry=r,
        )
        self.takeovers = Counter(
            "ttpulse_lease_takeovers",
            "Leases claimed after they expired in another worker's "
            "hands (a worker died or stalled), by kind of work.",
            ["kind"],
            registry=r,
        )
        # Series that exist before their first event, so rate() and alerts see a zero.
        for kind in LEASE_KINDS:
            self.takeovers.labels(kind)
        for limiter in LIMITERS:
            self.waits.labels(limiter)
            self.wait_seconds.labels(limiter)
        for outcome in RULE_OUTCOMES:
            self.rule_runs.labels(outcome)
        self.database = DatabaseGauges(cadence_s)
        r.register(self.database)

    def install(self, dp: Dispatcher, bot: Bot) -> None:
        """Count everything this instance does: core's events (core/observe.py, and storage's
        lease takeovers), the dispatcher's updates, and the bot's Bot API calls."""
        observe.install(self)
        # An outer middleware on updates sits inside aiogram's errors middleware, so it sees a
        # handler's exception (and the errors handler then logs it under the update's id).
        dp.update.outer_middleware(UpdateMetrics(self))
        # Request middlewares run in the order registered: BotApiAsked first (when a call was
        # asked for), then the pacing already there, then BotApiMetrics (each attempt as sent).
        chain = bot.session.middleware
        present = list(chain)
        for middleware in present:
            chain.unregister(middleware)
        for middleware in (BotApiAsked(), *present, BotApiMetrics(self)):
            chain.register(middleware)

    def watch_webhook(self, stats: WebhookStats) -> None:
        """Export the webhook route's deliveries by outcome (bot/webhook.py counts them)."""
        self.registry.register(WebhookDeliveries(stats))

    # core/observe.py's Observer ------------------------------------------------------------

    def call(self, service: str, endpoint: str, code: str, seconds: float) -> None:
        """Count one outgoing TikTok or tracker attempt."""
        if service == "tiktok":
            self.tiktok.labels(endpoint, code).inc()
            self.tiktok_seconds.labels(endpoint).observe(seconds)
        else:
            self.tracker.labels(service, endpoint, code).inc()
            self.tracker_seconds.labels(service).observe(seconds)

    def waited(self, limiter: str, seconds: float) -> None:
        """Count a rate-limit wait (a free slot is not one)."""
        if seconds >= _WAIT_FLOOR_S:
            self.waits.labels(limiter).inc()
            self.wait_seconds.labels(limiter).inc(seconds)

    def rule_run(self, outcome: str) -> None:
        """Count a finished rule run."""
        self.rule_runs.labels(outcome).inc()

    def rule_action(self, outcome: str) -> None:
        """Count a rule action by its state after the run."""
        self.rule_actions.labels(outcome).inc()

    def lease_takeover(self, kind: str, count: int) -> None:
        """Count leases taken over from a worker that let them lapse."""
        self.takeovers.labels(kind).inc(count)


class WebhookDeliveries(Collector):
    """`ttpulse_webhook_deliveries_total` from the webhook route's own counters."""

    def __init__(self, stats: WebhookStats) -> None:
        self.stats = stats

    def collect(self) -> Iterable[Metric]:
        """One series per outcome: handled, duplicates, busy, refused_draining, released."""
        family = CounterMetricFamily(
            "ttpulse_webhook_deliveries",
            "Webhook deliveries by outcome: handled, duplicates (a repeat of a handled update, "
            "answered and dropped), busy (a repeat while another instance handles it: 503), "
            "refused_draining (503 while stopping), released (cut short by the shutdown grace).",
            labels=["outcome"],
        )
        for outcome, count in asdict(self.stats).items():
            family.add_metric([outcome], count)
        yield family


class DatabaseGauges(Collector):
    """The database-derived families, from the last `refresh` (run by the /metrics route)."""

    def __init__(self, cadence_s: float) -> None:
        self.cadence_s = cadence_s
        self.snapshot: observe.Snapshot | None = None
        self.read_at = 0.0
        self.ok = False
        self._lock = asyncio.Lock()

    async def refresh(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        """Re-read the database unless a scrape just did; a failure is reported as a gauge."""
        async with self._lock:
            if time.monotonic() - self.read_at < _SNAPSHOT_EVERY_S and self.snapshot:
                return
            try:
                self.snapshot = await asyncio.wait_for(observe.snapshot(uow, clock.now()), 10)
                self.ok = True
            except Exception as exc:  # a scrape must answer even when the database does not
                self.ok = False
                log.warning("metrics.database_failed", extra={"error": type(exc).__name__})
            self.read_at = time.monotonic()

    def collect(self) -> Iterable[Metric]:
        """Yield the gauges of the last read (only `ttpulse_metrics_database_up` without one)."""
        yield GaugeMetricFamily(
            "ttpulse_metrics_database_up",
            "1 if the last scrape read the database gauges.",
            value=1.0 if self.ok else 0.0,
        )
        yield GaugeMetricFamily(
            "ttpulse_sync_cadence_seconds",
            "The configured cadence of today's sync per ad "
            "account (SYNC_TODAY_MINUTES): alert when the lag passes twice this.",
            value=self.cadence_s,
        )
        snap = self.snapshot
        if snap is None:
            return
        yield GaugeMetricFamily(
            "ttpulse_outbox_depth",
            "Alerts in the outbox waiting to be delivered.",
            value=snap.outbox_depth,
        )
        yield GaugeMetricFamily(
            "ttpulse_outbox_oldest_age_seconds",
            "Age of the oldest undelivered alert (0 when none waits).",
            value=snap.outbox_oldest_age_s,
        )
        items = GaugeMetricFamily(
            "ttpulse_launch_items", "Launch items by state.", labels=["state"]
        )
        for state in sorted(set(LAUNCH_ITEM_STATES) | set(snap.launch_items)):
            items.add_metric([state], snap.launch_items.get(state, 0))
        yield items
        lags = sorted(snap.sync_lags_s)
        buckets: list[tuple[str, float]] = []
        i = 0
        for bound in LAG_BUCKETS:
            while i < len(lags) and lags[i] <= bound:
                i += 1
            buckets.append((_bound(bound), i))
        buckets.append(("+Inf", len(lags)))
        yield HistogramMetricFamily(
            "ttpulse_sync_lag_seconds",
            "Per syncing ad account: seconds since its last successful sync of today's numbers.",
            buckets=buckets,
            sum_value=sum(lags),
        )
        yield GaugeMetricFamily(
            "ttpulse_sync_lag_max_seconds",
            "The largest sync lag of any syncing ad account (0 when none syncs).",
            value=lags[-1] if lags else 0.0,
        )


def _bound(value: float) -> str:
    return f"{value:g}" if value != int(value) else f"{int(value)}.0"


class UpdateMetrics(BaseMiddleware):
    """Outer middleware on updates: the correlation id (`u<update_id>`), counts and latency."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self._counted: dict[tuple[str, str], Any] = {}
        self._timed: dict[str, Any] = {}

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        """Set the update's correlation id, then time and count its handling."""
        assert isinstance(event, Update)
        # Not reset on the way out: the errors middleware, outside this one, logs a failure
        # under the same id. Each update runs in its own task (polling and webhook alike), so
        # the id ends with it.
        correlation_id.set(f"u{event.update_id}")
        kind = update_type(event)
        start, outcome = time.perf_counter(), "error"
        try:
            result = await handler(event, data)
            outcome = "unhandled" if result is UNHANDLED else "handled"
            return result
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        finally:
            # Label children cached: a labels() lookup takes a lock and builds a tuple.
            counted = self._counted.get((kind, outcome))
            if counted is None:
                counted = self._counted[kind, outcome] = self.metrics.updates.labels(kind, outcome)
            timed = self._timed.get(kind)
            if timed is None:
                timed = self._timed[kind] = self.metrics.update_seconds.labels(kind)
            counted.inc()
            timed.observe(time.perf_counter() - start)


# An update carries exactly one of these (Bot API "Update"); the common ones first.
_COMMON = ("message", "callback_query", "pre_checkout_query")
_UPDATE_FIELDS = (
    *_COMMON,
    *(name for name in Update.model_fields if name not in ("update_id", *_COMMON)),
)


def update_type(update: Update) -> str:
    """The update's type, without aiogram's `event_type` (an lru_cache that hashes the whole
    update on every call)."""
    for name in _UPDATE_FIELDS:
        if getattr(update, name, None) is not None:
            return name
    return "unknown"  # a type newer than this aiogram


_asked_at: ContextVar[float | None] = ContextVar("bot_api_asked_at", default=None)

_CODES: tuple[tuple[type[TelegramAPIError], str], ...] = (
    (TelegramRetryAfter, "429"),
    (TelegramUnauthorizedError, "401"),
    (TelegramForbiddenError, "403"),
    (TelegramNotFound, "404"),
    (TelegramConflictError, "409"),
    (TelegramEntityTooLarge, "413"),
    (TelegramBadRequest, "400"),
    (TelegramServerError, "5xx"),
    (TelegramNetworkError, "network"),
)


def bot_api_code(exc: BaseException) -> str:
    """The code label of a failed Bot API call."""
    for kind, code in _CODES:
        if isinstance(exc, kind):
            return code
    return "other"


class BotApiAsked(BaseRequestMiddleware):
    """Registered before the pacer: notes when a call was asked for, so the next middleware
    can tell how long pacing (and any 429 wait) held it."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        """Stamp the request, then pass it on."""
        token = _asked_at.set(time.monotonic())
        try:
            return await make_request(bot, method)
        finally:
            _asked_at.reset(token)


class BotApiMetrics(BaseRequestMiddleware):
    """Registered after the pacer: counts each attempt that leaves, by method and code, its
    latency, and the time the pacer made it wait."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self._counted: dict[tuple[str, str], Any] = {}
        self._timed: dict[str, Any] = {}

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        """Count and time one attempt."""
        name = method.__api_method__
        start = time.monotonic()
        asked = _asked_at.get()
        if asked is not None:
            self.metrics.waited("telegram", start - asked)
        code = "200"
        try:
            return await make_request(bot, method)
        except Exception as exc:
            code = bot_api_code(exc)
            raise
        finally:
            end = time.monotonic()
            counted = self._counted.get((name, code))
            if counted is None:
                counted = self._counted[name, code] = self.metrics.telegram.labels(name, code)
            timed = self._timed.get(name)
            if timed is None:
                timed = self._timed[name] = self.metrics.telegram_seconds.labels(name)
            counted.inc()
            timed.observe(end - start)
            if code != "200":
                self.metrics.telegram_refusals.labels(name, code).inc()
            if asked is not None:
                _asked_at.set(end)  # a retry after a 429 waits from here


def scrape_allowed(request: web.Request, token: str | None) -> bool:
    """With METRICS_TOKEN: the bearer token, from anywhere. Without it: loopback and private
    addresses only (a scraper on the same host or network; never through a public balancer,
    which should not route /metrics at all)."""
    if token:
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
    return address_is_private(request.remote)


def address_is_private(remote: str | None) -> bool:
    """Whether a peer address is loopback or private (unknown or unix socket: no)."""
    if not remote:
        return False
    try:
        ip = ipaddress.ip_address(remote)
    except ValueError:
        return False
    return ip.is_loopback or ip.is_private


def metrics_handler(
    metrics: Metrics, uow: UnitOfWorkFactory, clock: Clock, token: str | None
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """GET /metrics: Prometheus' text format, after re-reading the database gauges."""

    async def handler(request: web.Request) -> web.Response:
        if not scrape_allowed(request, token):
            if token:
                return web.Response(status=401, headers={"WWW-Authenticate": "Bearer"})
            return web.Response(status=403)
        await metrics.database.refresh(uow, clock)
        body = generate_latest(metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    return handler
