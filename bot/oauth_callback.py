"""`GET /oauth/tiktok/callback`: TikTok sends the browser back here after the consent page."""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiohttp import web

from bot.views import accounts as view
from core.billing.plans import PlanBook
from core.clock import Clock
from core.connections import ConnectError, finish_connect
from core.oauth_state import StateSigner
from core.tiktok import TikTokClient
from core.tiktok.oauth import auth_code_from_redirect
from core.users import get_user
from storage.uow import UnitOfWorkFactory

log = logging.getLogger(__name__)
CALLBACK_PATH = "/oauth/tiktok/callback"


@dataclass
class OAuthDeps:
    """What the callback needs."""

    uow: UnitOfWorkFactory
    clock: Clock
    signer: StateSigner
    tiktok: TikTokClient
    bot: Bot
    i18n: I18n
    bot_username: str
    plans: PlanBook | None = None  # whose limits decide how many new ad accounts are tracked


def _page(title: str, text: str, link: str | None, lang: str, status: int) -> web.Response:
    label = _("Back to Telegram")
    back = f'<p><a href="{html.escape(link)}">{html.escape(label)}</a></p>' if link else ""
    doc = (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{html.escape(title)}</title></head>"
        f'<body style="font-family:sans-serif;max-width:36em;margin:2em auto">'
        f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>{back}</body></html>"
    )
    return web.Response(text=doc, content_type="text/html", status=status)


def _failure_text(reason: str) -> str:
    if reason == "forged":
        return _(
            "This link was not issued by TTPulse, or it was changed. Nothing was "
            "connected. Start again from the Accounts menu in the bot."
        )
    return view.connect_failed(reason)[0]


async def _tell(deps: OAuthDeps, user_id: int, screen: view.Screen) -> None:
    text, markup = screen
    try:
        await deps.bot.send_message(user_id, text, reply_markup=markup)
    except TelegramAPIError as exc:  # the page already told them; the chat is a courtesy
        log.warning("oauth.notify_failed", extra={"user_id": user_id, "error": exc.message})


def make_handler(deps: OAuthDeps) -> web.RequestHandler:
    """The aiohttp handler bound to the service's parts."""

    async def callback(request: web.Request) -> web.Response:
        q = request.query
        link = f"https://t.me/{deps.bot_username}"
        try:
            result = await finish_connect(
                deps.uow,
                deps.clock,
                deps.signer,
                deps.tiktok,
                q.get("state", ""),
                auth_code_from_redirect(q),
                q.get("error"),
                deps.plans.current() if deps.plans is not None else None,
            )
        except ConnectError as exc:
            user = await get_user(deps.uow, exc.user_id) if exc.user_id else None
            lang = user.language if user else "en"
            log.info("oauth.failed", extra={"reason": exc.reason, "user_id": exc.user_id})
            with deps.i18n.context(), deps.i18n.use_locale(lang):
                if exc.user_id is not None:
                    await _tell(deps, exc.user_id, view.connect_failed(exc.reason))
                return _page(
                    _("TikTok was not connected"), _failure_text(exc.reason), link, lang, 400
                )
        user = await get_user(deps.uow, result.user_id)
        lang = user.language if user else "en"
        log.info(
            "oauth.connected", extra={"user_id": result.user_id, "accounts": len(result.accounts)}
        )
        with deps.i18n.context(), deps.i18n.use_locale(lang):
            await _tell(deps, result.user_id, view.connected(
                result.accounts, result.updated, deps.clock.now(), result.untracked, result.hit,
                result.elsewhere))
            return _page(
                _("TikTok connected"),
                _(
                    "{count} ad accounts connected. You can close this page and go back "
                    "to Telegram."
                ).format(count=len(result.accounts)),
                f"{link}?start=connected",
                lang,
                200,
            )

    return callback
