"""Data access and portability (/mydata, /export), driven by the data inventory.

What goes into the ZIP is decided by storage/inventory.py alone: every table's exported columns,
grouped by their category into `<category>.json`. The statistics tables are the exception the
inventory itself names: they go to CSV per ad account (daily in the stats CSV's own columns,
hourly as stored), in each account's own days and currency. Rules and templates are also given
in their own document formats, and a README.txt (in the user's language) says what each file
holds and why it is kept.

An export is a row in `exports` claimed with a lease like launches: queued → building → sent
(or failed). A worker that dies mid-build leaves its lease to lapse and the next claim starts
the build again (the ZIP is rebuilt from scratch; the half-written file is replaced). A ZIP over
the upload limit is not sent: it stays on disk behind a download link whose token only the
user's chat ever sees (the database keeps its SHA-256), valid for 24 hours, then deleted.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import re
import secrets
import zipfile
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from core.clock import Clock
from core.metrics import Totals
from core.rules.settings import from_json, to_json
from core.stats import TrackerLookup, csv_bytes, csv_cells, tracker_lookup
from core.templates.service import export_file_name
from storage.inventory import TABLES, Category, Purpose, Table
from storage.models import AdAccount
from storage.uow import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

PER_DAY = 3  # exports a user may ask for in any 24 hours
WINDOW = timedelta(hours=24)
LEASE = timedelta(minutes=2)
SEND_LEASE = timedelta(minutes=10)
LINK_VALID = timedelta(hours=24)
ATTEMPTS = 3  # builds tried before the export is given up (the user is told)
KEEP_ROWS = timedelta(days=7)  # finished export rows serve the rate limit and the link only
DEFAULT_UPLOAD_LIMIT = 50 * 1024 * 1024  # Bot API: bots send files up to 50 MB (spec §1)
# Statistics go to CSV per ad account rather than JSON (the inventory says so at these tables).
STATS_TABLES = ("metrics_daily", "metrics_hourly")
# The column giving a table's first/last dates on /mydata: the first of these it has.
DATE_COLUMNS = ("day", "created_at", "requested_at", "started_at", "sent_at", "pulled_at",
                "uploaded_at", "valid_from", "set_at", "synced_at")
RULE_FORMAT = "ttpulse.rule"
RULE_VERSION = 1
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,100}$")
_UNSAFE = re.compile(r"[^\w.-]+")
_ID_CHUNK = 1000  # object ids per IN (...) list: far under either database's parameter cap
# The progress message id of an export asked for on the web dashboard (web/privacy_routes.py):
# Telegram's message ids start at 1, so 0 is never a chat message. Such an export is built the
# same way, then kept on disk for LINK_VALID for the page to download (by its id, to its owner's
# session only) instead of being sent into the chat.
FROM_WEB = 0


# --- /export: request ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Queued:
    """The export was queued; the worker picks it up within seconds."""

    export_id: int


@dataclass(frozen=True)
class Busy:
    """An export of this user is already queued or being built."""

    export_id: int
    requested_at: datetime


@dataclass(frozen=True)
class RateLimited:
    """PER_DAY exports were asked for in the last 24 hours; the next is possible at `next_at`."""

    next_at: datetime


async def request_export(
    uow: UnitOfWorkFactory, clock: Clock, user_id: int, progress_message_id: int | None = None
) -> Queued | Busy | RateLimited:
    """Queue an export of everything stored about the user: one at a time, PER_DAY a day; the
    worker shows its progress in `progress_message_id`."""
    now = clock.now()
    async with uow() as u:
        active = await u.exports.active(user_id)
        if active is not None:
            return Busy(active.id, active.requested_at)
        recent = await u.exports.requested_since(user_id, now - WINDOW)
        if len(recent) >= PER_DAY:
            return RateLimited(recent[-PER_DAY] + WINDOW)
        row = await u.exports.add(user_id, now, progress_message_id)
        u.audit.record(user_id, "privacy.export_requested", "export", row.id)
        await u.commit()
        return Queued(row.id)


# --- the ZIP ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileEntry:
    """One file of the ZIP, for the README: what it holds and why that is kept."""

    path: str
    kind: str  # category | stats_daily | stats_hourly | rule | template | readme
    category: Category | None = None
    tables: tuple[str, ...] = ()
    purposes: tuple[Purpose, ...] = ()
    rows: int = 0
    title: str = ""  # the ad account, rule or template it is about


class ExportTexts(Protocol):
    """What the export says in the user's language (the bot renders it)."""

    def daily_header(self) -> list[str]:
        """Column names of the daily statistics CSV: level, currency, the stats CSV's columns
        (core.stats.csv_cells), synced at."""

    def hourly_header(self) -> list[str]:
        """Column names of the hourly statistics CSV: level, currency, day, hour, object id,
        name, spend, impressions, clicks, conversions, purchase value, synced at."""

    def readme(self, files: list[FileEntry], generated_at: datetime) -> str:
        """README.txt: every file, what it holds, why it is kept."""


