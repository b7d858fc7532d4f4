"""Stats screens: the summary, drill-downs, and the labels charts and CSV need."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

from aiogram import html
from aiogram.types import InlineKeyboardButton
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from babel.dates import format_date

from bot.callbacks import ManageCb, MenuCb, StatsCb
from bot.keyboards import InlineKeyboardBuilder
from bot.views import Screen
from bot.views.common import add_pager, freshness, page_of, quoted, zone_label
from core.charts import ChartLabels
from core.metrics import Totals, change_pct
from core.money import money, number, percent
from core.periods import DateRange, Period
from core.stats import AccountStats, Breakdown, Summary
from core.tracker_metrics import TrackerTotals

ACCOUNTS_PER_PAGE = 5
# An account's name as a heading: five accounts of 256-character names (TikTok sets no lower
# limit we know of) with their metrics would pass Telegram's 4096 characters.
NAME_CHARS = 60
LEVEL_CODE = {"campaign": "c", "adgroup": "g", "ad": "d"}
CODE_LEVEL = {v: k for k, v in LEVEL_CODE.items()}


def _loc() -> str:
    return get_i18n().current_locale


_PERIOD_NAMES = {
    Period.TODAY: __("Today"),
    Period.YESTERDAY: __("Yesterday"),
    Period.LAST_7: __("Last 7 days"),
    Period.LAST_30: __("Last 30 days"),
    Period.THIS_MONTH: __("This month"),
    Period.CUSTOM: __("Custom range"),
}


def period_name(period: Period) -> str:
    """The period's name."""
    return str(_PERIOD_NAMES[period])  # only this one translated


def level_name(level: str) -> str:
    """Campaigns / Ad groups / Ads."""
    return {"campaign": _("Campaigns"), "adgroup": _("Ad groups"), "ad": _("Ads")}[level]


def _days(r: DateRange) -> str:
    loc = _loc()
    if r.start == r.end:
        return format_date(r.start, "medium", locale=loc)
    start, end = (format_date(d, "medium", locale=loc) for d in (r.start, r.end))
    return f"{start} – {end}"


def _delta(current: Decimal | int | None, previous: Decimal | int | None) -> str:
    pct = change_pct(current, previous)
    if pct is None:
        return ""
    if abs(pct) < Decimal("0.05"):  # would print as 0.0 %: say "unchanged" without an arrow
        return " ±0%"
    arrow = "▲" if pct > 0 else "▼"
    return f" {arrow}{number(abs(pct), _loc(), 1)}%"


def _opt_money(value: Decimal | None, currency: str) -> str:
    return "—" if value is None else money(value, currency, _loc())


def _opt_pct(value: Decimal | None) -> str:
    return "—" if value is None else percent(value, _loc())


def metrics_block(cur: Totals, prev: Totals, currency: str) -> list[str]:
    """Every metric with its change against the previous equal period."""
    loc = _loc()
    # Two decimals always: a ROAS of 0.996 must not read as a round "1" (break-even).
    roas = "—" if cur.roas is None else number(cur.roas, loc, 2, fixed=True)
    return [
        _("💰 Spend {value}").format(value=money(cur.spend, currency, loc))
        + _delta(cur.spend, prev.spend),
        _("🎯 Conversions {value}").format(value=number(cur.conversions, loc))
        + _delta(cur.conversions, prev.conversions)
        + " · "
        + _("CPA {value}").format(value=_opt_money(cur.cpa, currency))
        + _delta(cur.cpa, prev.cpa),
        _("👁 Impressions {imp} · Clicks {clicks} · CTR {ctr}").format(
            imp=number(cur.impressions, loc), clicks=number(cur.clicks, loc), ctr=_opt_pct(cur.ctr)
        )
        + _delta(cur.ctr, prev.ctr),
        _("CPC {cpc} · CPM {cpm} · CR {cr}").format(
            cpc=_opt_money(cur.cpc, currency),
            cpm=_opt_money(cur.cpm, currency),
            cr=_opt_pct(cur.conversion_rate),
        ),
        _("💵 Purchase value {value} · ROAS {roas}").format(
            value=money(cur.purchase_value, currency, loc), roas=roas
        )
        + _delta(cur.roas, prev.roas),
    ]


