"""Catalogs screen (issue 17): every catalog the user's Business Centers hold, with its products'
review status (approved / in review / rejected) and its product sets with product counts."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.callbacks import AccountsCb, CatalogCb, SettingsCb, TplEditCb
from bot.keyboards import InlineKeyboardBuilder
from bot.views import Screen
from bot.views.common import add_pager, page_of, quoted
from core.catalogs import SetChoice, UserCatalogs
from core.feature_access import FeatureError

# Sized so a page stays far inside Telegram's 4096 characters whatever the names: 4 catalogs
# of (header ≤ 150 + counts ≤ 100 + 8 sets × ≤ 70 + 1 line) and ≤ 5 connection names of 40.
PAGE = 4  # catalogs a message
SETS_SHOWN = 8  # product sets listed under a catalog; the rest are counted
NAME_LIMIT = 60
SET_NAME_LIMIT = 40
LACKING_SHOWN = 5
TEMPLATE_SETS = 40  # product sets offered to a template (buttons)


def products(n: int) -> str:
    """"24 products", a real plural."""
    return ngettext("{n} product", "{n} products", n).format(n=n)


def catalog_list(found: UserCatalogs, page: int = 0) -> Screen:
    """The catalogs, PAGE a message, each with its review counts and product sets."""
    shown, page, pages = page_of(list(found.catalogs), page, PAGE)
    lines = [_("<b>🛍 Catalogs</b>")]
    if pages > 1:
        lines[0] += f" ({page + 1}/{pages})"
    if not found.catalogs:
        lines.append("")
        lines.append(_("No catalog in your Business Centers yet. Create one in TikTok's "
                       "Catalog Manager to run shopping ads."))
    for item in shown:
        cat, rv = item.catalog, item.review
        lines.append("")
        place = " · ".join(x for x in (cat.region, cat.currency) if x)
        lines.append(f"<b>{quoted(cat.name or cat.catalog_id, NAME_LIMIT)}</b> · "
                     f"{quoted(cat.bc_name or cat.bc_id, NAME_LIMIT)}"
                     + (f" · {quoted(place, 20)}" if place else ""))
        lines.append(_("   Products: ✅ {approved} approved · ⏳ {review} in review · "
                       "❌ {rejected} rejected").format(
            approved=rv.approved, review=rv.processing, rejected=rv.rejected))
        if not rv.approved:
            lines.append(_("   ⚠️ No approved product yet: its ads cannot deliver."))
        if not item.sets:
            lines.append(_("   No product sets."))
        for s in item.sets[:SETS_SHOWN]:
            count = products(s.product_count) if s.product_count is not None else "—"
            lines.append(f"   • {quoted(s.name or s.product_set_id, SET_NAME_LIMIT)}: {count}")
        if len(item.sets) > SETS_SHOWN:
            rest = len(item.sets) - SETS_SHOWN
            lines.append(ngettext("   …and {n} more set", "   …and {n} more sets", rest).format(
                n=rest))
    if found.lacking:
        lines.append("")
        lines.append(_("⚠️ TikTok did not give the catalogs permission for: {names}. Their "
                       "catalogs are not listed; reconnect them under Accounts with it ticked.")
                     .format(names=", ".join(quoted(n, 40) for n in found.lacking[:LACKING_SHOWN])
                             + ("…" if len(found.lacking) > LACKING_SHOWN else "")))
    kb = InlineKeyboardBuilder()
    rows = []
    if nav := add_pager(kb, page, pages, lambda n: CatalogCb(a="list", n=n)):
        rows.append(nav)
    kb.button(text=_("🔄 Refresh"), callback_data=CatalogCb(a="list", n=page))
    kb.button(text=_("« Optional features"), callback_data=SettingsCb(action="features"))
    kb.button(text=_("« Accounts"), callback_data=AccountsCb(action="show"))
    rows += [1, 2]
    kb.adjust(*rows)
    return "\n".join(lines), kb.as_markup()


def feature_off() -> Screen:
    """Catalogs pressed while the switch is off: where to turn it on."""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("🧩 Optional features"), callback_data=SettingsCb(action="features"))
    kb.button(text=_("« Accounts"), callback_data=AccountsCb(action="show"))
    kb.adjust(1)
    return _("Catalogs are off. Turn them on in Settings → Optional features; until then "
             "TTPulse asks TikTok nothing about catalogs."), kb.as_markup()


def error(exc: FeatureError) -> str:
    """Why the catalogs could not be shown (an alert)."""
    if exc.code == "reconnect":
        return _("No TikTok connection works now. Connect or reconnect one under Accounts.")
    return _("TikTok did not answer; try again in a minute.")


def template_sets(options: list[SetChoice], current: str | None) -> Screen:
    """A template's catalog product set: one button per set of the user's catalogs (an index
    into the list kept in the presser's own state), or none."""
    lines = [_("<b>🛍 Catalog product set</b>"), "",
             _("The template's ads advertise the products of the set picked here (shopping "
               "ads: the objective becomes product sales). Only ad accounts of the catalog's "
               "Business Center can launch it.")]
    if not options:
        lines += ["", _("No product set in your catalogs yet.")]
    kb = InlineKeyboardBuilder()
    for i, o in enumerate(options[:TEMPLATE_SETS]):
        mark = "✅ " if o.product_set_id == current else ""
        approved = "" if o.approved else " ⚠️"
        kb.button(text=f"{mark}{o.catalog_name[:24]} › {o.set_name[:24]}{approved}",
                  callback_data=TplEditCb(a="catp", v=str(i)))
    if current is not None:
        kb.button(text=_("✖️ No catalog"), callback_data=TplEditCb(a="catn"))
    kb.button(text=_("« Back"), callback_data=TplEditCb(a="sec", f="camp"))
    kb.adjust(1)
    if any(not o.approved for o in options[:TEMPLATE_SETS]):
        lines += ["", _("⚠️ its catalog has no approved product yet.")]
    return "\n".join(lines), kb.as_markup()
