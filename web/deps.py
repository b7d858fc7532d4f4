"""What the dashboard's handlers need, built once by the composition root."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from aiogram.utils.i18n import I18n

from core.billing.plans import PlanBook
from core.clock import Clock
from core.google_signin import OidcClient
from core.rules.acting import Changer
from core.tiktok import TikTokClient
from storage.models import User
from storage.uow import UnitOfWorkFactory

HERE = Path(__file__).resolve().parent
# `scripts/dev setup` runs `npm ci` in web/: uPlot's dist files are served from there.
VENDOR = HERE / "node_modules" / "uplot" / "dist"


@dataclass(frozen=True)
class WebDeps:
    """The dashboard's collaborators and settings."""

    uow: UnitOfWorkFactory
    clock: Clock
    i18n: I18n
    bot_token: str
    public_url: str
    changer: Changer | None = None
    # The plans (rules switched on, rule cadence) as the chat enforces them; None: no limits.
    plans: PlanBook | None = None
    init_data_max_age: timedelta = timedelta(days=1)
    session_lifetime: timedelta = timedelta(days=30)
    vendor_dir: Path = VENDOR
    # An account not fully synced for longer than this shows as behind on the overview.
    stale_after: timedelta = timedelta(hours=3)
    # Told (user id, action id) after a rule approval is decided here, so the chat's message
    # that asked shows the decision too (bot/approval_echo.py: only the bot knows Telegram).
    decided: Callable[[int, int], Awaitable[None]] | None = None
    # TikTok for a launch's pre-flight (web/launch_routes.py) and a deletion's revoke; None:
    # no TikTok app configured (launches are refused, a deletion revokes nothing at TikTok).
    tiktok: TikTokClient | None = None
    # Where export ZIPs wait (EXPORT_DIR, shared with the worker that builds them).
    export_dir: Path = Path("data/exports")
    erase_pause: float = 0.0  # ERASE_PAUSE_SECONDS (tests only)
    # Drops a user's conversation state wherever the FSM lives (bot.app.chat_forgetter): a
    # deletion's erasure reaches the database's, not Redis's. None: nothing beyond the database.
    forget_chat: Callable[[int], Awaitable[None]] | None = None
    # Stops a deleted account's Stars subscription at Telegram (bot.routers.privacy_delete):
    # the line saying how it went, None when nothing renewed. None: no bot to ask.
    stop_renewal: Callable[[int], Awaitable[str | None]] | None = None
    # Sends a plan's Stars invoice into the user's chat (bot/web_invoice.py): the page's Buy
    # buttons; "sent", "subscribed" or "not_on_sale". None: no bot (the page offers /plans).
    invoice: Callable[[User, str, int, bool], Awaitable[str]] | None = None
    # Cancels (True) or allows again (False) the user's subscription renewal through Telegram
    # (bot/web_invoice.py: editUserStarSubscription); what happened in the chat's words.
    renewal: Callable[[User, bool], Awaitable[str]] | None = None
    # "Log in with Telegram" (web/signin_routes.py): oauth.telegram.org, or the sandbox's.
    telegram_oauth_url: str = "https://oauth.telegram.org"
    login_max_age: timedelta = timedelta(hours=1)
    # "Sign in with Google": None when not configured (the button is not shown).
    google: OidcClient | None = None

    @property
    def secure(self) -> bool:
        """Served over https: cookies get Secure (and SameSite=None for Telegram's frame)."""
        return self.public_url.startswith("https://")
