"""The digest: one tick's rule alerts to a chat in one message, grouped by rule and ad account,
in pages, with "Approve all" / "Reject all" and each object's own Approve / Reject / Undo.

Limits (telegram-bot-platform.md §1): a page lists at most `PAGE` objects, with at most two
buttons each, plus one row of page arrows, one of "all" buttons and one link: at most 26
buttons, far under Telegram's 100. Pages are cut by an upper estimate of their text that does
not depend on the actions' states, so approving does not move objects between pages, and a page
stays under `TEXT_BUDGET` characters (plus the count lines), under the 4096 a message may hold
(counted after entity parsing, §1).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from aiogram import html
from aiogram.types import InlineKeyboardButton
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ActionCb, DigestCb, RulesCb
from bot.keyboards import InlineKeyboardBuilder
from bot.views import Screen
from bot.views.common import cut, skipped_line, zone_label
from bot.views.rule_alerts import action_message, context, outcome, readings, when_local
from bot.views.rules import STATE_MARK, triggered_by
from core.rules import digests
from core.rules.approvals import Outcome
from storage.models import AdAccount, RuleAction
from storage.uow import UnitOfWork

PAGE = 10
TEXT_BUDGET = 3600
NAME = 60  # characters of an object's name shown
RULE_TEXT = 160  # characters of a rule's text shown in its group's header
ERROR = 100  # characters of a refusal shown (the object's own alert and the run show it all)
OUTCOME_MAX = 200  # the longest outcome line (a refusal cut to ERROR, and the words)


def handle(outbox_id: int, page: int) -> str:
    """What an object's own button carries to redraw this digest's page (ActionCb.v)."""
    return f"d{outbox_id}.{page}"


def parse_handle(value: str) -> tuple[int, int] | None:
    """(digest id, page) from `handle`, or None."""
    head, _sep, page = value[1:].partition(".")
    if not value.startswith("d") or not head.isdigit() or not page.isdigit():
        return None
    return int(head), int(page)


def _order(row: RuleAction) -> tuple[int, int, int]:
    return row.rule_id or 0, row.ad_account_id, row.id


def _triggers(row: RuleAction) -> str | None:
    """For a change aimed at a parent (`budget of campaign`): which children matched."""
    trig = row.trigger or {}
    if not trig.get("trigger_count"):
        return None
    return triggered_by(trig.get("triggers", [])[:3], trig["trigger_count"])


def _size(row: RuleAction, currency: str) -> int:
    """An upper estimate of an object's lines, whatever its state (Telegram counts the text
    after entity parsing: tags and escapes do not count)."""
    said = readings(row, currency)
    extra = len(_triggers(row) or "")
    return len(cut(row.object_name, NAME)) + OUTCOME_MAX + sum(map(len, said)) + extra + 16


def pages_of(
    rows: list[RuleAction],
    rule_names: dict[int, str],
    accounts: dict[int, AdAccount | None],
    reserve: int = 0,
) -> list[list[RuleAction]]:
    """The digest's objects, grouped by rule and account, cut into pages (`reserve`: text every
    page carries besides them, such as the skipped line)."""

    def rule_head(row: RuleAction) -> int:
        text = (row.trigger or {}).get("rule") or ""
        return len(rule_names.get(row.rule_id or 0, "")) + min(len(text), RULE_TEXT) + 40

    def account_head(row: RuleAction) -> int:
        account = accounts.get(row.ad_account_id)
        return (len(account.name) if account else 1) + 90  # the zone and the data's time

    pages: list[list[RuleAction]] = [[]]
    used = 0
    for row in sorted(rows, key=_order):
        page = pages[-1]
        account = accounts.get(row.ad_account_id)
        size = _size(row, account.currency if account else "USD")
        if not page or page[-1].rule_id != row.rule_id:
            size += rule_head(row) + account_head(row)
        elif page[-1].ad_account_id != row.ad_account_id:
            size += account_head(row)
        if page and (len(page) >= PAGE or used + size > TEXT_BUDGET - reserve):
            pages.append([])
            size = _size(row, account.currency if account else "USD")
            size += rule_head(row) + account_head(row)  # a new page repeats both headers
            used = 0
        pages[-1].append(row)
        used += size
    return pages


def count_line(rows: list[RuleAction]) -> str:
    """What the digest's objects are now: changed, waiting, failed, alerted, closed."""
    states = Counter(r.state for r in rows)
    parts = [
        (states["applied"], _("changed {n}")),
        (states["proposed"], _("waiting for approval {n}")),
        (states["failed"], _("failed {n}")),
        (states["alerted"], _("alerts {n}")),
        (states["rejected"] + states["expired"], _("rejected or expired {n}")),
        (states["undone"], _("undone {n}")),
    ]
    return " · ".join(text.format(n=n) for n, text in parts if n)


