"""Deleting a comment and reading a comment's thread (spec §9 "Comment management").

Shapes (TikTok's own SDK files, tiktok/tiktok-business-api-sdk ``yml_files/comment_delete.yml``
and ``comment_reference.yml``; the Go SDK bububa/tiktok-business ``model/comment/delete.go``,
``reference.go`` and ``api/comment/*.go`` for the doc comments translated from TikTok's):

* ``POST comment/delete/``: body ``advertiser_id``, ``ad_id``, ``tiktok_item_id``,
  ``comment_id``, ``identity_type`` (AUTH_CODE | BC_AUTH_TT | BC_SELF_TT | CUSTOMIZED_USER |
  TT_USER | UNSET) and ``identity_id``, all required; ``data: {}`` (response_rule null). The
  Go SDK's doc: an advertiser bound to a CUSTOMIZED_USER or TT_USER identity, with the comment
  management permission, may delete its OWN comments -> only the advertiser's replies (written
  with comment/post) can be deleted, the ones comment/list answers with ``can_delete: true``;
  a viewer's comment is refused (40002 [U: the code]). ``ad_id``, ``tiktok_item_id`` and the
  identity must be the comment's, as comment/list answers them (40002 otherwise [U]).
  A deleted comment is gone: comment/list no longer answers it, its original comment's
  ``replies`` drops by one, and hiding, pinning, replying to, deleting or referencing it
  answers 40007 "does not exist" like any unknown comment (comments.py ``_known``).
* ``GET comment/reference/``: ``advertiser_id``, ``comment_id``, ``comment_type`` (ALL |
  COMMENT | REPLY, required), ``original_comment_id`` (default "0"), ``app`` (TIKTOK,
  default), ``page`` (default 1), ``page_size`` (1..100, default 10). The Go SDK's doc: for a
  COMMENT, the comment and all its replies; for a REPLY, the reply and its original comment.
  Answers ``data.comments[]`` with the response_rule's fields — ``can_delete, comment_id,
  comment_status, comment_type, content, create_time, hit_blockedword, identity_id,
  identity_type, is_auth_comment_manage_scope, is_auth_ttba, is_pinned, reply_user_info
  {user_avatar_url, user_name}, tiktok_item_id, user_avatar_url, user_id, user_name`` —
  with the values comment/list answers for the same comments, and ``data.page_info``.

Uncertain [U]:
* Order: the original comment first, then its replies oldest first.
* ``reply_user_info`` is the user replied to (the original comment's author) for a reply; for
  a top-level comment it is ``{"user_avatar_url": "", "user_name": ""}``.
* ``comment_type`` that does not fit the comment (COMMENT for a reply or the reverse), or a
  REPLY whose ``original_comment_id`` is not its original, is refused with 40002; ALL takes
  the comment as what it is.
* As for the other comment calls, a comment is known once a comment/list answered it (a
  client learns ids from the list; comments.py ``_known``); other ids answer 40007.
"""

from __future__ import annotations

from typing import Any

from sandbox.tiktok.api_account import page_args, paginate
from sandbox.tiktok.comments import (
    NOT_EXIST,
    OWN_USER,
    _known,
    _view,
    check_target,
    raw_comment,
)
from sandbox.tiktok.core import Ctx, route
from sandbox.tiktok.errors import ApiError, param_error
from sandbox.tiktok.model import Ad

IDENTITY_TYPES = ["AUTH_CODE", "BC_AUTH_TT", "BC_SELF_TT", "CUSTOMIZED_USER", "TT_USER", "UNSET"]
REFERENCE_FIELDS = (
    "can_delete", "comment_id", "comment_status", "comment_type", "content", "create_time",
    "hit_blockedword", "identity_id", "identity_type", "is_auth_comment_manage_scope",
    "is_auth_ttba", "is_pinned", "tiktok_item_id", "user_avatar_url", "user_id", "user_name",
)


def _comment(ctx: Ctx, advertiser_id: str, cid: str) -> tuple[Ad, dict[str, Any]]:
    """The ad and the written comment of a known, undeleted comment of the advertiser."""
    ad = _known(ctx, cid)
    raw = raw_comment(ctx, cid)
    if ad is None or raw is None or ad.advertiser_id != advertiser_id:
        raise ApiError(NOT_EXIST, f"Comment {cid} does not exist.")
    return ad, raw


def view_of(ctx: Ctx, ad: Ad, raw: dict[str, Any]) -> dict[str, Any]:
    """A comment as comment/list answers it."""
    return _view(ctx, ad, raw, raw.get("original", "0"))


@route("comment/delete/", "POST")
def comment_delete(ctx: Ctx) -> Any:
    """Delete one of the advertiser's own comments (a reply it wrote)."""
    p = ctx.params
    adv = ctx.advertiser()
    ad_id = p.req("ad_id")
    item_id = p.req("tiktok_item_id")
    cid = p.req("comment_id")
    identity_type = p.enum("identity_type", IDENTITY_TYPES, required=True)
    identity_id = p.req("identity_id")
    ad, raw = _comment(ctx, adv.advertiser_id, cid)
    check_target(cid, ad, ad_id, item_id, identity_type, identity_id)
    if raw["user"] != OWN_USER:
        raise param_error("You can only delete your own comments.")
    ctx.world.comment_deleted[cid] = ctx.now
    if ctx.world.comment_pinned.get(ad.ad_id) == cid:
        del ctx.world.comment_pinned[ad.ad_id]
    return {}


def _reference_view(ctx: Ctx, ad: Ad, raw: dict[str, Any]) -> dict[str, Any]:
    """A comment as comment/reference answers it (the response_rule's fields)."""
    view = view_of(ctx, ad, raw)
    out = {k: view[k] for k in REFERENCE_FIELDS}
    replied = raw_comment(ctx, raw["original"]) if "original" in raw else None
    out["reply_user_info"] = {
        "user_avatar_url": "",
        "user_name": view_of(ctx, ad, replied)["user_name"] if replied is not None else "",
    }
    return out


@route("comment/reference/")
def comment_reference(ctx: Ctx) -> Any:
    """A comment with its replies, or a reply with its original comment, paged."""
    p = ctx.params
    adv = ctx.advertiser()
    cid = p.req("comment_id")
    kind = p.enum("comment_type", ["ALL", "COMMENT", "REPLY"], required=True)
    original = p.str("original_comment_id", default="0") or "0"
    p.enum("app", ["TIKTOK"], default="TIKTOK")
    page, size = page_args(p, 100, 10)
    ad, raw = _comment(ctx, adv.advertiser_id, cid)
    is_reply = "original" in raw
    if kind == "COMMENT" and is_reply:
        raise param_error(f"Comment {cid} is a reply: comment_type should be REPLY.")
    if kind == "REPLY" and not is_reply:
        raise param_error(f"Comment {cid} is not a reply: comment_type should be COMMENT.")
    if is_reply:
        if kind == "REPLY" and original != raw["original"]:
            raise param_error("original_comment_id should be the id of the comment replied to.")
        _, first = _comment(ctx, adv.advertiser_id, raw["original"])
        thread = [first, raw]
    else:
        replies = sorted(
            (r for r in ctx.world.comment_replies.values()
             if r["original"] == cid and r["comment_id"] not in ctx.world.comment_deleted),
            key=lambda r: (r["at"], r["comment_id"]),
        )
        thread = [raw, *replies]
    shown, info = paginate(thread, page, size)
    return {"comments": [_reference_view(ctx, ad, r) for r in shown], "page_info": info}
