"""The operators' console: the dashboard, a user's card and its actions (grant, refund,
tickets), broadcasts with their preview and delivery counts, and reconciliation reports."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _
from babel.dates import format_date

from bot.callbacks import AdminCb, TicketCb
from bot.keyboards import InlineKeyboardBuilder
from bot.views import Screen
from bot.views import privacy as privacy_view
from bot.views.common import local_stamp
from core.admin import Dashboard, UserCard
from core.billing.account import Change
from core.billing.plans import Catalogue
from core.privacy.rights import BroadcastStatus, Draft
from storage.models import Payment, SupportTicket, User

LIMIT = 4096  # Telegram's message length (telegram-bot-platform.md §1)
GRANT_DAYS = (7, 30, 90, 365)
SNIPPET = 120  # characters of a user's or an error's text quoted in a list


def _cut(text: str, limit: int = SNIPPET) -> str:
    """A plain text shortened to `limit` characters and escaped."""
    text = " ".join(text.split())
    return html.quote(text if len(text) <= limit else text[: limit - 1] + "…")


def _fit(lines: Sequence[str]) -> str:
    """Lines joined, dropping whole lines from the end (each holds its own tags) so the message
    stays within Telegram's limit."""
    out = list(lines)
    while len("\n".join(out)) > LIMIT - 2 and len(out) > 1:
        out.pop()
        out[-1] = "…"
    return "\n".join(out)


def _stamp(moment: datetime | None, zone: str) -> str:
    return local_stamp(moment, zone)


