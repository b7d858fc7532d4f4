"""Lease takeovers: a claim that finds a lease expired in another worker's hands.

A worker gives its leases back when it stops cleanly (`lease_until` set to NULL), so a due row
whose `lease_until` is set but past was held by a worker that died or stalled: claiming it is a
takeover. Claims report them here; the service listens (core/observe.py wires the hook), since
storage imports nothing above it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, update
from sqlalchemy.ext.asyncio import AsyncSession

_hooks: list[Callable[[str, int], None]] = []


def on_takeover(hook: Callable[[str, int], None]) -> None:
    """Call `hook(kind, count)` after each claim that took over expired leases (replaces any
    earlier hook: one service per process)."""
    _hooks[:] = [hook]


def report(kind: str, count: int) -> None:
    """Tell the hook about `count` takeovers of `kind` (nothing when none)."""
    if count <= 0:
        return
    for hook in _hooks:
        hook(kind, count)


async def claim_ids(
    session: AsyncSession,
    model: Any,
    pick: Select[Any],
    free: ColumnElement[bool],
    values: dict[str, Any],
    kind: str,
) -> list[int]:
    """Lease the rows `pick` selects (`model.id, model.lease_until`, locked with SKIP LOCKED
    on PostgreSQL), repeating `free` in the update so the claim stays atomic on SQLite, and
    report those taken over from an expired lease. Returns the ids claimed."""
    found: Sequence[Any] = (await session.execute(pick)).all()
    if not found:
        return []
    expired = {row[0] for row in found if row[1] is not None}
    ids = list(
        await session.scalars(
            update(model)
            .where(model.id.in_([row[0] for row in found]), free)
            .values(**values)
            .returning(model.id)
            # Only columns were read: no loaded object in the session needs refreshing.
            .execution_options(synchronize_session=False)
        )
    )
    report(kind, len(expired.intersection(ids)))
    return ids


def expired_before(lease_until: datetime | None, now: datetime) -> bool:
    """Whether a lease was set and has lapsed at `now`."""
    return lease_until is not None and lease_until < now
