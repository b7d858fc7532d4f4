"""Structured logging: one event per line, JSON when configured, secrets masked everywhere."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from contextvars import ContextVar
from datetime import UTC, datetime
from secrets import token_hex
from typing import Any

# Bot tokens are recognisable even when not configured here (e.g. inside an aiogram URL).
_BOT_TOKEN = re.compile(r"(?<![0-9])\d{5,}:[A-Za-z0-9_-]{20,}")
_STD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
MASK = "***"

# The correlation id of the work in progress: an update (`u<update_id>`), a scheduler tick's run
# (`t-<tick>-<random>`). Set at the start of that work; every log line written under it (the
# use-case's, its TikTok and tracker calls') carries it as `cid`. A ContextVar follows awaits
# and is copied into tasks started from there, so concurrent updates never mix their ids.
correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)


def new_correlation_id(prefix: str) -> str:
    """A fresh id for a piece of work that has none of its own (a tick's run)."""
    return f"{prefix}-{token_hex(4)}"


class CorrelationFilter(logging.Filter):
    """Adds the current correlation id to every record as `cid` (when there is one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Stamp the record; never drop it."""
        cid = correlation_id.get()
        if cid is not None and not hasattr(record, "cid"):
            record.cid = cid
        return True


class RedactingFilter(logging.Filter):
    """Replaces every known secret, and anything shaped like a bot token, with ***."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)

    def _clean(self, text: str) -> str:
        for s in self._secrets:
            text = text.replace(s, MASK)
        return _BOT_TOKEN.sub(MASK, text)

    def filter(self, record: logging.LogRecord) -> bool:
        """Render the message once, masked, and mask string extras too."""
        record.msg = self._clean(record.getMessage())
        record.args = None
        for key, value in list(vars(record).items()):
            if key not in _STD and isinstance(value, str):
                setattr(record, key, self._clean(value))
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self._clean(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STD}


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        """Serialise the record with its extras."""
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
            **_extras(record),
        }
        if record.exc_text:
            out["exc"] = record.exc_text
        return json.dumps(out, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """`time level logger event key=value ...` on one line (tracebacks follow, indented)."""

    def format(self, record: logging.LogRecord) -> str:
        """Render the record as one line of text."""
        ts = datetime.fromtimestamp(record.created, UTC).strftime("%H:%M:%S")
        extras = " ".join(f"{k}={v}" for k, v in _extras(record).items())
        line = f"{ts} {record.levelname:<7} {record.name}: {record.getMessage()}"
        line = f"{line} {extras}" if extras else line
        if record.exc_text:
            line += "\n" + record.exc_text
        return line


def setup_logging(level: str = "INFO", fmt: str = "text", secrets: Iterable[str] = ()) -> None:
    """Configure the root logger; call once at start-up."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(CorrelationFilter())
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiohttp's access log repeats every request line; keep it at WARNING to stay readable.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
    # APScheduler reports every tick at INFO, and a tick still busy with a backlog (the
    # notifier draining alerts) as a "skipped" warning: neither says anything is wrong.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
