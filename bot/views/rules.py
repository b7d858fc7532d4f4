"""Rules screens: the list, one rule, preview, run log and decisions (the draft being built:
rule_draft.py)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _

from bot.callbacks import BuildCb, MenuCb, RulesCb
from bot.keyboards import InlineKeyboardBuilder
from bot.views import Screen
from bot.views import limits as limits_view
from bot.views.common import (
    add_pager,
    change_error,
    page_of,
    quoted_around,
    skipped_line,
)
from core.billing.limits import RULES_ON
from core.billing.plans import Plan
from core.money import money, number, percent
from core.rules.presets import PRESETS
from core.rules.schedule import fastest
from core.rules.settings import RuleSettings
from core.rules.text import MAX_LENGTH, RuleSyntaxError
from storage.models import AdAccount, Rule, RuleAction, RuleRun

RULES_PER_PAGE = 8
RUNS_PER_PAGE = 8
MONEY = {"spend", "cpc", "cpm", "cpa", "purchase_value", "budget", "bid", "target"}
MONEY |= {"revenue", "profit", "epc", "tracker_cpa"}  # tracker metrics (issue 12)
# Values as they are now, not summed over a window: an explanation names no window for them.
NOW = {"bid", "target"}
PERCENT = {"ctr", "cvr", "budget_spent_pct", "roi"}


def current_locale() -> str:
    """The locale of the reader (for numbers and money)."""
    return get_i18n().current_locale


def metric_name(metric: str) -> str:
    """A metric's name."""
    return {
        "spend": _("spend"),
        "impressions": _("impressions"),
        "clicks": _("clicks"),
        "conversions": _("conversions"),
        "ctr": _("CTR"),
        "cpc": _("CPC"),
        "cpm": _("CPM"),
        "cpa": _("CPA"),
        "cvr": _("conversion rate"),
        "purchase_value": _("purchase value"),
        "roas": _("ROAS"),
        "budget": _("budget"),
        "budget_spent_pct": _("budget spent"),
        "age_days": _("days since creation"),
        "bid": _("bid"),
        "target": _("target (bid)"),
        **tracker_metric_names(),
    }[metric]


def tracker_metric_names() -> dict[str, str]:
    """The tracker metrics' names (issue 12: true ROI from the affiliate tracker)."""
    return {
        "revenue": _("revenue (tracker)"),
        "profit": _("profit (tracker)"),
        "roi": _("ROI (tracker)"),
        "epc": _("EPC (tracker)"),
        "tracker_cpa": _("CPA (tracker)"),
        "tracker_clicks": _("clicks (tracker)"),
        "tracker_conversions": _("conversions (tracker)"),
    }


def span_name(span: str, include_today: bool = False) -> str:
    """A window's name."""
    name = {
        "last_hour": _("last hour"),
        "today": _("today"),
        "yesterday": _("yesterday"),
        "3d": _("last 3 days"),
        "7d": _("last 7 days"),
        "14d": _("last 14 days"),
        "30d": _("last 30 days"),
        "lifetime": _("lifetime"),
    }[span]
    return _("{window} incl. today").format(window=name) if include_today else name


def level_name(level: str) -> str:
    """Campaign / ad group / ad (singular)."""
    return {"campaign": _("campaign"), "adgroup": _("ad group"), "ad": _("ad")}[level]


def metric_value(metric: str, value: Decimal | None, currency: str) -> str:
    """A metric's value as the reader writes numbers."""
    if value is None:
        return "—"
    if metric in MONEY:
        return money(value, currency, current_locale())
    if metric in PERCENT:
        return percent(value, current_locale())
    if metric in ("roas", "age_days"):
        return number(value, current_locale(), 2 if metric == "roas" else 1)
    return number(value, current_locale())


def action_name(kind: str) -> str:
    """What an action does, as a verb phrase."""
    return {
        "pause": _("pause"),
        "pause_today": _("pause for today"),
        "enable": _("switch on"),
        "notify": _("notify"),
        "budget": _("change budget"),
        "bid": _("change bid"),
    }[kind]