def _open(row: RuleAction, now: datetime) -> bool:
    return row.state == "proposed" and (row.expires_at is None or row.expires_at > now)


def _buttons(kb: InlineKeyboardBuilder, row: RuleAction, where: str, now: datetime) -> None:
    """One row of buttons for an object: approve and reject, or undo, or none."""
    name = cut(row.object_name, 20)
    if _open(row, now):
        kb.row(
            InlineKeyboardButton(
                text="✅ " + name, callback_data=ActionCb(a="ok", id=row.id, v=where).pack()
            ),
            InlineKeyboardButton(
                text=_("✖ Reject"), callback_data=ActionCb(a="no", id=row.id, v=where).pack()
            ),
        )
    elif (
        row.state == "applied"
        and row.kind != "notify"
        and row.undo_until is not None
        and row.undo_until > now
    ):
        kb.row(
            InlineKeyboardButton(
                text="↩️ " + name, callback_data=ActionCb(a="un", id=row.id, v=where).pack()
            )
        )


def layout(
    outbox_id: int,
    rows: list[RuleAction],
    rule_names: dict[int, str],
    accounts: dict[int, AdAccount | None],
    now: datetime,
    page: int = 0,
    note: str | None = None,
    skipped: dict[str, int] | None = None,
    focus: int | None = None,
) -> Screen:
    """One page of a digest of several objects (`skipped`: the runs' objects that could not
    take the change, per reason — never asked about; `focus`: an action whose page to show
    instead of `page`)."""
    skipped_said = skipped_line(skipped)
    pages = pages_of(rows, rule_names, accounts, len(skipped_said or ""))
    if focus is not None:
        page = next((i for i, p in enumerate(pages) if any(r.id == focus for r in p)), page)
    page = min(max(page, 0), len(pages) - 1)
    rules = {r.rule_id for r in rows}
    lines = [note, ""] if note else []
    lines.append(
        _("🤖 <b>Rules digest</b>: {n} objects from {k} rules").format(n=len(rows), k=len(rules))
        if len(rules) > 1
        else _("🤖 <b>{rule}</b>: {n} objects").format(
            rule=html.quote(rule_names.get(rows[0].rule_id or 0, "")), n=len(rows)
        )
    )
    lines.append(count_line(rows))
    if skipped_said:
        lines.append(skipped_said)
    kb = InlineKeyboardBuilder()
    where = handle(outbox_id, page)
    last: RuleAction | None = None
    for row in pages[page]:
        account = accounts.get(row.ad_account_id)
        currency_, zone = (account.currency, account.time_zone) if account else ("USD", "UTC")
        trig = row.trigger or {}
        new_rule = last is None or last.rule_id != row.rule_id
        if new_rule and len(rules) > 1:
            lines += ["", f"🤖 <b>{html.quote(rule_names.get(row.rule_id or 0, ''))}</b>"]
        if new_rule and trig.get("rule"):
            rule_text = html.quote(cut(trig["rule"], RULE_TEXT))
            lines.append(_("Rule: {text}").format(text=f"<code>{rule_text}</code>"))
        if new_rule or last is None or last.ad_account_id != row.ad_account_id:
            lines.append(
                f"<b>{html.quote(account.name) if account else '?'}</b> · "
                + _("Days and hours of {zone}; data as of {when}").format(
                    zone=zone_label(zone, now), when=when_local(trig.get("as_of"), zone)
                )
            )
        lines.append(
            f"{STATE_MARK.get(row.state, '•')} {html.quote(cut(row.object_name, NAME))} — "
            f"{outcome(row, currency_, zone, ERROR)}"
        )
        triggers = _triggers(row)
        if triggers:
            lines.append("   " + triggers)
        said = readings(row, currency_)
        if said:
            lines.append("   " + "; ".join(said))
        _buttons(kb, row, where, now)
        last = row
    if len(pages) > 1:
        nav = InlineKeyboardBuilder()
        if page > 0:
            nav.button(text="◀", callback_data=DigestCb(a="pg", id=outbox_id, n=page - 1))
        nav.button(
            text=f"{page + 1}/{len(pages)}", callback_data=DigestCb(a="pg", id=outbox_id, n=page)
        )
        if page + 1 < len(pages):
            nav.button(text="▶", callback_data=DigestCb(a="pg", id=outbox_id, n=page + 1))
        nav.adjust(3)
        kb.attach(nav)
    waiting = sum(_open(r, now) for r in rows)
    if waiting > 1:
        every = InlineKeyboardBuilder()
        every.button(
            text=_("✅ Approve all ({n})").format(n=waiting),
            callback_data=DigestCb(a="all", id=outbox_id, n=page),
        )
        every.button(text=_("✖ Reject all"), callback_data=DigestCb(a="none", id=outbox_id, n=page))
        every.adjust(2)
        kb.attach(every)
    runs = {r.run_id for r in rows}
    if len(runs) == 1 and rows[0].run_id is not None:
        link = InlineKeyboardBuilder()
        link.button(text=_("📜 Open the run"), callback_data=RulesCb(a="run", id=rows[0].run_id))
        kb.attach(link)
    return "\n".join(lines), kb.as_markup()


