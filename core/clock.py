"""An injectable clock, so time logic is testable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol


class Clock(Protocol):
    """Tells the current time."""

    def now(self) -> datetime:
        """Now, timezone-aware, UTC."""
        ...


class SystemClock:
    """The real clock, optionally shifted (end-to-end tests and demos travel in time with it):
    by a fixed offset, plus the seconds written in `offset_file` (re-read when it changes)."""

    def __init__(self, offset: timedelta = timedelta(0), offset_file: str | None = None) -> None:
        self._offset = offset
        self._file = Path(offset_file) if offset_file else None
        self._stamp: float | None = None
        self._extra = timedelta(0)

    def _file_offset(self) -> timedelta:
        assert self._file is not None
        try:
            stamp = self._file.stat().st_mtime
        except FileNotFoundError:
            return timedelta(0)
        if stamp != self._stamp:
            text = self._file.read_text().strip()
            self._extra = timedelta(seconds=float(text or 0))
            self._stamp = stamp
        return self._extra

    def now(self) -> datetime:
        """Now, timezone-aware, UTC."""
        extra = self._file_offset() if self._file is not None else timedelta(0)
        return datetime.now(UTC) + self._offset + extra


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
