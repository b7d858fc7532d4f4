"""Rule alerts: what a rule did or asks, why (the values, window, time zone, data as of), and
the buttons to approve, reject, change the amount or undo."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ActionCb, ManageCb, RulesCb
from bot.keyboards import InlineKeyboardBuilder
from bot.views import Screen
from bot.views.common import change_error, zone_label
from bot.views.rules import (
    STATE_MARK,
    action_name,
    level_name,
    metric_value,
    reading_text,
    state_name,
    triggered_by,
)
from bot.views.stats import LEVEL_CODE
from core.rules.settings import from_json
from storage.models import AdAccount, RuleAction
from storage.uow import UnitOfWork

STALE_SHOWN, STALE_NAME = 20, 60  # accounts named in a skipped run's alert, characters of each


def when_local(value: str | None, zone: str) -> str:
    """`29.11 15:00` in `zone` for a stored ISO time (`—` when there is none)."""
    if not value:
        return "—"
    return datetime.fromisoformat(value).astimezone(ZoneInfo(zone)).strftime("%d.%m %H:%M")


def _money_change(field: str, before: Any, after: Any, currency: str) -> str:
    name = _("budget") if field == "budget" else _("bid")
    old = metric_value("budget", Decimal(before), currency) if before is not None else "—"
    new = metric_value("budget", Decimal(after), currency) if after is not None else "—"
    return f"{name}: {old} → {new}"


def outcome(row: RuleAction, currency: str, zone: str, error_chars: int = 300) -> str:
    """What happened to the object, in one line (a refusal cut to `error_chars`)."""
    kind, state = row.kind, row.state
    expected = (row.trigger or {}).get("expected")
    if state == "proposed":
        line = _("asks to {action}").format(action=action_name(kind))
        if expected:
            line += " — " + _money_change(
                expected["field"], expected["from"], expected["to"], currency
            )
        return line
    if state == "failed":
        return _("could not {action}: {error}").format(
            action=action_name(kind), error=html.quote(change_error(row.error)[:error_chars])
        )
    if state == "alerted":
        return _("matched (alert only, nothing changed)")
    if state in ("applied", "undone", "undoing") and kind in ("budget", "bid"):
        line = _money_change(kind, row.before.get(kind), row.after.get(kind), currency)
        return line if state == "applied" else line + " — " + state_name(state)
    if state == "applied" and kind == "pause_today" and row.reenable_at is not None:
        back = row.reenable_at.astimezone(ZoneInfo(zone)).strftime("%d.%m %H:%M")
        return _("paused for today; back on at {when} (account time)").format(when=back)
    if state == "applied" and kind == "pause" and (row.params or {}).get("kept_off"):
        return _("kept paused: no longer switched back on at midnight")
    if state == "applied":
        return {"pause": _("paused"), "enable": _("switched on")}.get(kind, action_name(kind))
    return f"{action_name(kind)} — {state_name(state)}"


def action_buttons(
    kb: InlineKeyboardBuilder, row: RuleAction, short: bool = False, now: datetime | None = None
) -> int:
    """The buttons an action offers now; returns how many were added."""
    name = row.object_name[:20]
    added = 0
    open_ = row.expires_at is None or now is None or row.expires_at > now
    if row.state == "proposed" and open_:
        kb.button(
            text=("✅ " + name) if short else _("✅ Approve"),
            callback_data=ActionCb(a="ok", id=row.id, v="r" if short else ""),
        )
        kb.button(
            text=("✖ " + name) if short else _("✖ Reject"),
            callback_data=ActionCb(a="no", id=row.id, v="r" if short else ""),
        )
        added += 2
        if row.kind in ("budget", "bid") and not short:
            kb.button(text=_("✏️ Other amount"), callback_data=ActionCb(a="ed", id=row.id))
            added += 1
    undo_open = row.undo_until is not None and (now is None or row.undo_until > now)
    if row.state == "applied" and undo_open and row.kind != "notify":
        kb.button(
            text=("↩️ " + name) if short else _("↩️ Undo (24 h)"),
            callback_data=ActionCb(a="un", id=row.id, v="r" if short else ""),
        )
        added += 1
    return added


def readings(row: RuleAction, currency: str) -> list[str]:
    """The values that made the rule fire on this object, one text each."""
    return [
        reading_text(
            r["metric"],
            r["span"],
            r.get("incl", False),
            Decimal(r["value"]) if r.get("value") is not None else None,
            currency,
            r.get("word"),
        )
        for r in (row.trigger or {}).get("readings", [])
    ]


async def context(u: UnitOfWork, row: RuleAction) -> tuple[AdAccount | None, str]:
    """The action's ad account and the name of the rule (or manual change) behind it."""
    account = await u.connections.account(row.user_id, row.ad_account_id)
    if row.rule_id is None:
        return account, _("Your change")  # made from Manage, not by a rule
    rule = await u.rules.get(row.user_id, row.rule_id)
    return account, rule.name if rule else _("(deleted rule)")