def _ago(moment: datetime, now: datetime) -> str:
    """How long ago, in whole minutes, hours or days."""
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 3600:
        return _("{n} min").format(n=seconds // 60)
    if seconds < 86400:
        return _("{n} h").format(n=seconds // 3600)
    return _("{n} d").format(n=seconds // 86400)


def _plan_name(catalogue: Catalogue, code: str | None) -> str:
    plan = catalogue.get(code)
    return html.quote(plan.name if plan is not None else (code or "—"))


def operators_only() -> str:
    """/admin from someone who is not an operator."""
    return _("Only TTPulse operators can use the console.")


def home_button(kb: InlineKeyboardBuilder) -> None:
    """« Console."""
    kb.button(text=_("« Console"), callback_data=AdminCb(a="home"))


# The dashboard ------------------------------------------------------------------------------


def dashboard(d: Dashboard, catalogue: Catalogue, zone: str) -> Screen:
    """The service at a glance, with the console's entry points."""
    now = d.now
    paying = ", ".join(f"{_plan_name(catalogue, code)} {n}" for code, n in
                       sorted(d.paying.items(), key=lambda kv: catalogue.rank(kv[0])))
    lines = [
        _("🛠 <b>TTPulse console</b> · {now}").format(now=_stamp(now, zone)),
        "",
        _("<b>Users</b>: {total} · new this week: {new}").format(total=d.users,
                                                                new=d.new_this_week),
        _("Paying: {n}{plans} · free: {free}").format(
            n=d.paying_total, plans=f" ({paying})" if paying else "",
            free=max(0, d.users - d.paying_total)),
        _("<b>Ad accounts tracked</b>: {accounts} · <b>rules on</b>: {rules}").format(
            accounts=d.ad_accounts, rules=d.rules_on),
    ]
    if d.sync.late:
        assert d.sync.oldest_due is not None
        lines.append(_("<b>Syncs behind schedule</b>: {n}, the oldest due {ago} ago").format(
            n=d.sync.late, ago=_ago(d.sync.oldest_due, now)))
    else:
        lines.append(_("<b>Syncs behind schedule</b>: none"))
    if d.sync.failing:
        lines.append(_("Syncs failing (retried with back-off): {n}").format(n=d.sync.failing))
    outbox = _("<b>Outbox</b>: {waiting} waiting, {due} due now").format(
        waiting=d.outbox.waiting, due=d.outbox.due)
    if d.outbox.oldest_due is not None:
        outbox += _(", the oldest due for {ago}").format(ago=_ago(d.outbox.oldest_due, now))
    lines.append(outbox)
    lines += ["", _("<b>Stars revenue</b> (kept · refunded):")]
    locale = get_i18n().current_locale
    for month in d.revenue:
        lines.append(_("{month}: {stars} ⭐ · {refunded} ⭐").format(
            month=format_date(month.month, "LLL y", locale=locale), stars=month.stars,
            refunded=month.refunded))
    job = d.reconciled
    if job is not None and job.last_finished_at is not None:
        lines.append(_("Last reconciliation: {when}, differences: {n}").format(
            when=_stamp(job.last_finished_at, zone),
            n=(job.last_result or {}).get("differences", 0)))
    lines += ["", _("<b>Last errors</b> (7 days):")]
    if not d.errors:
        lines.append(_("none"))
    for e in d.errors:
        lines.append(f"• {_stamp(e.at, zone)} {html.quote(e.source)} · "
                     f"<code>{e.user_id}</code> · {_cut(e.subject, 40)}: {_cut(e.error)}")
    kb = InlineKeyboardBuilder()
    kb.button(text=_("🔎 Find user"), callback_data=AdminCb(a="find"))
    kb.button(text=_("📣 Broadcasts"), callback_data=AdminCb(a="bc"))
    kb.button(text=_("🔁 Reconcile now"), callback_data=AdminCb(a="recon"))
    kb.button(text=_("🔄 Refresh"), callback_data=AdminCb(a="home"))
    kb.adjust(2, 2)
    return _fit(lines), kb.as_markup()


# Finding a user -----------------------------------------------------------------------------


def find_prompt() -> str:
    """Ask for the user to look up."""
    return _("Send the user's Telegram id, @username or email (or /cancel).")


def text_please() -> str:
    """A sticker or photo where the console waits for text."""
    return _("Please type it as text, or /cancel.")


def bad_query() -> str:
    """Not an id, username or email."""
    return _("That is not a Telegram id, @username or email. Try again, or /cancel.")


def not_found(query: str) -> Screen:
    """Nobody matches."""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("🔎 Find user"), callback_data=AdminCb(a="find"))
    home_button(kb)
    return _("No user found for <code>{query}</code>.").format(query=_cut(query, 64)), \
        kb.as_markup()


def _who(user: User) -> str:
    name = html.quote(" ".join(p for p in (user.first_name, user.last_name) if p) or "—")
    if user.username:
        name += f" @{html.quote(user.username)}"
    return name


def matches(users: Sequence[User], zone: str) -> Screen:
    """Several users match: pick one."""
    kb = InlineKeyboardBuilder()
    lines = [_("Several users match:")]
    for user in users:
        gone = _(" (deleted)") if user.deleted_at is not None else ""
        lines.append(f"• {_who(user)} · <code>{user.id}</code>{gone}")
        kb.button(text=f"{user.first_name or user.id} · {user.id}"[:60],
                  callback_data=AdminCb(a="user", u=user.id))
    home_button(kb)
    kb.adjust(1)
    return "\n".join(lines), kb.as_markup()


def _standing(card: UserCard, catalogue: Catalogue, zone: str) -> str:
    s, row = card.standing, card.entitlement
    if s.state == "free":
        text = _("<b>Plan</b>: {plan}").format(plan=_plan_name(catalogue, card.plan.code))
        if s.paid_until is not None:
            text += _(" (paid time ended {when})").format(when=_stamp(s.paid_until, zone))
        return text
    if s.state == "grace":
        return _("<b>Plan</b>: {plan} — in grace: paid time ended {end}, downgrade at "
                 "{grace}").format(plan=_plan_name(catalogue, s.plan),
                                   end=_stamp(s.paid_until, zone),
                                   grace=_stamp(s.grace_until, zone))
    renews = row is not None and row.renews
    return _("<b>Plan</b>: {plan} — active, paid until {end}; {renewal}").format(
        plan=_plan_name(catalogue, s.plan), end=_stamp(s.paid_until, zone),
        renewal=_("renews (subscription)") if renews else _("does not renew"))


def _usage(card: UserCard) -> str | None:
    if card.usage is None:
        return None
    u, lim = card.usage, card.usage.plan.limits

    def of(used: int, limit: int | None) -> str:
        return f"{used}/{'∞' if limit is None else limit}"

    return _("<b>Usage</b>: ad accounts {a} · rules on {r} · launches this month {n} · "
             "trackers {t}").format(a=of(u.ad_accounts, lim.ad_accounts),
                                    r=of(u.rules_on, lim.rules_on),
                                    n=of(u.launches_this_month, lim.launches_per_month),
                                    t=of(u.trackers, lim.trackers))


def _payment_line(p: Payment, catalogue: Catalogue, zone: str) -> str:
    what = _("{plan} {days} d").format(plan=_plan_name(catalogue, p.plan), days=p.days)
    if p.kind == "grant":
        line = _("• {when} grant: {what} by <code>{by}</code> — {reason}").format(
            when=_stamp(p.created_at, zone), what=what, by=p.granted_by,
            reason=_cut(p.reason or "", 60))
    else:
        sub = _(" subscription") if p.recurring else ""
        line = _("• {when} {stars} ⭐ {what}{sub} <code>{charge}</code>").format(
            when=_stamp(p.created_at, zone), stars=p.total_amount, what=what, sub=sub,
            charge=html.quote(p.telegram_charge_id))
    if p.refunded_at is not None:
        line += _(" — refunded {when}").format(when=_stamp(p.refunded_at, zone))
    return line


def user_card(card: UserCard, catalogue: Catalogue, zone: str) -> Screen:
    """One user: who, plan and standing, usage, connections' health, payments, activity."""
    user = card.user
    lines = [f"👤 <b>{_who(user)}</b> · id <code>{user.id}</code>"]
    if user.deleted_at is not None:
        lines.append(_("🗑 Deleted on {when}").format(when=_stamp(user.deleted_at, zone)))
    lines.append(_("Language {lang} · time zone {tz} · email {email}").format(
        lang=html.quote(user.language), tz=html.quote(user.time_zone),
        email=html.quote(user.email or "—")))
    state = [_("signed up {when}").format(when=_stamp(user.created_at, zone)),
             _("news: yes") if user.marketing_opt_in else _("news: no")]
    if user.blocked_at is not None:
        state.append(_("blocked the bot {when}").format(when=_stamp(user.blocked_at, zone)))
    if user.paused_at is not None:
        state.append(_("paused {when}").format(when=_stamp(user.paused_at, zone)))
    lines += [" · ".join(state), "", _standing(card, catalogue, zone)]
    if (usage := _usage(card)) is not None:
        lines.append(usage)
    lines += ["", _("<b>TikTok</b>:")]
    if not card.connections:
        lines.append(_("no connections"))
    for c in card.connections[:5]:
        row = c.row
        health = {"active": _("active"), "broken": _("broken"),
                  "disconnected": _("disconnected")}.get(row.status, html.quote(row.status))
        if row.status == "broken" and row.broken_at is not None:
            health += _(" since {when}: {why}").format(when=_stamp(row.broken_at, zone),
                                                      why=_cut(row.broken_reason or "", 80))
        lines.append(_("• {name} — {health}; {n} ad accounts, {t} tracked").format(
            name=_cut(row.display_name or "—", 40), health=health, n=c.accounts, t=c.tracked))
    lines.append(_("<b>Trackers</b>:"))
    if not card.trackers:
        lines.append(_("none"))
    for t in card.trackers[:5]:
        health = html.quote(t.status)
        if t.status == "failing" and t.failing_since is not None:
            health += _(" since {when}: {why}").format(when=_stamp(t.failing_since, zone),
                                                      why=_cut(t.last_error or "", 80))
        lines.append(f"• {_cut(t.name, 40)} ({html.quote(t.kind)}) — {health}")
    lines.append(_("<b>Support</b>: {n} tickets, {open} open").format(
        n=card.tickets, open=card.open_tickets))
    lines += ["", _("<b>Payments</b> (newest first):")]
    if not card.payments:
        lines.append(_("none"))
    lines += [_payment_line(p, catalogue, zone) for p in card.payments[:8]]
    lines += ["", _("<b>Recent activity</b>:")]
    if not card.activity:
        lines.append(_("none"))
    for entry in card.activity:
        lines.append(f"• {_stamp(entry.created_at, zone)} {html.quote(entry.action)}")
    kb = InlineKeyboardBuilder()
    if user.deleted_at is None:
        kb.button(text=_("🎁 Grant or extend"), callback_data=AdminCb(a="grant", u=user.id))
    kb.button(text=_("↩️ Refund a payment"), callback_data=AdminCb(a="refund", u=user.id))
    kb.button(text=_("🆘 Tickets ({n})").format(n=card.tickets),
              callback_data=AdminCb(a="tickets", u=user.id))
    kb.button(text=_("🔄 Refresh"), callback_data=AdminCb(a="user", u=user.id))
    home_button(kb)
    kb.adjust(2, 2, 1)
    return _fit(lines), kb.as_markup()


def no_such_user(user_id: int) -> str:
    """The user is gone entirely."""
    return _("There is no user with id <code>{id}</code> (any more).").format(id=user_id)


def no_such_user_plain(user_id: int) -> str:
    """The same, for a button's alert (plain text)."""
    return _("There is no user with id {id} (any more).").format(id=user_id)


def back_to(user_id: int, kb: InlineKeyboardBuilder) -> None:
    """« Back to the user's card."""
    kb.button(text=_("« Back"), callback_data=AdminCb(a="user", u=user_id))


# Granting ----------------------------------------------------------------------------------


def grant_plans(user: User, catalogue: Catalogue) -> Screen:
    """Which plan to grant."""
    kb = InlineKeyboardBuilder()
    for plan in catalogue.plans:
        if plan.paid:
            kb.button(text=plan.name, callback_data=AdminCb(a="gp", u=user.id, v=plan.code))
    back_to(user.id, kb)
    kb.adjust(3, 1)
    return _("🎁 Grant or extend a plan for {who}: which plan?").format(who=_who(user)), \
        kb.as_markup()


def grant_days(user: User, catalogue: Catalogue, plan: str) -> Screen:
    """For how long."""
    kb = InlineKeyboardBuilder()
    for days in GRANT_DAYS:
        kb.button(text=_("{n} days").format(n=days),
                  callback_data=AdminCb(a="gd", u=user.id, v=f"{plan}.{days}"))
    back_to(user.id, kb)
    kb.adjust(4, 1)
    return _("🎁 {plan} for {who}: for how many days? Time already paid is kept: a higher plan "
             "starts now and the rest follows it, the same plan extends.").format(
        plan=_plan_name(catalogue, plan), who=_who(user)), kb.as_markup()


def grant_reason(user: User, catalogue: Catalogue, plan: str, days: int) -> str:
    """Ask for the reason (kept in the ledger and the audit log)."""
    return _("🎁 {plan} for {days} days to {who}. Type the reason (kept with the grant, up to "
             "200 characters), or /cancel.").format(plan=_plan_name(catalogue, plan), days=days,
                                                    who=_who(user))


def reason_bad() -> str:
    """Empty or too long reason."""
    return _("The reason must have 1 to 200 characters. Type it again, or /cancel.")


def granted(user_id: int, change: Change, catalogue: Catalogue, plan: str, days: int,
            zone: str) -> Screen:
    """The grant is in the ledger."""
    after = change.after
    kb = InlineKeyboardBuilder()
    back_to(user_id, kb)
    return _("✅ Granted {plan} for {days} days. Now: {now_plan}, paid until {end}.").format(
        plan=_plan_name(catalogue, plan), days=days, now_plan=_plan_name(catalogue, after.plan),
        end=_stamp(after.paid_until, zone)), kb.as_markup()


# Refunds -----------------------------------------------------------------------------------


def refundable(payments: Sequence[Payment]) -> list[Payment]:
    """Stars charges not refunded yet, newest first."""
    return [p for p in payments if p.kind == "stars" and p.refunded_at is None]


def refund_list(user: User, payments: Sequence[Payment], catalogue: Catalogue,
                zone: str) -> Screen:
    """Which Stars payment to refund."""
    kb = InlineKeyboardBuilder()
    choices = refundable(payments)[:10]
    for p in choices:
        plan = catalogue.get(p.plan)
        kb.button(text=_("{stars} ⭐ · {plan} {days} d · {when}").format(
            stars=p.total_amount, plan=plan.name if plan is not None else p.plan, days=p.days,
            when=_stamp(p.created_at, zone)),
            callback_data=AdminCb(a="rf", u=user.id, v=str(p.id)))
    back_to(user.id, kb)
    kb.adjust(1)
    if not choices:
        return _("{who} has no Stars payment left to refund.").format(who=_who(user)), \
            kb.as_markup()
    return _("↩️ Refund which payment of {who}?").format(who=_who(user)), kb.as_markup()


def refund_confirm(user: User, p: Payment, catalogue: Catalogue, zone: str) -> Screen:
    """Confirm before asking Telegram."""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("↩️ Yes, refund {stars} ⭐").format(stars=p.total_amount),
              callback_data=AdminCb(a="rfok", u=user.id, v=str(p.id)))
    back_to(user.id, kb)
    kb.adjust(1)
    sub = _(" Its subscription's renewal is cancelled too.") if p.recurring else ""
    return _("Refund {stars} ⭐ ({plan} {days} d, paid {when}, charge <code>{charge}</code>) to "
             "{who}? The Stars go back to the user and the time this payment bought ends now, "
             "without grace.{sub}").format(
        stars=p.total_amount, plan=_plan_name(catalogue, p.plan), days=p.days,
        when=_stamp(p.created_at, zone), charge=html.quote(p.telegram_charge_id),
        who=_who(user), sub=sub), kb.as_markup()


def refunded(user_id: int, stars: int, already: bool, subscription: bool, canceled: bool,
             cancel_error: str | None, change: Change | None, catalogue: Catalogue,
             zone: str) -> Screen:
    """What the refund did."""
    lines = [_("✅ Refunded {stars} ⭐.").format(stars=stars) if not already else
             _("Telegram says this payment was refunded already; it is now recorded as "
               "refunded here too.")]
    if subscription:
        lines.append(_("Subscription renewal cancelled.") if canceled else
                     _("The subscription's renewal could not be cancelled: {error}").format(
                         error=html.quote(cancel_error or "")))
    if change is not None:
        after = change.after
        lines.append(_("Now: {plan} ({state}), paid until {end}.").format(
            plan=_plan_name(catalogue, after.plan or "free"), state=html.quote(after.state),
            end=_stamp(after.paid_until, zone)))
    kb = InlineKeyboardBuilder()
    back_to(user_id, kb)
    return "\n".join(lines), kb.as_markup()


def refund_refused(user_id: int, error: str) -> Screen:
    """Telegram refused; its words, plainly."""
    kb = InlineKeyboardBuilder()
    back_to(user_id, kb)
    return _("❌ Telegram refused the refund: <code>{error}</code>. Nothing was changed "
             "here.").format(error=html.quote(error)), kb.as_markup()


def refund_impossible(user_id: int, reason: str) -> Screen:
    """Not a refundable payment (any more)."""
    kb = InlineKeyboardBuilder()
    back_to(user_id, kb)
    text = {
        "refunded": _("This payment was refunded already."),
        "not_stars": _("A grant was not paid in Stars: there is nothing to refund."),
    }.get(reason, _("This payment no longer exists."))
    return text, kb.as_markup()


# Tickets ------------------------------------------------------------------------------------


def tickets(user: User, found: Sequence[SupportTicket], zone: str) -> Screen:
    """The user's tickets, newest first, each with the usual Reply."""
    lines = [_("🆘 Tickets of {who}:").format(who=_who(user))]
    kb = InlineKeyboardBuilder()
    if not found:
        lines.append(_("none"))
    for t in found[:5]:
        status = {"open": _("open"), "answered": _("answered")}.get(t.status,
                                                                    html.quote(t.status))
        lines += ["", _("<b>#{id}</b> · {when} · {status}").format(
            id=t.id, when=_stamp(t.created_at, zone), status=status)]
        for m in t.messages[-3:]:
            who = _("operator") if m.from_operator else _("user")
            lines.append(f"{_stamp(m.created_at, zone)} {who}: {_cut(m.text, 300)}")
        kb.button(text=_("↩️ Reply to #{id}").format(id=t.id),
                  callback_data=TicketCb(ticket_id=t.id, user_id=t.user_id))
    back_to(user.id, kb)
    kb.adjust(1)
    return _fit(lines), kb.as_markup()


# Broadcasts ---------------------------------------------------------------------------------


def _kind_name(kind: str) -> str:
    return _("news") if kind == "news" else _("service notice")


def _counts(status: BroadcastStatus) -> str:
    d = status.delivery
    return _("✅ delivered {d} · 🚫 blocked {b} · ⚠️ failed {f} · ⏳ pending {p}").format(
        d=d.delivered, b=d.blocked, f=d.failed, p=d.pending)


def broadcasts(found: Sequence[BroadcastStatus], zone: str) -> Screen:
    """The latest broadcasts with their counts, and the two kinds to start a new one."""
    lines = [_("📣 <b>Broadcasts</b>"), ""]
    kb = InlineKeyboardBuilder()
    if not found:
        lines.append(_("None sent yet."))
    for s in found:
        lines.append(_("• {when} {kind} «{text}» to {n}: {counts}").format(
            when=_stamp(s.queued_at, zone), kind=_kind_name(s.kind), text=_cut(s.text, 40),
            n=s.recipients, counts=_counts(s)))
        kb.button(text=_("📊 {when}").format(when=_stamp(s.queued_at, zone)),
                  callback_data=AdminCb(a="bs", v=s.key))
    kb.button(text=_("✍️ News"), callback_data=AdminCb(a="bnew", v="news"))
    kb.button(text=_("✍️ Service notice"), callback_data=AdminCb(a="bnew", v="service"))
    home_button(kb)
    kb.adjust(*([1] * len(found)), 2, 1)
    return _fit(lines), kb.as_markup()


def broadcast_prompt(kind: str) -> str:
    """Ask for the text."""
    if kind == "news":
        return _("Type the news (plain text, up to 3500 characters). It goes only to users who "
                 "agreed to receive news, with an Unsubscribe button. You see a preview first. "
                 "/cancel stops.")
    return _("Type the service notice (plain text, up to 3500 characters). It goes to every "
             "user, labelled as a service notice. You see a preview first. /cancel stops.")


def news(text: str) -> Screen:
    """A news message exactly as its recipients see it (preview: the button does nothing)."""
    body, _markup = privacy_view.news(text, 0)
    kb = InlineKeyboardBuilder()
    kb.button(text=_("🔕 Unsubscribe"), callback_data=AdminCb(a="pv"))
    return body, kb.as_markup()


def service_notice(text: str) -> Screen:
    """A service notice as users get it: labelled, no unsubscribe (it is not marketing)."""
    return _("🛠 <b>Service notice</b>") + f"\n\n{html.quote(text)}", None


def preview(draft: Draft) -> Screen:
    """Exactly what users will see."""
    return news(draft.text) if draft.kind == "news" else service_notice(draft.text)


def preview_controls(draft: Draft) -> Screen:
    """Under the preview: send it, turn it into the other kind, or cancel."""
    kb = InlineKeyboardBuilder()
    if draft.audience:
        kb.button(text=_("📤 Send to users: {n}").format(n=draft.audience),
                  callback_data=AdminCb(a="bsend", v=draft.key))
    other = _("🔁 Make it a service notice") if draft.kind == "news" else _("🔁 Make it news")
    kb.button(text=other, callback_data=AdminCb(a="bkind", v=draft.key))
    kb.button(text=_("✖ Cancel"), callback_data=AdminCb(a="bcancel", v=draft.key))
    kb.adjust(1)
    if draft.kind == "news":
        who = _("Recipients who agreed to receive news (and did not pause their account): "
                "{n}; each message carries an Unsubscribe button.").format(n=draft.audience)
    else:
        who = _("A service notice goes to every user ({n}), labelled as such, without "
                "Unsubscribe. Use it only for what users must know about the "
                "service.").format(n=draft.audience)
    return _("👆 Preview of the {kind}. {who} Users who blocked the bot are counted as blocked "
             "and not retried.").format(kind=_kind_name(draft.kind), who=who), kb.as_markup()


def broadcast_bad(length: int, limit: int) -> str:
    """Empty or too long text."""
    return _("The text must have 1 to {limit} characters (it has {length}).").format(
        limit=limit, length=length)


def broadcast_queued(key: str, recipients: int) -> Screen:
    """Sent to the outbox."""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("📊 Broadcast status"), callback_data=AdminCb(a="bs", v=key))
    return _("📣 Queued, recipients: {n}. It goes out paced under Telegram's limits; you get "
             "the delivery count when the last one settles.").format(n=recipients), \
        kb.as_markup()