def tracker_lines(t: TrackerTotals | None, currency: str, unmapped_spend: Decimal = Decimal(0),
                  short: bool = False) -> list[str]:
    """The tracker's numbers beside TikTok's, labelled as the tracker's; nothing without data."""
    if t is None:
        return []
    loc = _loc()
    roi = "—" if t.roi is None else f"{number(t.roi, loc, 1)}%"
    head = _("🧾 Tracker: revenue {revenue} · profit {profit} · ROI {roi}").format(
        revenue=money(t.revenue, currency, loc), profit=money(t.profit, currency, loc), roi=roi
    )
    if short:
        return [head]
    lines = [
        head,
        _("EPC {epc} · tracker CPA {cpa} · clicks {clicks} · conversions {conv}").format(
            epc=_opt_money(t.epc, currency),
            cpa=_opt_money(t.tracker_cpa, currency),
            clicks=number(t.clicks, loc),
            conv=number(t.conversions, loc),
        ),
    ]
    if t.pending:
        lines.append(_("⏳ Pending: {count} conversions, {revenue}").format(
            count=number(t.pending, loc), revenue=money(t.pending_revenue, currency, loc)
        ))
    if unmapped_spend > 0:
        lines.append(_("Unmapped spend (no tracker data, not in the profit): {value}").format(
            value=money(unmapped_spend, currency, loc)
        ))
    return lines


def status_text(status: str | None) -> str:
    """TikTok's operation status in words (spec §4.0: ENABLE / DISABLE / DELETE)."""
    words = {"ENABLE": _("▶ active"), "DISABLE": _("⏸ paused"), "DELETE": _("✖ deleted")}
    return words.get(status or "", "")


def status_label(status: str | None) -> str:
    """` · ▶ active` after a name, or nothing for an unknown status."""
    text = status_text(status)
    return f" · {text}" if text else ""


def _period_rows(kb: InlineKeyboardBuilder, current: Period, **target: str | int) -> None:
    kb.add(*_period_buttons(_loc(), current, tuple(target.items())))


@lru_cache(maxsize=4096)
def _period_buttons(
    locale: str, current: Period, target: tuple[tuple[str, str | int], ...]
) -> tuple[InlineKeyboardButton, ...]:
    """The periods' buttons of one screen in one language, built once: a screen is pressed
    again and again, and a button cannot change (aiogram's types are frozen). Building them took
    a third of a summary's rendering (bench/README.md, "Updates, fourth pass")."""
    fields = {k: v for k, v in target if k != "v"}
    view = str(dict(target).get("v", "sum"))
    return tuple(
        InlineKeyboardButton(
            text=("• " if period == current else "") + period_name(period),
            callback_data=StatsCb(
                v="custom" if period == Period.CUSTOM else view, p=period.value, **fields
            ).pack(),
        )
        for period in _PERIOD_NAMES
    )


