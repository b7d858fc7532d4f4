"""Screens for changing objects by hand: the pick list, the object card, the confirmation,
the outcome with Undo, and bulk progress."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ManageCb, StatsCb
from bot.keyboards import InlineKeyboardBuilder
from bot.views import Screen
from bot.views.common import add_pager, blocked_reason, change_error, freshness, stale, tick_mark
from bot.views.stats import LEVEL_CODE, level_name, period_name, status_text
from core.eligibility import Blocked
from core.manage import (
    CONFIRM_FOR,
    MAX_SELECTION,
    Decision,
    ObjectCard,
    ObjectPage,
    Outcome,
    Proposal,
    Skip,
)
from core.money import money, number
from core.periods import Period
from storage.models import AdObject, RuleAction

SHOWN_ROWS = 10  # objects listed by name in a confirmation or outcome; the rest are counted
BUDGET_STEPS = ("-20", "-10", "+10", "+20")
BID_STEPS = ("-10", "+10")
CHILD = {"campaign": "adgroup", "adgroup": "ad"}


def _loc() -> str:
    return get_i18n().current_locale


def _one(level: str) -> str:
    return {"campaign": _("Campaign"), "adgroup": _("Ad group"), "ad": _("Ad")}[level]


def _budget(obj: AdObject, currency: str) -> str:
    """The budget as it is set, or where it is set instead (spec §4.0 budget modes)."""
    if obj.level == "ad":
        return ""
    if obj.budget_mode == "BUDGET_MODE_INFINITE" or not obj.budget:
        if obj.level == "adgroup":
            return _("budget on the campaign or unlimited")
        return _("no campaign budget")
    amount = money(obj.budget, currency, _loc())
    if obj.budget_mode == "BUDGET_MODE_TOTAL":
        return _("{amount} lifetime").format(amount=amount)
    return _("{amount} a day").format(amount=amount)


def object_list(data: ObjectPage, period: Period, selected: set[str] | None) -> Screen:
    """A level's objects to open one by one, or (with `selected`) to tick for a bulk change."""
    acc, code = data.account, LEVEL_CODE[data.level]
    parent = data.parent.object_id if data.parent else ""
    where = html.quote(acc.name) + (f" › {html.quote(data.parent.name)}" if data.parent else "")
    lines = [
        f"⚙️ <b>{where}</b>",
        _("{level} · spend: {period}").format(
            level=level_name(data.level), period=period_name(period)
        )
        + (f" ({data.page + 1}/{data.pages})" if data.pages > 1 else ""),
        "",
    ]
    if selected is None:
        lines.append(_("Tap a number to open it and change it."))
    else:
        lines.append(_("Tick the objects, then choose what to do with all of them."))
    lines.append("")
    if not data.items:
        lines.append(_("Nothing here to change."))
    kb = InlineKeyboardBuilder()
    for n, (obj, totals) in enumerate(data.items, start=data.page * 8 + 1):
        mark = ""
        if selected is not None:
            mark = tick_mark(obj.object_id in selected)
        held = obj.object_id in data.held
        status = _("⏸ paused for today") if held else status_text(obj.operation_status)
        budget = _budget(obj, acc.currency)
        lines.append(
            f"{mark}{n}. <b>{html.quote(obj.name[:80])}</b>" + (f" · {status}" if status else "")
        )
        lines.append(
            "   " + money(totals.spend, acc.currency, _loc()) + (f" · {budget}" if budget else "")
        )
        if selected is None:
            kb.button(
                text=str(n),
                callback_data=ManageCb(
                    a="card", id=acc.id, l=code, o=obj.object_id, p=period.value
                ),
            )
        else:
            kb.button(
                text=f"{mark}{n}",
                callback_data=ManageCb(
                    a="tg", id=acc.id, l=code, o=obj.object_id, p=period.value, n=data.page
                ),
            )
    sizes = [min(len(data.items), 4)] * (-(-len(data.items) // 4))
    here = ManageCb(
        a="ls" if selected is None else "sel", id=acc.id, l=code, o=parent, p=period.value
    )
    if nav := add_pager(kb, data.page, data.pages, lambda n: here.model_copy(update={"n": n})):
        sizes.append(nav)
    if selected is None:
        if data.items:
            kb.button(
                text=_("☑️ Select several"),
                callback_data=here.model_copy(update={"a": "sel", "n": data.page, "x": "new"}),
            )
            sizes.append(1)
        kb.button(
            text=_("« Back"),
            callback_data=StatsCb(v="lvl", a=acc.id, l=code, o=parent, p=period.value),
        )
        sizes.append(1)
    else:
        sizes += _bulk_buttons(kb, data, period, len(selected))
    kb.adjust(*sizes)
    return "\n".join(lines), kb.as_markup()


def _bulk_buttons(
    kb: InlineKeyboardBuilder, data: ObjectPage, period: Period, count: int
) -> list[int]:
    """Select all / clear, the changes for the ticked objects, and the way out."""
    code = LEVEL_CODE[data.level]
    parent = data.parent.object_id if data.parent else ""
    base = ManageCb(a="sel", id=data.account.id, l=code, o=parent, p=period.value, n=data.page)
    kb.button(
        text=_("Select all (up to {count})").format(count=MAX_SELECTION),
        callback_data=base.model_copy(update={"x": "all"}),
    )
    kb.button(text=_("Clear"), callback_data=base.model_copy(update={"x": "none"}))
    sizes = [2]
    if count:
        bulk = base.model_copy(update={"a": "bulk"})
        kb.button(
            text=_("⏸ Pause ({count})").format(count=count),
            callback_data=bulk.model_copy(update={"x": "p"}),
        )
        kb.button(
            text=_("▶️ Enable ({count})").format(count=count),
            callback_data=bulk.model_copy(update={"x": "e"}),
        )
        sizes.append(2)
        if data.budgets:  # none where no budget exists (ads, ad groups under CBO, unlimited)
            for step in BUDGET_STEPS:
                kb.button(
                    text=f"💰 {step}%", callback_data=bulk.model_copy(update={"x": f"b{step}"})
                )
            sizes.append(len(BUDGET_STEPS))
    kb.button(text=_("« Done selecting"), callback_data=base.model_copy(update={"a": "ls"}))
    sizes.append(1)
    return sizes


def card(data: ObjectCard, period: Period, user_tz: str, now: datetime) -> Screen:
    """One object: status, budget, bid and numbers, with the changes it can take."""
    obj, acc, loc = data.obj, data.account, _loc()
    t = data.totals
    lines = [
        f"⚙️ <b>{_one(obj.level)}</b> · {html.quote(acc.name)}",
        f"<b>{html.quote(obj.name)}</b>",
        f"<code>{obj.object_id}</code>",
        "",
        _("Status: {status}").format(status=status_text(obj.operation_status) or "—"),
    ]
    if data.back_on is not None:
        back = data.back_on.astimezone(ZoneInfo(acc.time_zone)).strftime("%d.%m %H:%M")
        lines.append(_("Paused for today by a rule; back on at {when} (account time).").format(
            when=back))
    home = data.campaign if data.budget_blocked is Blocked.CAMPAIGN_BUDGET else None
    if home is not None:
        # Campaign budget optimisation: the amount the ad group spends from is the campaign's.
        lines.append(
            _("Budget is set on the campaign: {budget}").format(budget=_budget(home, acc.currency))
        )
    elif obj.level != "ad":
        lines.append(_("Budget: {budget}").format(budget=_budget(obj, acc.currency)))
    if obj.level == "adgroup":
        bid = (
            money(obj.bid, acc.currency, loc)
            if data.bid_blocked is None and obj.bid is not None
            else _("automatic (no bid to set)")
        )
        lines.append(_("Bid: {bid}").format(bid=bid))
    cpa = money(t.cpa, acc.currency, loc) if t.cpa is not None else "—"
    lines += [
        "",
        f"{period_name(period)}: "
        + _("spend {spend} · conv {conv} · CPA {cpa}").format(
            spend=money(t.spend, acc.currency, loc), conv=number(t.conversions, loc), cpa=cpa
        ),
        f"<i>{freshness(acc.fresh_as_of, user_tz, now)}</i>",
    ]
    kb = InlineKeyboardBuilder()
    code = LEVEL_CODE[obj.level]
    do = ManageCb(a="do", id=acc.id, l=code, o=obj.object_id, p=period.value)
    sizes = [1]
    if obj.operation_status == "DISABLE":
        kb.button(text=_("▶️ Enable"), callback_data=do.model_copy(update={"x": "e"}))
        if data.back_on is not None:  # or no switch-back at midnight
            kb.button(text=_("⏸ Keep paused"), callback_data=do.model_copy(update={"x": "p"}))
            sizes = [2]
    else:
        kb.button(text=_("⏸ Pause"), callback_data=do.model_copy(update={"x": "p"}))
    if data.budget_blocked is None:
        for step in BUDGET_STEPS:
            kb.button(text=f"💰 {step}%", callback_data=do.model_copy(update={"x": f"b{step}"}))
        kb.button(
            text=_("✏️ Set budget"), callback_data=do.model_copy(update={"a": "set", "x": "b"})
        )
        sizes += [len(BUDGET_STEPS), 1]
    if data.bid_blocked is None:
        for step in BID_STEPS:
            kb.button(
                text=_("Bid {step}%").format(step=step),
                callback_data=do.model_copy(update={"x": f"d{step}"}),
            )
        kb.button(text=_("✏️ Set bid"), callback_data=do.model_copy(update={"a": "set", "x": "d"}))
        sizes += [len(BID_STEPS), 1]
    if home is not None:
        kb.button(
            text=_("📂 Open the campaign"),
            callback_data=ManageCb(
                a="card", id=acc.id, l=LEVEL_CODE["campaign"], o=home.object_id, p=period.value
            ),
        )
        sizes.append(1)
    if obj.level in CHILD:
        kb.button(
            text=level_name(CHILD[obj.level]) + " ›",
            callback_data=ManageCb(
                a="ls", id=acc.id, l=LEVEL_CODE[CHILD[obj.level]], o=obj.object_id, p=period.value
            ),
        )
        sizes.append(1)
    kb.button(text=_("« Back"), callback_data=list_of(acc.id, obj, period))
    sizes.append(1)
    kb.adjust(*sizes)
    return "\n".join(lines), kb.as_markup()


def list_of(account_id: int, obj: AdObject, period: Period) -> ManageCb:
    """The list an object is shown in (its siblings under the same parent)."""
    parent = {"adgroup": obj.campaign_id, "ad": obj.adgroup_id}.get(obj.level) or ""
    return ManageCb(a="ls", id=account_id, l=LEVEL_CODE[obj.level], o=parent, p=period.value)


def _kept(row: RuleAction) -> bool:
    """A pause of what "pause for today" held off (Keep paused): it was off already."""
    return row.kind == "pause" and row.before.get("status") == "DISABLE"


def _value(row: RuleAction, doc: dict[str, str], currency: str) -> str:
    """The value a change is about, from a before/after record."""
    if row.kind in ("budget", "bid"):
        raw = doc.get(row.kind)
        return money(Decimal(raw), currency, _loc()) if raw is not None else "—"
    if doc is row.before and _kept(row):
        return _("⏸ paused for today")
    return status_text(doc.get("status")) or "—"


def _planned(row: RuleAction, currency: str) -> str:
    if row.kind in ("budget", "bid"):
        return money(Decimal(row.params["planned"]), currency, _loc())
    return status_text("DISABLE" if row.kind == "pause" else "ENABLE")


def _what(kind: str, count: int, level: str) -> str:
    """`Pause 3 ads` — the change in one line, for confirmations and progress."""
    what = f"{count} × {level_name(level).lower()}" if count > 1 else _one(level).lower()
    return {
        "pause": _("Pause {what}"),
        "enable": _("Enable {what}"),
        "budget": _("Change the budget of {what}"),
        "bid": _("Change the bid of {what}"),
    }[kind].format(what=what)


def _skipped(p: Proposal) -> list[str]:
    if not p.skipped:
        return []
    reason = {
        Skip.ALREADY: _("already there"),
        Skip.NOT_APPLICABLE: _("no budget or bid of its own"),
        Skip.UNREADABLE: _("TikTok could not be read"),
    }
    out = ["", _("Left out:")]
    for s in p.skipped[:SHOWN_ROWS]:
        said = blocked_reason(s.detail) if s.reason is Skip.NOT_APPLICABLE else s.detail
        detail = f" ({html.quote(said[:120])})" if said else ""
        out.append(f"• {html.quote(s.name[:60])}: {reason[s.reason]}{detail}")
    if len(p.skipped) > SHOWN_ROWS:
        out.append(_("…and {count} more").format(count=len(p.skipped) - SHOWN_ROWS))
    return out


def proposal(p: Proposal, kind: str, level: str, period: Period, back: ManageCb) -> Screen:
    """Before and after for each object, to confirm or cancel."""
    kb = InlineKeyboardBuilder()
    cur = p.account.currency
    if not p.rows:
        kb.button(text=_("« Back"), callback_data=back)
        return "\n".join([_("Nothing to change."), *_skipped(p)]), kb.as_markup()
    minutes = int(CONFIRM_FOR.total_seconds() // 60)
    lines = [
        f"❓ <b>{_what(kind, len(p.rows), level)}</b> · {html.quote(p.account.name)}",
        "",
    ]
    for row in p.rows[:SHOWN_ROWS]:
        lines.append(
            f"• {html.quote(row.object_name[:60])}: {_value(row, row.before, cur)} → "
            f"{_planned(row, cur)}"
        )
    if len(p.rows) > SHOWN_ROWS:
        lines.append(_("…and {count} more").format(count=len(p.rows) - SHOWN_ROWS))
    lines += _skipped(p)
    lines += ["", _("<i>Confirm within {minutes} minutes.</i>").format(minutes=minutes)]
    first = p.rows[0].id
    kb.button(text=_("✅ Confirm"), callback_data=ManageCb(a="ok", id=first, p=period.value))
    kb.button(text=_("✖ Cancel"), callback_data=ManageCb(a="no", id=first, p=period.value))
    kb.adjust(2)
    return "\n".join(lines), kb.as_markup()


def _row_line(row: RuleAction, currency: str) -> str:
    name = html.quote(row.object_name[:60])
    if row.state == "applied":
        before, after = _value(row, row.before, currency), _value(row, row.after, currency)
        return f"✅ {name}: {before} → {after}"
    if row.state == "undone":
        return "↩️ " + _("{name}: back to {value}").format(
            name=name, value=_value(row, row.before if _kept(row) else row.after, currency)
        )
    if row.state == "failed":
        return "⚠️ " + _("{name}: not changed — {error}").format(
            name=name, error=html.quote(change_error(row.error)[:150])
        )
    if row.state == "rejected":
        return "✖ " + _("{name}: cancelled").format(name=name)
    if row.state == "expired":
        return "⌛ " + _("{name}: expired, not changed").format(name=name)
    return "⏳ " + _("{name}: {before} → {after}").format(
        name=name, before=_value(row, row.before, currency), after=_planned(row, currency)
    )


def back_from(d: Decision, period: Period) -> ManageCb | None:
    """Where « Back leads from a change: the object's card, or the ticked list of a bulk
    change (still ticked, to try again or do something else with the same objects)."""
    if d.first is None or d.account is None:
        return None
    if len(d.rows) == 1:
        return ManageCb(
            a="card",
            id=d.account.id,
            l=LEVEL_CODE[d.first.level],
            o=d.first.object_id,
            p=period.value,
        )
    return list_of(d.account.id, d.first, period).model_copy(update={"a": "sel"})


def decision(d: Decision, period: Period) -> Screen:
    """Where a confirmed, cancelled or undone change stands, with Undo while it is open."""
    rows, cur = d.rows, d.account.currency if d.account else "USD"
    states = [r.state for r in rows]
    applied = states.count("applied")
    head = {
        "applied": _("✅ Done on TikTok and verified: {count} of {total}."),
        "undone": _("↩️ Undone: {count} of {total}."),
        "rejected": _("✖ Cancelled: nothing was changed."),
        "expired": _("⌛ This confirmation expired: nothing was changed."),
    }
    if "undone" in states:
        title = head["undone"].format(count=states.count("undone"), total=len(rows))
    elif applied or "failed" in states:
        title = head["applied"].format(count=applied, total=len(rows))
    elif "rejected" in states:
        title = head["rejected"]
    elif "expired" in states:
        title = head["expired"]
    else:
        title = _("⏳ Working on it…")
    lines = [title, ""]
    lines += [_row_line(r, cur) for r in rows[:SHOWN_ROWS]]
    if len(rows) > SHOWN_ROWS:
        lines.append(_("…and {count} more").format(count=len(rows) - SHOWN_ROWS))
    kb = InlineKeyboardBuilder()
    if applied:
        lines += ["", _("You can undo this for 24 hours.")]
        label = _("↩️ Undo") if applied == 1 else _("↩️ Undo all ({count})").format(count=applied)
        kb.button(text=label, callback_data=ManageCb(a="un", id=rows[0].id, p=period.value))
    if (back := back_from(d, period)) is not None:
        kb.button(text=_("« Back"), callback_data=back)
    kb.adjust(1)
    return "\n".join(lines), kb.as_markup()


def progress(kind: str, level: str, done: int, total: int, undoing: bool = False) -> str:
    """A progress bar for a bulk change."""
    filled = done * 10 // max(total, 1)
    what = _("Undoing") if undoing else _what(kind, total, level)
    return f"⏳ {what}…\n{'▓' * filled}{'░' * (10 - filled)} {done}/{total}"


def ask_amount(kind: str, obj: AdObject, currency: str) -> str:
    """Prompt for a budget or bid to set."""
    current = obj.budget if kind == "budget" else obj.bid
    now = money(current, currency, _loc()) if current is not None else "—"
    if kind == "budget":
        return _(
            "Send the new budget in {currency} (now {now}), e.g. 150 or 99.50. /cancel to go back."
        ).format(currency=currency, now=now)
    return _("Send the new bid in {currency} (now {now}), e.g. 1.25. /cancel to go back.").format(
        currency=currency, now=now
    )


def bad_amount() -> str:
    """A typed amount that is not a positive sum in cents."""
    return _(
        "That is not an amount I can use: send a positive number with at most two "
        "decimals, e.g. 120 or 45.50."
    )


def answer(outcome: Outcome) -> str:
    """The short pop-up answer to a confirm, cancel or undo press."""
    return {
        Outcome.DONE: _("Done."),
        Outcome.DECIDED: _("Already done (pressed twice or from another device)."),
        Outcome.EXPIRED: _("Too late: this has expired. Nothing was changed."),
        Outcome.GONE: stale(),
    }[outcome]


def no_access() -> str:
    """The service runs without TikTok configured, so nothing can be changed."""
    return _("Changes need the TikTok connection, which is not configured on this server.")


def too_many() -> str:
    """A selection would go over the limit."""
    return _("At most {count} objects can be changed at once.").format(count=MAX_SELECTION)
