"""Delivers data exports to the chat: the progress message edited at most about once a second
(design.md, Long work), the ZIP as a document, or its download link; in the owner's language."""

from __future__ import annotations

import contextlib
import time
from datetime import datetime
from pathlib import Path

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import FSInputFile
from aiogram.utils.i18n import I18n

from bot.views import privacy_data as view
from core.privacy.export import FileEntry, Job

EVERY_SECONDS = 1.0


class Texts:
    """The ZIP's words in one user's language (core.privacy.export.ExportTexts)."""

    def __init__(self, i18n: I18n, job: Job) -> None:
        self._i18n, self._job = i18n, job

    def daily_header(self) -> list[str]:
        """Columns of the daily statistics CSV."""
        with self._i18n.context(), self._i18n.use_locale(self._job.locale):
            return view.daily_header()

    def hourly_header(self) -> list[str]:
        """Columns of the hourly statistics CSV."""
        with self._i18n.context(), self._i18n.use_locale(self._job.locale):
            return view.hourly_header()

    def readme(self, files: list[FileEntry], generated_at: datetime) -> str:
        """README.txt."""
        with self._i18n.context(), self._i18n.use_locale(self._job.locale):
            return view.readme(files, generated_at, self._job.time_zone)


class ExportCourier:
    """core.privacy.export.Courier over the Bot API. A failed progress edit is skipped, never
    fatal; a failed send raises, so the export is tried again."""

    def __init__(self, bot: Bot, i18n: I18n) -> None:
        self._bot, self._i18n = bot, i18n
        self._last: dict[int, tuple[float, str]] = {}

    def texts(self, job: Job) -> Texts:
        """The ZIP's words in the owner's language."""
        return Texts(self._i18n, job)

    async def _edit(self, job: Job, text: str) -> None:
        if job.progress_message_id is None:
            return
        with contextlib.suppress(TelegramAPIError):
            await self._bot.edit_message_text(
                text, chat_id=job.user_id, message_id=job.progress_message_id
            )

    async def progress(self, job: Job, done: int, total: int) -> None:
        """Show `done` of `total` steps, unless the last edit was under a second ago or would
        change nothing (Telegram refuses an edit to the same text)."""
        now = time.monotonic()
        last_at, last_text = self._last.get(job.export_id, (0.0, ""))
        if now - last_at < EVERY_SECONDS:
            return
        with self._i18n.context(), self._i18n.use_locale(job.locale):
            text = view.export_progress(done, total, job.resumed)
        if text == last_text:
            return
        self._last[job.export_id] = (now, text)
        await self._edit(job, text)

    async def document(self, job: Job, path: Path, file_name: str, files: int) -> None:
        """Send the ZIP, then close the progress message."""
        with self._i18n.context(), self._i18n.use_locale(job.locale):
            caption, done = view.export_caption(files), view.export_ready(files)
        await self._bot.send_document(
            job.user_id, FSInputFile(path, filename=file_name), caption=caption
        )
        self._last.pop(job.export_id, None)
        await self._edit(job, done)

    async def link(self, job: Job, url: str, expires_at: datetime, size: int) -> None:
        """Send the download link of a ZIP too big to upload."""
        with self._i18n.context(), self._i18n.use_locale(job.locale):
            text, markup = view.export_link(url, expires_at, job.time_zone, size)
            done = view.export_link_ready()
        await self._bot.send_message(job.user_id, text, reply_markup=markup)
        self._last.pop(job.export_id, None)
        await self._edit(job, done)

    async def failed(self, job: Job) -> None:
        """Say the export could not be made (in the progress message, else a new one)."""
        with self._i18n.context(), self._i18n.use_locale(job.locale):
            text = view.export_failed()
        self._last.pop(job.export_id, None)
        if job.progress_message_id is not None:
            await self._edit(job, text)
        else:
            await self._bot.send_message(job.user_id, text)
