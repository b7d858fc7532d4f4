"""An injectable clock, so time logic is testable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Tells the current time."""

    def now(self) -> datetime:
        """Now, timezone-aware, UTC."""
        ...


class SystemClock:
    """The real clock, optionally shifted (end-to-end tests and demos travel in time with it)."""

    def __init__(self, offset: timedelta = timedelta(0)) -> None:
        self._offset = offset

    def now(self) -> datetime:
        """Now, timezone-aware, UTC."""
        return datetime.now(UTC) + self._offset


class FixedClock:
    """A clock that only moves when told (tests)."""

    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        """The set time."""
        return self._now

    def set(self, now: datetime) -> None:
        """Move the clock."""
        self._now = now