def summary(data: Summary, period: Period, user_tz: str, page: int, now: datetime) -> Screen:
    """All tracked accounts for the period, a few per page, with per-currency totals."""
    kb = InlineKeyboardBuilder()
    if not data.accounts:
        kb.button(text=_("📊 Accounts"), callback_data=MenuCb(section="accounts"))
        kb.button(text=_("« Main menu"), callback_data=MenuCb(section="home"))
        kb.adjust(1)
        return _(
            "<b>Stats</b>\n\nNo tracked ad accounts yet. Connect TikTok in Accounts, "
            "and the numbers appear here after the first sync."
        ), kb.as_markup()
    shown, page, pages = page_of(data.accounts, page, ACCOUNTS_PER_PAGE)
    lines = [
        _("📈 <b>Stats · {period}</b>").format(period=period_name(period))
        + (f" ({page + 1}/{pages})" if pages > 1 else ""),
        _("Each ad account is read in its own time zone."),
    ]
    for acc in shown:
        zone = zone_label(acc.time_zone, acc.fresh_as_of or now)
        lines += [
            "",
            f"<b>{quoted(acc.name, NAME_CHARS)}</b> · {acc.currency} · {zone}",
            f"<i>{_days(acc.days)} · "
            f"{freshness(acc.fresh_as_of, user_tz, now, acc.today_as_of)}</i>",
            *metrics_block(acc.current, acc.previous, acc.currency),
            *tracker_lines(acc.tracker, acc.currency, acc.unmapped_spend),
        ]
        kb.button(
            text=f"🔎 {acc.name[:40]}",
            callback_data=StatsCb(v="lvl", a=acc.account_id, l="c", p=period.value),
        )
    totals = " · ".join(
        f"{cur} {money(v, cur, _loc())}" for cur, v in data.spend_by_currency.items()
    )
    lines += ["", _("Σ Spend by currency: {totals}").format(totals=totals)]
    sizes = [1] * len(shown)
    if nav := add_pager(kb, page, pages, lambda n: StatsCb(v="sum", p=period.value, n=n)):
        sizes.append(nav)
    _period_rows(kb, period, v="sum")
    kb.button(text=_("« Main menu"), callback_data=MenuCb(section="home"))
    kb.adjust(*sizes, 3, 3, 1)
    return "\n".join(lines), kb.as_markup()


def breakdown(data: Breakdown, period: Period, user_tz: str, now: datetime) -> Screen:
    """One level's objects by spend, numbered, each with its change; drill, page, chart, CSV."""
    acc = data.account
    code = LEVEL_CODE[data.level]
    where = quoted(acc.name, NAME_CHARS) + (
        f" › {quoted(data.parent_name, 2 * NAME_CHARS)}" if data.parent_name else ""
    )
    lines = [
        f"📈 <b>{where}</b>",
        f"{level_name(data.level)} · {period_name(period)}"
        + (f" ({data.page + 1}/{data.pages})" if data.pages > 1 else ""),
        f"<i>{_days(acc.days)} · {freshness(acc.fresh_as_of, user_tz, now, acc.today_as_of)}</i>",
        "",
    ]
    loc = _loc()
    kb = InlineKeyboardBuilder()
    if not data.lines:
        lines.append(_("Nothing delivered in this period."))
    for n, line in enumerate(data.lines, start=data.page * 8 + 1):
        cur, prev = line.current, line.previous
        lines.append(f"{n}. <b>{html.quote(line.name[:80])}</b>" + status_label(line.status))
        lines.append(
            "   "
            + money(cur.spend, acc.currency, loc)
            + _delta(cur.spend, prev.spend)
            + " · "
            + _("conv {value}").format(value=number(cur.conversions, loc))
            + " · "
            + _("CPA {value}").format(value=_opt_money(cur.cpa, acc.currency))
            + " · "
            + _("CTR {value}").format(value=_opt_pct(cur.ctr))
        )
        lines += ["   " + x for x in tracker_lines(line.tracker, acc.currency, short=True)]
        child = {"campaign": "g", "adgroup": "d"}.get(data.level)
        if child:
            kb.button(
                text=str(n),
                callback_data=StatsCb(
                    v="lvl", a=acc.account_id, l=child, o=line.object_id, p=period.value
                ),
            )
    sizes = [min(len(data.lines), 8)] if data.level != "ad" and data.lines else []
    here = StatsCb(v="lvl", a=acc.account_id, l=code, o=data.parent_id or "", p=period.value)
    if nav := add_pager(kb, data.page, data.pages, lambda n: here.model_copy(update={"n": n})):
        sizes.append(nav)
    kb.button(
        text=_("📊 Charts"), callback_data=StatsCb(v="chart", a=acc.account_id, p=period.value)
    )
    kb.button(
        text=_("📄 CSV"),
        callback_data=StatsCb(
            v="csv", a=acc.account_id, l=code, o=data.parent_id or "", p=period.value
        ),
    )
    kb.button(
        text=_("🔄 Refresh"), callback_data=StatsCb(v="refresh", a=acc.account_id, p=period.value)
    )
    kb.button(
        text=_("⚙️ Manage"),
        callback_data=ManageCb(
            a="ls", id=acc.account_id, l=code, o=data.parent_id or "", p=period.value
        ),
    )
    sizes += [2, 2]
    _period_rows(kb, period, v="lvl", a=acc.account_id, l=code, o=data.parent_id or "")
    sizes += [3, 3]
    back = (
        StatsCb(v="sum", p=period.value)
        if data.level == "campaign"
        else StatsCb(v="up", a=acc.account_id, l=code, o=data.parent_id or "", p=period.value)
    )
    kb.button(text=_("« Back"), callback_data=back)
    sizes.append(1)
    kb.adjust(*sizes)
    return "\n".join(lines), kb.as_markup()


