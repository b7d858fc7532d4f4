"""Billing screens and messages: the overview (plan, renewal, usage), plans and prices, payment
history with receipts, invoices, pre-checkout refusals, and the billing alerts (receipt, reminder,
grace, downgrade, upgrade) that bot/views/alerts.py renders from the outbox."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from aiogram import html
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _
from babel.numbers import format_decimal

from bot.callbacks import BillingCb, MenuCb
from bot.keyboards import InlineKeyboardBuilder
from bot.views import Screen
from bot.views.common import add_pager, zone_label
from bot.views.common import local_when as when
from core.billing import checkout, subscription
from core.billing.ledger import Standing
from core.billing.limits import Usage
from core.billing.overview import History, Overview, Receipt
from core.billing.plans import GRACE_DAYS, SUBSCRIPTION_DAYS, Catalogue, Limits, Plan

# Telegram's limits for invoices (telegram-bot-platform.md §1/§4).
TITLE_MAX = 32
DESCRIPTION_MAX = 255
# A downgrade lists at most this many paused items (the rest counted), so it fits one message.
LIST_MAX = 40
NAME_MAX = 60


def stars(n: int) -> str:
    """`⭐1,500` with the reader's digit grouping."""
    return "⭐" + format_decimal(n, locale=get_i18n().current_locale)


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _name(plan: Plan | None, code: str) -> str:
    """A plan's name (escaped); a plan removed from the catalogue by its code."""
    return html.quote(plan.name if plan is not None else code or "?")


def _limit(value: int | None) -> str:
    return _("unlimited") if value is None else format_decimal(
        value, locale=get_i18n().current_locale)


def limit_lines(limits: Limits) -> list[str]:
    """What a plan allows, one line per limit."""
    return [
        _("Ad accounts tracked: {n}").format(n=_limit(limits.ad_accounts)),
        _("Rules switched on: {n}, checked every {minutes} min at most").format(
            n=_limit(limits.rules_on), minutes=limits.rule_every_minutes),
        _("Bulk launches a month: {n}, up to {ads} ads each").format(
            n=_limit(limits.launches_per_month), ads=_limit(limits.ads_per_launch)),
        _("Trackers: {n}").format(n=_limit(limits.trackers)),
        # Not "Team seats": there are no teams yet (issue 14: "team seats later"), and a plan
        # must not be sold on a line it cannot deliver.
    ]


def usage_lines(usage: Usage, limits: Limits) -> list[str]:
    """Usage against the plan's limits, one line per counted limit."""
    def of(used: int, cap: int | None) -> str:
        mark = " ⚠️" if cap is not None and used >= cap else ""
        return _("{used} of {cap}").format(used=used, cap=_limit(cap)) + mark

    return [
        _("Ad accounts tracked: {value}").format(value=of(usage.ad_accounts, limits.ad_accounts)),
        _("Rules switched on: {value}").format(value=of(usage.rules_on, limits.rules_on)),
        _("Bulk launches this month: {value}").format(
            value=of(usage.launches_this_month, limits.launches_per_month)),
        _("Trackers: {value}").format(value=of(usage.trackers, limits.trackers)),
        _("Rules run at most every {minutes} min; up to {ads} ads per launch.").format(
            minutes=limits.rule_every_minutes, ads=_limit(limits.ads_per_launch)),
    ]


def _back_to_billing(kb: InlineKeyboardBuilder) -> None:
    kb.button(text=_("« Billing"), callback_data=BillingCb(action="home"))


# Overview ---------------------------------------------------------------------------------