async def render(
    u: UnitOfWork,
    user_id: int,
    outbox_id: int,
    now: datetime,
    page: int = 0,
    note: str | None = None,
    focus: int | None = None,
) -> Screen | None:
    """The message of rule alert `outbox_id` with those merged into it: one action's own alert
    when it is alone, else the digest's page (the one holding action `focus` when given); None
    when its subject is gone."""
    rows = await digests.actions_in(u, user_id, outbox_id)
    if not rows:
        return None
    if len(rows) == 1 and note is None:
        account, rule_name = await context(u, rows[0])
        return action_message(rows[0], account, rule_name, now)
    accounts: dict[int, AdAccount | None] = {}
    rule_names: dict[int, str] = {}
    for row in rows:
        if row.ad_account_id not in accounts or (row.rule_id or 0) not in rule_names:
            accounts[row.ad_account_id], rule_names[row.rule_id or 0] = await context(u, row)
    skipped: Counter[str] = Counter()
    for run_id in {r.run_id for r in rows if r.run_id is not None}:
        run = await u.rules.run(user_id, run_id)
        skipped.update((run.skipped or {}) if run else {})
    return layout(outbox_id, rows, rule_names, accounts, now, page, note, dict(skipped), focus)


def deciding_all(approve: bool) -> str:
    """The answer to an "all" press, shown at once."""
    return _("⏳ Approving each…") if approve else _("⏳ Rejecting each…")


def progress_all(approve: bool, done: int, total: int) -> str:
    """Progress of an "all" press over many approvals."""
    if approve:
        return _("⏳ Approving: {done} of {total}…").format(done=done, total=total)
    return _("⏳ Rejecting: {done} of {total}…").format(done=done, total=total)


def all_result(tally: digests.Tally) -> str:
    """What an "all" press did: each approval's outcome, counted."""
    c = tally.counts
    parts = [
        (c[Outcome.APPLIED], _("changed {n}")),
        (c[Outcome.REJECTED], _("rejected {n}")),
        (c[Outcome.FAILED], _("failed {n}")),
        (c[Outcome.DECIDED], _("already decided {n}")),
        (c[Outcome.EXPIRED], _("expired {n}")),
        (c[Outcome.GONE], _("no longer tracked {n}")),
    ]
    said = " · ".join(text.format(n=n) for n, text in parts if n)
    head = _("✅ Approve all") if tally.approve else _("✖ Reject all")
    return f"<b>{head}</b>: " + (said or _("nothing was waiting for approval"))
