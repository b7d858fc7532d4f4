"""Shared fixtures: the database backends every storage test runs on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import create_engine
from storage.migrate import upgrade
from tests.services import fresh_postgres


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own hook reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`--dist loadgroup`), the end-to-end tests run one after another in
    one worker: each starts the service, the sandbox and the emulators, and several at once on
    two cores starve their timeouts. The other tests spread over the remaining workers."""
    for item in items:
        if item.path.parts[-2:-1] == ("e2e",):
            item.add_marker(pytest.mark.xdist_group("e2e"))


@pytest.fixture(params=["sqlite", "postgres"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database URL, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/ttpulse.db"
        return
    async with fresh_postgres() as url:
        yield url


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on a freshly migrated database."""
    eng = create_engine(db_url)
    await upgrade(eng)
    yield eng
    await eng.dispose()
