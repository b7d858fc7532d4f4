"""Launch screens: choosing template, accounts and creatives, pre-flight problems, the plan to
approve, progress, the final summary, and history."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.utils.i18n import get_i18n, ngettext
from aiogram.utils.i18n import gettext as _

from bot.callbacks import LaunchCb, StatsCb
from bot.keyboards import InlineKeyboardBuilder
from bot.views import Screen
from bot.views.common import add_pager, stale
from core.launch.plan import Summary
from core.launch.preflight import Issue
from core.launch.service import Choices, Detail
from core.money import money
from storage.models import Launch, LaunchItem

SHOWN = 12  # problems or failed items listed by name; the rest are counted
PICKS_PER_PAGE = 40  # templates, ad accounts or creatives per page of a launch's steps
STATE_MARK = {"pending": "⏳", "creating": "⏳", "created": "✅", "failed": "⚠️"}


def _loc() -> str:
    return get_i18n().current_locale


def _local(when: datetime, zone: str) -> str:
    return when.astimezone(ZoneInfo(zone)).strftime("%d.%m %H:%M")


def _page_of(items: list[Any], page: int) -> tuple[list[Any], int, int]:
    """One page of a step's choices: (its items, the page clamped into range, pages)."""
    pages = max(1, -(-len(items) // PICKS_PER_PAGE))
    page = min(max(page, 0), pages - 1)
    return items[page * PICKS_PER_PAGE : (page + 1) * PICKS_PER_PAGE], page, pages


def choose_template(c: Choices, page: int = 0) -> Screen:
    """Step 1: which template (in pages: 100 templates would not fit in the 100 buttons
    Telegram takes, telegram-bot-platform.md)."""
    kb = InlineKeyboardBuilder()
    if not c.templates:
        kb.button(text=_("« Back"), callback_data=LaunchCb(a="hub"))
        return _("You have no templates yet. Make one in 📋 Templates first."), kb.as_markup()
    shown, page, pages = _page_of(c.templates, page)
    for t in shown:
        kb.button(text=t.name[:60], callback_data=LaunchCb(a="tpl", id=t.id))
    sizes = [1] * len(shown)
    if nav := add_pager(kb, page, pages, lambda n: LaunchCb(a="new", n=n)):
        sizes.append(nav)
    kb.button(text=_("« Back"), callback_data=LaunchCb(a="hub"))
    sizes.append(1)
    kb.adjust(*sizes)
    return _("🚀 <b>New launch</b> · step 1 of 4\nWhich template?"), kb.as_markup()


def choose_accounts(c: Choices, template: str, picked: list[int], page: int = 0) -> Screen:
    """Step 2: which ad accounts (one campaign each), in pages: the top plan's 100 accounts
    would not fit in the 100 buttons Telegram takes (telegram-bot-platform.md)."""
    kb = InlineKeyboardBuilder()
    shown, page, pages = _page_of(c.accounts, page)
    for a in shown:
        mark = "✅" if a.id in picked else "▫️"
        kb.button(
            text=f"{mark} {a.name[:40]} · {a.currency}",
            callback_data=LaunchCb(a="acc", id=a.id, n=page),
        )
    sizes = [1] * len(shown)
    if nav := add_pager(kb, page, pages, lambda n: LaunchCb(a="acc", n=n)):  # id 0: no toggle
        sizes.append(nav)
    if picked:
        kb.button(text=_("Next ›"), callback_data=LaunchCb(a="crs"))
        sizes.append(1)
    kb.button(text=_("« Back"), callback_data=LaunchCb(a="new"))
    sizes.append(1)
    kb.adjust(*sizes)
    text = _(
        "🚀 <b>New launch</b> · step 2 of 4\nTemplate: {template}\n\n"
        "Which ad accounts? Each gets one campaign."
    ).format(template=html.quote(template))
    if not c.accounts:
        text += "\n\n" + _("No tracked ad accounts: connect TikTok in Accounts first.")
    return text, kb.as_markup()


def choose_creatives(c: Choices, picked: list[int], page: int = 0) -> Screen:
    """Step 3: which creatives (one ad each in every ad group), in pages like step 2."""
    kb = InlineKeyboardBuilder()
    shown, page, pages = _page_of(c.creatives, page)
    for cr in shown:
        mark = "✅" if cr.id in picked else "▫️"
        icon = "🎬" if cr.kind == "video" else "🖼"
        kb.button(
            text=f"{mark} {icon} {cr.name[:40]}", callback_data=LaunchCb(a="cr", id=cr.id, n=page)
        )
    sizes = [1] * len(shown)
    if nav := add_pager(kb, page, pages, lambda n: LaunchCb(a="cr", n=n)):  # id 0: no toggle
        sizes.append(nav)
    if picked:
        kb.button(text=_("Next ›"), callback_data=LaunchCb(a="opt"))
        sizes.append(1)
    kb.button(text=_("« Back"), callback_data=LaunchCb(a="crs_back"))
    sizes.append(1)
    kb.adjust(*sizes)
    text = _(
        "🚀 <b>New launch</b> · step 3 of 4\nWhich creatives? Each becomes one ad in "
        "every ad group."
    )
    if not c.creatives:
        text += "\n\n" + _("Your library is empty: send videos or images in 🎞 Creatives first.")
    return text, kb.as_markup()


def options(enabled: bool, run_at: datetime | None, zone: str, counts: tuple[int, int]) -> Screen:
    """Step 4: active or paused, now or at a time; then the check."""
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("▶️ Created active") if enabled else _("⏸ Created paused"),
        callback_data=LaunchCb(a="onoff"),
    )
    when = _("now, once approved") if run_at is None else _local(run_at, zone)
    kb.button(text=_("⏰ Start: {when}").format(when=when), callback_data=LaunchCb(a="when"))
    if run_at is not None:
        kb.button(text=_("Start now instead"), callback_data=LaunchCb(a="now"))
    kb.button(text=_("🛫 Check and plan"), callback_data=LaunchCb(a="check"))
    kb.button(text=_("« Back"), callback_data=LaunchCb(a="opt_back"))
    kb.adjust(1)
    size = " × ".join((
        ngettext("{n} ad account", "{n} ad accounts", counts[0]).format(n=counts[0]),
        ngettext("{n} creative", "{n} creatives", counts[1]).format(n=counts[1]),
    ))
    return _(
        "🚀 <b>New launch</b> · step 4 of 4\n{size}.\nTimes are in your time zone."
    ).format(size=size), kb.as_markup()


def ask_when() -> str:
    """Prompt for a scheduled start."""
    return _(
        "When should it start? Send a time in your time zone, e.g. <code>18:30</code> "
        "or <code>5.12 09:00</code> (within 30 days). /cancel to go back."
    )


def bad_when() -> str:
    """A typed start that is not a future time."""
    return _("I need a future time within 30 days, e.g. 18:30 or 5.12 09:00.")


def checking() -> str:
    """Shown while pre-flight reads the accounts."""
    return _("🛫 Checking the template, the ad accounts and the creatives…")


def issue_text(issue: Issue, accounts: dict[int, str]) -> str:
    """One pre-flight problem and how to fix it."""
    p = issue.params
    where = html.quote(accounts.get(issue.account_id or 0, "")) if issue.account_id else ""
    name = html.quote(str(p.get("name", "")))
    texts = {
        "budget_below_minimum": _(
            "{path} is under TikTok's minimum of {minimum} in this "
            "account's currency. Raise it in the template."
        ),
        "too_many_decimals": _(
            "{path}: this account's currency does not take that many "
            "decimals. Round the amount in the template."
        ),
        "url_macro_missing": _(
            "The landing URL carries no tracker macro (__CAMPAIGN_ID__, "
            "__AID__ or __CID__). Add one to the template."
        ),
        "no_access": _("TTPulse has no working access to this account. Reconnect it in Accounts."),
        "identity_missing": _(
            "No identity named «{identity}» in this account. Create it in "
            "Accounts → 🪪 Identities, or change the template's identity."
        ),
        "pixel_missing": _(
            "The template optimises for conversions but this account has no "
            "pixel. Add a pixel in TikTok, or optimise for clicks."
        ),
        "pixel_scope_missing": _(
            "The template optimises for conversions, but TikTok has not given TTPulse the "
            "pixels permission for this account. Reconnect it in Accounts and keep “Pixels "
            "and events” ticked on TikTok's page."
        ),
        "pixel_event_missing": _(
            "The template optimises for the pixel event {event}, but no pixel of this account "
            "has it set up. Add the event in TikTok Events Manager, or change the template's "
            "event."
        ),
        "pixel_event_silent": _(
            "The template optimises for the pixel event {event}, but it has not fired in the "
            "last {days} days (pixel: {pixel}). TikTok could not learn from it; check the "
            "pixel on your site, or change the template's event."
        ),
        "catalogs_off": _(
            "The template advertises a catalog's product set, but catalogs are off. Turn them "
            "on in Settings → Optional features; until then TTPulse asks TikTok nothing about "
            "catalogs."
        ),
        "catalog_scope_missing": _(
            "The template advertises a catalog's product set, but TikTok has not given TTPulse "
            "the catalogs permission for this account. Reconnect it in Accounts and keep "
            "“Catalog management” ticked on TikTok's page."
        ),
        "catalog_missing": _(
            "The template's catalog {catalog} is not in this account's Business Center. "
            "Launch it on that Business Center's accounts, or change the template's catalog."
        ),
        "product_set_missing": _(
            "The template's product set {set} is not in catalog {catalog} any more. Pick "
            "another set (Settings → Optional features → 🛍 Catalogs lists them)."
        ),
        "product_set_unapproved": _(
            "The template's product set {set} has no product TikTok approved yet, so its ads "
            "could not deliver. Wait for the review, or pick another set."
        ),
        "audiences_off": _(
            "The template includes or excludes audiences, but Audiences are off. Turn them "
            "on in Settings → Optional features, or remove the audiences from the template."
        ),
        "audience_missing": _(
            "This account has no audience {ids}. Audiences belong to one ad account: make "
            "it here (Accounts → 👥 Audiences), or remove it from the template."
        ),
        "audience_not_picked": _(
            "The template picks audiences per ad account, but none for this account (ad "
            "groups: {geo}). Pick them in the template (ad group → 👥 Audiences), or leave "
            "this account out of the launch."
        ),
        "audience_small": _(
            "These audiences reach fewer than {min} people: {names}. The ad group may hardly "
            "deliver; the launch goes ahead if you confirm."
        ),
        "audience_computing": _(
            "TikTok is still computing these audiences: {names}. The ad group reaches them "
            "once they are ready (TikTok says it can take up to 48 hours); the launch goes "
            "ahead if you confirm."
        ),
        "audience_scope_missing": _(
            "The template uses audiences, but TikTok has not given TTPulse the audiences "
            "permission for this account. Reconnect it in Accounts and keep “Audience "
            "management” ticked on TikTok's page."
        ),
        "tiktok_unreachable": _(
            "TikTok did not answer ({error}). Try the check again in a minute."
        ),
        "creative_kind": _("«{name}» is neither a video nor an image."),
        "creative_too_large": _("«{name}» is over TikTok's limit of {mb} MB."),
        "creative_unavailable": _("«{name}» can no longer be downloaded. Send it again."),
        "too_many_items": _("This launch would create {count} objects; at most {max} at once."),
        "minimum_unknown": _(
            "TTPulse does not know TikTok's minimum budgets in {currency} (only the USD daily "
            "ones). TikTok refuses a campaign or ad group whose budget is under its minimum "
            "when it is created, and the launch reports it."
        ),
        "lifetime_minimum_unknown": _(
            "TTPulse does not know TikTok's minimum for lifetime budgets in {currency}. "
            "TikTok refuses a campaign or ad group whose budget is under it when it is "
            "created, and the launch reports it."
        ),
    }
    text = texts.get(issue.code, _("{path}: not valid ({code}). Fix it in the template."))
    values: dict[str, Any] = {
        **p,
        "path": html.quote(issue.path or "template"),
        "code": issue.code,
        "name": name,
    }
    if "minimum" in p and "currency" in p:
        values["minimum"] = money(p["minimum"], p["currency"], _loc())
    for key in ("identity", "error", "currency", "event", "pixel", "ids", "catalog", "set",
                "geo", "names"):
        values[key] = html.quote(str(p.get(key, "")))
    line = text.format_map(_Default(values))
    return f"• <b>{where}</b>: {line}" if where else f"• {line}"


class _Default(dict):  # type: ignore[type-arg]
    """format_map that leaves a missing field visible instead of raising."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def issues(found: list[Issue], accounts: dict[int, str]) -> Screen:
    """Pre-flight found problems: each with how to fix it; nothing was created."""
    lines = [
        ngettext("⛔ <b>Pre-flight found {count} problem.</b> Nothing was created.",
                 "⛔ <b>Pre-flight found {count} problems.</b> Nothing was created.",
                 len(found)).format(count=len(found)),
        "",
    ]
    lines += [issue_text(i, accounts) for i in found[:SHOWN]]
    if len(found) > SHOWN:
        lines.append(_("…and {count} more").format(count=len(found) - SHOWN))
    kb = InlineKeyboardBuilder()
    kb.button(text=_("🔁 Check again"), callback_data=LaunchCb(a="check"))
    kb.button(text=_("« Back"), callback_data=LaunchCb(a="opt"))
    kb.adjust(1)
    return "\n".join(lines)[:4000], kb.as_markup()


def proposal(
    launch: Launch,
    summary: Summary,
    names: dict[int, str],
    zone: str,
    warnings: list[Issue] | None = None,
    twin: Launch | None = None,
) -> Screen:
    """The plan to approve: per account, budgets per currency, when, expiry, what pre-flight
    could not check (warnings), and a launch of the same plan made shortly before (twin)."""
    lines = [
        _("🚀 <b>Launch «{name}»</b> — please approve").format(
            name=html.quote(launch.template_name)
        ),
        "",
    ]
    if twin is not None:
        lines += [
            _("⚠️ <b>The same plan was launched at {when}</b> (or waits for approval): "
              "approving this one too creates every campaign, ad group and ad again.").format(
                when=_local(twin.created_at, zone)),
            "",
        ]
    # The accounts past the first few are counted, so that the budget, the start and the
    # deadline below always fit in the message (an agency launches into dozens of accounts).
    for account_id, (c, g, a) in list(summary.per_account.items())[:SHOWN]:
        objects = ", ".join((
            ngettext("{n} campaign", "{n} campaigns", c).format(n=c),
            ngettext("{n} ad group", "{n} ad groups", g).format(n=g),
            ngettext("{n} ad", "{n} ads", a).format(n=a),
        ))
        lines.append(
            _("• {account}: {objects}").format(
                account=html.quote(names.get(account_id, "")), objects=objects
            )
        )
    if len(summary.per_account) > SHOWN:
        lines.append(_("…and {count} more").format(count=len(summary.per_account) - SHOWN))
    budgets = " · ".join(money(v, cur, _loc()) for cur, v in summary.daily_budget.items())
    total = sum(sum(v) for v in summary.per_account.values())
    lines += [
        "",
        _("Total: {n} objects. Daily budget: {budgets}").format(n=total, budgets=budgets),
    ]
    if summary.lifetime_budget:
        lifetime = " · ".join(
            money(v, cur, _loc()) for cur, v in summary.lifetime_budget.items()
        )
        lines.append(_("Lifetime budget: {budgets}").format(budgets=lifetime))
    lines += [
        _("Created {how}; starts {when}.").format(
            how=_("active") if launch.enabled else _("paused"),
            when=_("once approved") if launch.run_at is None else _local(launch.run_at, zone),
        ),
    ]
    deadline = []
    if launch.expires_at is not None:
        deadline.append(
            _("<i>Approve by {when}, or it expires.</i>").format(
                when=_local(launch.expires_at, zone)
            )
        )
    if warnings:
        lines += ["", _("⚠️ <b>Not checked before the launch:</b>")]
        # Whole warnings only, as many as fit before the deadline: a cut one would break the
        # HTML (Telegram refuses the whole message) or push the deadline out.
        room = 4000 - len("\n".join([*lines, *deadline])) - 100  # 100: "…and N more"
        shown = 0
        for w in warnings[:SHOWN]:
            line = issue_text(w, names)
            if len(line) + 1 > room:
                break
            lines.append(line)
            room -= len(line) + 1
            shown += 1
        if len(warnings) > shown:
            lines.append(_("…and {count} more").format(count=len(warnings) - shown))
        lines.append("")
    lines += deadline
    kb = InlineKeyboardBuilder()
    kb.button(text=_("✅ Approve"), callback_data=LaunchCb(a="ok", id=launch.id))
    kb.button(text=_("✖ Reject"), callback_data=LaunchCb(a="no", id=launch.id))
    kb.adjust(2)
    return "\n".join(lines)[:4000], kb.as_markup()


def decided(launch: Launch, zone: str) -> str:
    """The proposal's message after the decision."""
    name = html.quote(launch.template_name)
    if launch.state == "rejected":
        return _("✖ Launch «{name}» rejected: nothing was created.").format(name=name)
    if launch.state == "expired":
        return _("⌛ Launch «{name}» expired unapproved: nothing was created.").format(name=name)
    if launch.state == "scheduled" and launch.run_at is not None:
        return _("⏰ Launch «{name}» approved; it starts at {when} (your time).").format(
            name=name, when=_local(launch.run_at, zone)
        )
    return _("🚀 Launch «{name}» approved; starting…").format(name=name)


def progress(name: str, done: int, total: int, resumed: bool = False) -> str:
    """The live progress bar of a running launch."""
    filled = done * 10 // max(total, 1)
    head = _("🚀 Launching «{name}»…").format(name=html.quote(name))
    if resumed:
        head += " " + _("(resumed after a restart: nothing is created twice)")
    return head + f"\n{'▓' * filled}{'░' * (10 - filled)} {done}/{total}"


def finished(d: Detail) -> Screen:
    """The one final summary: what was created, what failed and why, links to stats."""
    items = d.items
    made = [i for i in items if i.state == "created"]
    failed = [i for i in items if i.state == "failed"]
    by_level = {lv: sum(i.level == lv for i in made) for lv in ("campaign", "adgroup", "ad")}
    lines = [
        _("🏁 <b>Launch «{name}» finished</b>: {made} of {total} created.").format(
            name=html.quote(d.launch.template_name), made=len(made), total=len(items)
        ),
        _("Campaigns {c} · ad groups {g} · ads {a}").format(
            c=by_level["campaign"], g=by_level["adgroup"], a=by_level["ad"]
        ),
    ]
    if failed:
        lines += ["", _("Failed:")]
        lines += [_failed_line(i) for i in failed[:SHOWN]]
        if len(failed) > SHOWN:
            lines.append(_("…and {count} more").format(count=len(failed) - SHOWN))
    kb = InlineKeyboardBuilder()
    for account_id in sorted({i.ad_account_id for i in made if i.level == "campaign"}):
        kb.button(
            text=_("📈 {account}").format(account=d.accounts.get(account_id, "")[:40]),
            callback_data=StatsCb(v="lvl", a=account_id, l="c", p="today"),
        )
    kb.button(text=_("🕘 Details"), callback_data=LaunchCb(a="show", id=d.launch.id))
    kb.adjust(1)
    return "\n".join(lines)[:4000], kb.as_markup()


def _reason(item: LaunchItem) -> str:
    """Why an item failed: our codes in the reader's language, TikTok's words as written."""
    return {
        "parent_failed": _("not created: what it belongs to failed"),
        "no_access": _("no working access to the account"),
        "attempts": _("TikTok kept failing; gave up after several tries"),
        "creative_gone": _("its creative was deleted from the library"),
    }.get(item.error or "", item.error or "")


def _failed_line(item: LaunchItem) -> str:
    return f"⚠️ {html.quote(item.name[:60])} — {html.quote(_reason(item)[:200])}"


def _state_word(state: str) -> str:
    """A launch's state in the user's language."""
    return {
        "proposed": _("waiting for approval"),
        "approved": _("approved"),
        "scheduled": _("scheduled"),
        "running": _("running"),
        "done": _("done"),
        "failed": _("failed"),
        "rejected": _("rejected"),
        "expired": _("expired"),
    }.get(state, state)


def history(rows: list[tuple[Launch, dict[str, int]]], page: int, pages: int, zone: str) -> Screen:
    """The user's launches, newest first."""
    lines = [_("🕘 <b>Launch history</b>"), ""]
    kb = InlineKeyboardBuilder()
    if not rows:
        lines.append(_("No launches yet."))
    for launch, counts in rows:
        total = sum(counts.values())
        lines.append(
            _("#{id} «{name}» · {state} · {made}/{total} · {when}").format(
                id=launch.id,
                name=html.quote(launch.template_name),
                state=_state_word(launch.state),
                made=counts.get("created", 0),
                total=total,
                when=_local(launch.created_at, zone),
            )
        )
        kb.button(text=f"#{launch.id}", callback_data=LaunchCb(a="show", id=launch.id))
    sizes = [4] * (-(-len(rows) // 4))
    if nav := add_pager(kb, page, pages, lambda n: LaunchCb(a="hist", n=n)):
        sizes.append(nav)
    kb.button(text=_("« Back"), callback_data=LaunchCb(a="hub"))
    sizes.append(1)
    kb.adjust(*sizes)
    return "\n".join(lines), kb.as_markup()


def detail(d: Detail, page: int, zone: str) -> Screen:
    """One launch: its items with their states and TikTok's messages."""
    # A failed item's line can take ~270 characters (name, TikTok's message): a page must
    # hold all of its items within the message limit, none cut off its end.
    per_page = 12
    pages = max(1, -(-len(d.items) // per_page))
    page = min(max(page, 0), pages - 1)
    lines = [
        _("🚀 <b>Launch #{id} «{name}»</b> · {state}").format(
            id=d.launch.id, name=html.quote(d.launch.template_name),
            state=_state_word(d.launch.state),
        ),
        "",
    ]
    indent = {"campaign": "", "adgroup": "  ", "ad": "    "}
    for item in d.items[page * per_page : (page + 1) * per_page]:
        where = (
            html.quote(d.accounts.get(item.ad_account_id, "")) + " · "
            if item.level == "campaign"
            else ""
        )
        line = (
            f"{indent[item.level]}{STATE_MARK.get(item.state, '•')} {where}"
            f"{html.quote(item.name[:60])}"
        )
        if item.state == "failed":
            line += " — " + html.quote(_reason(item)[:200])
        lines.append(line)
    kb = InlineKeyboardBuilder()
    sizes = []
    if nav := add_pager(kb, page, pages, lambda n: LaunchCb(a="show", id=d.launch.id, n=n)):
        sizes.append(nav)
    kb.button(text=_("« History"), callback_data=LaunchCb(a="hist"))
    sizes.append(1)
    kb.adjust(*sizes)
    return "\n".join(lines)[:4000], kb.as_markup()


def decision_answer(outcome: str) -> str:
    """The pop-up answer to Approve / Reject."""
    return {
        "approved": _("Approved."),
        "rejected": _("Rejected."),
        "expired": _("Too late: this launch expired. Nothing was created."),
        "decided": _("Already decided (pressed twice or from another device)."),
    }.get(outcome, stale())
