"""Accounts screens: connections, ad accounts, connect, disconnect."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.utils.i18n import gettext as _

from bot.callbacks import AccountsCb, AudienceCb, CatalogCb, IdentityCb, MenuCb, PixelCb
from bot.keyboards import InlineKeyboardBuilder
from bot.views import Screen
from bot.views import limits as limits_view
from bot.views import permissions as permissions_view
from bot.views.common import add_pager, freshness, local_day, page_of, zone_label
from core.billing.limits import AD_ACCOUNTS, LimitHit
from core.billing.plans import Plan
from core.connections import AccountInfo
from core.features import grant_of
from storage.models import AdAccount, TikTokConnection

PAGE = 8


def overview(
    connections: list[TikTokConnection],
    accounts: dict[int, list[AdAccount]],
    user_tz: str,
    now: datetime,
    page: int = 0,
    plan: Plan | None = None,
    pixels_on: bool = False,
    audiences_on: bool = False,
    catalogs_on: bool = False,
) -> Screen:
    """Every connection with its ad accounts; a button per account toggles tracking. An account
    a plan paused says so (and which plan allows how many). With the pixels / audiences
    features on, a Pixels / Audiences button; with catalogs on, Catalogs."""
    kb = InlineKeyboardBuilder()
    if not connections:
        kb.button(text=_("➕ Connect TikTok"), callback_data=AccountsCb(action="connect"))
        kb.button(text=_("« Main menu"), callback_data=MenuCb(section="home"))
        kb.adjust(1)
        return _(
            "<b>Ad accounts</b>\n\nNo TikTok account is connected yet. Connect one to see "
            "spend and results here; TTPulse only reads until you set rules."
        ), kb.as_markup()
    flat = [(c, a) for c in connections for a in accounts.get(c.id, [])]
    shown, page, pages = page_of(flat, page, PAGE)
    lines = [
        _("<b>Ad accounts</b>") + (f" ({page + 1}/{pages})" if pages > 1 else ""),
        _("✅ tracked · ⬜ not tracked — press an account to switch."),
    ]
    current = None
    for conn, acc in shown:
        if conn.id != current:
            current = conn.id
            state = _("⚠️ needs reconnecting") if conn.status == "broken" else _("connected")
            if conn.purge_after is not None:
                state = _("⚠️ access revoked at TikTok; its data is deleted on {date} unless "
                          "you reconnect").format(date=local_day(conn.purge_after, user_tz))
            lines.append(f"\n🔗 <b>{html.quote(conn.display_name)}</b> — {state}")
            lines.append(permissions_view.scope_line(grant_of(conn)))
        held = not acc.tracked and acc.plan_paused_at is not None
        mark = "✅" if acc.tracked else "⏸" if held else "⬜"
        lines.append(
            f"{mark} {html.quote(acc.name)} · <code>{acc.advertiser_id}</code> · {acc.currency}"
            f" · {zone_label(acc.time_zone, now)} · {html.quote(acc.status)}"
            f" · {freshness(acc.fresh_as_of, user_tz, now)}"
        )
        if acc.purge_after is not None:
            lines.append(_("   ⚠️ no longer reachable with this login; its data is deleted on "
                           "{date}").format(date=local_day(acc.purge_after, user_tz)))
        elif held and plan is not None:
            lines.append("   " + limits_view.paused_mark(plan, AD_ACCOUNTS))
        kb.button(
            text=f"{mark} {acc.name[:40]}",
            callback_data=AccountsCb(action="track", id=acc.id, page=page),
        )
    rows = [1] * len(shown)
    if nav := add_pager(kb, page, pages, lambda n: AccountsCb(action="page", page=n)):
        rows.append(nav)
    for conn in connections:
        if conn.status == "broken":
            kb.button(
                text=_("🔄 Reconnect {name}").format(name=conn.display_name[:30]),
                callback_data=AccountsCb(action="reconnect", id=conn.id),
            )
            rows.append(1)
        kb.button(
            text=_("🔌 Disconnect {name}").format(name=conn.display_name[:30]),
            callback_data=AccountsCb(action="disconnect", id=conn.id),
        )
        rows.append(1)
    if flat:
        kb.button(text=_("🪪 Identities"), callback_data=IdentityCb(a="pick"))
        rows.append(1)
        if pixels_on:
            kb.button(text=_("🎯 Pixels"), callback_data=PixelCb(a="pick"))
            rows.append(1)
        if audiences_on:
            kb.button(text=_("👥 Audiences"), callback_data=AudienceCb(a="pick"))
            rows.append(1)
        if catalogs_on:
            kb.button(text=_("🛍 Catalogs"), callback_data=CatalogCb(a="list"))
            rows.append(1)
    kb.button(text=_("➕ Connect TikTok"), callback_data=AccountsCb(action="connect"))
    kb.button(text=_("« Main menu"), callback_data=MenuCb(section="home"))
    rows.append(2)
    kb.adjust(*rows)
    return "\n".join(lines), kb.as_markup()


def consent_link(url: str) -> Screen:
    """The URL button to TikTok's consent page."""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("Open TikTok"), url=url)
    kb.button(text=_("« Back"), callback_data=AccountsCb(action="show"))
    kb.adjust(1)
    return _(
        "Open TikTok and authorize TTPulse to read your ad accounts. The link works once, "
        "for 15 minutes; I will message you here when it is done."
    ), kb.as_markup()