def chart_labels(acc: AccountStats, period: Period) -> ChartLabels:
    """Translated chart texts for one account."""
    return ChartLabels(
        locale=_loc(),
        currency=acc.currency,
        title=acc.name,
        subtitle=f"{period_name(period)} · {_days(acc.days)}",
        no_data=_("No data for this period"),
        spend=_("Spend"),
        conversions=_("Conversions"),
        cpa=_("CPA"),
        roas=_("ROAS"),
        today=_("Today"),
        yesterday=_("Yesterday"),
        profit=_("Profit (tracker)"),
        revenue=_("Revenue (tracker)"),
    )


def csv_header() -> list[str]:
    """The CSV column names."""
    return [
        _("date"),
        _("object id"),
        _("name"),
        _("spend"),
        _("impressions"),
        _("clicks"),
        _("conversions"),
        _("CTR %"),
        _("CPC"),
        _("CPM"),
        _("CPA"),
        _("conversion rate %"),
        _("purchase value"),
        _("ROAS"),
        _("tracker clicks"),
        _("tracker conversions"),
        _("tracker revenue"),
        _("profit"),
        _("ROI %"),
        _("EPC"),
        _("tracker CPA"),
    ]


def ask_custom_range(today: date) -> str:
    """Prompt for typed dates."""
    example = f"{(today.replace(day=1)).strftime('%d.%m')}-{today.strftime('%d.%m')}"
    return _(
        "Send the dates, e.g. <code>{example}</code> or <code>2026-11-01 2026-11-15</code> "
        "(at most a year, ending today at the latest). /cancel to go back."
    ).format(example=example)


def bad_range(code: str) -> str:
    """The typed range was refused, and why."""
    reason = {
        "date": _("one of the dates does not exist"),
        "order": _("it ends before it starts"),
        "future": _("it ends in the future"),
        "long": _("it is longer than a year"),
    }.get(code, _("I need two dates, e.g. 1.11-15.11"))
    return _("I can't use that range: {reason}. Try again, or /cancel.").format(reason=reason)


def progress(name: str, done: int, total: int) -> str:
    """A progress bar for "Refresh now"."""
    filled = done * 10 // max(total, 1)
    return (
        _("🔄 Syncing {name}…").format(name=html.quote(name))
        + f"\n{'▓' * filled}{'░' * (10 - filled)} {done * 100 // max(total, 1)}%"
    )


def refreshed(name: str, ok: bool, busy: bool, reason: str | None = None) -> str:
    """How "Refresh now" ended (`reason`: why a sync failed, core.sync.SyncOutcome)."""
    if reason in ("revoked", "token"):
        return _(
            "⚠️ TikTok no longer accepts TTPulse's access to {name}, so it cannot sync. "
            "Reconnect TikTok under Accounts to resume; the numbers you see are kept."
        ).format(name=html.quote(name))
    if reason in ("lost", "no_access"):
        return _(
            "⚠️ {name} is no longer reachable with your TikTok login, so it stopped syncing. "
            "Give access back in TikTok and reconnect under Accounts."
        ).format(name=html.quote(name))
    if busy:
        return _(
            "{name} is being synced right now by another worker; fresh numbers will be "
            "there in a moment."
        ).format(name=html.quote(name))
    if ok:
        return _("✅ {name} is up to date.").format(name=html.quote(name))
    return _(
        "⚠️ TikTok did not answer for {name}; the numbers you see are kept and the sync "
        "will be retried shortly."
    ).format(name=html.quote(name))