Progress = Callable[[int, int], Awaitable[None]]


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)  # exact, as the templates' documents write amounts
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"cannot export {type(value).__name__}")


def to_json_bytes(doc: Any) -> bytes:
    """Pretty UTF-8 JSON: Decimal as strings, datetimes in ISO 8601 UTC."""
    return (json.dumps(doc, ensure_ascii=False, indent=2, default=_json_default) + "\n").encode()


def exported_tables() -> list[Table]:
    """Tables with at least one exported column, in the inventory's order."""
    return [t for t in TABLES.values() if t.exported]


def _split(table: Table, row: dict[str, Any]) -> dict[Category, dict[str, Any]]:
    """A row's exported columns by category; each part keeps the row's id (when exported) so
    the parts of one row can be joined again."""
    parts: dict[Category, dict[str, Any]] = {}
    for name, value in row.items():
        parts.setdefault(table.columns[name].category, {})[name] = value
    if "id" in row:
        for part in parts.values():
            part.setdefault("id", row["id"])
    return parts


def _slug(text: str) -> str:
    return _UNSAFE.sub("-", text).strip("-.")[:40] or "x"


def rule_document(row: dict[str, Any]) -> dict[str, Any]:
    """A rule in its own format: the canonical one-line text and the settings document."""
    return {
        "format": RULE_FORMAT,
        "version": RULE_VERSION,
        "name": row.get("name"),
        "text": row.get("text"),
        "enabled": row.get("enabled"),
        "settings": to_json(from_json(row.get("settings"))),
    }


@dataclass
class _Zip:
    """Files written into the ZIP off the event loop (serialising and compressing are CPU work)."""

    archive: zipfile.ZipFile
    files: list[FileEntry] = field(default_factory=list)

    async def add(self, entry: FileEntry, make: Callable[[], bytes]) -> None:
        def write() -> None:
            self.archive.writestr(entry.path, make())

        await asyncio.to_thread(write)
        self.files.append(entry)