def action_message(
    row: RuleAction, account: AdAccount | None, rule_name: str, now: datetime
) -> Screen:
    """One action's alert, as it stands now."""
    currency = account.currency if account else "USD"
    zone = account.time_zone if account else "UTC"
    trig = row.trigger or {}
    icon = "🔔" if row.state == "alerted" else STATE_MARK.get(row.state, "🤖")
    where = html.quote(account.name) if account else ""
    lines = [
        f"{icon} <b>{html.quote(rule_name)}</b> · {where}",
        f"{level_name(row.level).capitalize()} «{html.quote(row.object_name)}» — "
        f"{outcome(row, currency, zone)}",
    ]
    if trig.get("trigger_count"):
        lines.append(triggered_by(trig.get("triggers", []), trig["trigger_count"]))
    lines += ["", _("Why:")]
    lines += ["• " + reading for reading in readings(row, currency)]
    if trig.get("rule"):
        lines.append(_("Rule: {text}").format(text=f"<code>{html.quote(trig['rule'])}</code>"))
    lines.append(
        _("Days and hours of {zone}; data as of {when}").format(
            zone=zone_label(zone, now), when=when_local(trig.get("as_of"), zone)
        )
    )
    if row.state == "proposed" and row.expires_at is not None:
        lines.append(
            _("Expires at {when} (account time)").format(
                when=row.expires_at.astimezone(ZoneInfo(zone)).strftime("%d.%m %H:%M")
            )
        )
    kb = InlineKeyboardBuilder()
    kb.adjust(action_buttons(kb, row, now=now) or 1)
    return "\n".join(lines), kb.as_markup()


async def render(
    u: UnitOfWork, kind: str, user_id: int, params: dict[str, Any], now: datetime
) -> Screen | None:
    """A rule alert from its outbox entry, or None when its subject is gone."""
    if kind in ("rule_action", "rule_reenabled"):
        row = await u.rules.action(user_id, int(params["action_id"]))
        if row is None:
            return None
        account, rule_name = await context(u, row)
        if kind == "rule_action":
            return action_message(row, account, rule_name, now)
        # Switching it back on is this rule's own undo; to keep it off, the object's card is
        # one tap away (pause there, confirmed like any manual change).
        kb = InlineKeyboardBuilder()
        kb.button(
            text=_("⚙️ Keep it off…"),
            callback_data=ManageCb(
                a="card", id=row.ad_account_id, l=LEVEL_CODE[row.level], o=row.object_id
            ),
        )
        return _(
            "▶️ «{name}» is back on: the rule «{rule}» paused it for today, and the day "
            "has ended in the account's time zone."
        ).format(name=html.quote(row.object_name), rule=html.quote(rule_name)), kb.as_markup()
    if kind == "rule_stale":
        rule = await u.rules.get(user_id, int(params["rule_id"]))
        accounts = [await u.connections.account(user_id, int(a)) for a in params["accounts"]]
        found = [a for a in accounts if a is not None]
        if rule is None or not found:
            return None
        kb = InlineKeyboardBuilder()
        kb.button(text=_("Open the rule"), callback_data=RulesCb(a="view", id=rule.id))
        lines = [
            _(
                "⏸ The rule «{rule}» skipped a run: the data is older than the rule allows "
                "({n} min). Nothing was changed; it runs again once the sync catches up."
            ).format(rule=html.quote(rule.name), n=from_json(rule.settings).freshness_minutes)
        ]
        tracker = params.get("tracker") or {}
        # A connection's accounts go stale together (an agency's may be a hundred): the first
        # few, names cut, keep the alert inside Telegram's 4096 characters.
        for account in found[:STALE_SHOWN]:
            name = html.quote(account.name[:STALE_NAME])
            if str(account.id) in tracker:
                # A rule reading tracker metrics: the tracker's last good pull is what is old.
                pulled = tracker[str(account.id)]
                lines.append(
                    _("• {account}: tracker data as of {when} (account time)").format(
                        account=name, when=when_local(pulled, account.time_zone)
                    )
                    if pulled
                    else _("• {account}: the tracker has not pulled any data yet").format(
                        account=name
                    )
                )
                continue
            as_of = account.fresh_as_of.isoformat() if account.fresh_as_of else None
            lines.append(
                _("• {account}: data as of {when} (account time)").format(
                    account=name, when=when_local(as_of, account.time_zone)
                )
            )
        if len(found) > STALE_SHOWN:
            lines.append(_("…and {n} more").format(n=len(found) - STALE_SHOWN))
        return "\n".join(lines), kb.as_markup()
    return None