def broadcast_gone() -> str:
    """A preview whose draft was sent or cancelled already."""
    return _("This preview was already sent or cancelled.")


def switched(kind: str) -> str:
    """The controls of a preview whose kind changed: the new preview follows."""
    return _("🔁 Now a {kind}: the new preview is below.").format(kind=_kind_name(kind))


def broadcast_cancelled() -> str:
    """The draft is dropped."""
    return _("✖ Cancelled: nothing was sent.")


def preview_button() -> str:
    """The preview's Unsubscribe."""
    return _("This is a preview: in the users' copy this button unsubscribes them from news.")


def broadcast_status(s: BroadcastStatus, zone: str) -> Screen:
    """One broadcast's delivery so far."""
    lines = [
        _("📣 <b>Broadcast status</b> — {kind}, queued {when}, recipients: {n}").format(
            kind=_kind_name(s.kind), when=_stamp(s.queued_at, zone), n=s.recipients),
        _counts(s),
        _("Finished.") if s.settled else _("Still delivering."),
        "",
        f"<i>{_cut(s.text, 300)}</i>",
    ]
    kb = InlineKeyboardBuilder()
    kb.button(text=_("🔄 Refresh"), callback_data=AdminCb(a="bs", v=s.key))
    kb.button(text=_("« Broadcasts"), callback_data=AdminCb(a="bc"))
    return "\n".join(lines), kb.as_markup()