async def build_zip(
    uow: UnitOfWorkFactory,
    user_id: int,
    path: Path,
    texts: ExportTexts,
    progress: Progress,
    now: datetime,
) -> list[FileEntry]:
    """Write everything the inventory exports about the user into a ZIP at `path`; the files
    written (README.txt last)."""
    tables = [t for t in exported_tables() if t.name not in STATS_TABLES]
    async with uow() as u:
        accounts = await u.privacy.rows("ad_accounts", user_id)
        total = len(tables) + len(accounts) + 1
        done = 0
        by_category: dict[Category, dict[str, list[dict[str, Any]]]] = defaultdict(dict)
        kept: dict[str, list[dict[str, Any]]] = {}
        archive = await asyncio.to_thread(zipfile.ZipFile, path, "w", zipfile.ZIP_DEFLATED)
        out = _Zip(archive)
        try:
            for table in tables:
                rows = await u.privacy.rows(table.name, user_id)
                if table.name in ("rules", "templates", "ad_objects"):
                    kept[table.name] = rows
                for row in rows:
                    for category, part in _split(table, row).items():
                        by_category[category].setdefault(table.name, []).append(part)
                done += 1
                await progress(done, total)
            for category in Category:
                found = by_category.get(category)
                if not found:
                    continue
                doc = {"category": category.value, "tables": found}
                await out.add(
                    FileEntry(
                        f"{category.value}.json", "category", category, tuple(found),
                        tuple(dict.fromkeys(TABLES[t].purpose for t in found)),
                        sum(len(v) for v in found.values()),
                    ),
                    lambda doc=doc: to_json_bytes(doc),  # type: ignore[misc]
                )
            names = {
                (o["ad_account_id"], o["level"], o["object_id"]): o.get("name") or ""
                for o in kept.get("ad_objects", [])
            }
            for account in accounts:
                await _account_stats(u, out, account, names, texts)
                done += 1
                await progress(done, total)
            for rule in kept.get("rules", []):
                await out.add(
                    FileEntry(f"rules/{rule['id']}-{_slug(rule['name'] or '')}.json", "rule",
                              Category.AUTOMATION, ("rules",), (Purpose.AUTOMATION,), 1,
                              str(rule.get("name") or "")),
                    lambda rule=rule: to_json_bytes(rule_document(rule)),  # type: ignore[misc]
                )
            for template in kept.get("templates", []):
                await out.add(
                    FileEntry(
                        f"templates/{template['id']}-{export_file_name(template['name'] or '')}",
                        "template", Category.AUTOMATION, ("templates",), (Purpose.AUTOMATION,),
                        1, str(template.get("name") or "")),
                    lambda t=template: to_json_bytes(t["document"]),  # type: ignore[misc]
                )
            readme = FileEntry("README.txt", "readme")
            files = [*out.files, readme]
            text = texts.readme(files, now)
            await out.add(readme, lambda: text.encode("utf-8"))
        finally:
            await asyncio.to_thread(archive.close)
        done += 1
        await progress(done, total)
    return out.files


async def _account_stats(
    u: UnitOfWork,
    out: _Zip,
    account: dict[str, Any],
    names: dict[tuple[int, str, str], str],
    texts: ExportTexts,
) -> None:
    """One ad account's statistics: daily rows in the stats CSV's columns (tracker numbers
    included), and hourly rows as stored; both in the account's own days and currency. The
    reads are awaited here; the lines are made in the writer's thread."""
    acc = AdAccount(**{k: account[k] for k in ("id", "advertiser_id", "name", "currency")})
    currency, stem = acc.currency, f"stats/{acc.advertiser_id}_{_slug(acc.name)}"

    def name_of(level: str, object_id: str) -> str:
        if level == "advertiser":
            return acc.name
        return names.get((acc.id, level, object_id), "")

    daily = await u.stats.account_daily(acc.id)
    by_level: dict[str, list[Any]] = defaultdict(list)
    for r in daily:
        by_level[r.level].append(r)
    lookups: dict[tuple[str, str], TrackerLookup] = {}
    for level, rows in by_level.items():
        start, end = min(r.day for r in rows), max(r.day for r in rows)
        ids = sorted({r.object_id for r in rows})
        for i in range(0, len(ids), _ID_CHUNK):
            lookup = await tracker_lookup(u, acc, level, ids[i : i + _ID_CHUNK], start, end)
            lookups.update({(level, oid): lookup for oid in ids[i : i + _ID_CHUNK]})

    def daily_csv() -> bytes:
        lines: list[list[object]] = []
        for r in daily:
            totals = Totals(r.spend, r.impressions, r.clicks, r.conversions, r.purchase_value)
            tracker = lookups[(r.level, r.object_id)](r.object_id, r.day, r.spend)
            cells = csv_cells((r.object_id, name_of(r.level, r.object_id), r.day, totals, tracker))
            lines.append([r.level, currency, *cells, r.synced_at.astimezone(UTC).isoformat()])
        return csv_bytes(texts.daily_header(), lines)

    await out.add(
        FileEntry(f"{stem}.csv", "stats_daily", Category.AD_DATA, ("metrics_daily",),
                  (TABLES["metrics_daily"].purpose,), len(daily), acc.name),
        daily_csv,
    )
    hourly = await u.stats.account_hourly(acc.id)
    if not hourly:
        return

    def hourly_csv() -> bytes:
        return csv_bytes(texts.hourly_header(), (
            [r.level, currency, r.day.isoformat(), r.hour, r.object_id,
             name_of(r.level, r.object_id), r.spend, r.impressions, r.clicks, r.conversions,
             r.purchase_value, r.synced_at.astimezone(UTC).isoformat()]
            for r in hourly
        ))

    await out.add(
        FileEntry(f"{stem}_hourly.csv", "stats_hourly", Category.AD_DATA, ("metrics_hourly",),
                  (TABLES["metrics_hourly"].purpose,), len(hourly), acc.name),
        hourly_csv,
    )