def mode_name(mode: str) -> str:
    """Act / ask / alert."""
    return {"auto": _("act"), "approve": _("ask me"), "alert": _("alert only")}[mode]


def _schedule(settings: RuleSettings, user_tz: str) -> str:
    s = settings.schedule
    days = ", ".join(weekday_name(d) for d in sorted(s.weekdays))
    if s.every_minutes is not None:
        every = _("every {n} min").format(n=s.every_minutes)
        return every if len(s.weekdays) == 7 else f"{every} · {days}"
    return _("at {times} ({zone}) on {days}").format(
        times=", ".join(s.times), zone=user_tz, days=days
    )


def weekday_name(day: int) -> str:
    """A weekday's short name (0 = Monday)."""
    return (_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun"))[day]


def _frequency(settings: RuleSettings) -> str:
    f = settings.frequency
    if f.hours is None:
        return _("at most {n} time(s) per object, ever").format(n=f.times)
    return _("at most {n} time(s) per object in {h} h").format(n=f.times, h=f.hours)


def _scope(settings: RuleSettings, accounts: list[AdAccount]) -> list[str]:
    sc = settings.scope
    if sc.accounts is None:
        where = _("all tracked ad accounts")
    else:
        names = [a.name for a in accounts if a.id in sc.accounts]
        where = ", ".join(html.quote(n) for n in names) or _("none (pick at least one)")
    values = ", ".join(f"«{html.quote(v)}»" for v in sc.values)
    what = {
        "all": _("all active objects"),
        "ids": _("objects with ids {values}"),
        "contains": _("objects whose name contains {values}"),
        "starts": _("objects whose name starts with {values}"),
        "pattern": _("objects whose name matches {values}"),
    }[sc.match].format(values=values)
    agg = (
        _("each object on its own")
        if settings.aggregate == "each"
        else _("the sum over all objects of an account")
    )
    return [
        _("Accounts: {where}").format(where=where),
        _("Objects: {what}").format(what=what),
        _("Evaluated: {how}").format(how=agg),
    ]


def settings_lines(settings: RuleSettings, accounts: list[AdAccount], user_tz: str) -> list[str]:
    """A rule's settings, one per line."""
    return [
        *_scope(settings, accounts),
        _("Runs: {schedule}").format(schedule=_schedule(settings, user_tz)),
        _("Limit: {limit}").format(limit=_frequency(settings)),
        _("Pauses and cuts: {mode}; switching on and raises: {risky}").format(
            mode=mode_name(settings.safe_mode), risky=mode_name(settings.risky_mode)
        ),
        _("Skips when data is older than {n} min; approvals expire after {m} min").format(
            n=settings.freshness_minutes, m=settings.approval_minutes
        ),
    ]


def _title(rule: Rule) -> str:
    """The rule's own name, or "Rule" when the name is just its text (said right below)."""
    if rule.text.startswith(rule.name.rstrip("…")):
        return _("🤖 Rule")
    return rule.name


def _rule_line(rule: Rule) -> str:
    mark = "🟢" if rule.enabled else "⏸"
    title = _title(rule)
    head = f"{mark} <b>{html.quote(title)}</b>\n" if title != _("🤖 Rule") else f"{mark} "
    return f"{head}<code>{html.quote(rule.text)}</code>"


def rules_list(rules: list[Rule], page: int) -> Screen:
    """The user's rules with New / Type / Presets."""
    items, page, pages = page_of(rules, page, RULES_PER_PAGE)
    kb = InlineKeyboardBuilder()
    if not rules:
        text = _(
            "<b>🤖 Rules</b>\n\nRules watch your ads and act for you: pause losers, scale "
            "winners, alert you. Risky moves wait for your approval; every change can be "
            "undone for 24 hours.\n\nYou have no rules yet."
        )
    else:
        text = (
            _("<b>🤖 Rules</b> ({n})").format(n=len(rules))
            + "\n\n"
            + "\n\n".join(_rule_line(r) for r in items)
        )
    rows = []
    for rule in items:
        kb.button(
            text=("🟢 " if rule.enabled else "⏸ ") + rule.name[:40],
            callback_data=RulesCb(a="view", id=rule.id, n=page),
        )
        rows.append(1)
    added = add_pager(kb, page, pages, lambda p: RulesCb(a="list", n=p))
    if added:
        rows.append(added)
    kb.button(text=_("➕ Build a rule"), callback_data=BuildCb(a="start", v="new"))
    kb.button(text=_("⌨️ Type a rule"), callback_data=RulesCb(a="type"))
    kb.button(text=_("📋 Presets"), callback_data=RulesCb(a="presets"))
    kb.button(text=_("« Main menu"), callback_data=MenuCb(section="home"))
    kb.adjust(*rows, 2, 1, 1)
    return text, kb.as_markup()


def rule_view(
    rule: Rule,
    settings: RuleSettings,
    accounts: list[AdAccount],
    user_tz: str,
    last: RuleRun | None,
    conflicts: list[Rule],
    now: datetime | None = None,
    plan: Plan | None = None,
) -> Screen:
    """One rule: its text, settings, last run, conflicts, and what can be done with it.
    `now`: when the screen is drawn, which its "Run now" names (core.rules.run_now.slot_for);
    `plan`: the owner's, for what it paused and the cadence it runs a faster rule at."""
    state = _("🟢 on") if rule.enabled else _("⏸ off")
    if not rule.enabled and rule.plan_paused_at is not None and plan is not None:
        state = limits_view.paused_mark(plan, RULES_ON)
    lines = [
        f"<b>{html.quote(_title(rule))}</b> — {state}",
        f"<code>{html.quote(rule.text)}</code>",
        "",
        *settings_lines(settings, accounts, user_tz),
    ]
    quickest = fastest(settings.schedule)
    if plan is not None and quickest is not None and quickest < plan.limits.rule_every_minutes:
        lines.append(limits_view.cadence_note(plan))
    if last is not None:
        lines += ["", _("Last run: {summary}").format(summary=run_summary(last, user_tz))]
    if conflicts and rule.enabled:
        lines += ["", conflict_warning(conflicts)]
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("⏸ Switch off") if rule.enabled else _("▶️ Switch on"),
        callback_data=RulesCb(a="off" if rule.enabled else "on", id=rule.id),
    )
    kb.button(text=_("✏️ Edit"), callback_data=RulesCb(a="edit", id=rule.id))
    kb.button(text=_("▶ Run now"), callback_data=run_now_cb(rule.id, now))
    kb.button(text=_("🔎 Preview"), callback_data=RulesCb(a="prev", id=rule.id))
    kb.button(text=_("🧪 Backtest"), callback_data=RulesCb(a="bt", id=rule.id, v="7"))
    kb.button(text=_("📜 Run log"), callback_data=RulesCb(a="runs", id=rule.id))
    kb.button(text=_("⧉ Duplicate"), callback_data=RulesCb(a="dup", id=rule.id))
    kb.button(text=_("🗑 Delete"), callback_data=RulesCb(a="del", id=rule.id))
    kb.button(text=_("« Rules"), callback_data=RulesCb(a="list"))
    kb.adjust(2, 1, 2, 2, 1, 1)
    return "\n".join(lines), kb.as_markup()


