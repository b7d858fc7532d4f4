"""Mapping: which TikTok campaign sends its clicks to which tracker campaign; automatic run,
manual link with a searchable picker, name patterns, unlink; unmapped spend and revenue."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Protocol

from aiogram import html
from aiogram.utils.i18n import gettext as _

from bot.callbacks import TrackerCb
from bot.keyboards import InlineKeyboardBuilder
from bot.views import Screen
from bot.views.common import add_pager, page_of
from bot.views.integrations.common import TrackerLike, back_to_tracker, loc, tracker_title
from core.money import money, totals_by_currency
from core.trackers.base import TrackerCampaign

PAGE = 8
PICK_PAGE = 8


class LinkLike(Protocol):
    """A TikTok campaign's effective link (core.trackers.mapping.Linked)."""

    @property
    def campaign_name(self) -> str: ...
    @property
    def tracker_campaign_name(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def link_id(self) -> int: ...


class CampaignLike(Protocol):
    """A synced TikTok campaign (storage.repos.trackers.TikTokCampaignRow)."""

    @property
    def name(self) -> str: ...
    @property
    def campaign_id(self) -> str: ...
    @property
    def currency(self) -> str: ...


def source_name(source: str) -> str:
    """How a link was made."""
    return {
        "auto": _("automatic"),
        "manual": _("by hand"),
        "pattern": _("by name pattern"),
    }.get(source, source)


def overview(
    t: TrackerLike,
    links: Sequence[LinkLike],
    patterns: Sequence[tuple[int, str, str]],
    unmapped_spend: Sequence[tuple[str, str, Decimal]],
    unmapped_revenue: Mapping[str, Decimal],
    page: int = 0,
    note: str | None = None,
) -> Screen:
    """The links (a page of them, each with its source and an unlink button), the name
    patterns, and what is not mapped: TikTok spend with no tracker campaign, tracker revenue
    with no TikTok object."""
    shown, page, pages = page_of(list(links), page, PAGE)
    lines = [_("🧭 <b>Mapping</b> · {title}").format(title=tracker_title(t))]
    if note:
        lines += ["", note]
    lines.append("")
    if not links:
        lines.append(_(
            "No TikTok campaign is mapped yet. Run the automatic mapping (it reads the TikTok "
            "ids your landing URLs pass to the tracker), or link campaigns by hand."
        ))
    else:
        lines.append(_("TikTok campaign → tracker campaign:") +
                     (f" ({page + 1}/{pages})" if pages > 1 else ""))
    kb = InlineKeyboardBuilder()
    sizes: list[int] = []
    first = page * PAGE + 1
    for n, link in enumerate(shown, start=first):
        lines.append(_("{n}. {tiktok} → {tracker} · {source}").format(
            n=n, tiktok=html.quote(link.campaign_name[:50]),
            tracker=html.quote(link.tracker_campaign_name[:50]), source=source_name(link.source),
        ))
        kb.button(text=_("✖ {n}").format(n=n),
                  callback_data=TrackerCb(a="ul", id=t.id, v=str(link.link_id), n=page))
    if shown:
        sizes.append(min(len(shown), 4))
        if len(shown) > 4:
            sizes.append(len(shown) - 4)
    if nav := add_pager(kb, page, pages, lambda p: TrackerCb(a="map", id=t.id, n=p)):
        sizes.append(nav)
    if patterns:
        lines += ["", _("Name patterns:")]
        for link_id, pattern, target in patterns[:10]:
            lines.append(f"• <code>{html.quote(pattern[:60])}</code> → {html.quote(target[:50])}")
            kb.button(text=_("✖ {pattern}").format(pattern=pattern[:30]),
                      callback_data=TrackerCb(a="ul", id=t.id, v=str(link_id), n=page))
            sizes.append(1)
    if unmapped_spend:
        lines += ["", _("⚠️ Unmapped spend (TikTok campaigns with spend, last 7 days, no tracker "
                        "campaign):")]
        for name, currency, spend in unmapped_spend[:8]:
            lines.append(f"• {html.quote(name[:50])} · {money(spend, currency, loc())}")
        if len(unmapped_spend) > 8:
            lines.append(_("…and {count} more.").format(count=len(unmapped_spend) - 8))
        totals = totals_by_currency((cur, spend) for _n, cur, spend in unmapped_spend)
        lines.append(_("Σ Unmapped spend: {totals}").format(
            totals=" · ".join(money(v, cur, loc()) for cur, v in totals.items())
        ))
    if unmapped_revenue:
        totals = " · ".join(money(v, cur, loc()) for cur, v in unmapped_revenue.items())
        lines += ["", _("⚠️ Unmapped revenue (tracker clicks with no known TikTok id, last 7 "
                        "days): {totals}").format(totals=totals)]
    kb.button(text=_("🔄 Run automatic mapping"), callback_data=TrackerCb(a="auto", id=t.id))
    kb.button(text=_("➕ Link a campaign"), callback_data=TrackerCb(a="lk", id=t.id))
    kb.button(text=_("🔤 Name pattern"), callback_data=TrackerCb(a="pat", id=t.id))
    back_to_tracker(kb, t.id)
    sizes += [1, 2, 1]
    kb.adjust(*sizes)
    return "\n".join(lines), kb.as_markup()


def auto_running() -> str:
    """Said while the automatic mapping reads the tracker."""
    return _("Reading the tracker's clicks for TikTok ids…")


def auto_result(new: int) -> str:
    """What the automatic run found."""
    if new == 0:
        return _("🔄 Automatic mapping: no new links (TikTok ids not seen in the tracker's "
                 "clicks yet, or already mapped).")
    return _("🔄 Automatic mapping: {count} new link(s).").format(count=new)


def pick_tiktok(t: TrackerLike, campaigns: Sequence[CampaignLike], page: int) -> Screen:
    """Step 1 of a manual link: which TikTok campaign (numbered, paged)."""
    shown, page, pages = page_of(list(campaigns), page, PICK_PAGE)
    lines = [_("➕ <b>Link a campaign</b> · {title}").format(title=tracker_title(t)), "",
             _("Which TikTok campaign? Press its number.")]
    kb = InlineKeyboardBuilder()
    first = page * PICK_PAGE
    for i, c in enumerate(shown, start=first):
        lines.append(f"{i + 1}. {html.quote(c.name[:60])} · "
                     f"<code>{html.quote(c.campaign_id)}</code>")
        kb.button(text=str(i + 1), callback_data=TrackerCb(a="lkt", id=t.id, n=i))
    if not campaigns:
        lines.append(_("No synced TikTok campaigns yet."))
    sizes = [min(len(shown), 4)] if shown else []
    if len(shown) > 4:
        sizes.append(len(shown) - 4)
    if nav := add_pager(kb, page, pages, lambda p: TrackerCb(a="lk", id=t.id, n=p)):
        sizes.append(nav)
    kb.button(text=_("« Mapping"), callback_data=TrackerCb(a="map", id=t.id))
    sizes.append(1)
    kb.adjust(*sizes)
    return "\n".join(lines), kb.as_markup()


def pick_tracker(
    t: TrackerLike, target: str, campaigns: Sequence[TrackerCampaign], page: int, query: str
) -> Screen:
    """Step 2: the tracker campaign (numbered, paged; type text to search)."""
    shown, page, pages = page_of(list(campaigns), page, PICK_PAGE)
    lines = [_("➕ <b>{target}</b> → which tracker campaign?").format(
        target=html.quote(target[:80]))]
    if query:
        lines.append(_("Search: {query} · found {count}").format(
            query=f"<code>{html.quote(query[:60])}</code>", count=len(campaigns)))
    lines += ["", _("Press a number, or type part of a name or an id to search.")]
    kb = InlineKeyboardBuilder()
    first = page * PICK_PAGE
    for i, c in enumerate(shown, start=first):
        mark = "▶" if c.active else "⏸"
        lines.append(f"{i + 1}. {mark} {html.quote(c.name[:60])} · "
                     f"<code>{html.quote(c.id[:20])}</code>")
        kb.button(text=str(i + 1), callback_data=TrackerCb(a="lkc", id=t.id, n=i))
    if not campaigns:
        lines.append(_("No tracker campaign matches."))
    sizes = [min(len(shown), 4)] if shown else []
    if len(shown) > 4:
        sizes.append(len(shown) - 4)
    if nav := add_pager(kb, page, pages, lambda p: TrackerCb(a="lkp", id=t.id, n=p)):
        sizes.append(nav)
    kb.button(text=_("« Mapping"), callback_data=TrackerCb(a="map", id=t.id))
    sizes.append(1)
    kb.adjust(*sizes)
    return "\n".join(lines), kb.as_markup()


def ask_pattern(t: TrackerLike) -> Screen:
    """A name pattern: which TikTok campaigns (by name) go to one tracker campaign."""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("« Mapping"), callback_data=TrackerCb(a="map", id=t.id))
    return _(
        "🔤 <b>Name pattern</b> · {title}\n\nSend a part of TikTok campaign names (e.g. "
        "<code>offer-42</code>) or a pattern with * and ? (e.g. <code>US_*_v?</code>). Then "
        "pick the tracker campaign those campaigns go to. A campaign linked by hand keeps its "
        "own link."
    ).format(title=tracker_title(t)), kb.as_markup()