# --- the worker ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """An export being built, as the courier needs it."""

    export_id: int
    user_id: int
    locale: str
    time_zone: str
    progress_message_id: int | None
    resumed: bool  # a build restarted after a crash or restart
    web: bool = False  # asked for on the web dashboard: kept for its download, not sent


class Courier(Protocol):
    """Delivers an export to the user's chat (the bot implements it)."""

    def texts(self, job: Job) -> ExportTexts:
        """The export's words in the user's language."""

    async def progress(self, job: Job, done: int, total: int) -> None:
        """Show the build's progress (at most about once a second)."""

    async def document(self, job: Job, path: Path, file_name: str, files: int) -> None:
        """Send the ZIP as a document."""

    async def link(self, job: Job, url: str, expires_at: datetime, size: int) -> None:
        """Send the download link of a ZIP too big to upload."""

    async def failed(self, job: Job) -> None:
        """Say the export could not be made."""


class LeaseLost(Exception):
    """Another worker took the export over; stop without touching it."""


def token_hash(token: str) -> str:
    """What the database keeps of a download token (a leaked table gives no working link)."""
    return hashlib.sha256(token.encode()).hexdigest()


def file_path(directory: Path, export_id: int) -> Path:
    """Where an export's ZIP is kept while its link is valid."""
    return directory / f"export-{export_id}.zip"


async def run_due(
    uow: UnitOfWorkFactory,
    clock: Clock,
    owner: str,
    courier: Courier,
    directory: Path,
    upload_limit: int,
    public_url: str,
) -> int:
    """Build and deliver every queued export (one at a time); how many were delivered."""
    delivered = 0
    while True:
        async with uow() as u:
            row = await u.exports.claim(clock.now(), owner, clock.now() + LEASE)
            user = await u.users.get(row.user_id) if row is not None else None
            await u.commit()
        if row is None:
            return delivered
        web = row.progress_message_id == FROM_WEB
        job = Job(row.id, row.user_id, user.language if user else "en",
                  user.time_zone if user else "UTC",
                  None if web else row.progress_message_id, row.attempts > 1, web)
        if user is None or row.attempts > ATTEMPTS:
            await _fail(uow, job, courier, "gave up" if user else "no user")
            continue
        try:
            await _deliver(uow, clock, owner, courier, directory, upload_limit, public_url, job)
            delivered += 1
        except LeaseLost:
            log.warning("export.lease_lost", extra={"export_id": job.export_id})
        except Exception as exc:  # the lease lapses and the next claim retries
            log.warning("export.failed_attempt",
                        extra={"export_id": job.export_id, "error": type(exc).__name__,
                               "detail": str(exc)[:200]})
            async with uow() as u:
                # Tried again once a build's lease has passed (not the longer one of a send).
                await u.exports.update(job.export_id, error=str(exc)[:300] or type(exc).__name__,
                                       lease_until=clock.now() + LEASE)
                await u.commit()
            if row.attempts >= ATTEMPTS:
                await _fail(uow, job, courier, str(exc)[:300])
            # Retried by a later claim once the lease lapses; meanwhile the next export.
            continue


async def _fail(uow: UnitOfWorkFactory, job: Job, courier: Courier, error: str) -> None:
    async with uow() as u:
        await u.exports.update(job.export_id, state="failed", error=error[:300],
                               lease_owner=None, lease_until=None)
        await u.commit()
    if job.user_id:
        try:
            await courier.failed(job)
        except Exception as exc:  # best effort: the row says failed
            log.warning("export.fail_notice_lost", extra={"export_id": job.export_id,
                                                          "error": type(exc).__name__})


