"""The web side: health and readiness probes, the legal pages, the Telegram webhook route, and
the download links of data exports too big for Telegram."""

from __future__ import annotations

import asyncio
import html
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from aiogram import Bot
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.i18n import guess_language
from bot.oauth_callback import CALLBACK_PATH, OAuthDeps, make_handler
from bot.views import info, privacy
from bot.webhook import WebhookHandler
from core.clock import Clock
from core.logs import correlation_id, new_correlation_id
from core.privacy import export
from storage.db import ping
from storage.uow import UnitOfWorkFactory
from web.app import mount
from web.deps import WebDeps

log = logging.getLogger(__name__)
WEBHOOK_PATH = "/telegram/webhook"


@dataclass
class BotProbe:
    """Remembers when getMe last succeeded, and re-asks Telegram at most every `ttl` seconds."""

    bot: Bot
    ttl: float = 30.0
    ok_at: float = field(default=0.0)
    serving: bool = False  # set once updates can flow (webhook registered or polling started)
    # Set on SIGTERM: /readyz answers 503 at once so a balancer stops sending here (issue 15).
    draining: bool = False

    async def connected(self) -> bool:
        """True if the Bot API answered recently."""
        if time.monotonic() - self.ok_at < self.ttl:
            return True
        try:
            await asyncio.wait_for(self.bot.get_me(), timeout=5)
        except Exception:  # any failure means "not ready"; the probe must not raise
            return False
        self.ok_at = time.monotonic()
        return True


@dataclass(frozen=True)
class ExportDeps:
    """What the export download route needs."""

    uow: UnitOfWorkFactory
    clock: Clock
    directory: Path


def _page(title: str, body_html: str, lang: str) -> web.Response:
    doc = (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{html.escape(title)}</title></head>"
        f'<body style="font-family:sans-serif;max-width:40em;margin:2em auto;'
        f'white-space:pre-wrap">{body_html}</body></html>'
    )
    return web.Response(text=doc, content_type="text/html")


def build_web_app(
    engine: AsyncEngine,
    probe: BotProbe,
    i18n: I18n,
    webhook: WebhookHandler | None = None,
    oauth: OAuthDeps | None = None,
    exports: ExportDeps | None = None,
    dashboard: WebDeps | None = None,
) -> web.Application:
    """The aiohttp application; with `webhook`, Telegram's updates arrive at WEBHOOK_PATH;
    with `oauth`, TikTok's consent redirect is served at CALLBACK_PATH; with `exports`, export
    download links at /export/{token}; with `dashboard`, the web dashboard at /app/."""

    # Each request its own correlation id (`w-…`): the OAuth callback's TikTok calls, an
    # export download; an update arriving by webhook gets its `u<update_id>` in the dispatcher.
    @web.middleware
    async def correlate(request: web.Request, handler: web.RequestHandler) -> web.StreamResponse:
        correlation_id.set(new_correlation_id("w"))
        return await handler(request)

    app = web.Application(middlewares=[correlate])

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(_: web.Request) -> web.Response:
        if probe.draining:
            return web.json_response({"ready": False, "draining": True}, status=503)
        checks: dict[str, str] = {}
        try:
            await asyncio.wait_for(ping(engine), timeout=5)
            checks["database"] = "ok"
        except Exception as exc:  # report, never raise, from a probe
            checks["database"] = f"error: {type(exc).__name__}"
        if not probe.serving:
            checks["telegram"] = "starting"
        else:
            checks["telegram"] = "ok" if await probe.connected() else "unreachable"
        ready = all(v == "ok" for v in checks.values())
        return web.json_response({"ready": ready, **checks}, status=200 if ready else 503)

    def legal(render: object) -> web.RequestHandler:
        async def handler(request: web.Request) -> web.Response:
            lang = guess_language(request.query.get("lang"))
            with i18n.context(), i18n.use_locale(lang):
                text = render()  # type: ignore[operator]
            title = text.split("\n", 1)[0].replace("<b>", "").replace("</b>", "")
            return _page(title, text, lang)

        return handler

    async def download(request: web.Request) -> web.StreamResponse:
        assert exports is not None
        found = await export.download(
            exports.uow, exports.clock, exports.directory, request.match_info["token"]
        )
        if isinstance(found, export.Download):
            return web.FileResponse(found.path, headers={
                "Content-Type": "application/zip",
                "Content-Disposition": f'attachment; filename="{found.file_name}"',
                "Cache-Control": "no-store",
                "Referrer-Policy": "no-referrer",
            })
        lang = guess_language(request.headers.get("Accept-Language", "")[:2] or None)
        with i18n.context(), i18n.use_locale(lang):
            if found == "expired":
                title = _("This download link has expired")
                body = _("Export links work for 24 hours. Send /export to the bot for a new one.")
            else:
                title = _("No such download")
                body = _("This link is not valid. Send /export to the bot for your data.")
        page = _page(title, f"<b>{html.escape(title)}</b>\n\n{html.escape(body)}", lang)
        page.set_status(410 if found == "expired" else 404)
        return page

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/terms", legal(info.terms_text))
    # The general policy, generated from the inventory like /privacy (no personal dates here).
    app.router.add_get("/privacy", legal(privacy.policy_text))
    if oauth is not None:
        app.router.add_get(CALLBACK_PATH, make_handler(oauth))
    if exports is not None:
        app.router.add_get("/export/{token}", download)
    if webhook is not None:
        app.router.add_post(WEBHOOK_PATH, webhook.handle)
    if dashboard is not None:
        # The dashboard (web/, issue 16) is its own room; the server it runs on is this one.
        mount(app, dashboard)
    return app
