"""The sandbox server's clock: real time plus an offset, for subscription periods in tests."""

from __future__ import annotations

import math
import os
import time


class SandboxClock:
    """Real time shifted by a settable offset plus the seconds in `offset_file`, if any.

    The file is the one the TTPulse service reads through CLOCK_OFFSET_FILE (core/clock.py),
    so a demo or an end-to-end test that writes it moves both clocks; it is re-read whenever
    it changes. POST /_sandbox/clock moves only this clock (its own part of the offset)."""

    def __init__(self, offset_file: str | None = None) -> None:
        self.offset_file = offset_file or None
        self._own = 0.0
        self._file_stamp: tuple[int, int] | None = None
        self._file_value = 0.0

    def file_offset(self) -> float:
        """Seconds written in the offset file (0 without one, or while it is missing)."""
        if self.offset_file is None:
            return 0.0
        try:
            info = os.stat(self.offset_file)
        except OSError:
            self._file_stamp, self._file_value = None, 0.0
            return 0.0
        stamp = (info.st_mtime_ns, info.st_size)
        if stamp != self._file_stamp:
            self._file_stamp = stamp
            try:
                with open(self.offset_file, encoding="utf-8") as fh:
                    value = float(fh.read().strip() or 0)
            except (OSError, ValueError):
                # Half-written or garbled: keep the last good value, re-read on the next change.
                return self._file_value
            if math.isfinite(value):
                self._file_value = value
        return self._file_value

    def offset(self) -> float:
        """Total offset from real time, in seconds."""
        return self._own + self.file_offset()

    def time(self) -> float:
        """Now, as a Unix timestamp with a fraction."""
        return time.time() + self.offset()

    def now(self) -> int:
        """Now, as the integer Unix time Telegram puts in `date` fields."""
        return int(self.time())

    def advance(self, seconds: float) -> None:
        """Move the clock by `seconds` (negative goes back)."""
        self._own += seconds

    def set_offset(self, seconds: float) -> None:
        """Make the total offset `seconds` (the file's part stays as written)."""
        self._own = seconds - self.file_offset()

    def reset(self) -> None:
        """Drop the offset set through the control API (the file's part stays)."""
        self._own = 0.0