def confirm_disconnect(conn: TikTokConnection) -> Screen:
    """Ask before disconnecting."""
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("Yes, disconnect"), callback_data=AccountsCb(action="disconnect_yes", id=conn.id)
    )
    kb.button(text=_("Cancel"), callback_data=AccountsCb(action="show"))
    kb.adjust(2)
    return _(
        "Disconnect <b>{name}</b>? TTPulse will revoke its access at TikTok, stop syncing "
        "its ad accounts and delete their synced data within 7 days."
    ).format(name=html.quote(conn.display_name)), kb.as_markup()


def disconnected(name: str, purge_at: datetime, user_tz: str) -> str:
    """Disconnect done."""
    when = purge_at.astimezone(ZoneInfo(user_tz)).strftime("%d.%m.%Y")
    return _(
        "🔌 <b>{name}</b> is disconnected and its access at TikTok revoked. Its synced data "
        "will be deleted by {date}."
    ).format(name=html.quote(name), date=when)


def connected(accounts: list[AccountInfo], updated: bool, now: datetime,
              untracked: list[AccountInfo] | None = None, hit: LimitHit | None = None,
              elsewhere: list[AccountInfo] | None = None) -> Screen:
    """The chat message after a successful consent; the accounts the plan left untracked, why,
    and ⭐ Upgrade; those another connection already tracks."""
    head = _("✅ TikTok reconnected.") if updated else _("✅ TikTok connected.")
    lines = [head, _("Ad accounts found: {count}").format(count=len(accounts)), ""]
    tail = ["", _("Their numbers appear in Stats after the first sync, in a few minutes.")]
    if elsewhere:
        names = ", ".join(f"«{html.quote(a.name[:60])}»" for a in elsewhere[:10])
        more = len(elsewhere) - min(len(elsewhere), 10)
        tail += ["", _("Already tracked through another TikTok connection, so not tracked "
                       "twice: {names}").format(names=names)
                 + (" " + _("…and {count} more.").format(count=more) if more else "")]
    kb = InlineKeyboardBuilder()
    kb.button(text=_("📊 Accounts"), callback_data=MenuCb(section="accounts"))
    if untracked and hit is not None:
        tail += ["", limits_view.left_untracked([a.name for a in untracked], hit)]
        limits_view.upgrade_button(kb)
        kb.adjust(1)
    # Names run to 100 characters (and a Business Center's as long): list what fits one message
    # (4096 UTF-16 units; the HTML source is never shorter than the text it shows).
    room = 4000 - sum(len(x.encode("utf-16-le")) // 2 + 1 for x in (*lines, *tail))
    shown = 0
    for a in accounts[:30]:
        bc = f" · {html.quote(a.bc_name)}" if a.bc_name else ""
        line = (f"• {html.quote(a.name)} (<code>{a.advertiser_id}</code>) · {a.currency}"
                f" · {zone_label(a.time_zone, now)}{bc}")
        room -= len(line.encode("utf-16-le")) // 2 + 1
        if room < 40:  # keep room for the "…and N more" line
            break
        lines.append(line)
        shown += 1
    if len(accounts) > shown:
        lines.append(_("…and {count} more.").format(count=len(accounts) - shown))
    return "\n".join(lines + tail), kb.as_markup()


def connect_failed(reason: str) -> Screen:
    """The chat message after a consent that did not complete; nothing was stored."""
    texts = {
        "expired": _("The TikTok link expired before it was used. Nothing was connected."),
        "used": _("That TikTok link was already used. Nothing new was connected."),
        "denied": _("You cancelled the authorization at TikTok. Nothing was connected."),
        "exchange_failed": _("TikTok did not confirm the authorization. Nothing was connected."),
        "no_accounts": _(
            "That TikTok login has no ad accounts TTPulse can read. Nothing was connected."
        ),
    }
    kb = InlineKeyboardBuilder()
    kb.button(text=_("🔁 Try again"), callback_data=AccountsCb(action="connect"))
    return texts.get(reason, texts["exchange_failed"]), kb.as_markup()


def not_found() -> str:
    """A button for an account or connection that is not the user's (or gone)."""
    return _("That account is not among yours (or was disconnected).")


def not_configured() -> str:
    """No TikTok app credentials in the configuration."""
    return _(
        "Connecting TikTok is not configured on this TTPulse server yet "
        "(TIKTOK_APP_ID / TIKTOK_APP_SECRET)."
    )
