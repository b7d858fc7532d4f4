"""The data export's ZIP on SQLite and PostgreSQL: every value the inventory marks for export of
one user's rows is in it, nothing that only another user has, statistics sum to what is stored;
and the request rules (one at a time, three a day), delivery as a document or a link, expiry."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import zipfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import FixedClock
from core.privacy import export, rights
from core.privacy.export import (
    STATS_TABLES,
    Busy,
    FileEntry,
    Job,
    Queued,
    RateLimited,
    _json_default,
    _split,
    exported_tables,
)
from core.support import open_ticket
from core.users import SignUp, register_user, set_email
from storage.db import session_factory
from storage.inventory import TABLES
from storage.models import (
    AdAccount,
    AdObject,
    Credential,
    MetricDaily,
    MetricHourly,
    Rule,
    Template,
    TikTokConnection,
    Tracker,
    TrackerDaily,
)
from storage.uow import UnitOfWorkFactory

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
A, B = 1_000_001, 2_000_002


@pytest.fixture
def uow(engine: AsyncEngine) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(session_factory(engine), None)


class Texts:
    """Plain English words (the bot gives translated ones)."""

    def daily_header(self) -> list[str]:
        return ["level", "currency", "date", "object id", "name", "spend", "impressions",
                "clicks", "conversions", "ctr", "cpc", "cpm", "cpa", "cr", "purchase value",
                "roas", "tracker clicks", "tracker conversions", "tracker revenue", "profit",
                "roi", "epc", "tracker cpa", "synced at"]

    def hourly_header(self) -> list[str]:
        return ["level", "currency", "day", "hour", "object id", "name", "spend", "impressions",
                "clicks", "conversions", "purchase value", "synced at"]

    def readme(self, files: list[FileEntry], generated_at: datetime) -> str:
        return "\n".join(f.path for f in files)


async def _seed(uow: UnitOfWorkFactory, uid: int, tag: str) -> None:
    """A user with consents, a connection with two ad accounts (objects, daily and hourly
    statistics, tracker numbers), a rule, a template and a support ticket; `tag` makes their
    names unique to them."""
    clock = FixedClock(NOW)
    await register_user(uow, clock, SignUp(uid, f"Name{tag}", f"Last{tag}", f"user{tag}", "en",
                                           "Europe/Berlin", f"{tag}@example.com", True))
    await set_email(uow, clock, uid, f"{tag}-new@example.com")
    await open_ticket(uow, uid, f"Help me with {tag} please")
    async with uow() as u:
        cred = Credential(user_id=uid, kind="tiktok", sealed=b"sealed", key_id="k1")
        u.session.add(cred)
        await u.session.flush()
        conn = TikTokConnection(user_id=uid, credential_id=cred.id, display_name=f"Login{tag}",
                                tiktok_user_id=f"tt{tag}")
        u.session.add(conn)
        await u.session.flush()
        tracker = Tracker(user_id=uid, kind="keitaro", name=f"Keitaro{tag}",
                          base_url=f"https://{tag}.example.com")
        u.session.add(tracker)
        await u.session.flush()
        for n, currency in enumerate(("USD", "EUR")):
            acc = AdAccount(connection_id=conn.id, advertiser_id=f"7{uid}{n}",
                            name=f"Shop{tag}{n}", currency=currency, time_zone="Asia/Tokyo",
                            status="ACTIVE", tracked=True)
            u.session.add(acc)
            await u.session.flush()
            u.session.add(AdObject(ad_account_id=acc.id, level="campaign",
                                   object_id=f"c{uid}{n}", name=f"Camp{tag}{n}",
                                   budget=Decimal("50.25")))
            for d in range(3):
                day = date(2026, 11, 28) + timedelta(days=d)
                spend = Decimal(f"{n + 1}{d}.1{uid % 10}")
                for level, oid in (("advertiser", acc.advertiser_id),
                                   ("campaign", f"c{uid}{n}")):
                    u.session.add(MetricDaily(ad_account_id=acc.id, level=level, object_id=oid,
                                              day=day, spend=spend, impressions=1000 + d,
                                              clicks=10 + d, conversions=d,
                                              purchase_value=Decimal("3.5"), synced_at=NOW))
                u.session.add(MetricHourly(ad_account_id=acc.id, level="campaign",
                                           object_id=f"c{uid}{n}", day=day, hour=d + 5,
                                           spend=spend, impressions=7, clicks=1, conversions=0,
                                           purchase_value=Decimal(0), synced_at=NOW))
            u.session.add(TrackerDaily(ad_account_id=acc.id, level="campaign",
                                       object_id=f"c{uid}{n}", day=date(2026, 11, 29),
                                       tracker_id=tracker.id, clicks=9, conversions=2,
                                       revenue=Decimal("44.40"), pulled_at=NOW))
        u.session.add(Rule(user_id=uid, name=f"Rule{tag}",
                           text="campaign: spend > 1 in today -> pause", level="campaign",
                           settings={"safe_mode": "act"}))
        u.session.add(Template(user_id=uid, name=f"Tpl{tag}",
                               document={"format": "ttpulse.template", "version": 1,
                                         "name": f"Tpl{tag}", "campaign": {"budget": "20.00"}}))
        await u.commit()


async def _zip(uow: UnitOfWorkFactory, uid: int, tmp_path: Path) -> zipfile.ZipFile:
    steps: list[tuple[int, int]] = []

    async def progress(done: int, total: int) -> None:
        steps.append((done, total))

    path = tmp_path / f"{uid}.zip"
    await export.build_zip(uow, uid, path, Texts(), progress, NOW)
    assert steps[-1][0] == steps[-1][1]  # the last step reports the end
    return zipfile.ZipFile(path)


def _plain(value: Any) -> Any:
    """A value as the JSON files write it."""
    if value is None or isinstance(value, bool | int | float | str | dict | list):
        return value
    return _json_default(value)


def _csv(archive: zipfile.ZipFile, name: str) -> list[dict[str, str]]:
    text = archive.read(name).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


async def test_zip_holds_every_exported_value_of_the_user_and_nothing_of_others(
    uow: UnitOfWorkFactory, tmp_path: Path
) -> None:
    await _seed(uow, A, "alpha")
    await _seed(uow, B, "bravo")
    archive = await _zip(uow, A, tmp_path)
    names = archive.namelist()
    docs = {n: json.loads(archive.read(n)) for n in names if n.endswith(".json")}

    checked = 0
    async with uow() as u:
        accounts = {a["id"]: a for a in await u.privacy.rows("ad_accounts", A)}
        for table in exported_tables():
            rows = await u.privacy.rows(table.name, A)
            if table.name in STATS_TABLES:
                for row in rows:
                    acc = accounts[row["ad_account_id"]]
                    [file] = [n for n in names if n.startswith(f"stats/{acc['advertiser_id']}_")
                              and n.endswith("_hourly.csv") == (table.name == "metrics_hourly")]
                    lines = _csv(archive, file)
                    match = [line for line in lines if line["object id"] == row["object_id"]
                             and line["level"] == row["level"]
                             and line[("day" if "hour" in row else "date")]
                             == row["day"].isoformat()
                             and line.get("hour", str(row.get("hour"))) == str(row.get("hour"))]
                    assert len(match) == 1, (table.name, row)
                    line = match[0]
                    assert Decimal(line["spend"]) == row["spend"]
                    assert line["currency"] == acc["currency"]
                    assert line["synced at"] == row["synced_at"].isoformat()
                    if "hour" not in row:
                        assert line["impressions"] == str(row["impressions"])
                    checked += 1
                continue
            for row in rows:
                for category, part in _split(table, row).items():
                    stored = docs[f"{category.value}.json"]["tables"][table.name]
                    want = {k: _plain(v) for k, v in part.items()}
                    assert want in stored, (table.name, category, want)
                    checked += len(part)
        assert checked > 100

        # Rules and templates also in their own formats.
        [rule] = await u.privacy.rows("rules", A)
        doc = docs[f"rules/{rule['id']}-Rulealpha.json"]
        assert doc["format"] == "ttpulse.rule" and doc["text"] == rule["text"]
        assert doc["settings"]["safe_mode"] == "act" and "schedule" in doc["settings"]
        [tpl] = await u.privacy.rows("templates", A)
        assert docs[f"templates/{tpl['id']}-template-Tplalpha.json"] == tpl["document"]

    # Not a trace of the other user, nor of the sealed token.
    blob = b"".join(archive.read(n) for n in names).decode("utf-8")
    for only_b in ("bravo", str(B), f"7{B}0", f"c{B}1", "sealed"):
        assert only_b not in blob, only_b
    assert "alpha-new@example.com" in blob and "Help me with alpha please" in blob
    assert archive.read("README.txt").decode().splitlines()[-1] == "README.txt"


async def test_daily_csv_sums_to_stored_spend_with_tracker_columns(
    uow: UnitOfWorkFactory, tmp_path: Path
) -> None:
    await _seed(uow, A, "alpha")
    await _seed(uow, B, "bravo")
    archive = await _zip(uow, A, tmp_path)
    daily = sorted(n for n in archive.namelist()
                   if n.startswith("stats/") and not n.endswith("_hourly.csv"))
    assert daily == [f"stats/7{A}0_Shopalpha0.csv", f"stats/7{A}1_Shopalpha1.csv"]
    async with uow() as u:
        stored = await u.privacy.rows("metrics_daily", A)
        accounts = {a["id"]: a for a in await u.privacy.rows("ad_accounts", A)}
    for name in daily:
        lines = _csv(archive, name)
        adv = name.removeprefix("stats/").split("_")[0]
        for level in ("advertiser", "campaign"):
            want = sum(r["spend"] for r in stored if r["level"] == level
                       and accounts[r["ad_account_id"]]["advertiser_id"] == adv)
            got = sum(Decimal(x["spend"]) for x in lines if x["level"] == level)
            assert got == want and want > 0
        tracked = [x for x in lines if x["level"] == "campaign" and x["date"] == "2026-11-29"]
        # The tracker's columns are filled where it has numbers.
        assert Decimal(tracked[0]["tracker revenue"]) == Decimal("44.40")
        assert all(x["tracker revenue"] == "" for x in lines if x["date"] != "2026-11-29")


async def test_request_one_at_a_time_and_three_a_day(uow: UnitOfWorkFactory) -> None:
    await _seed(uow, A, "alpha")
    clock = FixedClock(NOW)
    first = await export.request_export(uow, clock, A)
    assert isinstance(first, Queued)
    again = await export.request_export(uow, clock, A)
    assert again == Busy(first.export_id, NOW)
    for n in range(2):
        async with uow() as u:
            await u.exports.update(first.export_id + n, state="sent")
            await u.commit()
        clock.set(NOW + timedelta(hours=n + 1))
        assert isinstance(await export.request_export(uow, clock, A), Queued)
    async with uow() as u:
        await u.exports.update(first.export_id + 2, state="sent")
        await u.commit()
    assert await export.request_export(uow, clock, A) == RateLimited(NOW + timedelta(hours=24))
    clock.set(NOW + timedelta(hours=24, seconds=1))
    assert isinstance(await export.request_export(uow, clock, A), Queued)
    async with uow() as u:
        audit = await u.audit.for_target("export", first.export_id)
    assert [e.action for e in audit] == ["privacy.export_requested"]


class Courier:
    """Records what would reach the chat."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Any]] = []

    def texts(self, job: Job) -> Texts:
        return Texts()

    async def progress(self, job: Job, done: int, total: int) -> None:
        self.sent.append(("progress", (done, total)))

    async def document(self, job: Job, path: Path, file_name: str, files: int) -> None:
        self.sent.append(("document", await asyncio.to_thread(path.read_bytes)))

    async def link(self, job: Job, url: str, expires_at: datetime, size: int) -> None:
        self.sent.append(("link", url))

    async def failed(self, job: Job) -> None:
        self.sent.append(("failed", job.export_id))


