"""The dashboard in-process (aiohttp's test server) on a migrated database with seeded data."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import CookieJar, web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.i18n import make_i18n
from core import web_auth
from core.billing.plans import PlanBook
from core.clock import FixedClock
from storage.db import session_factory
from storage.models import User
from storage.uow import UnitOfWorkFactory
from storage.vault import Vault, generate_key_entry, parse_keyring
from tests.web.browser import Browser, require_chromium
from tests.web.seed import NOW, Seeded, seed
from web.app import mount
from web.deps import WebDeps

TOKEN = "7100000001:WebTestToken"
SCREENSHOTS: list[Path] = []  # folders the browser tests wrote their screenshots to
CSRF = re.compile(r'<meta name="csrf-token" content="([0-9a-f]*)">')


class NoTikTok:
    """A changer (and TikTok client) that must never be reached (the refusals come before any
    TikTok call)."""

    async def read(self, *_: object) -> object:
        raise AssertionError("TikTok was called")

    async def apply(self, *_: object) -> object:
        raise AssertionError("TikTok was called")


@dataclass
class Dash:
    """The running dashboard, its data and a way to sign clients in."""

    uow: UnitOfWorkFactory
    clock: FixedClock
    server: TestServer
    mine: Seeded
    other: Seeded
    clients: list[TestClient] = field(default_factory=list)

    async def client(self, user_id: int | None = None) -> TestClient:
        """A browser; signed in as `user_id` by a one-time link when given."""
        client = TestClient(self.server, cookie_jar=CookieJar(unsafe=True))
        await client.start_server()
        self.clients.append(client)
        if user_id is not None:
            token = await web_auth.issue_link(self.uow, self.clock, user_id)
            resp = await client.get(f"/app/signin/{token}", allow_redirects=True)
            assert resp.status == 200, await resp.text()
        return client


async def csrf_of(client: TestClient) -> str:
    """The CSRF token the pages put in their forms."""
    resp = await client.get("/app/approvals")
    found = CSRF.search(await resp.text())
    assert found is not None and found[1]
    return found[1]


@pytest.fixture
def changer() -> object:
    """The dashboard's TikTok changer (a test module overrides it with one that works)."""
    return NoTikTok()


class Invoices:
    """The bot's side of the billing page's Buy buttons: what was asked for, in order."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str, int, bool]] = []

    async def send(self, user: User, plan: str, days: int, recurring: bool) -> str:
        self.sent.append((user.id, plan, days, recurring))
        return "sent"

    async def renewal(self, user: User, cancel: bool) -> str:
        self.sent.append((user.id, "renewal", 0, cancel))
        return "You have <b>no</b> subscription that renews."


@pytest.fixture
def invoices() -> Invoices:
    return Invoices()


@pytest.fixture
async def dash(engine: AsyncEngine, changer: object, invoices: Invoices,
               tmp_path: Path) -> AsyncIterator[Dash]:
    uow = UnitOfWorkFactory(session_factory(engine), Vault(parse_keyring(generate_key_entry("k"))))
    clock = FixedClock(NOW)
    mine, other = await seed(uow, 501), await seed(uow, 502)
    app = web.Application()
    mount(app, WebDeps(uow, clock, make_i18n(), TOKEN, "http://127.0.0.1",  # type: ignore[arg-type]
                       changer=changer, plans=PlanBook(), tiktok=NoTikTok(),  # type: ignore[arg-type]
                       export_dir=tmp_path / "exports", invoice=invoices.send,
                       renewal=invoices.renewal))
    server = TestServer(app)
    await server.start_server()
    running = Dash(uow, clock, server, mine, other)
    yield running
    for client in running.clients:
        await client.close()
    await server.close()


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run's screenshot folder, one for every browser test (named in the run's summary)."""
    folder = tmp_path_factory.mktemp("dashboard-screenshots")
    SCREENSHOTS.append(folder)
    return folder


@pytest.fixture
async def browser(tmp_path: Path, shots: Path) -> AsyncIterator[Browser]:
    """A headless chromium writing its screenshots to `shots` (skipped without chromium)."""
    require_chromium()
    b = await asyncio.to_thread(Browser, tmp_path / "chromium-profile", shots)
    yield b
    await b.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Name the screenshot folder at the end of the run, where a reviewer looks."""
    for folder in SCREENSHOTS:
        terminalreporter.write_line(f"dashboard screenshots (phone 390 px, desktop 1280 px): "
                                    f"{folder}")