def run_now_cb(rule_id: int, now: datetime | None) -> RulesCb:
    """ "Run now" naming the moment its screen was drawn (a double tap then runs once)."""
    return RulesCb(a="now", id=rule_id, v=str(int(now.timestamp())) if now else "")


def running(rule: Rule, done: int = 0, total: int = 0) -> str:
    """A run started from the rule's screen, in progress."""
    head = _("⏳ Running «{name}»…").format(name=html.quote(rule.name))
    if total:
        head += "\n" + _("Changes applied: {done} of {total}").format(done=done, total=total)
    return head


def run_result(rule: Rule, run: RuleRun, user_tz: str, now: datetime) -> Screen:
    """What a run started from the rule's screen did, with the way to its objects."""
    lines = [
        _("▶ <b>{name}</b> ran now").format(name=html.quote(rule.name)),
        run_summary(run, user_tz),
    ]
    if run.matched:
        lines += [
            "",
            _(
                "Its alerts and approvals come as one message; the run lists each object "
                "with its own buttons."
            ),
        ]
    kb = InlineKeyboardBuilder()
    if run.matched:
        kb.button(text=_("📜 Open the run"), callback_data=RulesCb(a="run", id=run.id))
    kb.button(text=_("▶ Run again"), callback_data=run_now_cb(rule.id, now))
    kb.button(text=_("« Rule"), callback_data=RulesCb(a="view", id=rule.id))
    kb.adjust(1)
    return "\n".join(lines), kb.as_markup()


