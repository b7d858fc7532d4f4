"""The template editor's audience picker (issue 17): for one ad group, choose an ad account,
then toggle each of that account's custom and lookalike audiences between include, exclude and
off. Each button carries the mode it asks for, so a double tap sets the same mode again."""

from __future__ import annotations

from aiogram import html
from aiogram.utils.i18n import gettext as _

from bot.callbacks import SettingsCb, TplEditCb
from bot.keyboards import InlineKeyboardBuilder
from bot.views import Screen
from bot.views.audiences import audience_status
from bot.views.common import add_pager, page_of
from bot.views.template_text import audience_picks
from core.audiences import TARGETING_MIN_SIZE, AccountAudiences
from core.templates.draft import audience_mode
from core.templates.model import AdGroupSpec, Template
from storage.models import AdAccount

PAGE = 8  # audiences (or ad accounts) per page
NEXT = {"o": "i", "i": "x", "x": "o"}  # a button asks for the next mode in this cycle
MARKS = {"i": "✅", "x": "🚫", "o": "▫️"}


def toggle_data(g: int, account_id: int, audience_id: str, mode: str, page: int) -> TplEditCb:
    """The button that sets one audience's mode (the wanted mode rides in it)."""
    return TplEditCb(a="audt", g=g, v=f"{account_id}.{audience_id}.{mode}.{page}")


def list_data(g: int, account_id: int, page: int = 0) -> TplEditCb:
    """The button that shows an ad account's audiences for the ad group."""
    return TplEditCb(a="audl", g=g, v=f"{account_id}.{page}")


def _back(kb: InlineKeyboardBuilder, g: int) -> None:
    kb.button(text=_("« Ad group"), callback_data=TplEditCb(a="grp", g=g))


def feature_off(g: int) -> Screen:
    """The picker while the audiences switch is off: where to turn it on."""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("🧩 Optional features"), callback_data=SettingsCb(action="features"))
    _back(kb, g)
    kb.adjust(1)
    return _("Audiences are off, so there is nothing to pick. Turn them on in Settings → "
             "Optional features; until then TTPulse asks TikTok nothing about audiences."
             ), kb.as_markup()


def no_accounts(g: int) -> Screen:
    """No ad account to pick audiences in."""
    kb = InlineKeyboardBuilder()
    _back(kb, g)
    return _("Connect an ad account first: audiences belong to one ad account."), kb.as_markup()


def pick_account(t: Template, g: int, accounts: list[AdAccount], page: int = 0) -> Screen:
    """Which ad account's audiences to pick for this ad group, with what each has picked."""
    group = t.adgroups[g]
    shown, page, pages = page_of(accounts, page, PAGE)
    kb = InlineKeyboardBuilder()
    for acc in shown:
        picks = group.picks_for(acc.advertiser_id)
        counts = (f" · ✅ {len(picks.include)} · 🚫 {len(picks.exclude)}"
                  if picks is not None else "")
        kb.button(text=(acc.name[:36] or acc.advertiser_id) + counts,
                  callback_data=list_data(g, acc.id))
    rows = [1] * len(shown)
    if nav := add_pager(kb, page, pages, lambda n: TplEditCb(a="aud", g=g, v=str(n))):
        rows.append(nav)
    _back(kb, g)
    rows.append(1)
    kb.adjust(*rows)
    text = _("<b>👥 Audiences · ad group {n}: {geo}</b>\n\nAudiences belong to one ad account, "
             "so each account the template launches into gets its own picks. Choose an ad "
             "account:").format(n=g + 1, geo=html.quote(group.geo[:64]))
    return text, kb.as_markup()


def audience_page(t: Template, g: int, found: AccountAudiences, page: int = 0,
                  many_accounts: bool = True) -> Screen:
    """One ad account's audiences for the ad group: each with its size, status and whether
    the ad group includes, excludes or ignores it; a tap moves it to the next mode."""
    account = found.account
    adv = account.advertiser_id
    group = t.adgroups[g]
    listed = {a.audience_id for a in found.audiences}
    picks = group.picks_for(adv)
    gone = [i for i in ((*picks.include, *picks.exclude) if picks else ()) if i not in listed]
    shown, page, pages = page_of(list(found.audiences), page, PAGE)
    lines = [_("<b>👥 Audiences · ad group {n}: {geo}</b> · {account}").format(
        n=g + 1, geo=html.quote(group.geo[:64]), account=html.quote(account.name[:64])), ""]
    if not found.audiences:
        lines.append(_("This ad account has no audiences yet. Make one under Accounts → 👥 "
                       "Audiences from a file of your customers."))
    else:
        lines.append(_("Tap an audience to include it (✅), exclude it (🚫) or leave it out "
                       "(▫️)."))
    kb = InlineKeyboardBuilder()
    for a in shown:
        mode = audience_mode(t, g, adv, a.audience_id)
        kind = _("lookalike audience") if a.kind == "lookalike" else _("custom audience")
        small = " ⚠️" if a.ready and a.size < TARGETING_MIN_SIZE else ""
        lines.append(f"{MARKS[mode]} <b>{html.quote(a.name[:60])}</b> · {kind}{small}")
        lines.append(f"   {audience_status(a)}")
        kb.button(text=f"{MARKS[mode]} {a.name[:40]}",
                  callback_data=toggle_data(g, account.id, a.audience_id, NEXT[mode], page))
    if any(a.ready and a.size < TARGETING_MIN_SIZE for a in shown):
        lines += ["", _("⚠️ fewer than {n} people: the ad group may hardly deliver.").format(
            n=TARGETING_MIN_SIZE)]
    for aud in gone[:PAGE]:
        lines.append(_("❌ {id}: picked, but no longer in this ad account").format(id=aud))
        kb.button(text=_("❌ Drop {id}").format(id=aud),
                  callback_data=toggle_data(g, account.id, aud, "o", page))
    rows = [1] * (len(shown) + len(gone[:PAGE]))
    if nav := add_pager(kb, page, pages, lambda n: list_data(g, account.id, n)):
        rows.append(nav)
    kb.button(text=_("🔄 Refresh"), callback_data=list_data(g, account.id, page))
    rows.append(1)
    if many_accounts:
        kb.button(text=_("« Ad accounts"), callback_data=TplEditCb(a="aud", g=g))
        rows.append(1)
    _back(kb, g)
    rows.append(1)
    kb.adjust(*rows)
    return "\n".join(lines)[:4000], kb.as_markup()


def picks_note(group: AdGroupSpec) -> str:
    """What an ad group picked, in one line (the web editor's card)."""
    if not group.account_audiences:
        return _("Audiences: none picked.")
    return audience_picks(group)