async def test_worker_sends_a_document_or_an_expiring_link(
    uow: UnitOfWorkFactory, tmp_path: Path
) -> None:
    await _seed(uow, A, "alpha")
    clock = FixedClock(NOW)
    courier = Courier()
    first = await export.request_export(uow, clock, A)
    assert isinstance(first, Queued)
    args = (courier, tmp_path, 50 * 1024 * 1024, "http://svc")
    assert await export.run_due(uow, clock, "w1", *args) == 1
    kind, data = courier.sent[-1]
    assert kind == "document" and zipfile.ZipFile(io.BytesIO(data)).testzip() is None
    # A sent document is not kept.
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".zip")]

    second = await export.request_export(uow, clock, A)
    assert isinstance(second, Queued)
    assert await export.run_due(uow, clock, "w1", courier, tmp_path, 100, "http://svc") == 1
    kind, url = courier.sent[-1]
    assert kind == "link" and url.startswith("http://svc/export/")
    token = url.rsplit("/", 1)[1]
    found = await export.download(uow, clock, tmp_path, token)
    assert isinstance(found, export.Download) and found.path.exists()
    assert await export.download(uow, clock, tmp_path, token[:-1] + "x") == "unknown"
    assert await export.download(uow, clock, tmp_path, "../../etc/passwd") == "unknown"
    async with uow() as u:
        row = await u.exports.get(second.export_id)
        assert row is not None and row.token != token  # only its hash is stored
        actions = [e.action for e in await u.audit.for_target("export", second.export_id)]
    assert actions == ["privacy.export_requested", "privacy.export_sent",
                       "privacy.export_downloaded"]
    # Its owner sees the link's download in their activity (a forwarded link shows there).
    seen = await rights.activity(uow, A, 0, 50)
    assert "privacy.export_downloaded" in [e.action for e in seen.entries]

    stray = tmp_path / "export-999.zip"  # e.g. the row went with an erased account
    await asyncio.to_thread(stray.write_bytes, b"x")
    assert await export.purge(uow, clock, tmp_path) == 1  # the live link's file stays
    assert found.path.exists() and not stray.exists()
    clock.set(NOW + timedelta(hours=24, seconds=1))
    assert await export.download(uow, clock, tmp_path, token) == "expired"
    assert await export.purge(uow, clock, tmp_path) == 1
    assert not found.path.exists()
    assert await export.download(uow, clock, tmp_path, token) == "expired"