def run_busy(rule: Rule) -> Screen:
    """Another run of the rule holds it right now."""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("📜 Run log"), callback_data=RulesCb(a="runs", id=rule.id))
    kb.button(text=_("« Rule"), callback_data=RulesCb(a="view", id=rule.id))
    kb.adjust(2)
    return _(
        "⏳ «{name}» is running right now (on its schedule or from another press). Its "
        "result will be in the run log in a moment."
    ).format(name=html.quote(rule.name)), kb.as_markup()


def run_failed(rule: Rule) -> Screen:
    """A run started from the rule's screen broke off."""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("« Rule"), callback_data=RulesCb(a="view", id=rule.id))
    return _(
        "⚠️ The run of «{name}» broke off. What it did is kept and is not done twice; try "
        "again in a minute."
    ).format(name=html.quote(rule.name)), kb.as_markup()


def conflict_warning(rules: list[Rule]) -> str:
    """Other enabled rules that can undo what this one does."""
    names = ", ".join(f"«{html.quote(r.name)}»" for r in rules[:5])
    return _(
        "⚠️ Can act on the same objects in the opposite direction: {names}. They may "
        "undo each other; narrow one of them."
    ).format(names=names)


def confirm_delete(rule: Rule) -> Screen:
    """Are you sure?"""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("🗑 Yes, delete"), callback_data=RulesCb(a="del_yes", id=rule.id))
    kb.button(text=_("« Back"), callback_data=RulesCb(a="view", id=rule.id))
    return _("Delete the rule «{name}»? What it already did stays in your alerts.").format(
        name=html.quote(rule.name)
    ), kb.as_markup()


def local_time(when: datetime | None, user_tz: str) -> str:
    """`29.11 15:00` in the user's zone (— when unknown)."""
    if when is None:
        return "—"
    return when.astimezone(ZoneInfo(user_tz)).strftime("%d.%m %H:%M")


def run_summary(run: RuleRun, user_tz: str) -> str:
    """`29.11 15:00 · data as of 14:55 · checked 12, matched 2, changed 1, asked 1`."""
    head = local_time(run.started_at, user_tz)
    if run.status == "stale":
        return _("{when} · skipped: the data was too old").format(when=head)
    if run.status == "running":
        return _("{when} · running").format(when=head)
    return _(
        "{when} · data as of {as_of} · checked {checked}, matched {matched}, changed "
        "{acted}, asked {asked}"
    ).format(
        when=head,
        as_of=local_time(run.data_as_of, user_tz),
        checked=run.checked,
        matched=run.matched,
        acted=run.acted,
        asked=run.proposed,
    ) + (_(", skipped {n}").format(n=sum(run.skipped.values())) if run.skipped else "")