def linked(tiktok: str, tracker: str) -> str:
    """A manual link was saved."""
    return _("✅ Linked: {tiktok} → {tracker}.").format(
        tiktok=html.quote(tiktok[:80]), tracker=html.quote(tracker[:80]))


def pattern_linked(pattern: str, tracker: str, matched: Sequence[str]) -> str:
    """A pattern link was saved, with the campaigns it matches now."""
    text = _("✅ Pattern {pattern} → {tracker}; it matches {count} campaign(s) now.").format(
        pattern=f"<code>{html.quote(pattern[:60])}</code>", tracker=html.quote(tracker[:80]),
        count=len(matched))
    if matched:
        text += "\n" + "\n".join(f"• {html.quote(n[:60])}" for n in matched[:10])
        if len(matched) > 10:
            text += "\n" + _("…and {count} more.").format(count=len(matched) - 10)
    return text


def unlinked() -> str:
    """A link was removed."""
    return _("Link removed; the automatic mapping leaves that campaign alone from now on.")


def link_error(code: str) -> str:
    """Why a link could not be made (core.trackers.mapping.LinkError codes)."""
    return {
        "no_tracker_campaign": _("That tracker campaign is gone from the tracker."),
        "no_campaign": _("That TikTok campaign is not among your synced campaigns."),
        "pattern": _("The pattern must be 1 to 128 characters."),
        "no_link": _("That link no longer exists."),
    }.get(code, _("The link could not be saved."))