async def test_a_lapsed_lease_is_taken_over_and_a_hopeless_export_fails_once(
    uow: UnitOfWorkFactory, tmp_path: Path
) -> None:
    await _seed(uow, A, "alpha")
    clock = FixedClock(NOW)
    queued = await export.request_export(uow, clock, A)
    assert isinstance(queued, Queued)
    async with uow() as u:  # a worker claimed it and died
        assert await u.exports.claim(NOW, "dead", NOW + export.LEASE) is not None
        await u.commit()
    courier = Courier()
    assert await export.run_due(uow, clock, "w2", courier, tmp_path, 10**9, "http://x") == 0
    clock.set(NOW + export.LEASE + timedelta(seconds=1))
    assert await export.run_due(uow, clock, "w2", courier, tmp_path, 10**9, "http://x") == 1
    assert courier.sent[-1][0] == "document"

    # A worker that died while delivering: the export is delivered again, not lost.
    async with uow() as u:
        await u.exports.update(queued.export_id, state="sent", lease_owner="dead",
                               lease_until=clock.now())
        await u.commit()
    clock.set(clock.now() + timedelta(seconds=1))
    assert await export.run_due(uow, clock, "w2", courier, tmp_path, 10**9, "http://x") == 1
    assert [k for k, _ in courier.sent].count("document") == 2

    class Broken(Courier):
        async def document(self, job: Job, path: Path, file_name: str, files: int) -> None:
            raise RuntimeError("upload refused")

    clock.set(NOW + timedelta(hours=1))
    assert isinstance(await export.request_export(uow, clock, A), Queued)
    broken = Broken()
    for _ in range(export.ATTEMPTS):
        clock.set(clock.now() + export.LEASE + timedelta(seconds=1))
        assert await export.run_due(uow, clock, "w3", broken, tmp_path, 10**9, "x") == 0
    assert [k for k, _ in broken.sent if k == "failed"] == ["failed"]
    # Failed exports do not hold the next request back.
    assert isinstance(await export.request_export(uow, clock, A), Queued)


