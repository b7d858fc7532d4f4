"""The sync tick keeps several due jobs in flight and stops when none is due."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from core import sync
from core.clock import SystemClock
from core.sync import SyncOutcome, drain_due


async def test_drain_runs_every_due_job_with_bounded_concurrency(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    due, in_flight, peak, limits = 20, 0, 0, []

    async def fake_run_due(*args: Any, limit: int = 4, **kwargs: Any) -> list[SyncOutcome]:
        nonlocal due, in_flight, peak
        limits.append(limit)
        if due == 0:
            return []
        due -= 1  # claimed (a lease), then run while waiting on TikTok
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return [SyncOutcome(1, "today", True)]

    monkeypatch.setattr(sync, "run_due", fake_run_due)
    ran = await drain_due(None, SystemClock(), None, "me", concurrency=4)  # type: ignore[arg-type]
    assert ran == 20 and due == 0
    assert peak == 4  # never more than asked for, and that many at once
    assert set(limits) == {1}  # each worker leases only the job it runs


async def test_drain_with_nothing_due_returns_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    async def nothing(*args: Any, **kwargs: Any) -> list[SyncOutcome]:
        return []

    monkeypatch.setattr(sync, "run_due", nothing)
    assert await drain_due(None, SystemClock(), None, "me") == 0  # type: ignore[arg-type]


async def test_a_failing_worker_ends_the_tick_only_after_the_others(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls, finished = 0, 0

    async def flaky(*args: Any, **kwargs: Any) -> list[SyncOutcome]:
        nonlocal calls, finished
        calls += 1
        if calls == 1:
            raise RuntimeError("database gone")
        await asyncio.sleep(0.01)
        finished += 1
        return [SyncOutcome(1, "today", True)] if calls < 6 else []

    monkeypatch.setattr(sync, "run_due", flaky)
    with pytest.raises(RuntimeError):
        await drain_due(None, SystemClock(), None, "me", concurrency=3)  # type: ignore[arg-type]
    assert finished == calls - 1  # nothing of the other workers still running


async def test_a_graceful_stop_claims_no_more_and_the_lease_is_passed_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    due, leases, stop = 20, set(), False

    async def fake_run_due(*args: Any, lease: Any = None, **kwargs: Any) -> list[SyncOutcome]:
        nonlocal due, stop
        leases.add(lease)
        due -= 1
        if due == 15:
            stop = True  # SIGTERM: the jobs in hand finish, no new one is claimed
        await asyncio.sleep(0.01)
        return [SyncOutcome(1, "today", True)]

    monkeypatch.setattr(sync, "run_due", fake_run_due)
    ran = await drain_due(None, SystemClock(), None, "me", concurrency=2,  # type: ignore[arg-type]
                          lease=timedelta(seconds=7), stopping=lambda: stop)
    assert ran == 5 and due == 15
    assert leases == {timedelta(seconds=7)}
