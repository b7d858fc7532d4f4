"""Comment and blocked-word export tasks (spec §9 "Comment management": comment/task/create,
check; the SDK's blockedword/task/create, check).

Shapes (TikTok's own SDK files, tiktok/tiktok-business-api-sdk ``yml_files/
comment_task_create.yml`` and ``comment_task_check.yml``):

* ``POST comment/task/create/``: body ``advertiser_id``, ``search_field`` (ADGROUP_ID),
  ``search_value``, ``start_time``, ``end_time`` (required), ``comment_type`` /
  ``comment_status`` lists, ``sort_field``, ``sort_type`` (as comment/list), ``lang`` (EN |
  JA | ZH, default EN) and ``comment_ids`` (a list, at least one id when sent); answers
  ``data.task_id``. The comments exported are exactly those comment/list answers for the same
  parameters (the emulator pages through comment/list itself, so the same checks and errors
  apply), narrowed to ``comment_ids`` when given [U: the file does not say what the ids do].
  The export is a snapshot of the moment the task is created, as a finished task is.
* ``GET comment/task/check/``: ``task_id``, ``advertiser_id`` (required), ``source`` (BIDDING
  | BRAND, default BIDDING); answers ``data {task_id, status}``. A task id unknown to the
  advertiser answers 40002 (as report/task/check does here [U]).

Uncertain [U]:
* The status values are not in TikTok's files: RUNNING / SUCCEED / FAILED come from a public
  third-party TypeScript client (``CommentTaskCheckResponse`` in an "ad-comments" types file
  found with find_string). The first ``comment_task_pending_checks`` checks (config.py,
  default 1) answer RUNNING, later ones SUCCEED; FAILED is never answered.
* The result is read with ``GET comment/task/download/`` (``advertiser_id``, ``task_id``),
  named by the same third-party client and by other public clients, with ``data.csv`` (the
  file as a string); TikTok's SDK files do not declare it. Its columns are comment/list's
  response_rule fields in that order, one row per comment; ``lang`` changes nothing here.
  Before the task has SUCCEEDed a download answers 40002.

Blocked-word export tasks (``yml_files/blockedword_task_create.yml``, ``_check.yml``):
``POST blockedword/task/create/`` with ``advertiser_id`` (required), ``blocked_words`` (an
optional list narrowing the export) and ``lang`` (EN | JA | ZH) answers ``data.task_id``;
``GET blockedword/task/check/`` with ``task_id`` and ``advertiser_id`` answers ``data
{task_id, status}``, walking RUNNING -> SUCCEED as above [U: values]. No public source names
how the exported file is fetched, so no download is served for them.
"""

from __future__ import annotations

import csv
import io
import itertools
from dataclasses import dataclass, field, replace
from typing import Any

from sandbox.tiktok.blocked_words import active_words
from sandbox.tiktok.comments import comment_list
from sandbox.tiktok.core import Ctx, Emulator, route
from sandbox.tiktok.errors import param_error
from sandbox.tiktok.params import Params

# comment_list.yml's response_rule, in order: the CSV's columns.
COLUMNS = (
    "ad_id", "ad_name", "ad_text", "adgroup_id", "adgroup_name", "app", "campaign_id",
    "campaign_name", "can_delete", "comment_id", "comment_status", "comment_type", "content",
    "create_time", "hit_blockedword", "identity_id", "identity_type",
    "is_auth_comment_manage_scope", "is_auth_ttba", "is_pinned", "likes",
    "original_comment_id", "replies", "tiktok_item_id", "user_avatar_url", "user_id",
    "user_name", "video_cover_url", "video_play_url",
)
TASK_ID_BASE = 7_600_000_000_000_000_000
WORD_TASK_ID_BASE = 7_610_000_000_000_000_000


@dataclass
class CommentTask:
    """One export: whose it is, what it found, how often it was checked."""

    task_id: str
    advertiser_id: str
    comments: list[dict[str, Any]] = field(default_factory=list)
    words: list[str] = field(default_factory=list)
    checks: int = 0
    status: str = "RUNNING"


def _tasks(emu: Emulator, kind: str = "comment_tasks") -> dict[str, CommentTask]:
    """The emulator's comment (or ``blockedword_tasks``) export tasks by id."""
    tasks: dict[str, CommentTask] = emu.caches.setdefault(kind, {})
    return tasks