async def test_whoever_has_the_file_may_ask_again_at_once(
    uow: UnitOfWorkFactory, tmp_path: Path
) -> None:
    await _seed(uow, A, "alpha")
    clock = FixedClock(NOW)
    answers: list[object] = []

    class Asking(Courier):
        async def document(self, job: Job, path: Path, file_name: str, files: int) -> None:
            answers.append(await export.request_export(uow, clock, A))

    assert isinstance(await export.request_export(uow, clock, A), Queued)
    assert await export.run_due(uow, clock, "w", Asking(), tmp_path, 10**9, "x") == 3
    # Not "still being prepared"; the third delivery's question meets the daily limit.
    assert [type(a) for a in answers] == [Queued, Queued, RateLimited]


async def test_inventory_counts_by_category(uow: UnitOfWorkFactory) -> None:
    await _seed(uow, A, "alpha")
    await _seed(uow, B, "bravo")
    found = await export.inventory(uow, A)
    flat = {t.table: t for tables in found.by_category.values() for t in tables}
    assert flat["ad_accounts"].count == 2 and flat["metrics_daily"].count == 12
    assert flat["metrics_daily"].first == date(2026, 11, 28)
    assert flat["metrics_daily"].last == date(2026, 11, 30)
    assert flat["support_tickets"].count == 1 and "users" not in flat
    assert flat["credentials"].count == 1  # stored (sealed), though never exported
    assert {t.table for t in found.by_category[TABLES["rules"].columns["name"].category]} >= {
        "rules", "templates"}


