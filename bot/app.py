"""The composition root: wires settings, storage, the bot, the dispatcher and the web server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage, StorageKey
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.fsm.storage.redis import DefaultKeyBuilder, RedisEventIsolation, RedisStorage
from aiogram.utils.i18n import I18n
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.approval_echo import ApprovalEcho
from bot.commands import register_commands, register_menu_button
from bot.downloads import fetcher
from bot.errors import on_error
from bot.export_courier import ExportCourier
from bot.filters import run_sync_filters_inline
from bot.fsm_storage import DatabaseStorage
from bot.gates import gate_routers
from bot.i18n import UserLocaleMiddleware, make_i18n
from bot.late_answers import LateAnswers
from bot.launch_progress import ProgressEditor
from bot.metrics import Metrics, metrics_handler
from bot.middlewares import PrivateChatsOnly, UserMiddleware
from bot.notifier import Notifier
from bot.oauth_callback import OAuthDeps
from bot.once_sends import OnceSends
from bot.operator_calls import star_transactions
from bot.pacing import PacingMiddleware, SharedLimits
from bot.routers import all_routers
from bot.routers.privacy_delete import stop_renewal
from bot.sent_ledger import SentLedger, forget_old
from bot.web import WEBHOOK_PATH, BotProbe, ExportDeps, build_web_app
from bot.web_invoice import WebInvoice
from bot.webhook import WebhookHandler, make_claims
from core import comments, pixel_watch, web_auth
from core.billing import reconcile
from core.billing import tick as billing_tick
from core.billing.plans import PlanBook
from core.charts import ChartRenderer
from core.clock import Clock, SystemClock
from core.creatives import Fetch
from core.google_signin import OidcClient, OidcConfig
from core.launch import runner as launch_runner
from core.launch import service as launch_service
from core.logs import setup_logging
from core.oauth_state import StateSigner
from core.privacy import erase, export, rights
from core.privacy import purge as privacy_purge
from core.rules import approvals
from core.rules import engine as rules_engine
from core.rules.tiktok_changer import TikTokChanger
from core.scheduler import Tick, build_scheduler, stop_ticks
from core.scheduler import stopping as ticks_stopping
from core.settings import Settings, SettingsError
from core.sync import drain_due, release_leases, worker_id
from core.tiktok import TikTokClient, TikTokConfig
from core.trackers import jobs as tracker_jobs
from core.trackers.factory import client_factory
from storage.change_bus import ChangeBus
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import Creative
from storage.uow import UnitOfWorkFactory
from storage.vault import Vault
from web.deps import WebDeps

log = logging.getLogger(__name__)


@dataclass
class Service:
    """Everything a running instance holds."""

    settings: Settings
    engine: AsyncEngine
    uow: UnitOfWorkFactory
    bot: Bot
    dp: Dispatcher
    i18n: I18n
    clock: Clock
    signer: StateSigner
    tiktok: TikTokClient | None
    worker: str
    charts: ChartRenderer
    metrics: Metrics | None = None
    bus: ChangeBus | None = None


def make_tiktok(settings: Settings) -> TikTokClient | None:
    """The TikTok client when an app is configured (its rate limit shared through Redis)."""
    if not settings.tiktok_app_id or settings.tiktok_app_secret is None:
        return None
    return TikTokClient.from_config(TikTokConfig.from_settings(settings, qps=settings.tiktok_qps))


def make_bot(settings: Settings) -> Bot:
    """A Bot on the configured Bot API server, HTML by default, paced under flood limits."""
    if settings.bot_token is None:
        raise SettingsError(
            "BOT_TOKEN is not set. Set it to run the real bot, or start the offline demo with "
            "`python -m sandbox.demo`."
        )
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    bot_id = int(settings.bot_token.get_secret_value().split(":", 1)[0])
    session.middleware(LateAnswers())
    shared, once = None, None
    if settings.redis_url:
        from redis.asyncio import Redis

        redis = Redis.from_url(settings.redis_url)
        # An update handled again after an instance died mid-handler sends nothing twice. It is
        # the innermost middleware (registered after pacing, below): a send is marked only as it
        # goes out, not while it waits for its pacing slot.
        once = OnceSends(redis, bot_id)
        # Instances share one token's limits through Redis (issue 15); the limits own the
        # client both use and close it at shutdown.
        shared = SharedLimits(
            redis,
            bot_id,
            per_chat_rate=settings.telegram_chat_rate,
            per_chat_burst=3,
            global_rate=settings.telegram_global_rate,
            owns_client=True,
        )
    session.middleware(
        PacingMiddleware(
            per_chat_rate=settings.telegram_chat_rate,
            global_rate=settings.telegram_global_rate,
            shared=shared,
        )
    )
    if once is not None:
        session.middleware(once)
    return Bot(
        settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )


def make_fsm(settings: Settings, uow: UnitOfWorkFactory) -> tuple[BaseStorage, BaseEventIsolation]:
    """Conversation state in Redis when configured (shared by instances), else in the database."""
    if settings.redis_url:
        storage = RedisStorage.from_url(
            settings.redis_url, key_builder=DefaultKeyBuilder(with_bot_id=True)
        )
        return storage, RedisEventIsolation(storage.redis)
    return DatabaseStorage(uow), SimpleEventIsolation()


def build_dispatcher(
    i18n: I18n, storage: BaseStorage, isolation: BaseEventIsolation, **deps: object
) -> Dispatcher:
    """Routers in order, the user and locale middlewares, and the one error handler.

    `deps` (uow, settings, clock) become handler arguments; the routers are module-level, so a
    process builds one dispatcher (tests pass the deps per update instead).
    """
    dp = Dispatcher(storage=storage, events_isolation=isolation, **deps)
    users, private = UserMiddleware(), PrivateChatsOnly()
    for observer in (dp.message, dp.callback_query, dp.pre_checkout_query):
        observer.outer_middleware(users)
    UserLocaleMiddleware(i18n).setup(dp)
    # After the locale middleware, so a refusal is said in the presser's language.
    dp.message.outer_middleware(private)
    dp.callback_query.outer_middleware(private)
    dp.errors.register(on_error)
    dp.include_routers(*all_routers())
    gate_routers(dp)
    run_sync_filters_inline(dp)
    return dp


async def start_service(settings: Settings, clock: Clock | None = None) -> Service:
    """Open the database (migrating it), and build the bot and the dispatcher."""
    vault = Vault(settings.keyring)  # fails fast on missing keys, before touching anything
    engine = create_engine(settings.database_url)
    await upgrade(engine)
    uow = UnitOfWorkFactory(session_factory(engine), vault)
    # Instances share REDIS_URL: each tells the others which cached rows its commits changed.
    bus = ChangeBus(settings.redis_url, uow.changes) if settings.redis_url else None
    i18n = make_i18n()
    storage, isolation = make_fsm(settings, uow)
    clock = clock or SystemClock(
        timedelta(seconds=settings.clock_offset_seconds), settings.clock_offset_file
    )
    signer, tiktok, worker = StateSigner(settings.keyring), make_tiktok(settings), worker_id()
    charts = ChartRenderer()  # worker processes start on the first chart
    dp = build_dispatcher(
        i18n,
        storage,
        isolation,
        uow=uow,
        settings=settings,
        clock=clock,
        signer=signer,
        tiktok=tiktok,
        worker=worker,
        charts=charts,
        cadence=settings.sync_cadence,
        changer=TikTokChanger(uow, tiktok) if tiktok is not None else None,
        plans=PlanBook(settings.plans_file),
    )
    bot = make_bot(settings)
    # Innermost, after pacing and OnceSends: a message is recorded once Telegram made it.
    bot.session.middleware(SentLedger(uow, clock))
    metrics = Metrics(settings.sync_cadence.today.total_seconds())
    metrics.install(dp, bot)  # core's events, the updates, the Bot API calls
    return Service(
        settings, engine, uow, bot, dp, i18n, clock, signer, tiktok, worker, charts, metrics, bus
    )


def dashboard_deps(svc: Service) -> WebDeps:
    """What the web dashboard (web/) needs from this instance."""
    settings = svc.settings
    assert settings.bot_token is not None  # make_bot refused to start without it
    invoices = WebInvoice(svc.bot, settings, svc.uow, svc.dp["plans"], svc.clock, svc.i18n)
    return WebDeps(
        svc.uow, svc.clock, svc.i18n, settings.bot_token.get_secret_value(),
        settings.public_url,
        changer=TikTokChanger(svc.uow, svc.tiktok) if svc.tiktok is not None else None,
        plans=svc.dp["plans"],
        init_data_max_age=timedelta(seconds=settings.web_init_data_max_age_seconds),
        session_lifetime=timedelta(days=settings.web_session_days),
        # Two back-window syncs missed (one may be late under load, not two).
        stale_after=2 * settings.sync_cadence.window + settings.sync_cadence.early,
        decided=ApprovalEcho(svc.bot, svc.i18n, svc.uow, svc.clock, svc.dp["plans"]),
        tiktok=svc.tiktok,
        export_dir=Path(settings.export_dir),
        erase_pause=settings.erase_pause_seconds,
        forget_chat=chat_forgetter(svc.dp.storage, svc.bot.id),
        stop_renewal=partial(stop_renewal, svc.bot, svc.uow, svc.clock),
        invoice=invoices,
        renewal=invoices.renewal,
        telegram_oauth_url=settings.telegram_oauth_url,
        login_max_age=timedelta(seconds=settings.web_login_max_age_seconds),
        google=google_client(settings),
    )


def chat_forgetter(storage: BaseStorage, bot_id: int) -> Callable[[int], Awaitable[None]]:
    """Drops a user's conversation state in their private chat, wherever the FSM lives."""

    async def forget(user_id: int) -> None:
        key = StorageKey(bot_id=bot_id, chat_id=user_id, user_id=user_id)
        await storage.set_state(key, None)
        await storage.set_data(key, {})

    return forget


