"""Settings, privacy, billing and launches on the dashboard: each change goes through the chat's
use-case (audited), in the reader's language and time zone; export downloaded from the page;
deletion with the chat's typed word; the plan's invoice goes to the chat, not a web payment."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

from aiohttp.test_utils import TestClient

from core.privacy import export
from core.privacy.export import FileEntry, Job
from tests.web.conftest import Dash, Invoices, csrf_of


async def _user(dash: Dash, user_id: int):  # type: ignore[no-untyped-def]
    async with dash.uow() as u:
        return await u.users.get(user_id)


async def _post(client: TestClient, url: str, **form: str) -> tuple[int, str, str]:
    resp = await client.post(url, data={"_csrf": await csrf_of(client), **form},
                             allow_redirects=False)
    return resp.status, resp.headers.get("Location", ""), await resp.text()


async def test_settings_change_through_the_chats_use_cases(dash: Dash) -> None:
    me = dash.mine.user_id
    client = await dash.client(me)
    page = await (await client.get("/app/settings")).text()
    assert "Europe/Berlin" in page or "Berlin" in page
    assert 'data-feature="comments" data-on="no"' in page

    status, to, _ = await _post(client, "/app/settings/zone", zone="UTC", typed="Tokyo")
    assert status == 303 and to.endswith("said=saved")
    assert (await _user(dash, me)).time_zone == "Asia/Tokyo"
    status, _, body = await _post(client, "/app/settings/zone", typed="Atlantis")
    assert status == 422 and 'id="zone-error"' in body and "recognise" in body
    assert (await _user(dash, me)).time_zone == "Asia/Tokyo"

    await _post(client, "/app/settings/quiet", quiet="22-8")
    await _post(client, "/app/settings/news", news="on")
    await _post(client, "/app/settings/feature", feature="comments", turn="on")
    status, _, body = await _post(client, "/app/settings/email", email="not an email")
    assert status == 422 and 'id="email-error"' in body
    await _post(client, "/app/settings/email", email="Ann@Example.com")
    user = await _user(dash, me)
    assert (user.quiet_from, user.quiet_to, user.marketing_opt_in) == (22, 8, True)
    assert user.features == "comments" and user.email == "Ann@example.com"
    assert (await _post(client, "/app/settings/feature", feature="root", turn="on"))[0] == 422

    # Language: the next page, and the chat's texts on it, in Russian.
    await _post(client, "/app/settings/language", language="ru")
    page = await (await client.get("/app/settings")).text()
    assert "Настройки" in page and "Часовой пояс" in page and 'lang="ru"' in page
    async with dash.uow() as u:
        actions = {e.action for e in await u.audit.for_target("user", me)}
    assert {"user.time_zone", "user.quiet_hours", "user.marketing", "user.feature",
            "user.email", "user.language"} <= actions


class Courier:
    """The chat's courier: a page's export must not reach it."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def texts(self, job: Job) -> object:
        class Texts:
            def daily_header(self) -> list[str]:
                return ["day"]

            def hourly_header(self) -> list[str]:
                return ["hour"]

            def readme(self, files: list[FileEntry], generated_at: datetime) -> str:
                return "readme"

        return Texts()

    async def progress(self, job: Job, done: int, total: int) -> None:
        # A page's export has no chat message to edit.
        assert job.progress_message_id is None or not job.web

    async def document(self, job: Job, path: Path, file_name: str, files: int) -> None:
        self.sent.append("document")

    async def link(self, job: Job, url: str, expires_at: datetime, size: int) -> None:
        self.sent.append("link")

    async def failed(self, job: Job) -> None:
        self.sent.append("failed")