async def test_download_route_serves_a_valid_link_and_refuses_others(
    uow: UnitOfWorkFactory, engine: AsyncEngine, tmp_path: Path
) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    from bot.i18n import make_i18n
    from bot.web import BotProbe, ExportDeps, build_web_app

    await _seed(uow, A, "alpha")
    clock = FixedClock(NOW)
    assert isinstance(await export.request_export(uow, clock, A), Queued)
    courier = Courier()
    assert await export.run_due(uow, clock, "w", courier, tmp_path, 100, "http://svc") == 1
    token = courier.sent[-1][1].rsplit("/", 1)[1]
    app = build_web_app(engine, BotProbe(None), make_i18n(),  # type: ignore[arg-type]
                        exports=ExportDeps(uow, clock, tmp_path))
    async with TestClient(TestServer(app)) as client:
        resp = await client.get(f"/export/{token}")
        assert resp.status == 200 and resp.headers["Cache-Control"] == "no-store"
        assert zipfile.ZipFile(io.BytesIO(await resp.read())).testzip() is None
        resp = await client.get(f"/export/{token[::-1]}")
        assert resp.status == 404 and "not valid" in await resp.text()
        clock.set(NOW + export.LINK_VALID)
        resp = await client.get(f"/export/{token}", headers={"Accept-Language": "ru"})
        assert resp.status == 410 and "истёк" in await resp.text()
