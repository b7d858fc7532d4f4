"""The emulator's clock: "now" for delivery, tokens and auth codes, settable and advanceable."""

from __future__ import annotations

import time
from datetime import UTC, datetime


class EmulatorClock:
    """Wall time plus an offset, or a frozen instant; facts after now() do not exist."""

    def __init__(self, start: datetime | None = None, ticking: bool | None = None) -> None:
        """Start at ``start`` (default: the wall clock); frozen when a start is given."""
        self.ticking = (start is None) if ticking is None else ticking
        self._base = (start or datetime.now(UTC)).timestamp()
        self._wall_at_base = time.time()
        self.epoch = 0

    def timestamp(self) -> float:
        """Now as Unix seconds."""
        if self.ticking:
            return self._base + (time.time() - self._wall_at_base)
        return self._base

    def now(self) -> datetime:
        """Now as an aware UTC datetime."""
        return datetime.fromtimestamp(self.timestamp(), UTC)

    def set(self, when: datetime, ticking: bool | None = None) -> None:
        """Jump to ``when`` (naive values are taken as UTC)."""
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        self._base = when.timestamp()
        self._wall_at_base = time.time()
        self.epoch += 1
        if ticking is not None:
            self.ticking = ticking

    def advance(self, seconds: float) -> None:
        """Move forward (or back, with a negative value) by ``seconds``."""
        self._base = self.timestamp() + seconds
        self._wall_at_base = time.time()
        self.epoch += 1