def standing_lines(standing: Standing, plan: Plan, sub: subscription.Subscription | None,
                   catalogue: Catalogue, zone: str, now: datetime) -> list[str]:
    """The plan, its state and its end or renewal, in the reader's zone."""
    name = html.quote(plan.name)
    if standing.state == "grace":
        return [
            _("Plan: <b>{plan}</b> — grace period").format(plan=name),
            _("Your paid time ended on {ended}. {plan}'s limits stay until {until}; then you "
              "are on Free, and what is over Free's limits is paused (never deleted) until you "
              "pay again.").format(ended=when(standing.paid_until, zone), plan=name,
                                   until=when(standing.grace_until, zone)),
        ]
    if standing.state != "active":
        lines = [_("Plan: <b>{plan}</b>").format(plan=html.quote(catalogue.free.name))]
        if standing.paid_until is not None:
            lines.append(_("Your paid time ended on {ended}.").format(
                ended=when(standing.paid_until, zone)))
        return lines
    lines = [_("Plan: <b>{plan}</b> — active").format(plan=name),
             _("Paid until: {date}").format(date=when(standing.paid_until, zone))]
    if len(standing.ahead) > 1:
        lines.append(paid_periods(standing, catalogue, zone))
    if sub is not None and sub.running(now):
        sub_name = _name(catalogue.get(sub.plan), sub.plan)
        if sub.renews:
            lines.append(_("Subscription: {plan}, {price} every 30 days — renews on {date}. "
                           "Telegram charges it automatically.").format(
                plan=sub_name, price=stars(sub.stars), date=when(sub.period_end, zone)))
        else:
            lines.append(_("Subscription: {plan} — renewal is off; its period ends on "
                           "{date}.").format(plan=sub_name, date=when(sub.period_end, zone)))
    else:
        lines.append(_("It does not renew: buy more time in Plans before it ends."))
    return lines


def paid_periods(standing: Standing, catalogue: Catalogue, zone: str) -> str:
    """"Agency is active until 2 Jan. Then Pro until 1 Feb.": each plan's own end, since after
    an upgrade the rest of the old plan follows the new one (core.billing.ledger.periods)."""
    first, *then = standing.ahead
    parts = [_("{plan} is active until {date}.").format(
        plan=_name(catalogue.get(first.plan), first.plan), date=when(first.ends, zone))]
    parts += [_("Then {plan} until {date}.").format(
        plan=_name(catalogue.get(p.plan), p.plan), date=when(p.ends, zone)) for p in then]
    return " ".join(parts)


def overview(ov: Overview, catalogue: Catalogue, zone: str) -> Screen:
    """The Billing screen: plan and state, renewal or end, usage, and what to do next."""
    lines = [_("<b>⭐ Billing</b>"), ""]
    lines += standing_lines(ov.standing, ov.plan, ov.subscription, catalogue, zone, ov.now)
    lines += ["", _("<b>Usage on {plan}</b>").format(plan=html.quote(ov.plan.name))]
    lines += usage_lines(ov.usage, ov.plan.limits)
    lines += ["", _("Times in your time zone: {zone}.").format(zone=zone_label(zone, ov.now))]
    kb = InlineKeyboardBuilder()
    kb.button(text=_("📋 Plans"), callback_data=BillingCb(action="plans"))
    kb.button(text=_("🧾 History ({n})").format(n=ov.payments),
              callback_data=BillingCb(action="history"))
    sub, rows = ov.subscription, [2]
    if sub is not None and sub.running(ov.now):
        if sub.renews:
            kb.button(text=_("🚫 Cancel renewal"), callback_data=BillingCb(action="cancel"))
        else:
            kb.button(text=_("▶ Resume renewal"), callback_data=BillingCb(action="resume"))
        rows.append(1)
    kb.button(text=_("« Main menu"), callback_data=MenuCb(section="home"))
    kb.adjust(*rows, 1)
    return "\n".join(lines), kb.as_markup()


# Plans ------------------------------------------------------------------------------------


