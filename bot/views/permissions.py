"""TikTok permissions in words: what a connection's consent granted, the optional-feature
switches (Settings), and what a feature whose permission is missing says (issue 17)."""

from __future__ import annotations

from aiogram import html
from aiogram.utils.i18n import gettext as _

from bot.callbacks import AccountsCb, AudienceCb, CatalogCb, CommentCb, PixelCb, SettingsCb
from bot.keyboards import InlineKeyboardBuilder
from bot.views import Screen
from core.features import FEATURES, Grant, enabled
from core.tiktok.scopes import OPTIONAL
from storage.models import User

# The permission as TikTok's consent page titles it (the emulator's titles, sandbox/tiktok/
# scopes.py; TikTok shows its page in its own language, so these are not translated here).
TIKTOK_TITLES = {
    "comments": "Comment management",
    "pixels": "Pixels and events",
    "audiences": "Audience management",
    "catalogs": "Catalog management",
}


def group_name(group: str) -> str:
    """A scope group as the user reads it (the names TikTok's consent page shows, in short)."""
    names = {
        "ads_management": _("ads management"),
        "reporting": _("reporting"),
        "comments": _("comments"),
        "pixels": _("pixels and events"),
        "audiences": _("audiences"),
        "catalogs": _("catalogs"),
    }
    return names.get(group, group)


def scope_line(grant: Grant) -> str:
    """One line under a connection on the Accounts screen: the optional permissions granted."""
    if grant.granted is None:
        return _("   Permissions: not known (connected before TTPulse read them); reconnect "
                 "to see them.")
    got = [group_name(g) for g in OPTIONAL if g in grant.granted]
    lacking = [group_name(g) for g in OPTIONAL if g not in grant.granted]
    line = _("   Permissions: ads management, reporting")
    if got:
        line += ", " + ", ".join(got)
    if lacking:
        line += _(" · not granted: {groups}").format(groups=", ".join(lacking))
    return line


def _feature_title(feature: str) -> str:
    titles = {"comments": _("💬 Comments on your ads"),
              "pixels": _("🎯 Pixels and events (counts per ad account, launch checks)"),
              "audiences": _("👥 Audiences (custom from your customer files, lookalikes, "
                             "template targeting)"),
              "catalogs": _("🛍 Catalogs (product sets and their review status)")}
    return titles.get(feature, feature)


def features(user: User, grants: list[Grant]) -> Screen:
    """Settings → Optional features: a switch per feature, each with its permission state."""
    on, words, negative = enabled(user), user.comment_words, user.negative_words
    lines = [
        _("<b>Optional TikTok features</b>"),
        "",
        _("Each uses a TikTok permission beyond ads management and reporting. A feature that "
          "is off makes no request to TikTok for it."),
    ]
    kb = InlineKeyboardBuilder()
    for feature in FEATURES:
        state = _("on") if feature in on else _("off")
        lines.append("")
        lines.append(f"{_feature_title(feature)}: <b>{state}</b>")
        lacking = [g for g in grants if g.lacks(feature)]
        if not grants:
            lines.append(_("   Connect TikTok first."))
        elif lacking:
            lines.append(_("   ⚠️ Not granted on TikTok for: {names}. Reconnect and keep "
                           "“{permission}” ticked on TikTok's page.").format(
                names=", ".join(html.quote(g.name) for g in lacking),
                permission=TIKTOK_TITLES.get(feature, feature)))
        else:
            lines.append(_("   Permission: granted."))
        kb.button(
            text=(_("Turn off {feature}") if feature in on else _("Turn on {feature}")).format(
                feature=group_name(feature)),
            callback_data=SettingsCb(action="feature",
                                     value=f"{feature}.{'off' if feature in on else 'on'}"),
        )
        for grant in lacking:
            kb.button(text=_("🔄 Reconnect {name}").format(name=grant.name[:30]),
                      callback_data=AccountsCb(action="reconnect", id=grant.connection_id))
        if feature == "comments" and feature in on:
            lines.append(_("   Hidden automatically when they contain: {words}").format(
                words=html.quote(words.replace(",", ", ")) if words else "—"))
            kb.button(text=_("💬 Pick campaigns"), callback_data=CommentCb(a="pick"))
            kb.button(text=_("🚫 Hide words"), callback_data=SettingsCb(action="cwords"))
            lines.append(_("   Alert from {n} comments an hour under one ad containing: "
                           "{words}").format(n=user.burst_threshold, words=html.quote(
                               negative.replace(",", ", ")) if negative else "—"))
            kb.button(text=_("😡 Negative words"), callback_data=SettingsCb(action="nwords"))
        if feature == "pixels" and feature in on:
            kb.button(text=_("🎯 Pixels"), callback_data=PixelCb(a="pick"))
        if feature == "audiences" and feature in on:
            kb.button(text=_("👥 Audiences"), callback_data=AudienceCb(a="pick"))
        if feature == "catalogs" and feature in on:
            kb.button(text=_("🛍 Catalogs"), callback_data=CatalogCb(a="list"))
    kb.button(text=_("« Back"), callback_data=SettingsCb(action="show"))
    kb.adjust(1)
    return "\n".join(lines), kb.as_markup()


def scope_missing(feature: str, grants: list[Grant]) -> Screen:
    """A feature TikTok refused for a missing permission: what to do, with Reconnect buttons."""
    text = _(
        "TikTok has not given TTPulse permission for {feature}, so this cannot be done. "
        "Reconnect TikTok and keep “{permission}” ticked on its page; nothing else changes."
    ).format(feature=group_name(feature), permission=TIKTOK_TITLES.get(feature, feature))
    kb = InlineKeyboardBuilder()
    for grant in grants:
        if grant.lacks(feature) or grant.granted is None:
            kb.button(text=_("🔄 Reconnect {name}").format(name=grant.name[:30]),
                      callback_data=AccountsCb(action="reconnect", id=grant.connection_id))
    kb.button(text=_("« Back"), callback_data=SettingsCb(action="features"))
    kb.adjust(1)
    return text, kb.as_markup()
