"""What the core tells an operator about itself, without knowing who listens.

Core stays framework-free: it reports events (an outgoing call and its code, a wait for a rate
limit, a rule run, a lease taken over) to the installed `Observer`, a no-op until the service
installs one (bot/metrics.py wires it to Prometheus). Gauges that the database already knows
(outbox depth, sync lag, launch items) are not events: `snapshot` reads them when scraped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from storage import leases
from storage.uow import UnitOfWorkFactory


class Observer(Protocol):
    """Receives the core's events; implementations must be cheap and never raise."""

    def call(self, service: str, endpoint: str, code: str, seconds: float) -> None:
        """One attempt of an outgoing call (`service`: tiktok or a tracker kind)."""

    def waited(self, limiter: str, seconds: float) -> None:
        """Time spent waiting for a rate-limit slot or a server's Retry-After."""

    def rule_run(self, outcome: str) -> None:
        """A rule run ended: ok, stale or error."""

    def rule_action(self, outcome: str) -> None:
        """A rule action's state at the end of its run (applied, proposed, failed, …)."""

    def lease_takeover(self, kind: str, count: int) -> None:
        """`count` leases of `kind` claimed after they expired in another worker's hands."""


class NullObserver:
    """Drops every event (tests, tools, and the service before it installs its own)."""

    def call(self, service: str, endpoint: str, code: str, seconds: float) -> None:
        """Ignore."""

    def waited(self, limiter: str, seconds: float) -> None:
        """Ignore."""

    def rule_run(self, outcome: str) -> None:
        """Ignore."""

    def rule_action(self, outcome: str) -> None:
        """Ignore."""

    def lease_takeover(self, kind: str, count: int) -> None:
        """Ignore."""


_current: Observer = NullObserver()


def install(observer: Observer) -> None:
    """Send the core's events (and storage's lease takeovers) to `observer`."""
    global _current
    _current = observer
    leases.on_takeover(observer.lease_takeover)


def current() -> Observer:
    """The installed observer (a NullObserver when none is)."""
    return _current


@dataclass(frozen=True)
class Snapshot:
    """Gauges read from the database: the same from whichever instance is scraped."""

    outbox_depth: int
    outbox_oldest_age_s: float
    launch_items: dict[str, int] = field(default_factory=dict)
    # Per tracked ad account on a live connection: now − its last successful sync of today's
    # numbers (never synced: since the account was added).
    sync_lags_s: list[float] = field(default_factory=list)


async def snapshot(uow: UnitOfWorkFactory, now: datetime) -> Snapshot:
    """Read the database-derived gauges in one short read-only transaction."""
    async with uow() as u:
        depth, oldest = await u.ops.outbox_backlog(now)
        items = await u.ops.launch_items_by_state()
        lags = await u.ops.sync_lags(now)
    age = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
    return Snapshot(depth, age, items, [max(0.0, s) for s in lags])