async def test_export_from_the_page_is_built_by_the_worker_and_downloaded(
    dash: Dash, tmp_path: Path
) -> None:
    me = dash.mine.user_id
    client = await dash.client(me)
    status, to, _ = await _post(client, "/app/privacy/export")
    assert status == 303 and to.endswith("said=queued")
    page = await (await client.get("/app/privacy")).text()
    assert 'data-poll="/app/privacy/export.json"' in page and "/app/static/poll.js" in page
    assert (await (await client.get("/app/privacy/export.json")).json())["final"] is False
    # One at a time, as in the chat.
    status, _, body = await _post(client, "/app/privacy/export")
    assert status == 409 and 'id="notice"' in body

    courier = Courier()
    folder = tmp_path / "exports"
    assert await export.run_due(dash.uow, dash.clock, "w", courier, folder, 10**9,
                                "http://x") == 1
    assert courier.sent == []  # kept for the page, not sent into the chat
    state = await (await client.get("/app/privacy/export.json")).json()
    assert state["final"] is True and state["state"] == "sent"
    page = await (await client.get("/app/privacy")).text()
    found = re.search(r'href="(/app/privacy/export/(\d+))" id="export-download"', page)
    assert found is not None
    resp = await client.get(found[1])
    assert resp.status == 200 and resp.headers["Content-Type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(await resp.read())).namelist()
    assert "README.txt" in names and any(n.startswith("automation") for n in names)
    # Another user cannot fetch it; after 24 hours it is gone.
    other = await dash.client(dash.other.user_id)
    assert (await other.get(found[1])).status == 404
    dash.clock.set(dash.clock.now() + timedelta(hours=24, seconds=1))
    assert (await client.get(found[1])).status == 410
    # One asked for in the chat goes there, as always; the page says so.
    assert isinstance(await export.request_export(dash.uow, dash.clock, me, 7), export.Queued)
    assert await export.run_due(dash.uow, dash.clock, "w", courier, folder, 10**9,
                                "http://x") == 1
    assert courier.sent == ["document"]
    assert 'data-state="chat"' in await (await client.get("/app/privacy")).text()


async def test_delete_needs_the_exact_word_in_time_then_signs_out(dash: Dash) -> None:
    me = dash.mine.user_id
    client = await dash.client(me)
    page = await (await client.get("/app/privacy/delete")).text()
    asked = re.search(r'name="asked" value="(\d+)"', page)
    sig = re.search(r'name="sig" value="([0-9a-f]+)"', page)
    assert asked and sig and "DELETE" in page

    async def confirm(word: str, when: str = asked[1], signed: str = sig[1]) -> tuple[int, str]:
        status, _, body = await _post(client, "/app/privacy/delete", word=word, asked=when,
                                      sig=signed)
        return status, body

    status, body = await confirm("delete")
    assert status == 422 and "Nothing was deleted" in body
    status, body = await confirm("DELETE", when=str(int(asked[1]) + 3600))  # moved: refused
    assert status == 422 and "too late" in body
    dash.clock.set(dash.clock.now() + timedelta(minutes=11))
    status, body = await confirm("DELETE")
    assert status == 422 and "too late" in body
    assert (await _user(dash, me)) is not None

    page = await (await client.get("/app/privacy/delete")).text()
    asked = re.search(r'name="asked" value="(\d+)"', page)
    sig = re.search(r'name="sig" value="([0-9a-f]+)"', page)
    assert asked and sig
    status, body = await confirm("DELETE", asked[1], sig[1])
    assert status == 200 and "Your account is deleted" in body
    async with dash.uow() as u:
        gone = await u.users.get_any(me)
    assert gone is not None and gone.deleted_at is not None
    assert "Open the dashboard from the bot" in await (await client.get("/app/")).text()


async def test_deleting_on_the_web_drops_the_conversation_state_in_redis(dash: Dash) -> None:
    """The erasure deletes the database's conversation state; with REDIS_URL it lives in Redis,
    which only the bot can reach: the page's deletion clears it as the chat's does (a half-typed
    tracker with its sealed key included), not left there for good."""
    from aiogram.fsm.storage.base import StorageKey
    from aiogram.fsm.storage.redis import DefaultKeyBuilder, RedisStorage
    from aiohttp import CookieJar, web
    from aiohttp.test_utils import TestServer

    from bot.app import chat_forgetter
    from bot.i18n import make_i18n
    from core import web_auth
    from tests.services import REDIS_URL, redis_client
    from tests.web.conftest import TOKEN
    from web.app import mount
    from web.deps import WebDeps

    await (await redis_client()).aclose()  # skipped (or failed in CI) without Redis
    storage = RedisStorage.from_url(REDIS_URL, key_builder=DefaultKeyBuilder(with_bot_id=True))
    me, bot_id = dash.mine.user_id, int(TOKEN.split(":")[0])
    key = StorageKey(bot_id=bot_id, chat_id=me, user_id=me)
    await storage.set_state(key, "TrackerForm:key")
    await storage.set_data(key, {"trk_draft": {"kind": "keitaro", "key": "sealed-key"}})
    app = web.Application()
    mount(app, WebDeps(dash.uow, dash.clock, make_i18n(), TOKEN, "http://127.0.0.1",
                       forget_chat=chat_forgetter(storage, bot_id)))
    client = TestClient(TestServer(app), cookie_jar=CookieJar(unsafe=True))
    await client.start_server()
    try:
        token = await web_auth.issue_link(dash.uow, dash.clock, me)
        await client.get(f"/app/signin/{token}")
        page = await (await client.get("/app/privacy/delete")).text()
        asked = re.search(r'name="asked" value="(\d+)"', page)
        sig = re.search(r'name="sig" value="([0-9a-f]+)"', page)
        assert asked and sig
        status, _, body = await _post(client, "/app/privacy/delete", word="DELETE",
                                      asked=asked[1], sig=sig[1])
        assert status == 200 and "Your account is deleted" in body
        assert await storage.get_state(key) is None and await storage.get_data(key) == {}
    finally:
        await client.close()
        await storage.close()


async def test_pause_and_resume_through_the_chats_use_case(dash: Dash) -> None:
    me = dash.mine.user_id
    client = await dash.client(me)
    assert 'data-paused="no"' in await (await client.get("/app/privacy")).text()
    status, to, _ = await _post(client, "/app/privacy/pause")
    assert status == 303 and "said=paused" in to
    page = await (await client.get("/app/privacy")).text()
    assert 'data-paused="yes"' in page and "Resume your account?" in page
    assert (await _user(dash, me)).paused_at is not None
    await _post(client, "/app/privacy/resume")
    assert (await _user(dash, me)).paused_at is None
    async with dash.uow() as u:
        actions = [e.action for e in await u.audit.for_target("user", me)]
    assert actions.count("privacy.paused") == 1 and actions.count("privacy.resumed") == 1


async def test_activity_is_the_users_own_paged_in_their_zone(dash: Dash) -> None:
    me = dash.mine.user_id
    async with dash.uow() as u:
        for n in range(25):
            u.audit.record(me, "privacy.export_requested", "export", n)
        u.audit.record(dash.other.user_id, "privacy.paused", "user", dash.other.user_id)
        await u.commit()
    client = await dash.client(me)
    first = await (await client.get("/app/privacy/activity")).text()
    assert first.count("Data export requested") == 20 and "Account paused" not in first
    assert "Page 1 of 2" in first and 'id="next"' in first
    second = await (await client.get("/app/privacy/activity?page=1")).text()
    assert "Signed up" in second and 'id="prev"' in second


async def test_billing_shows_plan_usage_and_sends_the_invoice_to_the_chat(
    dash: Dash, invoices: Invoices
) -> None:
    client = await dash.client(dash.mine.user_id)
    page = await (await client.get("/app/billing")).text()
    assert "Plan:" in page and "Rules switched on: 1 of" in page and "No payments yet." in page
    buy = re.search(r'name="plan" value="(\w+)">\s*<input type="hidden" name="days" '
                    r'value="(\d+)">\s*<input type="hidden" name="r" value="(\d)">', page)
    assert buy is not None
    status, to, _ = await _post(client, "/app/billing/buy", plan=buy[1], days=buy[2], r=buy[3])
    assert status == 303 and to.endswith("said=sent")
    assert invoices.sent == [(dash.mine.user_id, buy[1], int(buy[2]), buy[3] == "1")]
    page = await (await client.get(to)).text()
    assert 'data-said="sent"' in page and "Telegram Stars" in page
    assert 'id="renewal"' not in page  # no subscription: nothing to cancel
    # Renewal is Telegram's to change: asked through the bot, its answer shown.
    status, _, page = await _post(client, "/app/billing/renewal", cancel="1")
    assert status == 200 and "You have <b>no</b> subscription that renews." in page
    assert invoices.sent[-1] == (dash.mine.user_id, "renewal", 0, True)


async def test_launch_pages_approve_once_and_progress(dash: Dash) -> None:
    mine = dash.mine
    client = await dash.client(mine.user_id)
    page = await (await client.get("/app/launches")).text()
    assert "Glow traffic" in page and f'data-launch="{mine.launch_id}"' in page
    page = await (await client.get(f"/app/launches/{mine.launch_id}")).text()
    assert 'id="approve"' in page and "Glowly · plan" in page
    status, to, _ = await _post(client, f"/app/launches/{mine.launch_id}/approve")
    assert status == 303 and to.endswith("said=approved")
    page = await (await client.get(to)).text()
    assert f'data-poll="/app/launches/{mine.launch_id}/progress.json"' in page
    assert 'id="approve"' not in page
    progress = await (await client.get(f"/app/launches/{mine.launch_id}/progress.json")).json()
    assert progress == {"state": "approved", "done": 0, "total": 1, "created": 0, "failed": 0,
                        "final": False}
    _, to, _ = await _post(client, f"/app/launches/{mine.launch_id}/approve")
    assert to.endswith("said=decided")  # pressed twice (or in the chat): decided once
    # Nothing picked: said next to the form, nothing proposed.
    status, _, body = await _post(client, "/app/launches/plan", template=str(mine.template_id))
    assert status == 422 and 'id="launch-error"' in body