def plans(catalogue: Catalogue, standing: Standing, sub: subscription.Subscription | None,
          now: datetime) -> Screen:
    """Every plan: what it allows and what it costs (monthly subscription, one-off periods),
    with a Buy button per offer."""
    current = standing.plan if standing.state != "free" else catalogue.free.code
    renewing = sub.plan if sub is not None and sub.renews and sub.running(now) else None
    lines = [_("<b>📋 Plans</b>")]
    kb = InlineKeyboardBuilder()
    for plan in catalogue.plans:
        head = f"<b>{html.quote(plan.name)}</b>"
        if plan.code == current:
            head += " — " + _("your plan")
        lines += ["", head]
        lines += [f"• {line}" for line in limit_lines(plan.limits)]
        prices = []
        if plan.monthly is not None:
            prices.append(_("{price} a month (subscription, renews every 30 days)").format(
                price=stars(plan.monthly)))
        prices += [_("{days} days for {price} (once)").format(days=d, price=stars(p))
                   for d, p in plan.periods.items()]
        if prices:
            lines.append(_("Price: {prices}").format(prices="; ".join(prices)))
        elif not plan.paid:
            lines.append(_("Free of charge."))
        if plan.monthly is not None and plan.code != renewing:
            kb.button(text=_("{plan} · monthly · {price}").format(
                plan=plan.name, price=stars(plan.monthly)),
                callback_data=BillingCb(action="buy", plan=plan.code, days=SUBSCRIPTION_DAYS, r=1))
        for days, price in plan.periods.items():
            kb.button(text=_("{plan} · {days} days · {price}").format(
                plan=plan.name, days=days, price=stars(price)),
                callback_data=BillingCb(action="buy", plan=plan.code, days=days))
    lines += ["", _("Buying your plan again adds its days. A higher plan starts at once and "
                    "the rest of your current one continues after it. A subscription renews "
                    "every 30 days until you cancel it. Terms: /terms")]
    _back_to_billing(kb)
    kb.adjust(1)
    return "\n".join(lines), kb.as_markup()


# Buying -----------------------------------------------------------------------------------


def _offer_name(plan: Plan, days: int, recurring: bool) -> str:
    if recurring:
        return _("{plan} monthly").format(plan=plan.name)
    return _("{plan} · {days} days").format(plan=plan.name, days=days)


def invoice_title(plan: Plan, days: int, recurring: bool) -> str:
    """An invoice's title within Telegram's 32 characters."""
    return _fit(_("TTPulse {offer}").format(offer=_offer_name(plan, days, recurring)), TITLE_MAX)


def invoice_description(prepared: checkout.Prepared, catalogue: Catalogue) -> str:
    """What the invoice buys and how it adds to the buyer's time, within 255 characters
    (plain text: Telegram shows invoices without formatting)."""
    plan, offer, standing = prepared.plan, prepared.offer, prepared.standing
    limits = plan.limits
    if offer.recurring:
        what = _("{plan} plan, renewed every 30 days until you cancel.").format(plan=plan.name)
    else:
        what = _("{days} days of the {plan} plan, paid once (no renewal).").format(
            days=offer.days, plan=plan.name)
    allows = _("{accounts} ad accounts, {rules} rules on, {trackers} trackers.").format(
        accounts=_limit(limits.ad_accounts), rules=_limit(limits.rules_on),
        trackers=_limit(limits.trackers))
    after = ""
    if standing.state == "active" and standing.plan is not None:
        mine = catalogue.get(standing.plan)
        mine_name = mine.name if mine is not None else standing.plan
        if standing.plan == plan.code:
            after = _("Adds to your current {plan} time.").format(plan=mine_name)
        elif catalogue.rank(plan.code) > catalogue.rank(standing.plan):
            after = _("Starts at once; your remaining {plan} time continues after it.").format(
                plan=mine_name)
        else:
            after = _("Starts when your {plan} time ends.").format(plan=mine_name)
    return _fit(" ".join(p for p in (what, allows, after) if p), DESCRIPTION_MAX)


def price_label(plan: Plan, days: int, recurring: bool) -> str:
    """The one LabeledPrice's label."""
    return _fit(_offer_name(plan, days, recurring), TITLE_MAX)


def subscribe(prepared: checkout.Prepared, url: str) -> Screen:
    """The message carrying a subscription's invoice link (createInvoiceLink)."""
    plan, offer = prepared.plan, prepared.offer
    text = "\n".join([
        _("<b>{plan} — monthly subscription</b>").format(plan=html.quote(plan.name)),
        _("{price} every 30 days, charged by Telegram until you cancel (Billing → Cancel "
          "renewal, or in Telegram's settings). Cancelling keeps the time already paid.").format(
            price=stars(offer.stars)),
        _("Tap the button to pay."),
    ])
    kb = InlineKeyboardBuilder()
    kb.button(text=_("⭐ Subscribe · {price}").format(price=stars(offer.stars)), url=url)
    return text, kb.as_markup()