def google_client(settings: Settings) -> OidcClient | None:
    """The OpenID Connect client of "Sign in with Google", when configured."""
    if settings.google_client_id is None or settings.google_client_secret is None:
        return None
    return OidcClient(OidcConfig(
        settings.oidc_issuer_url, settings.google_client_id,
        settings.google_client_secret.get_secret_value(),
        f"{settings.public_url}/app/google/callback",
    ))


async def _reconcile_daily(svc: Service, plans: PlanBook) -> None:
    """The daily reconciliation; Telegram out of reach is a warning (tomorrow's run, or an
    operator's "Reconcile now", tries again), not a crash of the tick."""
    try:
        await reconcile.run(svc.uow, plans.current(), svc.clock, star_transactions(svc.bot),
                            [k.secret for k in svc.settings.keyring.keys], svc.worker,
                            svc.settings.admin_id_set)
    except TelegramAPIError as exc:
        log.warning("billing.reconcile_failed", extra={"error": exc.message})


def background_ticks(svc: Service) -> list[Tick]:
    """What every instance does in the background; leases keep instances from doubling work."""
    plans: PlanBook = svc.dp["plans"]
    leases = svc.settings.leases
    notifier = Notifier(svc.uow, svc.clock, svc.bot, svc.i18n, plans=plans, lease=leases.outbox,
                        pin=svc.settings.tiktok_comment_pin != "off")
    owner = svc.worker
    courier = ExportCourier(svc.bot, svc.i18n)
    exports_dir = Path(svc.settings.export_dir)
    trackers = client_factory(svc.settings.tracker_timeout_seconds)
    ticks = [
        Tick("notify", svc.settings.notify_tick_seconds, notifier.tick),
        # Disconnected or revoked connections, lost ad accounts, disconnected trackers.
        Tick("purge", 3600,
             lambda: privacy_purge.run_due(svc.uow, svc.clock, owner, lease=leases.purge)),
        Tick(
            "trackers",
            svc.settings.sync_tick_seconds,
            lambda: tracker_jobs.run_due(
                svc.uow, svc.clock, trackers, owner, lease=leases.trackers
            ),
        ),
        Tick(
            "exports",
            svc.settings.notify_tick_seconds,
            lambda: export.run_due(
                svc.uow, svc.clock, owner, courier, exports_dir,
                svc.settings.export_upload_limit_bytes, svc.settings.public_url,
            ),
        ),
        Tick("export_purge", 600, lambda: export.purge(svc.uow, svc.clock, exports_dir)),
        # Expired dashboard sessions and sign-in links (any instance; a delete is idempotent).
        Tick("web_purge", 3600, lambda: web_auth.purge_expired(svc.uow, svc.clock)),
        # The bot's own messages recorded for in-doubt alerts' probes (bot/sent_ledger.py).
        Tick("sent_purge", 3600, lambda: forget_old(svc.uow, svc.clock)),
        # Broadcasts: count blocked recipients, report the delivery once nothing is pending.
        Tick("broadcasts", svc.settings.notify_tick_seconds,
             lambda: rights.settle_broadcasts(svc.uow, svc.clock)),
        # Our payments ledger against Telegram's Stars transactions, once a day (leased).
        Tick("reconcile", 86400, lambda: _reconcile_daily(svc, plans)),
        # Reminders before a paid period ends, grace, and a changed plan's limits.
        Tick(
            "billing",
            svc.settings.billing_tick_seconds,
            lambda: billing_tick.run_due(svc.uow, plans.current(), svc.clock, owner),
        ),
        Tick(
            "erasures",
            svc.settings.erasure_tick_seconds,
            lambda: erase.run_due(
                svc.uow, svc.clock, svc.tiktok, owner, pause=svc.settings.erase_pause_seconds
            ),
        ),
    ]
    if svc.tiktok is not None:
        tiktok = svc.tiktok
        changer = TikTokChanger(svc.uow, tiktok)
        progress = ProgressEditor(svc.bot, svc.i18n)

        def fetch(creative: Creative) -> Fetch:
            return fetcher(svc.bot, creative.tg_file_id or "", creative.size)

        ticks += [
            Tick(
                "rules",
                svc.settings.rules_tick_seconds,
                # Each rule next due at its owner's plan's cadence (the plans re-read).
                lambda: rules_engine.run_due(
                    svc.uow, svc.clock, changer, owner, catalogue=svc.dp["plans"].current(),
                    lease=leases.rules,
                ),
            ),
            Tick(
                "approvals",
                svc.settings.rules_tick_seconds,
                lambda: approvals.expire_due(svc.uow, svc.clock),
            ),
            Tick(
                "reenable",
                svc.settings.rules_tick_seconds,
                lambda: approvals.reenable_due(svc.uow, svc.clock, changer),
            ),
            Tick(
                "resume_changes",
                svc.settings.rules_tick_seconds,
                lambda: approvals.resume_stuck(svc.uow, svc.clock, changer),
            ),
            Tick(
                "launches",
                svc.settings.rules_tick_seconds,
                lambda: launch_runner.run_due(
                    svc.uow, svc.clock, tiktok, owner, fetch, progress, lease=leases.launches
                ),
            ),
            # New comments under watched campaigns, for users with the comments feature on.
            Tick(
                "comments",
                svc.settings.sync_tick_seconds,
                lambda: comments.pull_due(
                    svc.uow, svc.clock, tiktok, owner,
                    every=timedelta(minutes=svc.settings.comments_pull_minutes),
                ),
            ),
            # "Tracking broken?": pixel event counts per ad account, for users with pixels on.
            Tick(
                "pixel_watch",
                svc.settings.sync_tick_seconds,
                lambda: pixel_watch.watch_due(
                    svc.uow, svc.clock, tiktok, owner,
                    every=timedelta(minutes=svc.settings.pixel_watch_minutes),
                    silent_after=timedelta(hours=svc.settings.pixel_silent_hours),
                ),
            ),
            Tick(
                "launch_approvals",
                svc.settings.rules_tick_seconds,
                lambda: launch_service.expire_due(svc.uow, svc.clock),
            ),
        ]
        ticks.append(
            Tick(
                "sync",
                svc.settings.sync_tick_seconds,
                lambda: drain_due(
                    svc.uow, svc.clock, tiktok, owner, svc.settings.sync_concurrency,
                    cadence=svc.settings.sync_cadence,
                    lease=leases.sync,
                    stopping=ticks_stopping,
                ),
            )
        )
    return ticks


