"""A scheduler tick's rule alerts: one batch per tick, held until the tick ends, so a chat gets
one digest per tick, not one per rule run (issue 11)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.clock import Clock
from storage.uow import UnitOfWorkFactory

# Which property stays exactly-once, and why it survives a crash:
# - Each rule run still writes its alerts (one per action, or one per run) in the transaction
#   that finishes the run, under dedup keys of that run: writing stays exactly-once, as before.
# - The tick only adds a batch name and holds its alerts until the tick is over (`release`), so
#   a chat's alerts of one tick are due together. A crash before the release delays them to
#   `held_until` (a few minutes), never loses them; a tick that outlasts the hold sends what is
#   due so far as one message and the rest as another.
# - Merging is the notifier's, at send time (storage.repos.outbox `absorb`): in the transaction
#   that marks the leader as sending, the others are stamped `merged_into` the leader, so the
#   set one message carries is fixed before it is sent and none is ever claimed alone again; a
#   crash after the send re-renders the same set, which the notifier's probe recognises.
# Approvals are held only until the tick ends (seconds), never by quiet hours.
TICK_HOLD = timedelta(minutes=5)


@dataclass(frozen=True)
class Tick:
    """One scheduler tick (or one "Run now"): the batch its rule alerts share."""

    batch: str
    held_until: datetime

    @staticmethod
    def start(now: datetime, lease: timedelta = TICK_HOLD) -> Tick:
        """A new tick starting `now` (a random tail: instances may tick at the same moment).

        Its alerts are held no longer than the rules' `lease`: a crashed tick's alerts then go
        out by the time its rules are another worker's, not minutes after."""
        hold = min(TICK_HOLD, lease)
        return Tick(f"{now:%Y%m%d%H%M%S}-{secrets.token_hex(8)}", now + hold)

    def hold(self, quiet: datetime | None) -> datetime:
        """When an alert of this tick may go: at the tick's end (release), or later still when
        quiet hours hold it (just past `held_until`, so the release leaves it alone)."""
        if quiet is None or quiet <= self.held_until:
            return self.held_until if quiet is None else self.held_until + timedelta(seconds=1)
        return quiet

    async def release(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        """The tick is over: its held alerts are due now."""
        async with uow() as u:
            await u.outbox.release_batch(self.batch, self.held_until, clock.now())
            await u.commit()