def not_on_sale() -> str:
    """A Buy button for something no longer sold."""
    return _("This offer is no longer available. Here are the current plans.")


def already_subscribed(sub: subscription.Subscription, catalogue: Catalogue, zone: str) -> str:
    """A second subscription to the plan that renews already (plain text: a callback alert)."""
    plan = catalogue.get(sub.plan)
    return _("Your {plan} subscription already renews on {date}; a second one would charge "
             "you twice.").format(plan=plan.name if plan is not None else sub.plan,
                                  date=when(sub.period_end, zone))


def refusal(verdict: checkout.Verdict) -> str:
    """Why a payment was refused at pre-checkout, for the payer (plain text: Telegram shows
    it as is)."""
    plan = verdict.plan_name
    days = verdict.offer.days if verdict.offer is not None else 0
    return {
        checkout.FORGED: _("This invoice was not issued by TTPulse. Open /billing in the bot "
                           "for a valid one."),
        checkout.NOT_YOURS: _("This invoice was issued for another Telegram account. Open "
                              "/billing in your own chat with the bot."),
        checkout.UNKNOWN: _("You have no TTPulse account yet. Send /start to the bot to sign "
                            "up, then buy a plan in /billing."),
        checkout.DELETED: _("Your TTPulse account was deleted, so we take no payments for it. "
                            "Send /start to the bot to sign up again."),
        checkout.NO_PLAN: _("The {plan} plan is no longer offered. Open /billing for the "
                            "current plans.").format(plan=plan),
        checkout.NOT_SOLD: _("{plan} is no longer sold for {days} days. Open /billing for "
                             "the current offers.").format(plan=plan, days=days),
        checkout.PRICE_CHANGED: _("The price of {plan} changed — open /billing for the "
                                  "current one.").format(plan=plan),
        checkout.AMOUNT: _("The amount asked does not match this invoice. Open /billing for "
                           "a new one."),
        checkout.SUBSCRIBED: _("You already have a {plan} subscription that renews. Manage it "
                               "in /billing.").format(plan=plan),
    }.get(verdict.reason or "", _("This payment can't be accepted. Open /billing."))


# History ----------------------------------------------------------------------------------


def receipt_lines(r: Receipt, catalogue: Catalogue, zone: str) -> list[str]:
    """One payment (or grant) of the history: date, plan, days, Stars, charge id, refund."""
    name = _name(catalogue.get(r.plan), r.plan) if r.plan else _("no plan")
    if r.kind == "grant":
        what = _("{plan} · {days} days · granted by TTPulse").format(plan=name, days=r.days)
    elif r.recurring:
        kind = _("renewal") if r.renewal else _("subscription")
        what = _("{plan} · {kind} · {price}").format(plan=name, kind=kind, price=stars(r.stars))
    else:
        what = _("{plan} · {days} days · {price}").format(plan=name, days=r.days,
                                                         price=stars(r.stars))
    lines = [f"<b>{when(r.paid_at, zone)}</b> — {what}"]
    if r.kind != "grant":
        lines.append(_("Charge id: <code>{id}</code>").format(id=html.quote(r.charge_id)))
    if r.refunded_at is not None:
        lines.append(_("↩️ Refunded on {date}").format(date=when(r.refunded_at, zone)))
    return lines


