"""Logs are one event per line and never contain tokens or keys."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest

from core.logs import JsonFormatter, RedactingFilter, TextFormatter

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


@pytest.fixture
def capture() -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter(["tiktok-secret-value", "c2VjcmV0LWtleS1ieXRlcw=="]))
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(f"test.logs.{id(stream)}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, stream


def test_json_lines_mask_secrets_in_message_extras_and_tracebacks(capture) -> None:  # type: ignore[no-untyped-def]
    logger, stream = capture
    logger.info(
        "calling %s",
        f"https://api.telegram.org/bot{TOKEN}/getMe",
        extra={"secret_hint": "tiktok-secret-value", "path": "/oauth2/access_token/"},
    )
    try:
        raise RuntimeError("key c2VjcmV0LWtleS1ieXRlcw== rejected")
    except RuntimeError:
        logger.exception("failed")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["event"] == "calling https://api.telegram.org/bot***/getMe"
    assert first["secret_hint"] == "***" and first["path"] == "/oauth2/access_token/"
    assert first["level"] == "info" and "ts" in first
    assert "c2VjcmV0" not in second["exc"] and "RuntimeError" in second["exc"]
    assert TOKEN not in stream.getvalue() and "tiktok-secret-value" not in stream.getvalue()


def test_text_format_is_one_line_with_extras() -> None:
    record = logging.makeLogRecord(
        {
            "msg": "tiktok.call",
            "levelname": "INFO",
            "name": "x",
            "path": "/campaign/get/",
            "code": 0,
        }
    )
    line = TextFormatter().format(record)
    assert "\n" not in line and line.endswith("tiktok.call path=/campaign/get/ code=0")


async def test_a_failed_statement_names_no_values(tmp_path: Path) -> None:
    """A database error logged with its traceback must not carry a user's data (an email here)."""
    from sqlalchemy import text

    from storage.db import create_engine

    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/x.db")
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (a TEXT UNIQUE)"))
        await conn.execute(text("INSERT INTO t VALUES (:a)"), {"a": "ann@example.com"})
        try:
            await conn.execute(text("INSERT INTO t VALUES (:a)"), {"a": "ann@example.com"})
        except Exception as exc:  # the unique constraint
            assert "ann@example.com" not in str(exc) and "UNIQUE" in str(exc)
        else:
            raise AssertionError("the duplicate was accepted")
    await engine.dispose()