def _all_listed(ctx: Ctx) -> list[dict[str, Any]]:
    """Every comment comment/list answers for the task's parameters, page after page."""
    body = {k: v for k, v in ctx.params.src.items() if k not in ("page", "page_size")}
    size = ctx.emu.config.comment_page_size_max
    out: list[dict[str, Any]] = []
    for page in itertools.count(1):
        params = Params({**body, "page": page, "page_size": size}, ctx.params.from_query,
                        ctx.params.too_many_code)
        sub = replace(ctx, params=params)
        data = comment_list(sub)
        out += data["comments"]
        if page >= data["page_info"]["total_page"]:
            return out
    return out  # pragma: no cover - the loop returns


@route("comment/task/create/", "POST")
def comment_task_create(ctx: Ctx) -> Any:
    """Start an export of the comments comment/list answers for these parameters."""
    p = ctx.params
    adv = ctx.advertiser()
    p.enum("lang", ["EN", "JA", "ZH"], default="EN")
    ids = p.str_list("comment_ids", min_items=1) if p.has("comment_ids") else None
    for name in ("search_field", "search_value", "start_time", "end_time"):
        p.req(name)
    rows = _all_listed(ctx)
    if ids is not None:
        wanted = set(ids)
        rows = [r for r in rows if r["comment_id"] in wanted]
    tasks = _tasks(ctx.emu)
    task_id = str(TASK_ID_BASE + len(tasks) + 1)
    tasks[task_id] = CommentTask(task_id, adv.advertiser_id, rows)
    return {"task_id": task_id}


def _task(ctx: Ctx, kind: str = "comment_tasks") -> CommentTask:
    """The advertiser's task named by task_id (40002 when there is none)."""
    adv = ctx.advertiser()
    task_id = ctx.params.req("task_id")
    task = _tasks(ctx.emu, kind).get(task_id)
    if task is None or task.advertiser_id != adv.advertiser_id:
        raise param_error(f"task_id {task_id} does not exist.")
    return task


@route("comment/task/check/")
def comment_task_check(ctx: Ctx) -> Any:
    """The status of an export: RUNNING for the first checks, then SUCCEED."""
    ctx.params.enum("source", ["BIDDING", "BRAND"], default="BIDDING")
    return _progress(ctx, _task(ctx))


def _progress(ctx: Ctx, task: CommentTask) -> dict[str, str]:
    """Count a check and answer the task's status."""
    task.checks += 1
    if task.checks > ctx.emu.config.comment_task_pending_checks:
        task.status = "SUCCEED"
    return {"task_id": task.task_id, "status": task.status}


@route("blockedword/task/create/", "POST")
def blockedword_task_create(ctx: Ctx) -> Any:
    """Start an export of the account's blocked words (all, or those named)."""
    p = ctx.params
    adv = ctx.advertiser()
    p.enum("lang", ["EN", "JA", "ZH"], default="EN")
    named = p.str_list("blocked_words")
    words = active_words(ctx, adv.advertiser_id)
    if named is not None:
        wanted = {w.strip().casefold() for w in named}
        words = [w for w in words if w.casefold() in wanted]
    tasks = _tasks(ctx.emu, "blockedword_tasks")
    task_id = str(WORD_TASK_ID_BASE + len(tasks) + 1)
    tasks[task_id] = CommentTask(task_id, adv.advertiser_id, words=words)
    return {"task_id": task_id}


@route("blockedword/task/check/")
def blockedword_task_check(ctx: Ctx) -> Any:
    """The status of a blocked-word export: RUNNING for the first checks, then SUCCEED."""
    return _progress(ctx, _task(ctx, "blockedword_tasks"))


@route("comment/task/download/")
def comment_task_download(ctx: Ctx) -> Any:
    """A finished export as CSV text (``data.csv``) [U]."""
    task = _task(ctx)
    if task.status != "SUCCEED":
        raise param_error(f"Task {task.task_id} is not finished yet. Check it again later.")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in task.comments:
        writer.writerow([_cell(row[c]) for c in COLUMNS])
    return {"csv": out.getvalue()}


def _cell(value: Any) -> str:
    """A CSV cell: booleans as true/false, the rest as text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