def history(page: History, catalogue: Catalogue, zone: str) -> Screen:
    """The payment history, newest first, a page at a time."""
    lines = [_("<b>🧾 Payments</b>")]
    if not page.receipts:
        lines += ["", _("No payments yet.")]
    for r in page.receipts:
        lines += ["", *receipt_lines(r, catalogue, zone)]
    if page.pages > 1:
        lines += ["", _("Page {n} of {total}").format(n=page.page + 1, total=page.pages)]
    lines += ["", _("Questions about a payment: /paysupport (quote its charge id).")]
    kb = InlineKeyboardBuilder()
    arrows = add_pager(kb, page.page, page.pages,
                       lambda n: BillingCb(action="history", page=n))
    _back_to_billing(kb)
    kb.adjust(*([arrows] if arrows else []), 1)
    return "\n".join(lines), kb.as_markup()


# Cancel / resume --------------------------------------------------------------------------


def _kept(sub: subscription.Subscription, standing: Standing | None) -> datetime | None:
    """Until when the subscription's plan stays once renewal stops: its period, or the end of
    the user's paid time when more of that plan follows (a one-off period bought as well)."""
    if (standing is not None and standing.state == "active" and standing.ahead
            and standing.ahead[-1].plan == sub.plan and sub.period_end is not None
            and standing.ahead[-1].ends > sub.period_end):
        return standing.ahead[-1].ends
    return sub.period_end


def cancel_confirm(sub: subscription.Subscription, catalogue: Catalogue, zone: str,
                   standing: Standing | None = None) -> Screen:
    """Ask before stopping renewal (`standing`: the user's, for the end of all paid time)."""
    text = _("<b>Cancel renewal of {plan}?</b>\n\nYou keep {plan} until {date}; Telegram will "
             "not charge you again. After that come {grace} days of grace, then Free.").format(
        plan=_name(catalogue.get(sub.plan), sub.plan), date=when(_kept(sub, standing), zone),
        grace=GRACE_DAYS)
    kb = InlineKeyboardBuilder()
    kb.button(text=_("Yes, cancel renewal"), callback_data=BillingCb(action="cancel_ok"))
    kb.button(text=_("No, keep it"), callback_data=BillingCb(action="home"))
    kb.adjust(1)
    return text, kb.as_markup()


def resume_confirm(sub: subscription.Subscription, catalogue: Catalogue, zone: str) -> Screen:
    """Ask before allowing renewal again."""
    text = _("<b>Resume renewal of {plan}?</b>\n\nTelegram will charge {price} every 30 days "
             "again from {date}.").format(plan=_name(catalogue.get(sub.plan), sub.plan),
                                          price=stars(sub.stars), date=when(sub.period_end, zone))
    kb = InlineKeyboardBuilder()
    kb.button(text=_("Yes, resume"), callback_data=BillingCb(action="resume_ok"))
    kb.button(text=_("« Billing"), callback_data=BillingCb(action="home"))
    kb.adjust(1)
    return text, kb.as_markup()


def canceled(sub: subscription.Subscription, catalogue: Catalogue, zone: str,
             standing: Standing | None = None) -> str:
    """Renewal stopped (`standing`: the user's, for the end of all paid time)."""
    return _("✅ Renewal cancelled. {plan} stays until {date}.").format(
        plan=_name(catalogue.get(sub.plan), sub.plan), date=when(_kept(sub, standing), zone))


def resumed() -> str:
    """Telegram allows renewal again; the user switches it on in Telegram."""
    return _("✅ Renewal is allowed again. To switch it on, open Telegram's Settings → My "
             "Stars, pick the TTPulse subscription and tap Renew. Billing shows it here once "
             "Telegram confirms.")


def superseded_stopped() -> str:
    """A new subscription replaced an earlier one, whose renewal Telegram has now stopped."""
    return _("Your new subscription replaces the earlier one: that one will not renew, so you "
             "are not charged twice. The time it paid for stays yours.")


def superseded_still_renews(error: str) -> str:
    """A new subscription replaced one that Telegram refused to stop: the user must stop it."""
    return _("⚠️ Your earlier TTPulse subscription still renews: Telegram refused to stop it "
             "({error}). Stop it in Telegram's Settings → My Stars: pick the earlier TTPulse "
             "subscription and tap Cancel. If it charges you again, write to /paysupport and we "
             "refund that charge.").format(error=html.quote(error))


