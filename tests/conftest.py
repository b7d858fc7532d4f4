"""Shared fixtures: the database backends every storage test runs on."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import create_engine
from storage.migrate import upgrade
from tests.services import fresh_postgres

# End-to-end tests start the service, the sandbox and the emulators; all of them at once on two
# cores starve their timeouts, one after another they were the whole suite's length (~15 min).
# They run in E2E_LANES lanes (default 2), a file always in one lane.
E2E_LANES = max(1, int(os.environ.get("E2E_LANES", "2")))


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own hook reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`--dist loadgroup`), each lane of end-to-end tests (tests/e2e and
    the modules marked `e2e`) runs one test at a time in one worker; the files are dealt to
    the lanes by their number of tests, largest first, so the lanes end together. The other
    tests spread over the remaining workers."""
    files: dict[Path, list[pytest.Item]] = {}
    for item in items:
        if item.path.parts[-2:-1] == ("e2e",) or item.get_closest_marker("e2e"):
            files.setdefault(item.path, []).append(item)
    load = [0] * E2E_LANES
    for _path, tests in sorted(files.items(), key=lambda f: (-len(f[1]), str(f[0]))):
        lane = load.index(min(load))
        load[lane] += len(tests)
        for item in tests:
            item.add_marker(pytest.mark.xdist_group(f"e2e{lane}"))


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
