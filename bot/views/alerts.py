"""Alert messages, rendered from outbox entries in the owner's language."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiogram import html
from aiogram.utils.i18n import gettext as _

from bot.callbacks import AccountsCb
from bot.keyboards import InlineKeyboardBuilder
from bot.views import Screen, rule_alerts, rule_digest
from bot.views import admin as admin_view
from bot.views import billing as billing_view
from bot.views import comments as comments_view
from bot.views import launch as launch_view
from bot.views import permissions as permissions_view
from bot.views import pixels as pixels_view
from bot.views import privacy as privacy_view
from bot.views.common import local_day
from bot.views.integrations import alerts as integrations_alerts
from core import comment_bursts, comments, pixel_watch
from core.billing import overview as billing_overview
from core.billing import reconcile
from core.billing import tick as billing_tick
from core.billing.account import RECEIPT_KIND, SUPERSEDE_KIND
from core.billing.plans import Catalogue, PlanBook
from core.features import grant_of, is_on
from core.launch import service as launch_service
from core.privacy import rights
from core.privacy.rights import MARKETING_KIND
from core.rules import digests
from storage.uow import UnitOfWork


async def render(
    u: UnitOfWork,
    kind: str,
    user_id: int,
    params: dict[str, Any],
    now: datetime,
    *,
    outbox_id: int | None = None,
    catalogue: Catalogue | None = None,
    focus: int | None = None,
    pin: bool = True,
) -> Screen | None:
    """The message for one alert (`outbox_id`: the alert's own id, to gather the alerts merged
    into it; `catalogue`: the plans in force, for plan names; `focus`: a rule action whose digest
    page to show; `pin`: comment cards offer Pin), or None when its subject no longer exists."""
    if kind in BILLING_KINDS:
        return await _billing(u, kind, user_id, params, catalogue or PlanBook().current(), now)
    if kind in digests.KINDS and outbox_id is not None:
        # Alone, or with the rest of its tick's alerts to this chat merged into it.
        return await rule_digest.render(u, user_id, outbox_id, now, focus=focus)
    if kind.startswith("rule_"):
        return await rule_alerts.render(u, kind, user_id, params, now)
    if kind == "launch_done":
        found = await launch_service.detail_in(u, user_id, int(params["launch_id"]))
        return launch_view.finished(found) if found is not None else None
    if kind == "tracker_discrepancy":
        # Said even after a disconnect: the numbers were true on that day.
        if await u.trackers.get(user_id, int(params["tracker_id"])) is None:
            return None  # purged, or not the owner's
        return integrations_alerts.discrepancy(params)
    if kind == "text":
        # A ready-made text (operators' notices, tests): the text is data, so it is escaped.
        return html.quote(str(params["text"])), None
    if kind == MARKETING_KIND:
        # Consent is checked again at delivery: a withdrawal after queueing is honoured.
        user = await u.users.get(user_id)
        if user is None or not user.marketing_opt_in:
            return None
        return privacy_view.news(str(params["text"]), user_id)
    if kind == rights.SERVICE_KIND:
        return admin_view.service_notice(str(params["text"]))
    if kind == rights.BROADCAST_REPORT_KIND:
        status = await rights.broadcast_status_in(u, str(params["key"]))
        return admin_view.broadcast_report(status) if status is not None else None
    if kind == reconcile.REPORT_KIND:
        return admin_view.reconcile_report(params)
    if kind == "connection_broken":
        conn = await u.connections.connection(user_id, int(params["connection_id"]))
        if conn is None or conn.status != "broken":
            return None  # reconnected or disconnected meanwhile: nothing to say
        kb = InlineKeyboardBuilder()
        kb.button(text=_("🔄 Reconnect"), callback_data=AccountsCb(action="reconnect", id=conn.id))
        if conn.purge_after is not None:  # revoked at TikTok: the retention clock runs
            return _(
                "⚠️ TikTok says TTPulse's access to <b>{name}</b> was revoked, so its ad "
                "accounts stopped syncing. Their synced data will be deleted on {date} unless "
                "you reconnect before then."
            ).format(
                name=html.quote(conn.display_name),
                date=await _local_day(u, user_id, conn.purge_after),
            ), kb.as_markup()
        return _(
            "⚠️ TikTok stopped accepting TTPulse's access to <b>{name}</b>, so its ad "
            "accounts are not syncing. Reconnect to resume; nothing else changes."
        ).format(name=html.quote(conn.display_name)), kb.as_markup()
    if kind == comments.NEW_KIND:
        user = await u.users.get(user_id)
        if user is None or not is_on(user, comments.FEATURE):
            return None  # switched off since: not even what was already pulled is shown
        found = await u.comments.comment(user_id, int(params["comment"]))
        return comments_view.card(found[0], pin) if found is not None else None
    if kind == comment_bursts.BURST_KIND:
        user = await u.users.get(user_id)
        if user is None or not is_on(user, comments.FEATURE):
            return None
        burst = await comment_bursts.burst_of(u, user_id, int(params["burst"]))
        if burst is None:
            return None
        return comments_view.burst_alert(burst[0], await comment_bursts.comments_of(u, burst[0]))
    if kind in (pixel_watch.SILENT_KIND, pixel_watch.BACK_KIND):
        user = await u.users.get(user_id)
        if user is None or not is_on(user, pixel_watch.FEATURE):
            return None  # switched off since
        if kind == pixel_watch.SILENT_KIND:
            return pixels_view.silent_alert(params)
        return pixels_view.back_alert(params)
    if kind == comments.SCOPE_KIND:
        conn = await u.connections.connection(user_id, int(params["connection_id"]))
        if conn is None or conn.status == "disconnected":
            return None
        return permissions_view.scope_missing(comments.FEATURE, [grant_of(conn)])
    if kind == "account_lost":
        account = await u.connections.account(user_id, int(params["account_id"]))
        if account is None or account.purge_after is None:
            return None  # reachable again, disconnected or already deleted
        kb = InlineKeyboardBuilder()
        kb.button(
            text=_("🔄 Reconnect"),
            callback_data=AccountsCb(action="reconnect", id=account.connection_id),
        )
        return _(
            "⚠️ <b>{name}</b> (<code>{advertiser}</code>) is no longer reachable with your "
            "TikTok login, so it stopped syncing. Its synced data will be deleted on {date} "
            "unless access to it is given back in TikTok and you reconnect before then."
        ).format(
            name=html.quote(account.name),
            advertiser=html.quote(account.advertiser_id),
            date=await _local_day(u, user_id, account.purge_after),
        ), kb.as_markup()
    return None


BILLING_KINDS = (RECEIPT_KIND, SUPERSEDE_KIND, *billing_tick.KINDS)


async def _billing(
    u: UnitOfWork, kind: str, user_id: int, params: dict[str, Any], catalogue: Catalogue,
    now: datetime,
) -> Screen | None:
    """Billing messages: a receipt, and the tick's reminder, grace notice, downgrade and
    upgrade. A reminder or grace notice that no longer holds (renewed, paid) is not sent."""
    user = await u.users.get(user_id)
    zone = user.time_zone if user is not None else "UTC"
    if kind == RECEIPT_KIND:
        found = await billing_overview.payment_in(u, user_id, str(params["charge_id"]), catalogue,
                                                  now)
        return billing_view.receipt(*found, catalogue, zone) if found is not None else None
    if kind == SUPERSEDE_KIND:  # the notifier asked Telegram to stop it just before
        refused = params.get("refused")
        text = (billing_view.superseded_still_renews(str(refused)) if refused
                else billing_view.superseded_stopped())
        return text, None
    if kind == billing_tick.DOWNGRADED_KIND:
        return billing_view.downgraded(params["before"], params["plan"], params["paused"],
                                       catalogue)
    if kind == billing_tick.UPGRADED_KIND:
        return billing_view.upgraded(params["plan"], params["restored"], catalogue)
    row = await u.billing.entitlement(user_id)
    paid_until = datetime.fromisoformat(params["paid_until"])
    if row is None or row.paid_until != paid_until:
        return None  # more time was bought (or refunded) meanwhile
    if kind == billing_tick.REMINDER_KIND and row.state == "active" and not row.renews:
        return billing_view.reminder(params["plan"], paid_until, catalogue, zone)
    if kind == billing_tick.GRACE_KIND and row.state == "grace":
        grace_until = datetime.fromisoformat(params["grace_until"])
        return billing_view.grace(params["plan"], paid_until, grace_until, catalogue, zone)
    return None


async def _local_day(u: UnitOfWork, user_id: int, when: datetime) -> str:
    """The day `when` falls on in the user's time zone, spelled out in their language."""
    user = await u.users.get(user_id)
    return local_day(when, user.time_zone if user is not None else "UTC")