async def _deliver(
    uow: UnitOfWorkFactory,
    clock: Clock,
    owner: str,
    courier: Courier,
    directory: Path,
    upload_limit: int,
    public_url: str,
    job: Job,
) -> None:
    """Build the ZIP, then send it (or its link), then record it sent."""
    path = file_path(directory, job.export_id)
    part = path.with_suffix(".part")
    await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
    renewed = clock.now()

    async def progress(done: int, total: int) -> None:
        nonlocal renewed
        if clock.now() - renewed > LEASE / 4:  # still alive: keep the export ours
            await _renew(uow, clock, owner, job.export_id)
            renewed = clock.now()
        await courier.progress(job, done, total)

    await courier.progress(job, 0, 1)
    log.info("export.building", extra={"export_id": job.export_id, "resumed": job.resumed})
    files = await build_zip(uow, job.user_id, part, courier.texts(job), progress, clock.now())
    await asyncio.to_thread(part.replace, path)
    size = (await asyncio.to_thread(path.stat)).st_size
    stamp = clock.now().astimezone(UTC).strftime("%Y-%m-%d")
    via = "web" if job.web else "document" if size <= upload_limit else "link"
    token = secrets.token_urlsafe(32) if via == "link" else None
    expires = clock.now() + LINK_VALID
    # Recorded sent before it goes out, so a user who has the file and asks again is never told
    # it is "still being prepared"; the lease stays held (and longer: an upload of up to 50 MB
    # can outlast a build's) until delivery ends. A failed delivery puts the export back to
    # building; a worker dying mid-delivery leaves a sent row with a lapsed lease, which the
    # next claim delivers again (claim()).
    async with uow() as u:
        ok = await u.exports.renew(job.export_id, owner, clock.now() + SEND_LEASE)
        if not ok:
            raise LeaseLost(job.export_id)
        await u.exports.update(
            job.export_id, state="sent", finished_at=clock.now(), size=size, error=None,
            token=token_hash(token) if token else None,
            expires_at=expires if token or job.web else None,
        )
        await u.commit()
    try:
        if job.web:
            pass  # the page downloads it (web_download)
        elif token is None:
            await courier.document(job, path, f"ttpulse-export-{stamp}.zip", len(files))
            await asyncio.to_thread(path.unlink, missing_ok=True)
        else:
            await courier.link(job, f"{public_url}/export/{token}", expires, size)
    except BaseException:
        async with uow() as u:
            await u.exports.update(job.export_id, state="building", token=None, expires_at=None)
            await u.commit()
        raise
    log.info("export.sent", extra={"export_id": job.export_id, "via": via, "size": size,
                                   "files": len(files)})
    async with uow() as u:
        await u.exports.update(job.export_id, lease_owner=None, lease_until=None)
        u.audit.record(job.user_id, "privacy.export_sent", "export", job.export_id,
                       {"via": via, "size": size, "files": len(files)})
        await u.commit()


async def _renew(uow: UnitOfWorkFactory, clock: Clock, owner: str, export_id: int) -> None:
    async with uow() as u:
        ok = await u.exports.renew(export_id, owner, clock.now() + LEASE)
        await u.commit()
    if not ok:
        raise LeaseLost(export_id)


async def release_leases(uow: UnitOfWorkFactory, owner: str) -> None:
    """Give back this worker's export leases so another instance resumes at once."""
    async with uow() as u:
        await u.exports.release_all(owner)
        await u.commit()


async def purge(uow: UnitOfWorkFactory, clock: Clock, directory: Path) -> int:
    """Delete the files of expired download links (their rows say "expired", so the link
    answers 410) and any file no export needs any more (its row gone with an erased account,
    or a build cut short); forget export rows older than a week. How many files went."""
    now = clock.now()
    async with uow() as u:
        for row in await u.exports.expired_links(now):
            await u.exports.update(row.id, state="expired")
        await u.exports.forget_before(now - KEEP_ROWS)
        needed = await u.exports.needing_files(now)
        await u.commit()
    return await asyncio.to_thread(_sweep, directory, needed)


def _sweep(directory: Path, needed: set[int]) -> int:
    if not directory.is_dir():
        return 0
    gone = 0
    for path in directory.glob("export-*.*"):
        number = path.name.removeprefix("export-").split(".", 1)[0]
        if number.isdigit() and int(number) not in needed:
            path.unlink(missing_ok=True)
            gone += 1
    return gone


# --- the download link --------------------------------------------------------------------------


@dataclass(frozen=True)
class Download:
    """A valid link's file."""

    path: Path
    file_name: str


