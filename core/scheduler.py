"""The scheduler only ticks (design.md, Scheduling): which work is due is decided by database rows
claimed with leases, so every instance may run the same ticks without doing work twice."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from core.logs import correlation_id, new_correlation_id

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Tick:
    """A coroutine to run every `seconds`."""

    name: str
    seconds: float
    run: Callable[[], Awaitable[object]]


def build_scheduler(ticks: list[Tick]) -> AsyncIOScheduler:
    """An asyncio scheduler running each tick at most once at a time, skipping missed runs."""
    global _stopping
    _stopping = False
    scheduler = AsyncIOScheduler(timezone="UTC")
    for tick in ticks:
        # First run right away (e.g. a purge overdue while the service was down), then every N s.
        scheduler.add_job(_guarded(tick), "interval", seconds=tick.seconds, id=tick.name,
                          max_instances=1, coalesce=True, misfire_grace_time=None,
                          next_run_time=datetime.now(UTC))
    return scheduler


_running: set[asyncio.Task[None]] = set()
_stopping = False


def stopping() -> bool:
    """True once `stop_ticks` began: a tick that loops over due work stops claiming more."""
    return _stopping


async def stop_ticks(scheduler: AsyncIOScheduler, grace: float = 8.0) -> None:
    """Stop ticking and let the ticks that were cut short finish unwinding (their database
    sessions roll back and close), so what runs after — giving leases back — does not wait on
    a write lock they still hold."""
    # No new ticks; the running ones get `grace` seconds to finish their step (a tick cut in the
    # middle of a write can leave SQLite's write lock held until its rollback runs), then the
    # rest are cancelled and given a moment to unwind.
    global _stopping
    _stopping = True
    scheduler.pause()
    pending = [t for t in _running if not t.done()]
    if pending:
        await asyncio.wait(pending, timeout=grace)
    scheduler.shutdown(wait=False)  # cancels what is still running
    pending = [t for t in _running if not t.done()]
    if pending:
        await asyncio.wait(pending, timeout=2)


def _guarded(tick: Tick) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        task = asyncio.current_task()
        if task is not None:
            _running.add(task)
            task.add_done_callback(_running.discard)
        # Each run of a job gets its own correlation id (APScheduler runs it in its own task,
        # so the id does not leak into the next run or another tick).
        correlation_id.set(new_correlation_id(f"t-{tick.name}"))
        try:
            await tick.run()
        except asyncio.CancelledError:  # shutting down mid-tick: its leases simply expire
            log.info("tick.cancelled", extra={"tick": tick.name})
        except Exception:  # a failing tick must not stop the others; it is logged as a bug
            log.exception("tick.failed", extra={"tick": tick.name})
    return run