def runs_page(rule: Rule, runs: list[RuleRun], total: int, page: int, user_tz: str) -> Screen:
    """A page of a rule's run log."""
    pages = max(1, -(-total // RUNS_PER_PAGE))
    kb = InlineKeyboardBuilder()
    text = _("<b>📜 Run log — {name}</b>").format(name=html.quote(rule.name)) + "\n\n"
    text += (
        "\n".join(f"• {run_summary(r, user_tz)}" for r in runs)
        if runs
        else _("No runs yet. A rule that is on runs on its schedule.")
    )
    for r in runs:
        if r.matched:
            kb.button(
                text=local_time(r.started_at, user_tz), callback_data=RulesCb(a="run", id=r.id)
            )
    kb.adjust(4)
    nav = InlineKeyboardBuilder()
    add_pager(nav, page, pages, lambda p: RulesCb(a="runs", id=rule.id, n=p))
    nav.button(text=_("« Rule"), callback_data=RulesCb(a="view", id=rule.id))
    kb.attach(nav)
    return text, kb.as_markup()


STATE_MARK = {
    "applied": "✅",
    "proposed": "⏳",
    "alerted": "🔔",
    "failed": "⚠️",
    "rejected": "✖",
    "expired": "⌛",
    "undone": "↩️",
    "applying": "…",
    "undoing": "…",
}


def state_name(state: str) -> str:
    """An action's state."""
    return {
        "applied": _("done"),
        "proposed": _("waiting for approval"),
        "alerted": _("alerted"),
        "failed": _("failed"),
        "rejected": _("rejected"),
        "expired": _("expired"),
        "undone": _("undone"),
        "applying": _("in progress"),
        "undoing": _("in progress"),
    }[state]


RUN_ACTIONS_PER_PAGE = 10  # one row of buttons each: far under Telegram's 100 buttons


def run_detail(
    run: RuleRun, actions: list[RuleAction], user_tz: str, now: datetime, page: int = 0
) -> Screen:
    """What one run did, object by object (a page at a time), with each action's buttons."""
    from bot.views.rule_alerts import action_buttons  # the alert's own buttons

    pages = max(1, -(-len(actions) // RUN_ACTIONS_PER_PAGE))
    page = min(max(page, 0), pages - 1)
    lines = [
        _("<b>Run {when}</b>").format(when=local_time(run.started_at, user_tz)),
        run_summary(run, user_tz),
    ]
    skipped = skipped_line(run.skipped)  # matched, but their budget or bid cannot change
    lines += [skipped, ""] if skipped else [""]
    kb = InlineKeyboardBuilder()
    shown = actions[page * RUN_ACTIONS_PER_PAGE : (page + 1) * RUN_ACTIONS_PER_PAGE]
    for a in shown:
        lines.append(
            f"{STATE_MARK.get(a.state, '•')} {html.quote(a.object_name[:80])} — "
            f"{action_name(a.kind)}: {state_name(a.state)}"
        )
        found = a.trigger or {}
        if found.get("trigger_count"):
            lines.append(
                "   " + triggered_by(found.get("triggers", [])[:3], found["trigger_count"])
            )
        row = InlineKeyboardBuilder()
        if action_buttons(row, a, short=True, now=now):
            kb.row(*row.buttons)
    back = InlineKeyboardBuilder()
    add_pager(back, page, pages, lambda p: RulesCb(a="run", id=run.id, n=p))
    if run.rule_id:
        back.button(text=_("« Run log"), callback_data=RulesCb(a="runs", id=run.rule_id))
    kb.attach(back)
    return "\n".join(lines)[:4000], kb.as_markup()


def presets() -> Screen:
    """Ready rules to start from."""
    names = {
        "stop_loss": _("Stop-loss: spent 20 today without a conversion → pause for today"),
        "high_cpa": _("CPA above target over 3 days → pause the ad group"),
        "scale_roas": _("ROAS ≥ 2 yesterday → raise the budget 20% (up to 500)"),
        "stale_ads": _("Ads older than 14 days with CTR under 0.5% → pause"),
        "budget_burn": _("Daily budget spent ≥ 80% → alert"),
        "low_roi": _("ROI below −30%, last 3 days (tracker; spend ≥ 20) → pause"),
    }
    kb = InlineKeyboardBuilder()
    for p in PRESETS:
        kb.button(text=names[p.key], callback_data=RulesCb(a="preset", v=p.key))
    kb.button(text=_("« Rules"), callback_data=RulesCb(a="list"))
    kb.adjust(1)
    return _(
        "<b>📋 Presets</b>\n\nBuilt from TikTok's own advice. Pick one, then adjust it "
        "before saving."
    ), kb.as_markup()


def ask_text(current: str | None = None) -> str:
    """How to type a rule."""
    text = _(
        "Send the rule as one line: <code>level: conditions -> action</code>\n\n"
        "Examples:\n<code>ad: spend >= 20 and conversions = 0 in 3d -> pause</code>\n"
        "<code>campaign: roas > 2 in yesterday and spend > 50 in today -> budget +20% max "
        "500</code>\n<code>adgroup: cpa > 1.5 x cpa in 7d -> notify</code>\n\n"
        "Windows: last hour, today, yesterday, 3d, 7d, 14d, 30d (add <code>incl today</code>), "
        "lifetime. Actions: pause, pause today, enable, notify, budget or bid with "
        "<code>= 100</code>, <code>+20%</code>, <code>-10</code>, <code>min</code>/<code>max"
        "</code>.\n\n/cancel to stop."
    )
    text += "\n\n" + _(
        "Status, as it is now: <code>status = rejected</code> or <code>status != delivering"
        "</code> (delivering, not_delivering, paused, in_review, rejected, budget_exceeded)."
    )
    text += "\n\n" + _(
        "The ad group's own bid (its cost cap or target CPA as synced; an ad uses its ad "
        "group's): <code>adgroup: cpa > 1.5 x target in 3d -> pause</code>. "
        "<code>between</code> and <code>!=</code> (or ≠) work too."
    )
    if current:
        text += "\n\n" + _("Current:") + f"\n<code>{html.quote(current)}</code>"
    return text


def syntax_error(text: str, error: RuleSyntaxError) -> str:
    """Where the text stopped making sense, and what would fit there."""
    if error.expected == f"at most {MAX_LENGTH} characters":
        return _(
            "That is {length} characters; a rule is at most {limit}. Shorten it and send it "
            "again, or /cancel."
        ).format(length=len(text), limit=MAX_LENGTH)
    col = error.column
    before, after = quoted_around(text, col - 1)
    shown = before + " ⟶ " + after
    return _(
        "That is not a rule yet: at column {col} I expected {expected}.\n\n<code>{shown}"
        "</code>\n\nFix it and send it again, or /cancel."
    ).format(col=col, expected=html.quote(expected_words(error)), shown=shown)


def expected_words(error: RuleSyntaxError) -> str:
    """What would fit, in the reader's language; the rule words to type stay as they are."""
    phrases = {
        "a word, a number or an operator": _("a word, a number or an operator"),
        "the level": _("the level"),
        "':' after the level": _("':' after the level"),
        "'->' and an action": _("'->' and an action"),
        "the end of the rule": _("the end of the rule"),
        "')'": "')'",
        "a metric": _("a metric"),
        "a metric a campaign has (bids are set on its ad groups)": _(
            "a metric a campaign has (bids are set on its ad groups)"
        ),
        "the end of the value": _("the end of the value"),
        "a number": _("a number"),
        "'and' between the two bounds": _("'and' between the two bounds"),
        "a comparison": _("a comparison"),
        "a comparison after status": _("a comparison after status"),
        "a status": _("a status"),
        "a window": _("a window"),
        "'today'": "'today'",
        "no 'incl today' here (only after 3d, 7d, 14d or 30d)": _(
            "no 'incl today' here (only after 3d, 7d, 14d or 30d)"
        ),
        "an action": _("an action"),
        "the new value": _("the new value"),
        "a sign after budget or bid": _("a sign after budget or bid"),
        "a level above the rule's": _("a level above the rule's"),
        "how much": _("how much"),
        "the floor": _("the floor"),
        "the ceiling": _("the ceiling"),
        "a floor no higher than the ceiling": _("a floor no higher than the ceiling"),
        "fewer nested parentheses": _("fewer nested parentheses"),
        "a daily window for tracker metrics (not the last hour)": _(
            "a daily window for tracker metrics (not the last hour)"
        ),
        f"at most {MAX_LENGTH} characters": _("at most {n} characters").format(n=MAX_LENGTH),
    }
    what = phrases.get(error.expected, error.expected)
    return f"{what}: {', '.join(error.options)}" if error.options else what


def invalid(reason: str) -> str:
    """A rule that parses but cannot work."""
    return {
        "budget_on_ad": _(
            "Ads have no budget or bid of their own: use an ad group or "
            "campaign rule for budget and bid changes."
        ),
        "bid_on_campaign": _("Bids are set on ad groups: use an ad group rule to change bids."),
        "too_many": _("You have reached the limit of 100 rules. Delete one to add another."),
        "gone": _("This rule no longer exists."),
        "too_long": _(
            "Written out in full (every condition with its window), this rule is longer than "
            "500 characters. Use fewer conditions, or split it into two rules."
        ),
    }.get(reason, _("These settings cannot be saved: {what}.").format(what=html.quote(reason)))


def reading_text(
    metric: str,
    span: str,
    incl: bool,
    value: Decimal | None,
    currency: str,
    word: str | None = None,
) -> str:
    """`spend today $25.50`, or `status: rejected`."""
    if metric == "status":
        return _("status: {status}").format(status=status_name(word or "?"))
    if metric in NOW:
        if value is None:
            return _("{metric}: none (automatic bidding)").format(metric=metric_name(metric))
        return f"{metric_name(metric)}: {metric_value(metric, value, currency)}"
    return f"{metric_name(metric)} {span_name(span, incl)}: {metric_value(metric, value, currency)}"


def status_name(word: str) -> str:
    """A delivery status's name."""
    return {
        "delivering": _("delivering"),
        "not_delivering": _("not delivering"),
        "paused": _("paused"),
        "in_review": _("in review"),
        "rejected": _("rejected"),
        "budget_exceeded": _("out of budget"),
    }.get(word, word)


def triggered_by(names: list[str], count: int) -> str:
    """`for 3 matched: Group A, Group B…` under a parent acted on for its children."""
    shown = ", ".join(f"«{html.quote(n[:60])}»" for n in names)
    more = "…" if count > len(names) else ""
    return _("for {n} matched: {names}").format(n=count, names=shown + more)


def not_yours() -> str:
    """A rule or run id that is not the presser's (or no longer exists)."""
    return _("This rule is not available. Send /rules to see yours.")


def draft_closed() -> str:
    """A draft button pressed after the draft was saved or discarded."""
    return _("This draft is closed. Send /rules to start again.")


def saved(enabled: bool) -> str:
    """After saving (a callback answer: plain text)."""
    if enabled:
        return _("✅ Saved and switched on.")
    return _("💾 Saved. It is off until you switch it on.")


def bad_value() -> str:
    """A typed value that is not what was asked for."""
    return _("That does not fit here. Try again, or /cancel.")


def bad_value_why(error: RuleSyntaxError) -> str:
    """A typed builder value that does not fit, and what would."""
    return _("That does not fit here: I expected {expected}. Try again, or /cancel.").format(
        expected=html.quote(expected_words(error))
    )


def back_kb(target: CallbackData) -> InlineKeyboardMarkup:
    """A keyboard with one "« Back" button."""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("« Back"), callback_data=target)
    return kb.as_markup()


def backtesting(days: int) -> str:
    """While a backtest runs."""
    return _("🧪 Replaying the last {n} days…").format(n=days)


def decision_applied() -> str:
    """After an approval was applied."""
    return _("✅ Approved and applied.")


def decision_rejected() -> str:
    """After a rejection."""
    return _("✖ Rejected. Nothing was changed.")


def decision_undone() -> str:
    """After an undo."""
    return _("↩️ Undone: the previous value is back.")


def decision_expired() -> str:
    """A decision pressed too late."""
    return _("⌛ Too late: this has expired and nothing was changed.")


def decision_taken() -> str:
    """A second press, or from another device."""
    return _("This was already decided.")


def decision_failed(error: str) -> str:
    """TikTok refused."""
    if not error:
        return _("TikTok is not connected on this instance; nothing was changed.")
    return _("Not changed: {error}").format(error=change_error(error))[:200]  # an answer's limit


def decision_gone() -> str:
    """Not the presser's, or gone."""
    return _("This action is not available.")


def ask_amount(kind: str) -> str:
    """Edit value: type an amount."""
    what = metric_name("budget") if kind == "budget" else _("bid")
    return _(
        "Send the new {what} as a number, e.g. <code>120</code> or <code>75.50</code>. "
        "/cancel to stop."
    ).format(what=what)
