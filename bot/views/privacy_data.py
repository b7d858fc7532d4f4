"""/mydata and /export: what is stored about the user, the export's progress and delivery, and
the words inside the ZIP (README.txt, CSV headers)."""

from __future__ import annotations

import html as html_lib
from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _
from babel.numbers import format_decimal

from bot.callbacks import PrivacyDataCb
from bot.keyboards import InlineKeyboardBuilder
from bot.views import Screen
from bot.views import stats as stats_view
from bot.views.common import LANGUAGE_NAMES
from bot.views.common import local_stamp as when
from core.privacy.export import PER_DAY, FileEntry, Inventory, TableCount
from storage.inventory import Category, Purpose
from storage.models import User

MAX_TEXT = 4096


def _loc() -> str:
    return get_i18n().current_locale


def number(n: int) -> str:
    """`1,234` in English, `1 234` in Russian."""
    return format_decimal(n, format="#,##0", locale=_loc())


def _day(value: date | datetime | None, zone: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        value = value.astimezone(ZoneInfo(zone)).date()
    return value.strftime("%d.%m.%Y")


def category_label(category: Category) -> str:
    """A category's name on /mydata and in README.txt."""
    labels: dict[Category, Callable[[], str]] = {
        Category.IDENTITY: lambda: _("Identity"),
        Category.CONTACT: lambda: _("Contact"),
        Category.CONSENT: lambda: _("Consents"),
        Category.PREFERENCES: lambda: _("Preferences"),
        Category.CREDENTIALS: lambda: _("Credentials (encrypted, never exported)"),
        Category.AD_DATA: lambda: _("Ad data"),
        Category.TRACKER_DATA: lambda: _("Tracker data"),
        Category.AUTOMATION: lambda: _("Automation"),
        Category.BILLING: lambda: _("Billing"),
        Category.SUPPORT: lambda: _("Support"),
        Category.AUDIT: lambda: _("Activity log"),
        Category.TECHNICAL: lambda: _("Technical"),
    }
    return labels[category]()


def purpose_label(purpose: Purpose) -> str:
    """Why a table is kept, in a few words."""
    labels: dict[Purpose, Callable[[], str]] = {
        Purpose.ACCOUNT: lambda: _("to run your account in your language and time zone"),
        Purpose.MARKETING: lambda: _("to send news, only with your consent"),
        Purpose.TIKTOK: lambda: _("to show and manage your TikTok ad accounts"),
        Purpose.TRACKERS: lambda: _("to pass spend to your trackers and read revenue back"),
        Purpose.AUTOMATION: lambda: _("to run your rules, templates and launches"),
        Purpose.ALERTS: lambda: _("to deliver your alerts"),
        Purpose.BILLING: lambda: _("to bill you and keep the records the law asks for"),
        Purpose.SUPPORT: lambda: _("to answer your requests"),
        Purpose.SECURITY: lambda: _("to trace every change and show you your activity"),
        Purpose.OPERATION: lambda: _("to run background work exactly once"),
    }
    return labels[purpose]()


# What each table's rows are (tests check every inventoried table has one).
TABLE_LABELS: dict[str, Callable[[], str]] = {
    "users": lambda: _("your profile"),
    "credentials": lambda: _("encrypted tokens and keys"),
    "oauth_states": lambda: _("TikTok sign-in attempts"),
    "tiktok_connections": lambda: _("TikTok connections"),
    "ad_accounts": lambda: _("ad accounts"),
    "sync_jobs": lambda: _("sync jobs"),
    "comment_watches": lambda: _("campaigns watched for comments"),
    "ad_comments": lambda: _("comments under your ads"),
    "ad_objects": lambda: _("campaigns, ad groups and ads"),
    "ad_object_values": lambda: _("recorded budget and bid changes"),
    "metrics_daily": lambda: _("daily statistics rows"),
    "metrics_hourly": lambda: _("hourly statistics rows"),
    "rule_sums": lambda: _("statistics summed for rules"),
    "outbox": lambda: _("alerts queued or sent"),
    "sent_messages": lambda: _("ids of the bot's messages in your chat"),
    "rules": lambda: _("rules"),
    "rule_runs": lambda: _("rule runs"),
    "rule_actions": lambda: _("rule and manual actions"),
    "templates": lambda: _("templates"),
    "launches": lambda: _("launches"),
    "launch_items": lambda: _("launched objects"),
    "creatives": lambda: _("creatives"),
    "creative_uploads": lambda: _("creative uploads to TikTok"),
    "trackers": lambda: _("trackers"),
    "tracker_links": lambda: _("tracker campaign mappings"),
    "tracker_daily": lambda: _("daily tracker rows"),
    "tracker_unmapped": lambda: _("unmapped tracker rows"),
    "tracker_pushes": lambda: _("cost pushes"),
    "fx_rates": lambda: _("currency rates"),
    "support_tickets": lambda: _("support tickets"),
    "support_messages": lambda: _("support messages"),
    "fsm_state": lambda: _("conversation states"),
    "audit_log": lambda: _("activity log entries"),
    "payments": lambda: _("payments"),
    "entitlements": lambda: _("plan status records"),
    "erasures": lambda: _("account deletion requests"),
    "exports": lambda: _("data exports"),
    "broadcasts": lambda: _("broadcasts you sent as an operator"),
    "operator_jobs": lambda: _("service jobs you started as an operator"),
    "web_sessions": lambda: _("dashboard sign-ins (sessions)"),
    "web_signin_links": lambda: _("dashboard sign-in links"),
    "web_identities": lambda: _("Google accounts linked for signing in"),
    "web_oidc_flows": lambda: _("Google sign-in attempts"),
    "comment_bursts": lambda: _("bursts of negative comments"),
    "pixel_watches": lambda: _("pixel event watches"),
    "pixel_signals": lambda: _("pixel event counts read for the watch"),
}


def table_label(table: str) -> str:
    """What a table's rows are, as a plural noun phrase."""
    label = TABLE_LABELS.get(table)
    return label() if label is not None else table


def _consents(user: User) -> list[str]:
    zone = user.time_zone
    lines = [
        _("• 18 or older confirmed: {time}").format(time=when(user.adult_confirmed_at, zone)),
        _("• Terms of Use (version {version}) accepted: {time}").format(
            version=html_lib.escape(user.terms_version), time=when(user.terms_accepted_at, zone)),
        _("• Privacy Policy accepted: {time}").format(time=when(user.privacy_accepted_at, zone)),
    ]
    if user.marketing_opt_in:
        lines.append(_("• News and offers: yes, since {time}").format(
            time=when(user.marketing_consent_at, zone)))
    elif user.marketing_withdrawn_at is not None:
        lines.append(_("• News and offers: withdrawn {time}").format(
            time=when(user.marketing_withdrawn_at, zone)))
    else:
        lines.append(_("• News and offers: never given"))
    if user.paused_at is not None:
        lines.append(_("• Processing paused since {time}").format(time=when(user.paused_at, zone)))
    return lines


def _table_line(t: TableCount, zone: str) -> str:
    line = f"• {table_label(t.table)}: {number(t.count)}"
    if t.first is not None and t.last is not None:
        first, last = _day(t.first, zone), _day(t.last, zone)
        line += f" ({first})" if first == last else f" ({first} – {last})"
    return line


def my_data(user: User, inventory: Inventory) -> Screen:
    """/mydata: the profile, the consents with their times, then every category's tables with
    counts and first/last dates; "📦 Export" sends all of it."""
    zone = user.time_zone
    name = " ".join(p for p in (user.first_name, user.last_name) if p)
    profile = [
        _("Your name: {name}").format(name=html_lib.escape(name) or "—"),
        _("Username: {username}").format(
            username=f"@{html_lib.escape(user.username)}" if user.username else "—"),
        _("Email: {email}").format(email=html_lib.escape(user.email or "—")),
        _("Language: {language} · time zone: {zone}").format(
            language=LANGUAGE_NAMES.get(user.language, user.language), zone=html_lib.escape(zone)),
        _("Signed up: {time}").format(time=when(user.created_at, zone)),
    ]
    parts = [
        _("<b>📂 Your data</b>"),
        _("What TTPulse stores about you. Dates are in your time zone; /export sends all of "
          "it as a ZIP file."),
        "<b>" + _("Profile") + "</b>\n" + "\n".join(profile),
        "<b>" + _("Consents") + "</b>\n" + "\n".join(_consents(user)),
    ]
    for category, tables in inventory.by_category.items():
        lines = [_table_line(t, zone) for t in tables]
        parts.append(f"<b>{html_lib.escape(category_label(category))}</b>\n" + "\n".join(lines))
    text = _fit("\n\n".join(parts))
    kb = InlineKeyboardBuilder()
    kb.button(text=_("📦 Export"), callback_data=PrivacyDataCb(a="export"))
    return text, kb.as_markup()


def _fit(text: str) -> str:
    """Keep a screen inside Telegram's 4096 characters, cutting whole lines."""
    if len(text) <= MAX_TEXT:
        return text
    more = "\n…"
    cut = text[: MAX_TEXT - len(more)]
    cut = cut[: cut.rfind("\n")]
    if cut.count("<b>") > cut.count("</b>"):
        cut = cut[: cut.rfind("<b>")]
    return cut.rstrip() + more


# --- /export ----------------------------------------------------------------------------------


def export_starting() -> str:
    """The message the export's progress is shown in (a refusal replaces it)."""
    return _("📦 Preparing your export of everything TTPulse stores about you. This message "
             "shows the progress; the ZIP file arrives in this chat.")


def export_busy(requested_at: datetime, zone: str) -> str:
    """One at a time."""
    return _("⏳ Your export asked for at {time} is still being prepared — one at a time. "
             "It will arrive in this chat.").format(time=when(requested_at, zone))


def export_rate_limited(next_at: datetime, zone: str) -> str:
    """Too many exports today."""
    return _("You can ask for {count} exports in 24 hours. The next one is possible from "
             "{time}.").format(count=PER_DAY, time=when(next_at, zone))


def export_progress(done: int, total: int, resumed: bool) -> str:
    """The live progress bar of an export being built."""
    filled = done * 10 // max(total, 1)
    head = _("📦 Preparing your export…")
    if resumed:
        head += " " + _("(started again after an interruption)")
    return head + f"\n{'▓' * filled}{'░' * (10 - filled)} {done * 100 // max(total, 1)}%"


def export_ready(files: int) -> str:
    """The progress message once the ZIP is sent."""
    return _("✅ Your export is ready: {files} files in one ZIP.").format(files=number(files))


def export_link_ready() -> str:
    """The progress message once the download link is sent."""
    return _("✅ Your export is ready: the download link is below.")


def export_caption(files: int) -> str:
    """The ZIP's caption."""
    return _("📦 Everything TTPulse stores about you: {files} files. README.txt explains each "
             "of them.").format(files=number(files))


def megabytes(size: int) -> str:
    """`53.2 MB`."""
    return _("{size} MB").format(
        size=format_decimal(size / 1024 / 1024, format="#,##0.0", locale=_loc()))


def export_link(url: str, expires_at: datetime, zone: str, size: int) -> Screen:
    """The download link of an export too big for Telegram."""
    text = _("📦 Your export is {size}, more than a bot may send in Telegram, so it waits for "
             "you on our server until {time}. Anyone who has the link can download it: do not "
             "share it.\n\n{url}").format(
        size=megabytes(size), time=when(expires_at, zone), url=html_lib.escape(url))
    markup = InlineKeyboardMarkup(inline_keyboard=[[
        InlineKeyboardButton(text=_("⬇️ Download"), url=url)]])
    return text, markup


def export_failed() -> str:
    """The export could not be made."""
    return _("⚠️ Your export could not be made. Please try /export again later, or write to "
             "/support.")


# --- inside the ZIP ---------------------------------------------------------------------------


def daily_header() -> list[str]:
    """The daily statistics CSV: level, currency, the stats CSV's columns, synced at."""
    return [_("level"), _("currency"), *stats_view.csv_header(), _("synced at (UTC)")]


def hourly_header() -> list[str]:
    """The hourly statistics CSV, column by column as core.privacy.export writes it."""
    return [_("level"), _("currency"), _("date"), _("hour"), _("object id"), _("name"),
            _("spend"), _("impressions"), _("clicks"), _("conversions"), _("purchase value"),
            _("synced at (UTC)")]


def _file_line(entry: FileEntry) -> str:
    title = entry.title
    if entry.kind == "category" and entry.category is not None:
        tables = ", ".join(table_label(t) for t in entry.tables)
        what = _("{category}: {tables} (rows: {rows})").format(
            category=category_label(entry.category), tables=tables, rows=number(entry.rows))
    elif entry.kind == "stats_daily":
        what = _("Daily statistics of the ad account «{name}», one row per object and day of "
                 "the account's time zone, amounts in its currency, tracker columns where a "
                 "tracker has numbers (rows: {rows})").format(name=title, rows=number(entry.rows))
    elif entry.kind == "stats_hourly":
        what = _("Hourly statistics of the ad account «{name}», in its time zone and currency "
                 "(rows: {rows})").format(name=title, rows=number(entry.rows))
    elif entry.kind == "rule":
        what = _("The rule «{name}»: its one-line text and settings, in TTPulse's rule "
                 "format").format(name=title)
    elif entry.kind == "template":
        what = _("The template «{name}» as a document you can import back (Templates → "
                 "Import)").format(name=title)
    else:
        what = _("This file")
    line = f"{entry.path}\n    {what}"
    if entry.purposes:
        why = "; ".join(purpose_label(p) for p in entry.purposes)
        line += "\n    " + _("Kept {why}.").format(why=why)
    return line


def readme(files: list[FileEntry], generated_at: datetime, zone: str) -> str:
    """README.txt in the user's language: what each file holds and why it is kept."""
    head = _("TTPulse — your data export\n"
             "Made {time} ({zone}).\n\n"
             "JSON files group what is stored about you by kind; each holds the rows of the "
             "tables it names. Amounts are strings (exact decimals), times are ISO 8601 in UTC. "
             "Statistics are CSV files per ad account (UTF-8). Encrypted TikTok tokens and "
             "tracker API keys are never exported.").format(
        time=when(generated_at, zone), zone=zone)
    return head + "\n\n" + "\n\n".join(_file_line(f) for f in files) + "\n"