def renewal_problem(outcome: subscription.Renewal) -> str:
    """Why a cancel or resume was not done (nothing was changed here)."""
    if outcome.problem == subscription.REFUSED:
        return _("Telegram refused the change: {error}. Nothing was changed; try again later or "
                 "write to /paysupport.").format(error=html.quote(outcome.error or "?"))
    if outcome.problem == subscription.ALREADY:
        return _("Nothing to change: it is already so.")
    if outcome.problem == subscription.ENDED:
        return _("That subscription's period has ended; buy a plan in Plans.")
    return _("You have no subscription that renews.")


# Alerts -----------------------------------------------------------------------------------


def _renew_kb(label: str | None = None) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=label or _("🔄 Renew"), callback_data=BillingCb(action="offers"))
    kb.button(text=_("⭐ Billing"), callback_data=BillingCb(action="open"))
    kb.adjust(2)
    return kb.as_markup()


def receipt(r: Receipt, standing: Standing, catalogue: Catalogue, zone: str) -> Screen:
    """The receipt of a payment: plan, period, Stars, the new end date, the charge id."""
    charge = _("Charge id (for support): <code>{id}</code>").format(id=html.quote(r.charge_id))
    kb = InlineKeyboardBuilder()
    kb.button(text=_("⭐ Billing"), callback_data=BillingCb(action="open"))
    if not r.plan:
        text = "\n".join([
            _("🧾 <b>Payment received: {price}</b>").format(price=stars(r.stars)),
            _("We could not match this payment to a plan, so no time was added yet. Our team "
              "has been told; write to /paysupport with the charge id below and we will sort "
              "it out."),
            charge,
        ])
        return text, kb.as_markup()
    name = _name(catalogue.get(r.plan), r.plan)
    if r.kind == "grant":
        head = _("🎁 <b>TTPulse gave you {plan}</b>").format(plan=name)
        period = _("{days} days, free of charge").format(days=r.days)
    elif r.renewal:
        head = _("🔄 <b>Subscription renewed: {plan}</b>").format(plan=name)
        period = _("Monthly subscription, renewed")
    elif r.recurring:
        head = _("🧾 <b>Payment received — thank you!</b>")
        period = _("Monthly subscription (renews every {days} days)").format(
            days=SUBSCRIPTION_DAYS)
    else:
        head = _("🧾 <b>Payment received — thank you!</b>")
        period = _("{days} days, paid once").format(days=r.days)
    lines = [head, "",
             _("Plan: {plan}").format(plan=name),
             _("Period: {period}").format(period=period),
             *([] if r.kind == "grant" else [_("Paid: {price}").format(price=stars(r.stars))]),
             _("Date: {date}").format(date=when(r.paid_at, zone))]
    if standing.state == "active" and standing.ahead:
        lines.append(paid_periods(standing, catalogue, zone))
    if r.refunded_at is not None:
        lines.append(_("↩️ Refunded on {date}").format(date=when(r.refunded_at, zone)))
    if r.kind != "grant":
        lines += [charge, _("Questions about a payment: /paysupport")]
    return "\n".join(lines), kb.as_markup()


def reminder(plan: str, paid_until: datetime, catalogue: Catalogue, zone: str) -> Screen:
    """Paid time that does not renew ends soon (3 days, then 1 day before)."""
    name = _name(catalogue.get(plan), plan)
    text = "\n".join([
        _("⏰ <b>Your {plan} plan ends on {date}</b>").format(plan=name,
                                                            date=when(paid_until, zone)),
        _("It does not renew. After that, {plan}'s limits stay for {grace} days of grace, then "
          "Free applies: what is over Free's limits is paused (never deleted) until you renew.")
        .format(plan=name, grace=GRACE_DAYS),
    ])
    return text, _renew_kb()


def grace(plan: str, paid_until: datetime, grace_until: datetime, catalogue: Catalogue,
          zone: str) -> Screen:
    """Paid time ran out: grace until when, and what happens then."""
    name = _name(catalogue.get(plan), plan)
    text = "\n".join([
        _("⚠️ <b>Your paid {plan} time ended on {date}</b>").format(
            plan=name, date=when(paid_until, zone)),
        _("{plan}'s limits stay until {until} (grace period). Then you are on Free: what is "
          "over Free's limits — ad accounts, rules, trackers — is paused, newest first, never "
          "deleted, and comes back when you pay again.").format(
            plan=name, until=when(grace_until, zone)),
    ])
    return text, _renew_kb()


