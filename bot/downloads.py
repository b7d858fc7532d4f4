"""Downloading users' files from Telegram: the 20 MB getFile limit, progress, and a fetcher for
uploads that happen later (core.creatives.ensure_uploaded)."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest

# telegram-bot-platform §1: the cloud Bot API's getFile serves files of at most 20 MB.
MAX_DOWNLOAD = 20 * 1024 * 1024
TIMEOUT_SECONDS = 300
PROGRESS_EVERY = 1.0  # seconds between progress reports (design: edits about once a second)

Progress = Callable[[int, int], Awaitable[None]]


class TooBigToDownload(Exception):
    """Telegram does not let bots download this file (over 20 MB)."""


class _Sink(io.BytesIO):
    """A BytesIO that counts what was written so far (aiogram writes chunk by chunk)."""

    received = 0

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.received += len(data)
        return super().write(data)


def too_big(size: int | None) -> bool:
    """Whether Telegram would refuse to let the bot download a file of this size."""
    return size is not None and size > MAX_DOWNLOAD


async def download(
    bot: Bot, file_id: str, size: int | None = None, progress: Progress | None = None
) -> bytes:
    """The file's bytes; `progress(received, total)` is awaited about once a second while a
    file of known size comes in. Raises TooBigToDownload for files over 20 MB."""
    if too_big(size):
        raise TooBigToDownload(file_id)
    sink = _Sink()
    reporter: asyncio.Task[None] | None = None
    if progress is not None and size:
        total = size

        async def report() -> None:
            last = -1
            while True:
                await asyncio.sleep(PROGRESS_EVERY)
                if sink.received != last:
                    last = sink.received
                    await progress(min(last, total), total)

        reporter = asyncio.create_task(report())
    try:
        await bot.download(file_id, destination=sink, timeout=TIMEOUT_SECONDS)
    except TelegramBadRequest as exc:
        if "too big" in exc.message.lower():  # getFile: "Bad Request: file is too big"
            raise TooBigToDownload(file_id) from exc
        raise
    finally:
        if reporter is not None:
            reporter.cancel()
            await asyncio.gather(reporter, return_exceptions=True)
    return sink.getvalue()


def fetcher(bot: Bot, file_id: str, size: int | None = None) -> Callable[[], Awaitable[bytes]]:
    """A downloader for core.creatives.ensure_uploaded (the bot keeps Telegram out of core)."""

    async def fetch() -> bytes:
        return await download(bot, file_id, size)

    return fetch
