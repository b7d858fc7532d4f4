"""Asynchronous report tasks: report/task/create, check, download, cancel (spec §7.3).

A task takes the same report parameters as report/integrated/get/ (without paging) plus
``output_format``, ``file_name`` and ``enable_report_title_translation``.  The emulator
computes the report when the task is created (a snapshot, as a finished TikTok task is) and
walks it through TikTok's task statuses: the first ``report_task_pending_checks`` checks
(config.py) answer QUEUING, then PROCESSING; the next one and all later answer SUCCESS.
The download answers a ``download_url`` valid for one hour (Go SDK ``TaskDownloadResult``:
``download_url``, ``file_name``, ``output_format``); the URL serves the CSV file itself.
"""

from __future__ import annotations

import csv
import io
import secrets
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from sandbox.tiktok.core import Ctx, Emulator, route
from sandbox.tiktok.errors import ApiError, param_error
from sandbox.tiktok.reports import ReportQuery, aggregate, render

TASK_NOT_READY = 40201
FILE_TTL_SECONDS = 3600.0
FILES_PATH = "/report_files/"
# XLSX is not produced by the emulator: a request for it is refused rather than faked.
OUTPUT_FORMATS = ("CSV_STRING", "CSV_DOWNLOAD", "XLSX_DOWNLOAD")


@dataclass
class ReportTask:
    """One task: who may see it, its progress and its finished file."""

    task_id: str
    advertiser_ids: list[str]
    output_format: str
    file_name: str
    text: str
    checks: int = 0
    status: str = "QUEUING"
    file_key: str = ""
    file_expires: float = 0.0


def _tasks(emu: Emulator) -> dict[str, ReportTask]:
    """The emulator's tasks by id."""
    tasks: dict[str, ReportTask] = emu.caches.setdefault("report_tasks", {})
    return tasks


def _files(emu: Emulator) -> dict[str, ReportTask]:
    """Tasks by the key of their download link (read by the event loop, one lookup)."""
    files: dict[str, ReportTask] = emu.caches.setdefault("report_files", {})
    return files


def _csv(q: ReportQuery) -> str:
    """The whole report as CSV: one column per dimension, then per metric (raw names)."""
    columns, flat, sample = aggregate(q)
    q.page, q.page_size = 1, max(1, len(columns[0]))
    rows = render(q, columns, flat, sample)["list"]
    metric_names = list(rows[0]["metrics"]) if rows else list(q.metrics)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*q.dims, *metric_names])
    for row in rows:
        writer.writerow([*(row["dimensions"][d] for d in q.dims), *row["metrics"].values()])
    return out.getvalue()


def _task(ctx: Ctx) -> ReportTask:
    """The task named by task_id, for an advertiser of the token that the task covers."""
    adv = ctx.advertiser()
    task_id = ctx.params.req("task_id")
    task = _tasks(ctx.emu).get(task_id)
    if task is None or adv.advertiser_id not in task.advertiser_ids:
        raise param_error(f"task_id {task_id} does not exist.")
    return task


@route("report/task/create/", "POST")
def report_task_create(ctx: Ctx) -> Any:
    """Create an async BASIC or AUDIENCE report task (spec §7.3); answers its task_id."""
    p = ctx.params
    fmt = p.enum("output_format", OUTPUT_FORMATS, default="CSV_STRING")
    if fmt == "XLSX_DOWNLOAD":
        raise param_error("output_format XLSX_DOWNLOAD is not supported by this emulator.")
    file_name = p.str("file_name", max_len=100) or ""
    p.bool("enable_report_title_translation", True)  # raw names either way (config.py)
    q = ReportQuery(ctx, sync=False)
    task_id = str(ctx.emu.rng.randrange(10**18, 10**19))
    _tasks(ctx.emu)[task_id] = ReportTask(
        task_id=task_id,
        advertiser_ids=[a.advertiser_id for a in q.advertisers],
        output_format=fmt or "CSV_STRING",
        file_name=file_name or f"report_{task_id}",
        text=_csv(q),
    )
    return {"task_id": task_id}


@route("report/task/check/")
def report_task_check(ctx: Ctx) -> Any:
    """A task's status: QUEUING, PROCESSING, SUCCESS, FAILED or CANCELED (spec §7.3)."""
    task = _task(ctx)
    if task.status in ("QUEUING", "PROCESSING"):
        pending = ctx.emu.config.report_task_pending_checks
        task.status = (
            "SUCCESS" if task.checks >= pending else "QUEUING" if task.checks == 0 else "PROCESSING"
        )
        task.checks += 1
    return {"task_id": task.task_id, "status": task.status, "message": ""}


@route("report/task/download/")
def report_task_download(ctx: Ctx) -> Any:
    """Where to fetch a finished task's file (40201 "task not ready" before SUCCESS)."""
    task = _task(ctx)
    if task.status != "SUCCESS":
        raise ApiError(TASK_NOT_READY, "Task is not ready. Please check the task status.")
    task.file_key = secrets.token_urlsafe(16)
    task.file_expires = ctx.now + FILE_TTL_SECONDS
    _files(ctx.emu)[task.file_key] = task
    origin = str(ctx.request.url.origin())
    return {
        "download_url": f"{origin}{FILES_PATH}{task.file_key}.csv",
        "file_name": f"{task.file_name}.csv",
        "output_format": "CSV_DOWNLOAD",
    }


@route("report/task/cancel/", "POST")
def report_task_cancel(ctx: Ctx) -> Any:
    """Cancel a task that has not finished (a finished one stays SUCCESS)."""
    task = _task(ctx)
    if task.status in ("QUEUING", "PROCESSING"):
        task.status = "CANCELED"
    return {"task_id": task.task_id, "status": task.status}


def report_file(emu: Emulator, key: str) -> web.Response:
    """Serve a downloaded task's CSV while its URL is valid (404 after an hour)."""
    task = _files(emu).get(key)
    if task is None or emu.clock.timestamp() >= task.file_expires:
        raise web.HTTPNotFound(text="The link has expired or does not exist.")
    return web.Response(
        text=task.text,
        content_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{task.file_name}.csv"'},
    )
