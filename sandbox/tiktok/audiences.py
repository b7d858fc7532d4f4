"""Custom and lookalike audiences (spec §9 "Audience management (DMP)";
tiktok-openapi/dmp_custom_audience_list.yml). Scope-guarded as group "audiences" by the path
table (scopes.py: ``dmp/``).

Endpoints (request fields as TikTok's official SDK names them, tiktok/tiktok-business-api-sdk
python_sdk/docs/AudienceApi.md, CustomAudienceCreateBody.md, CustomAudienceDeleteBody.md and
js_sdk/docs/DmpcustomAudiencelookalikecreateLookalikeSpec.md):

* ``POST dmp/custom_audience/file/upload/`` multipart: ``advertiser_id``, ``file``,
  ``file_signature`` (MD5 of the file, spec §9), ``calculate_type``, optional ``file_name``.
  ``data.file_path``. The file is one identifier per line, each already hashed as
  ``calculate_type`` says (``*_SHA256``: 64 hex digits, ``*_MD5``: 32); a line that is not is
  refused with 40002 — TikTok documents no code for it [U]. A wrong signature is 40900, an
  empty file 40906 and one over ``audience_file_max_bytes`` 40907, as for creative uploads
  (spec §8.1). The hashed rows are kept (``World.audience_files``) so a test can read them.
* ``POST dmp/custom_audience/create/`` JSON: ``advertiser_id``, ``custom_audience_name``
  (≤128), ``calculate_type``, ``file_paths`` (files of this advertiser with that calculate
  type; CustomAudienceCreateBody: a mismatch gives no or an invalid audience — refused here
  with 40002), optional ``retention_in_days`` (1..365), ``audience_sub_type``
  (NORMAL | REACH_FREQUENCY). ``data.custom_audience_id``.
* ``POST dmp/custom_audience/lookalike/create/`` JSON: ``advertiser_id``,
  ``custom_audience_name``, ``lookalike_spec`` {``source_audience_id`` (not a lookalike, at
  least ``lookalike_min_source`` people, SDK doc: 100), ``audience_size`` NARROW | BALANCED |
  BROAD, ``location_ids``, ``include_source``, ``mobile_os``, ``placements``}.
  ``data.custom_audience_id``.
* ``GET dmp/custom_audience/list/``: ``advertiser_id``, ``custom_audience_ids`` (1..100),
  ``page`` ≥1, ``page_size`` 1..100 (default 10, the yml). ``data.list`` + ``page_info``.
* ``GET dmp/custom_audience/get/``: ``advertiser_id``, ``custom_audience_ids`` (1..100,
  required). ``data.list``: [{``audience_details``, ``audience_history``}] [U].
* ``POST dmp/custom_audience/delete/`` JSON: ``advertiser_id``, ``custom_audience_ids``
  (1..100). ``data: {}``; an id not in the account is 40007.

An audience is computed over emulated time: after create it is not valid (``is_valid`` false,
``cover_num`` 0) until ``audience_ready_seconds`` have passed on the emulator clock; then its
size is ``audience_match_percent`` of its distinct rows (a lookalike: a size by
``audience_size``). Uncertain [U]: the item fields beyond the ids (``audience_id``, ``name``,
``audience_type``, ``cover_num``, ``is_valid``, ``is_expiring``, ``expired_time``,
``create_time``, ``calculate_type``, ``shared``, ``is_creator``, ``audience_sub_type``,
``lookalike_spec``) are TikTok's documented names as far as public clients read them
(Pipedream's tiktok_ads_manager reads ``data.file_path``, ``data.list`` and ``is_creator``);
the ``audience_type`` strings and every refusal text are the emulator's.

Audience management (sandbox/tiktok/audience_admin.py) hooks in here: an update of an
audience's files is replayed over its rows (``file_ops``) and restarts its computation
(``compute_ts``); a rule audience (``rule_spec``) has the size fixed when it was made; an
audience shared with another account of the Business Center is in that account's list and get
with ``shared`` true, ``is_creator`` false and ``owner_id`` the owner (the Go SDK's
model/dmp/customaudience/list.go documents the three); only the owner may delete it. History
entries name their ``editor`` ("open_api" for API changes, get.go).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from sandbox.tiktok.api_account import page_args, paginate
from sandbox.tiktok.core import Ctx, route
from sandbox.tiktok.errors import (
    FILE_EMPTY,
    FILE_SIGNATURE_MISMATCH,
    FILE_TOO_LARGE,
    NOT_EXIST,
    ApiError,
    param_error,
)
from sandbox.tiktok.model import fmt_time

CALCULATE_TYPES = (
    "EMAIL_SHA256",
    "PHONE_SHA256",
    "IDFA_SHA256",
    "IDFA_MD5",
    "GAID_SHA256",
    "GAID_MD5",
    "MAID_SHA256",
    "MAID_MD5",
    "FIRST_SHA256",
    "FIRST_MD5",
    "MULTIPLE_TYPES",
)
LOOKALIKE_SIZES = {"NARROW": 1_200_000, "BALANCED": 4_500_000, "BROAD": 11_000_000}
TYPE_CUSTOMER_FILE = "Customer File Audience"
TYPE_LOOKALIKE = "Lookalike Audience"
RETENTION_DAYS = 365  # the default expiry: 365 days after the last use (CustomAudienceCreateBody)
EXPIRING_DAYS = 7  # is_expiring within this many days of expired_time [U]
# share/log ``status`` of a share in force and of one cancelled: the values are not public [U].
SHARE_ACTIVE = "SHARED"
SHARE_CANCELLED = "CANCELLED"
_HEX = {64: re.compile(r"^[0-9a-fA-F]{64}$"), 32: re.compile(r"^[0-9a-fA-F]{32}$")}


def _rows_ok(calculate_type: str, rows: list[str]) -> bool:
    """Every row hashed as the type says (MULTIPLE_TYPES: any SHA-256 or MD5)."""
    widths = (64, 32) if calculate_type == "MULTIPLE_TYPES" else (
        (64,) if calculate_type.endswith("SHA256") else (32,))
    return all(any(_HEX[w].match(r) for w in widths) for r in rows)


def _ready(ctx: Ctx, aud: dict[str, Any]) -> bool:
    """Computed: ``audience_ready_seconds`` after it was made or its data last changed (while
    calculating an audience is not valid, list.go ``is_valid``)."""
    since = aud.get("compute_ts", aud["create_ts"])
    return ctx.now >= since + ctx.emu.config.audience_ready_seconds


def audience_rows(ctx: Ctx, aud: dict[str, Any]) -> set[str]:
    """The distinct hashed rows of a customer-file audience: its files, then each update's
    APPEND (add), REMOVE (take away) or REPLACE (instead), in order."""
    files = ctx.world.audience_files
    rows: set[str] = set()
    for path in aud["file_paths"]:
        rows.update(files[path]["rows"])
    for action, paths in aud.get("file_ops", []):
        batch: set[str] = set()
        for path in paths:
            batch.update(files[path]["rows"])
        rows = rows | batch if action == "APPEND" else rows - batch if action == "REMOVE" else batch
    return rows


def _size(ctx: Ctx, aud: dict[str, Any]) -> int:
    """How many people the audience reaches once computed."""
    if aud["lookalike_spec"]:
        return LOOKALIKE_SIZES[aud["lookalike_spec"]["audience_size"]]
    if aud.get("rule_spec") is not None:
        return int(aud["rule_size"])
    return len(audience_rows(ctx, aud)) * ctx.emu.config.audience_match_percent // 100


def shared_with(ctx: Ctx, aud_id: str) -> list[str]:
    """The accounts an audience is shared with now (share/cancel ends a share)."""
    shares = ctx.world.audience_shares.get(aud_id, {})
    return [adv for adv, s in shares.items() if s["status"] == SHARE_ACTIVE]


def visible(ctx: Ctx, aud: dict[str, Any], adv_id: str) -> bool:
    """The account owns the audience or it is shared with the account."""
    return aud["advertiser_id"] == adv_id or adv_id in shared_with(ctx, aud["audience_id"])


def _public(ctx: Ctx, aud: dict[str, Any], viewer: str | None = None) -> dict[str, Any]:
    """An audience as dmp/custom_audience/list answers it to ``viewer`` (default: its owner)."""
    ready = _ready(ctx, aud)
    # RuleCreateBody: with retention_in_days the expiry counts from creation; without it, from
    # the last change or apply to an ad group (``touched_ts``).
    start = aud["create_ts"] if aud.get("retention_fixed", True) else aud.get(
        "touched_ts", aud["create_ts"])
    expires = start + aud["retention_days"] * 86_400
    owner = aud["advertiser_id"]
    is_creator = viewer is None or viewer == owner
    item = {
        "audience_id": aud["audience_id"],
        "name": aud["name"],
        "audience_type": TYPE_LOOKALIKE if aud["lookalike_spec"] else aud.get(
            "type_name", TYPE_CUSTOMER_FILE),
        "audience_sub_type": aud["audience_sub_type"],
        "calculate_type": aud["calculate_type"],
        "cover_num": _size(ctx, aud) if ready else 0,
        "is_valid": ready,
        "is_expiring": expires - ctx.now < EXPIRING_DAYS * 86_400,
        "expired_time": fmt_time(expires),
        "create_time": fmt_time(aud["create_ts"]),
        "shared": bool(shared_with(ctx, aud["audience_id"])) or not is_creator,
        "is_creator": is_creator,
        "owner_id": owner,
    }
    if aud["lookalike_spec"]:
        item["lookalike_spec"] = dict(aud["lookalike_spec"])
    if aud.get("rule_spec") is not None:
        item["is_auto_refresh"] = aud["is_auto_refresh"]
        item["rule"] = json.dumps(aud["rule_spec"], separators=(",", ":"))  # a string [U]
    return item


def _owned(ctx: Ctx, adv_id: str) -> list[dict[str, Any]]:
    """The audiences the account sees (its own and those shared with it), oldest first."""
    rows = [a for a in ctx.world.audiences.values() if visible(ctx, a, adv_id)]
    return sorted(rows, key=lambda a: (a["create_ts"], a["audience_id"]))


def _ids(ctx: Ctx, required: bool) -> list[str] | None:
    return ctx.params.str_list("custom_audience_ids", required=required, min_items=1,
                               max_items=100)


@route("dmp/custom_audience/file/upload/", "POST", body="multipart")
def file_upload(ctx: Ctx) -> Any:
    """Upload one file of hashed identifiers; verifies its MD5 and its rows' hashing."""
    p = ctx.params
    adv = ctx.advertiser()
    ctype = p.enum("calculate_type", CALCULATE_TYPES, required=True)
    assert ctype is not None
    part = ctx.form.get("file") if ctx.form is not None else None
    if part is None or not hasattr(part, "file"):
        raise param_error("file is required.")
    data: bytes = part.file.read()
    sig = p.req("file_signature").lower()
    if not data:
        raise ApiError(FILE_EMPTY, "The uploaded file is empty.")
    if len(data) > ctx.emu.config.audience_file_max_bytes:
        raise ApiError(FILE_TOO_LARGE, "The file exceeds the size limit.")
    if hashlib.md5(data).hexdigest() != sig:
        raise ApiError(FILE_SIGNATURE_MISMATCH,
                       "The file_signature does not match the MD5 of the file.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise param_error("file should be UTF-8 text, one identifier per line.") from None
    rows = [r.strip() for r in text.splitlines() if r.strip()]
    if ctype == "MULTIPLE_TYPES" and rows:
        rows = [c.strip() for r in rows[1:] for c in r.split(",") if c.strip()]  # header first
    if not rows:
        raise ApiError(FILE_EMPTY, "The uploaded file has no identifiers.")
    if not _rows_ok(ctype, rows):
        raise param_error(f"the file content does not match calculate_type {ctype}: every "
                          "line must be an identifier hashed that way.")
    path = f"dmp/{adv.advertiser_id}/{hashlib.sha256(data).hexdigest()[:32]}.txt"
    ctx.world.audience_files[path] = {
        "advertiser_id": adv.advertiser_id,
        "calculate_type": ctype,
        "rows": [r.lower() for r in rows],
        "file_name": p.str("file_name") or getattr(part, "filename", "") or "",
        "create_ts": ctx.now,
    }
    return {"file_path": path}


def _new_audience(ctx: Ctx, adv_id: str, name: str, **fields: Any) -> str:
    aud_id = ctx.world.next_id("audience", 190_000_000)
    ctx.world.audiences[aud_id] = {
        "audience_id": aud_id,
        "advertiser_id": adv_id,
        "name": name,
        "create_ts": ctx.now,
        "file_paths": [],
        "lookalike_spec": None,
        "calculate_type": None,
        "retention_days": RETENTION_DAYS,
        "retention_fixed": False,
        "audience_sub_type": "NORMAL",
        "compute_ts": ctx.now,
        "history": [{"action": "CREATE", "action_detail": "Created", "editor": "open_api",
                     "msg": "", "opt_time": fmt_time(ctx.now)}],
        **fields,
    }
    return aud_id


@route("dmp/custom_audience/create/", "POST")
def create(ctx: Ctx) -> Any:
    """An audience from uploaded files; computed over time (not valid at first)."""
    p = ctx.params
    adv = ctx.advertiser()
    name = p.name("custom_audience_name", required=True, max_len=128)
    ctype = p.enum("calculate_type", CALCULATE_TYPES, required=True)
    paths = p.str_list("file_paths", required=True, min_items=1, max_items=50) or []
    retention = p.int("retention_in_days", RETENTION_DAYS, lo=1, hi=365)
    sub = p.enum("audience_sub_type", ("NORMAL", "REACH_FREQUENCY"), default="NORMAL")
    for path in paths:
        f = ctx.world.audience_files.get(path)
        if f is None or f["advertiser_id"] != adv.advertiser_id:
            raise param_error(f"file_path {path} does not exist.")
        if f["calculate_type"] != ctype:
            raise param_error(f"file_path {path} was uploaded as {f['calculate_type']}, "
                              f"not {ctype}.")
    aud_id = _new_audience(ctx, adv.advertiser_id, str(name), file_paths=list(paths),
                           calculate_type=ctype, retention_days=retention,
                           retention_fixed=p.has("retention_in_days"), audience_sub_type=sub)
    return {"custom_audience_id": aud_id}


@route("dmp/custom_audience/lookalike/create/", "POST")
def lookalike_create(ctx: Ctx) -> Any:
    """A lookalike of a computed custom audience of the same account."""
    p = ctx.params
    adv = ctx.advertiser()
    name = p.name("custom_audience_name", required=True, max_len=128)
    spec = p.obj("lookalike_spec")
    source_id = str(spec.get("source_audience_id") or "")
    if not source_id:
        raise param_error("lookalike_spec.source_audience_id is required.")
    size = spec.get("audience_size", "BALANCED")
    if size not in LOOKALIKE_SIZES:
        raise param_error(f"lookalike_spec.audience_size must be one of {list(LOOKALIKE_SIZES)}.")
    source = ctx.world.audiences.get(source_id)
    if source is None or source["advertiser_id"] != adv.advertiser_id:
        raise ApiError(NOT_EXIST, f"Audience {source_id} does not exist.")
    if source["lookalike_spec"]:
        raise param_error("the source audience cannot be a lookalike audience.")
    if not _ready(ctx, source):
        raise param_error("the source audience is still being computed; try again later.")
    if _size(ctx, source) < ctx.emu.config.lookalike_min_source:
        raise param_error(f"the source audience should have at least "
                          f"{ctx.emu.config.lookalike_min_source} people.")
    stored = {
        "source_audience_id": source_id,
        "audience_size": size,
        "location_ids": [str(x) for x in spec.get("location_ids") or []],
        "include_source": bool(spec.get("include_source", False)),
        "mobile_os": str(spec.get("mobile_os") or "ALL"),
        "placements": list(spec.get("placements") or ["TikTok"]),
    }
    aud_id = _new_audience(ctx, adv.advertiser_id, str(name), lookalike_spec=stored,
                           calculate_type=source["calculate_type"])
    return {"custom_audience_id": aud_id}


@route("dmp/custom_audience/list/")
def audience_list(ctx: Ctx) -> Any:
    """The account's audiences, page_size ≤100 (default 10, dmp_custom_audience_list.yml)."""
    adv = ctx.advertiser()
    ids = _ids(ctx, required=False)
    page, size = page_args(ctx.params, 100, 10)
    rows = [_public(ctx, a, adv.advertiser_id) for a in _owned(ctx, adv.advertiser_id)
            if not ids or a["audience_id"] in ids]
    out, info = paginate(rows, page, size)
    return {"list": out, "page_info": info}


@route("dmp/custom_audience/get/")
def audience_get(ctx: Ctx) -> Any:
    """Details of some audiences; ids not in the account are left out [U]."""
    adv = ctx.advertiser()
    ids = _ids(ctx, required=True) or []
    out = []
    for aud_id in ids:
        aud = ctx.world.audiences.get(str(aud_id))
        if aud is None or not visible(ctx, aud, adv.advertiser_id):
            continue
        history = [dict(h) for h in aud.get("history", [])]
        out.append({"audience_details": _public(ctx, aud, adv.advertiser_id),
                    "audience_history": history})
    return {"list": out}


@route("dmp/custom_audience/delete/", "POST")
def delete(ctx: Ctx) -> Any:
    """Delete audiences of the account; an unknown id refuses the whole call."""
    adv = ctx.advertiser()
    ids = _ids(ctx, required=True) or []
    for aud_id in ids:
        aud = ctx.world.audiences.get(str(aud_id))
        if aud is None or aud["advertiser_id"] != adv.advertiser_id:
            raise ApiError(NOT_EXIST, f"Audience {aud_id} does not exist.")
    for aud_id in ids:
        ctx.world.audiences.pop(str(aud_id), None)
        ctx.world.audience_shares.pop(str(aud_id), None)  # gone from the accounts shared with
    return {}


def existing_ids(ctx: Ctx, adv_id: str) -> set[str]:
    """The audience ids an ad group of this account may target (adgroup/create checks)."""
    return {a["audience_id"] for a in _owned(ctx, adv_id)}
