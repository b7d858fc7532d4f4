"""/mydata and /export through the real service: what is stored is listed with counts, the ZIP
arrives as a document with every kind of data of the user (and none of another user's), one
export at a time and three a day; over the upload limit a download link works over HTTP and a
forged one does not."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest

from core.periods import local_today
from core.templates.document import to_document
from core.tiktok import ReportLevel
from sandbox.telegram.driver import ChatUser, MessageView, SandboxClient
from sandbox.tiktok.server import RunningEmulator
from tests.e2e.harness import ADMIN_ID, ServiceProcess, generous_plans, sign_up
from tests.e2e.test_rules import tap
from tests.e2e.test_stats import connected_and_synced, tiktok_spend
from tests.unit.test_templates import make_template

RULE = "campaign: spend >= 20 in 3d and conversions = 0 in 3d -> pause"  # canonical


@pytest.fixture
def service_env(tmp_path: Path) -> dict[str, str]:
    """Every ad account of the login tracked (and exported), beyond Free's limit."""
    return generous_plans(tmp_path)


async def _fill(user: ChatUser) -> None:
    """A rule (typed), a template (imported) and a support ticket."""
    await user.send("/rules")
    await user.expect("Rules")
    await tap(user, "⌨️ Type a rule", "Send the rule as one line")
    await user.send(RULE)
    await user.expect("New rule")
    await tap(user, "💾 Save", "🤖 Rule — ⏸ off")
    await user.send("/templates")
    await user.expect("Templates")
    await tap(user, "📥 Import", "Send the template's JSON file")
    await user.send(json.dumps(to_document(make_template())))
    await user.expect("Imported as «Glowly conversions»")
    await user.send("/support")
    await user.expect("Describe your question")
    await user.send("Where is my export, alpha-question?")
    await user.expect("is open")


async def _zip_of(sandbox: SandboxClient, doc: MessageView) -> zipfile.ZipFile:
    assert doc.file is not None and doc.file["file_name"].endswith(".zip")
    return zipfile.ZipFile(io.BytesIO(await sandbox.download(doc.file["download_path"])))


async def test_mydata_export_document_one_at_a_time_then_a_link(
    service: ServiceProcess, sandbox: SandboxClient, tiktok: RunningEmulator
) -> None:
    await sandbox.user(ADMIN_ID, first_name="Op", language_code="en")  # tickets reach them
    stranger = await sandbox.user(733, language_code="en")
    for command in ("/mydata", "/export"):
        await stranger.send(command)
        await stranger.expect("Please send /start to sign up first.")
    other = await sandbox.user(732, first_name="Bob", language_code="en")
    await sign_up(other, email="bob-only@example.com")
    await other.send("/support")
    await other.expect("Describe your question")
    await other.send("bravo-secret question")
    await other.expect("is open")

    user = await sandbox.user(731, first_name="Ann", language_code="en")
    await connected_and_synced(user)
    await _fill(user)

    await user.send("/mydata")
    shown = await user.expect("Your data")
    for line in ("TikTok connections: 1", "ad accounts: 3", "rules: 1", "templates: 1",
                 "support tickets: 1", "Terms of Use (version", "News and offers: never given",
                 "daily statistics rows: "):
        assert line in shown.text, (line, shown.text)
    assert shown.button_labels() == ["📦 Export"]

    # /export from the button, and at once again: one at a time.
    await user.press("📦 Export")
    progress = await user.expect("Preparing your export")
    await user.send("/export")
    await user.expect("still being prepared — one at a time")
    doc = await user.wait_for(lambda m: m.kind == "document", timeout=60)
    assert "README.txt explains each" in doc.text
    done = await user.wait_for(lambda m: m.message_id == progress.message_id
                               and "Your export is ready" in m.text)
    assert done.edit_count >= 2  # progress shown, then the result

    archive = await _zip_of(sandbox, doc)
    names = archive.namelist()
    for name in ("identity.json", "consent.json", "ad_data.json", "automation.json",
                 "support.json", "audit.json", "README.txt"):
        assert name in names, (name, names)
    readme = archive.read("README.txt").decode()
    assert all(n in readme for n in names)
    ad_data = json.loads(archive.read("ad_data.json"))
    assert len(ad_data["tables"]["ad_accounts"]) == 3
    support = json.loads(archive.read("support.json"))
    assert support["tables"]["support_messages"][0]["text"] == "Where is my export, alpha-question?"
    [rule_file] = [n for n in names if n.startswith("rules/")]
    assert json.loads(archive.read(rule_file))["text"] == RULE
    [tpl_file] = [n for n in names if n.startswith("templates/")]
    assert json.loads(archive.read(tpl_file)) == to_document(make_template())
    blob = b"".join(archive.read(n) for n in names)
    assert b"bravo-secret" not in blob and b"bob-only@example.com" not in blob
    assert b'"id": 732' not in blob

    # Every account's statistics: yesterday's spend equals TikTok's own report.
    now = datetime.now(UTC)
    for advertiser_id in tiktok.state.users[tiktok.state.default_login].advertiser_ids:
        adv = tiktok.state.advertisers[advertiser_id]
        [stats] = [n for n in names if n.startswith(f"stats/{advertiser_id}_")
                   and not n.endswith("_hourly.csv")]
        rows = list(csv.DictReader(io.StringIO(archive.read(stats).decode("utf-8-sig"))))
        day = local_today(now, adv.timezone) - timedelta(days=1)
        [spend] = (await tiktok_spend(tiktok, advertiser_id, ReportLevel.ADVERTISER, day,
                                      day)).values()
        [line] = [r for r in rows if r["level"] == "advertiser" and r["date"] == day.isoformat()]
        assert Decimal(line["spend"]) == spend and line["currency"] == adv.currency

    # Over the upload limit: a link, valid over HTTP; a forged one is not.
    service.env["EXPORT_UPLOAD_LIMIT_BYTES"] = "1000"
    await service.restart()
    await user.send("/export")
    linked = await user.wait_for(lambda m: any(b.url and "/export/" in b.url
                                               for row in m.buttons for b in row), timeout=60)
    assert "do not share it" in linked.text
    [url] = [b.url for row in linked.buttons for b in row if b.url]
    assert url is not None and url.startswith(service.url)
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"] == "application/zip"
            fetched = zipfile.ZipFile(io.BytesIO(await resp.read()))
        forged = url[:-4] + ("aaaa" if not url.endswith("aaaa") else "bbbb")
        async with http.get(forged) as resp:
            assert resp.status == 404
    assert set(fetched.namelist()) == set(names)
    for same in (rule_file, tpl_file, "support.json"):
        assert fetched.read(same) == archive.read(same)

    # The third export of the day is the last one.
    await user.send("/export")
    await user.wait_for(lambda m: m.seq > linked.seq and any(
        b.url and "/export/" in b.url for row in m.buttons for b in row), timeout=60)
    await user.send("/export")
    await user.expect("You can ask for 3 exports in 24 hours")