async def _wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def ensure_webhook(bot: Bot, url: str, secret: str, allowed: list[str], conns: int) -> None:
    """Register the webhook: every instance at start sets the same values (idempotent).

    N instances starting together do not fight: setWebhook with the same URL, secret and
    options changes nothing and keeps pending updates (they are never dropped here). Each sets
    it rather than comparing with getWebhookInfo first, because getWebhookInfo does not show the
    secret: after WEBHOOK_SECRET is rotated, a compare would find "no change" and Telegram would
    keep sending the old secret (401 on every update).
    """
    await bot.set_webhook(url, secret_token=secret, allowed_updates=allowed, max_connections=conns)
    log.info("webhook.set", extra={"url": url, "max_connections": conns})


async def _drain(
    settings: Settings, probe: BotProbe, hook: WebhookHandler | None,
    scheduler: AsyncIOScheduler | None,
) -> None:
    """SIGTERM: not ready at once, refuse new updates, give the work in hand the grace period."""
    grace = settings.shutdown_grace_seconds
    probe.draining = True
    log.info("service.draining", extra={"grace": grace})
    work = [] if hook is None else [hook.drain(grace)]
    if scheduler is not None:
        work.append(stop_ticks(scheduler, grace))
    await asyncio.gather(*work)


async def run(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM: long polling, or a webhook when WEBHOOK_SECRET is set."""
    setup_logging(settings.log_level, settings.log_format, settings.secret_values())
    svc = await start_service(settings)
    # Nothing is cached until the bus listens (storage/change_bus.py): reads go to the database.
    bus_task = asyncio.create_task(svc.bus.run()) if svc.bus is not None else None
    runner: web.AppRunner | None = None
    scheduler: AsyncIOScheduler | None = None
    hook: WebhookHandler | None = None
    try:
        me = await svc.bot.get_me()
        probe = BotProbe(svc.bot)
        await probe.connected()
        await register_commands(svc.bot, svc.i18n)
        await register_menu_button(svc.bot, svc.i18n, settings.dashboard_url)
        if settings.use_webhook and settings.webhook_secret is not None:
            claims = make_claims(
                settings.redis_url,
                svc.bot.id,
                svc.worker,
                settings.update_dedup_seconds,
                settings.webhook_claim_seconds,
            )
            hook = WebhookHandler(svc.dp, svc.bot, settings.webhook_secret.get_secret_value(),
                                  claims)
            if svc.metrics is not None:
                svc.metrics.watch_webhook(hook.stats)
        oauth = None
        if svc.tiktok is not None and me.username:
            oauth = OAuthDeps(
                svc.uow, svc.clock, svc.signer, svc.tiktok, svc.bot, svc.i18n, me.username,
                plans=svc.dp["plans"],
            )
        exports = ExportDeps(svc.uow, svc.clock, Path(settings.export_dir))
        runner = web.AppRunner(
            build_web_app(svc.engine, probe, svc.i18n, hook, oauth, exports,
                          dashboard_deps(svc)),
            access_log=None,
        )
        if svc.metrics is not None:
            token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
            runner.app.router.add_get(
                "/metrics", metrics_handler(svc.metrics, svc.uow, svc.clock, token)
            )
        await runner.setup()
        await web.TCPSite(runner, settings.web_host, settings.web_port).start()
        log.info(
            "service.started",
            extra={
                "bot": me.username,
                "mode": "webhook" if hook else "polling",
                "web": f"{settings.web_host}:{settings.web_port}",
            },
        )
        scheduler = build_scheduler(background_ticks(svc))
        scheduler.start()
        if hook is not None:
            await svc.dp.emit_startup(bot=svc.bot)
            await ensure_webhook(
                svc.bot, f"{settings.public_url}{WEBHOOK_PATH}", hook.secret,
                svc.dp.resolve_used_update_types(), settings.webhook_max_connections,
            )
            probe.serving = True
            await _wait_for_signal()
            await _drain(settings, probe, hook, scheduler)
            await svc.dp.emit_shutdown(bot=svc.bot)
            # The webhook stays set: the other instances behind it keep serving. Switching a
            # bot to long polling (starting it without WEBHOOK_SECRET) is what deletes it.
        else:
            # The one switch from webhook to polling: getUpdates answers 409 while one is set.
            await svc.bot.delete_webhook()

            async def polling_started(**_: object) -> None:
                probe.serving = True

            async def polling_stopping(**_: object) -> None:
                probe.draining = True

            svc.dp.startup.register(polling_started)
            svc.dp.shutdown.register(polling_stopping)
            # aiogram closes the FSM storage on shutdown, right when polling stops — while
            # updates still being handled hold their FSM locks (Redis: releasing one then meets
            # a closed connection). The `finally` below closes it after they finish.
            fsm_close = svc.dp.fsm.close
            svc.dp.shutdown.handlers[:] = [
                h for h in svc.dp.shutdown.handlers if h.callback != fsm_close
            ]
            await svc.dp.start_polling(
                svc.bot, allowed_updates=svc.dp.resolve_used_update_types(), close_bot_session=False
            )
    finally:
        # Updates still being handled finish before the storage, session and database they use
        # close: a SIGTERM mid-handler otherwise cuts its FSM lock release (a traceback, and a
        # reply that may never be sent). aiogram keeps those tasks in a private set.
        in_flight = [t for t in getattr(svc.dp, "_handle_update_tasks", ()) if not t.done()]
        if in_flight:
            await asyncio.wait(in_flight, timeout=settings.shutdown_grace_seconds)
        if scheduler is not None:
            if scheduler.running:  # not yet stopped by the drain
                await stop_ticks(scheduler, settings.shutdown_grace_seconds)
            await release_leases(svc.uow, svc.worker)
            await comments.release_leases(svc.uow, svc.worker)
            await pixel_watch.release_leases(svc.uow, svc.worker)
            await rules_engine.release_leases(svc.uow, svc.worker)
            await launch_runner.release_leases(svc.uow, svc.worker)
            await tracker_jobs.release_leases(svc.uow, svc.worker)
            await export.release_leases(svc.uow, svc.worker)
            await erase.release_leases(svc.uow, svc.worker)
            await billing_tick.release_leases(svc.uow, svc.worker)
        if runner is not None:
            await runner.cleanup()
        if hook is not None:
            await hook.claims.close()
        if bus_task is not None and svc.bus is not None:
            bus_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await bus_task
            await svc.bus.close()
        with contextlib.suppress(Exception):
            await svc.dp.storage.close()
        await svc.bot.session.close()
        for middleware in list(svc.bot.session.middleware):
            if isinstance(middleware, PacingMiddleware) and middleware.shared is not None:
                await middleware.shared.aclose()
        if svc.tiktok is not None:
            await svc.tiktok.close()
        await svc.charts.close()
        await svc.engine.dispose()
        log.info("service.stopped")