def broadcast_report(s: BroadcastStatus) -> Screen:
    """To the operator once the last message settled."""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("📊 Broadcast status"), callback_data=AdminCb(a="bs", v=s.key))
    return _("📣 Your {kind} «{text}» has been delivered as far as it can be: {counts}").format(
        kind=_kind_name(s.kind), text=_cut(s.text, 60), counts=_counts(s)), kb.as_markup()


# Reconciliation -----------------------------------------------------------------------------


def reconcile_started() -> str:
    """The press is taken."""
    return _("🔁 Reconciling with Telegram's Stars transactions… the report comes as a message.")


def reconcile_busy() -> str:
    """Another run holds the lease."""
    return _("A reconciliation is running already; its report comes when it is done.")


def reconcile_failed(error: str) -> str:
    """Telegram's list could not be read."""
    return _("❌ Reconciliation failed: <code>{error}</code>. Nothing was changed.").format(
        error=html.quote(error))


def _difference(d: dict[str, Any]) -> str:
    charge = html.quote(str(d.get("charge_id", "")))
    user = d.get("user_id")
    stars = d.get("stars")
    note = html.quote(str(d.get("note") or ""))
    what = {
        "recorded": _("a payment we never recorded — now recorded, the user got their time"),
        "unrecorded": _("a payment we never recorded — NOT recorded: {note}").format(note=note),
        "refund_marked": _("refunded at Telegram — now marked refunded here"),
        "refund_unknown": _("a refund at Telegram of a payment we never recorded"),
        "missing_at_telegram": _("ours, but Telegram does not list it"),
        "refund_only_here": _("refunded here, but Telegram lists no refund"),
        "amount": _("amounts differ: ours {ours} ⭐").format(ours=d.get("ours")),
    }.get(str(d.get("kind")), html.quote(str(d.get("kind"))))
    return _("• <code>{charge}</code> · user <code>{user}</code> · {stars} ⭐: {what}").format(
        charge=charge, user=user, stars=stars, what=what)


def reconcile_report(params: dict[str, Any]) -> Screen:
    """What a reconciliation found (rendered from the outbox params)."""
    total = int(params.get("total", 0))
    lines = [
        _("🔁 <b>Reconciliation</b> with Telegram: {tx} transactions, {ours} payments of "
          "ours.").format(tx=params.get("transactions", 0), ours=params.get("payments", 0)),
    ]
    if total == 0:
        lines.append(_("0 differences: everything matches."))
    else:
        lines.append(_("Differences: {n}").format(n=total))
        lines += [_difference(d) for d in params.get("differences", [])]
        if total > len(params.get("differences", [])):
            lines.append(_("…and {n} more.").format(n=total - len(params["differences"])))
    kb = InlineKeyboardBuilder()
    home_button(kb)
    return _fit(lines), kb.as_markup()


def zone_of(user: User | None) -> str:
    """The operator's time zone for times in the console (UTC if they never signed up)."""
    if user is None:
        return "UTC"
    try:
        ZoneInfo(user.time_zone)
    except (KeyError, ValueError):
        return "UTC"
    return user.time_zone