async def download(
    uow: UnitOfWorkFactory, clock: Clock, directory: Path, token: str
) -> Download | str:
    """The file behind a download link; else "unknown" (no such link: 404) or "expired"
    (it was valid once: 410)."""
    if not _TOKEN.match(token):
        return "unknown"
    async with uow() as u:
        row = await u.exports.by_token(token_hash(token))
        if row is None:
            return "unknown"
        path = file_path(directory, row.id)
        if (row.state != "sent" or row.expires_at is None
                or row.expires_at <= clock.now()
                or not await asyncio.to_thread(path.exists)):
            return "expired"
        # Under its owner (whoever holds the link): a forwarded link shows in their activity.
        u.audit.record(row.user_id, "privacy.export_downloaded", "export", row.id)
        await u.commit()
        stamp = (row.finished_at or clock.now()).astimezone(UTC).strftime("%Y-%m-%d")
    return Download(path, f"ttpulse-export-{stamp}.zip")


# --- the web dashboard's export -----------------------------------------------------------------


@dataclass(frozen=True)
class WebExport:
    """The user's latest export as the privacy page shows it."""

    export_id: int
    state: str  # queued | building | sent | failed | expired
    requested_at: datetime
    expires_at: datetime | None
    downloadable: bool  # asked for on the page, built, its file still kept
    web: bool = False  # asked for on the page (else in the chat, where it was delivered)


async def latest(uow: UnitOfWorkFactory, clock: Clock, user_id: int) -> WebExport | None:
    """The user's newest export (asked for in the chat or on the page), or None."""
    async with uow() as u:
        row = await u.exports.latest(user_id)
    if row is None:
        return None
    web = row.progress_message_id == FROM_WEB
    live = row.expires_at is not None and row.expires_at > clock.now()
    return WebExport(row.id, row.state, row.requested_at, row.expires_at if web else None,
                     web and row.state == "sent" and live and row.token is None, web)


async def web_download(uow: UnitOfWorkFactory, clock: Clock, directory: Path, user_id: int,
                       export_id: int) -> Download | str:
    """The file of an export the user asked for on the web page: "unknown" when it is not
    theirs, not a page's export, or not built; "expired" after LINK_VALID."""
    async with uow() as u:
        row = await u.exports.get(export_id)
        if (row is None or row.user_id != user_id or row.progress_message_id != FROM_WEB
                or row.state not in ("sent", "expired")):
            return "unknown"
        path = file_path(directory, row.id)
        if (row.state != "sent" or row.expires_at is None or row.expires_at <= clock.now()
                or not await asyncio.to_thread(path.exists)):
            return "expired"
        u.audit.record(user_id, "privacy.export_downloaded", "export", row.id)
        await u.commit()
        stamp = (row.finished_at or clock.now()).astimezone(UTC).strftime("%Y-%m-%d")
    return Download(path, f"ttpulse-export-{stamp}.zip")


# --- /mydata ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableCount:
    """The user's rows of one table, and their first and last dates where a table has one."""

    table: str
    count: int
    first: date | datetime | None = None
    last: date | datetime | None = None


@dataclass(frozen=True)
class Inventory:
    """What is stored about the user, by category (the user record itself is shown apart)."""

    by_category: dict[Category, list[TableCount]]


def main_category(table: Table) -> Category:
    """The category most of a table's columns hold (where /mydata lists the table)."""
    tally: dict[Category, int] = defaultdict(int)
    for column in table.columns.values():
        tally[column.category] += 1
    return max(tally, key=lambda c: (tally[c], -list(Category).index(c)))


async def inventory(uow: UnitOfWorkFactory, user_id: int) -> Inventory:
    """Counts (and first/last dates) of the user's rows in every inventoried table."""
    out: dict[Category, list[TableCount]] = defaultdict(list)
    async with uow() as u:
        counts = await u.privacy.counts(user_id)
        for name, table in TABLES.items():
            if name == "users" or name not in counts:
                continue
            column = next((c for c in DATE_COLUMNS if c in table.columns), None)
            first = last = None
            if column is not None:
                first, last = await u.exports.span(name, user_id, column)
            out[main_category(table)].append(TableCount(name, counts[name], first, last))
    ordered = {c: out[c] for c in Category if c in out}
    return Inventory(ordered)