def _item_kind(kind: str) -> str:
    return {"ad_account": _("Ad account"), "rule": _("Rule"),
            "tracker": _("Tracker")}.get(kind, kind)


def item_lines(items: Sequence[Sequence[object]]) -> list[str]:
    """`• Rule «Night pause»` per item, at most LIST_MAX of them."""
    lines = [
        f"• {_item_kind(str(kind))} «{html.quote(_fit(str(name), NAME_MAX))}»"
        for kind, _id, name in items[:LIST_MAX]
    ]
    if len(items) > LIST_MAX:
        lines.append(_("…and {n} more").format(n=len(items) - LIST_MAX))
    return lines


def downgraded(before: str, plan: str, paused: Sequence[Sequence[object]],
               catalogue: Catalogue) -> Screen:
    """The plan went down (an end, a refund): what was paused to fit its limits."""
    name, was = _name(catalogue.get(plan), plan), _name(catalogue.get(before), before)
    lines = [_("⬇️ <b>You are on {plan} now</b> (was {before}).").format(plan=name, before=was)]
    if paused:
        lines += [_("Paused to fit {plan}'s limits — nothing was deleted, and it comes back "
                    "when you upgrade:").format(plan=name)]
        lines += item_lines(paused)
    else:
        lines.append(_("Everything you use fits {plan}'s limits; nothing was paused.").format(
            plan=name))
    return "\n".join(lines), _renew_kb(_("⭐ Upgrade"))


def upgraded(plan: str, restored: Sequence[Sequence[object]], catalogue: Catalogue) -> Screen:
    """The plan went up: what a lower plan had paused is back."""
    name = _name(catalogue.get(plan), plan)
    lines = [_("⬆️ <b>You are on {plan} now.</b> Back on:").format(plan=name)]
    lines += item_lines(restored)
    kb = InlineKeyboardBuilder()
    kb.button(text=_("⭐ Billing"), callback_data=BillingCb(action="home"))
    return "\n".join(lines), kb.as_markup()


# Help and terms ---------------------------------------------------------------------------


def paysupport() -> str:
    """/paysupport: how to get help with a payment (then the support ticket's question)."""
    return _(
        "<b>Help with a payment</b>\n\n"
        "Your receipts and their charge ids are in /billing → History. Write your question "
        "below with the charge id — our team answers here in the chat, usually within a day. "
        "Refunds go back to your Telegram Stars balance; a refunded period ends at once.\n\n"
        "Send /cancel to stop."
    )


def paid_terms(public_url: str) -> str:
    """/terms: the short terms of the paid plans, with links to the full pages."""
    return _(
        "<b>TTPulse paid plans — terms</b>\n\n"
        "1. Plans are paid in Telegram Stars only. Prices and what each plan allows are in "
        "/billing → Plans.\n"
        "2. A monthly subscription renews every 30 days until you cancel it (/billing → Cancel "
        "renewal, or in Telegram's settings). Cancelling keeps the time already paid.\n"
        "3. One-off periods do not renew; we remind you 3 days and 1 day before they end.\n"
        "4. Buying your plan again adds its days; a higher plan starts at once and the rest of "
        "your current plan continues after it.\n"
        "5. When paid time ends, your plan's limits stay for {grace} days of grace; then Free "
        "applies. What is over Free's limits is paused, never deleted, and comes back when you "
        "pay again.\n"
        "6. Payment problems and refunds: /paysupport. A refunded payment's time ends at once.\n"
        "7. Payment records are kept as the law requires, also after you delete your account "
        "(without your name).\n\n"
        "Full terms: {url}/terms\nPrivacy policy: {url}/privacy"
    ).format(grace=GRACE_DAYS, url=html.quote(public_url))
