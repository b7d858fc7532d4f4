"""Comments under the ads (spec §9 "Comment management"; tiktok-openapi/comment_list.yml).

The demo's ads receive comments over time on the emulator clock, deterministically: time is cut
into ``comment_slot_seconds`` slots and (seed, ad id, slot) decides whether a comment was
written then and which text — so a comment list is the same whichever emulator answers it, and
new comments keep arriving as the clock moves. Some texts carry the words of a demo comment rule
("scam", "fake"). Hides and replies are kept in the world.

Endpoints:
* ``GET comment/list/``: required ``advertiser_id``, ``start_time``, ``end_time``,
  ``search_field`` (only ``ADGROUP_ID``) and ``search_value`` (comment_list.yml); paging
  ``page`` / ``page_size`` (defaults 1 / 10); ``sort_field`` CREATE_TIME|LIKES|REPLIES|SMART,
  ``sort_type`` ASC|DESC; ``comment_type`` / ``comment_status`` JSON lists; ``data.comments``
  with the fields of the file's response_rule, plus ``page_info``.
* ``POST comment/status/update/``: ``advertiser_id``, ``comment_ids`` (list), ``operation``
  HIDDEN|PUBLIC.
* Pinning (issue 17): TikTok's SDK has no pin call for ad comments — comment_status_update.yml's
  ``operation`` is the strict enum CommentOperation {HIDDEN, PUBLIC} — yet comment_list.yml
  answers ``is_pinned`` per comment, and the Accounts API pins an organic video's comment with
  ``POST /business/comment/pin/`` (action PIN / UNPIN). How an advertiser pins an ad's comment
  is therefore a knob, ``comment_pin`` [U]: "status" (default) — comment/status/update also
  takes ``operation`` PIN / UNPIN, for exactly one comment id; "endpoint" — ``POST
  comment/pin/`` with ``advertiser_id``, ``comment_id``, ``action`` PIN|UNPIN (the Accounts
  API's shape); "none" — no way to pin (PIN is refused as the SDK's enum would, comment/pin/
  is an unknown route). A video shows one pinned comment (TikTok's app replaces the pinned
  one when another is pinned) -> ``comment_pin_replaces`` (default True: pinning another
  comment of the same ad unpins the first; False refuses it with 40002). Only a visible
  top-level comment may be pinned [U]: a hidden one or a reply is refused with 40002, and
  hiding a pinned comment unpins it.
* ``POST comment/post/``: a reply — comment_post.yml (tiktok/tiktok-business-api-sdk
  yml_files/) requires ``advertiser_id``, ``ad_id``, ``tiktok_item_id``, ``comment_id`` (the
  comment answered), ``comment_type`` (POST|REPLY; only REPLY is served, as the Go SDK
  bububa/tiktok-business says), ``text``, ``identity_type``, ``identity_id``. The ad, the video
  and the identity must be the comment's as comment/list answers them, the identity a
  CUSTOMIZED_USER or TT_USER one, and the comment a first-level one (the yml's description);
  a mismatch is 40002 [U: the code]. Answers the yml's response_rule: ``data.comment``
  {comment_id, create_time, reply_to_comment_id, text, tiktok_item_id} (the Go SDK's
  PostResponse reads ``data`` as a list Comment instead; TTPulse reads nothing of it).
* The rest of Comment management lives in comment_threads.py (comment/delete, comment/reference),
  comment_tasks.py (export tasks) and blocked_words.py; here it shows as: a deleted comment is
  left out of the list, of ``replies`` and of every lookup (40007); ``can_delete`` is true for
  the advertiser's own replies only; a comment holding a blocked word is answered
  ``hit_blockedword: true``, ``comment_status`` HIDDEN and not pinned, and status/update
  refuses to hide, show or pin it (40002 [U: the code]).

Uncertain, and configurable (sandbox/tiktok/config.py):
* The format of ``start_time`` / ``end_time`` is only "string" in the file [U]: "YYYY-MM-DD"
  (whole UTC days, both inclusive) and "YYYY-MM-DD HH:MM:SS" (UTC) are both accepted.
* The largest ``page_size`` is not declared [U] -> ``comment_page_size_max`` (default 100);
  the longest window is not declared either -> ``comment_max_days`` (default 30).
* The body fields of status/update are not in the files given [U]: the names above follow
  the list endpoint's own (``comment_id``, ``comment_status`` values) and the SDK's path
  names. comment/post's are comment_post.yml's; its ``text`` has no declared limit: it is
  held to ``comment_reply_max_len`` (default 150) characters [U].
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.tiktok import blocked_words
from sandbox.tiktok.api_account import page_args, paginate
from sandbox.tiktok.config import EmulatorConfig
from sandbox.tiktok.core import Ctx, route
from sandbox.tiktok.errors import ApiError, param_error
from sandbox.tiktok.model import DELETE, Ad, fmt_time

NOT_EXIST = 40007
OWN_USER = "advertiser"  # who writes the replies of comment/post (the ad's identity)
# Texts the demo's viewers write; the ones with "scam"/"fake" match the demo comment rule.
TEXTS = (
    "Where can I buy this?",
    "Love it 😍",
    "How much is shipping to Germany?",
    "This is a scam, never arrived",
    "Looks fake to me",
    "Ordered two, great quality!",
    "Does it come in blue?",
    "Это развод, не покупайте",
    "Супер, уже заказала",
    "Is there a discount code?",
    "fake reviews everywhere lol",
    "My sister has one, she loves it",
)
NAMES = ("mia_k", "dan.rivera", "sveta_99", "lucas.b", "emma_shop", "olegtt", "nina.rose")


def _roll(seed: int, *parts: object) -> int:
    """A stable pseudo-random integer from the seed and some parts."""
    raw = hashlib.sha256(":".join(str(p) for p in (seed, *parts)).encode()).digest()
    return int.from_bytes(raw[:8], "big")


def comment_id(ad_id: str, slot: int) -> str:
    """The id of the comment an ad got in a slot (numeric, 64-bit-ish, stable)."""
    return str(7_400_000_000_000_000_000 + (_roll(0, ad_id, slot) % 10**17))


def _generated(ctx: Ctx, ad: Ad, start: float, end: float) -> list[dict[str, Any]]:
    """The comments written under one ad between start and end (never after now)."""
    cfg = ctx.emu.config
    slot_len = cfg.comment_slot_seconds
    end = min(end, ctx.now)
    first = int(max(start, ad.create_time) // slot_len)
    out = []
    for slot in range(first, int(end // slot_len) + 1):
        roll = _roll(ctx.world.seed, ad.ad_id, slot)
        if roll % 100 >= cfg.comment_chance_percent:
            continue
        at = slot * slot_len + (roll >> 8) % slot_len
        if not start <= at <= end or at < ad.create_time:
            continue
        cid = comment_id(ad.ad_id, slot)
        out.append({"comment_id": cid, "at": at, "text": TEXTS[(roll >> 20) % len(TEXTS)],
                    "user": NAMES[(roll >> 28) % len(NAMES)], "likes": (roll >> 36) % 40})
    return out


def item_id_of(ad: Ad) -> str:
    """The TikTok video id comment/list answers for an ad's comments."""
    return f"70{ad.ad_id[-17:]}"


def identity_of(ad: Ad) -> tuple[str, str]:
    """The ad's identity (identity_type, identity_id), as comment/list answers it."""
    return (str(ad.extra.get("identity_type", "CUSTOMIZED_USER")),
            str(ad.extra.get("identity_id", "")))


def check_target(cid: str, ad: Ad, ad_id: str, item_id: str, identity_type: str | None,
                 identity_id: str) -> None:
    """A comment/post or comment/delete names the comment's ad, its video and the ad's identity,
    as comment/list answers them (40002 otherwise [U: the code])."""
    if ad_id != ad.ad_id:
        raise param_error(f"Comment {cid} is not a comment of ad {ad_id}.")
    if item_id != item_id_of(ad):
        raise param_error(f"Comment {cid} is not a comment of video {item_id}.")
    if (identity_type, identity_id) != identity_of(ad):
        raise param_error("identity_type and identity_id should be the ad's identity.")


def _view(ctx: Ctx, ad: Ad, c: dict[str, Any], original: str = "0") -> dict[str, Any]:
    """A comment as comment/list answers it (the response_rule's fields)."""
    w = ctx.world
    group = w.adgroups[ad.adgroup_id]
    camp = w.campaigns[ad.campaign_id]
    cid = c["comment_id"]
    replies = [r for r in w.comment_replies.values()
               if r["original"] == cid and r["comment_id"] not in w.comment_deleted]
    # A blocked word hides the comment (blocked_words.py); only the advertiser's own comments
    # (its replies) can be deleted (comment_threads.py).
    hit = blocked_words.hit(ctx, ad.advertiser_id, c["text"], c["at"])
    return {
        "ad_id": ad.ad_id,
        "ad_name": ad.name,
        "ad_text": str(ad.extra.get("ad_text", "")),
        "adgroup_id": ad.adgroup_id,
        "adgroup_name": group.name,
        "app": "TikTok",
        "campaign_id": ad.campaign_id,
        "campaign_name": camp.name,
        "can_delete": c["user"] == OWN_USER,
        "comment_id": cid,
        "comment_status": "HIDDEN" if hit else w.comment_status.get(cid, "PUBLIC"),
        "comment_type": "REPLY" if original != "0" else "COMMENT",
        "content": c["text"],
        "create_time": fmt_time(c["at"]),
        "hit_blockedword": hit,
        "identity_id": identity_of(ad)[1],
        "identity_type": identity_of(ad)[0],
        "is_auth_comment_manage_scope": True,
        "is_auth_ttba": False,
        "is_pinned": w.comment_pinned.get(ad.ad_id) == cid and not hit,
        "likes": c.get("likes", 0),
        "original_comment_id": original,
        "replies": len(replies),
        "tiktok_item_id": item_id_of(ad),
        "user_avatar_url": "",
        "user_id": str(_roll(1, c["user"]) % 10**18),
        "user_name": c["user"],
        "video_cover_url": "",
        "video_play_url": "",
    }


def _window(ctx: Ctx) -> tuple[float, float]:
    """start_time / end_time as Unix seconds (a bare date covers its whole UTC day)."""
    out = []
    for name, whole_day in (("start_time", 0), ("end_time", 86399)):
        value = ctx.params.req(name)
        for fmt, extra in (("%Y-%m-%d %H:%M:%S", 0), ("%Y-%m-%d", whole_day)):
            try:
                out.append(datetime.strptime(value, fmt).replace(tzinfo=UTC).timestamp() + extra)
                break
            except ValueError:
                continue
        else:
            raise param_error(f"{name} should be in the format YYYY-MM-DD.")
    start, end = out
    if end < start:
        raise param_error("end_time should not be earlier than start_time.")
    days = ctx.emu.config.comment_max_days
    if end - start > timedelta(days=days).total_seconds():
        raise param_error(f"the time range should not exceed {days} days.")
    return start, end


def _filter(ctx: Ctx, name: str, allowed: list[str]) -> set[str]:
    """A JSON list filter such as comment_status ["HIDDEN"]; ALL (or absent) keeps all."""
    values = ctx.params.str_list(name, allowed=["ALL", *allowed]) or ["ALL"]
    return set(allowed) if "ALL" in values else set(values)


@route("comment/list/")
def comment_list(ctx: Ctx) -> Any:
    """Comments under an ad group's ads in a time window, paged (comment_list.yml)."""
    p = ctx.params
    adv = ctx.advertiser()
    start, end = _window(ctx)
    p.enum("search_field", ["ADGROUP_ID"], required=True)
    group = ctx.world.adgroups.get(p.req("search_value"))
    if group is None or group.advertiser_id != adv.advertiser_id:
        return {"comments": [], "page_info": paginate([], 1, 10)[1]}
    sort_field = p.enum("sort_field", ["CREATE_TIME", "LIKES", "REPLIES", "SMART"],
                        default="CREATE_TIME")
    sort_type = p.enum("sort_type", ["ASC", "DESC"], default="DESC")
    statuses = _filter(ctx, "comment_status", ["PUBLIC", "HIDDEN"])
    types = _filter(ctx, "comment_type", ["COMMENT", "REPLY"])
    page, size = page_args(p, ctx.emu.config.comment_page_size_max, 10)
    rows: list[dict[str, Any]] = []
    seen: dict[str, dict[str, Any]] = {}
    for ad_id in group.ad_ids:
        ad = ctx.world.ads[ad_id]
        if ad.status.at(ctx.now) == DELETE:
            continue
        if "COMMENT" in types:
            made = _generated(ctx, ad, start, end)
            seen.update((c["comment_id"], c) for c in made)
            rows += [_view(ctx, ad, c) for c in made]
        if "REPLY" in types:
            rows += [_view(ctx, ad, r, r["original"]) for r in ctx.world.comment_replies.values()
                     if r["ad_id"] == ad_id and start <= r["at"] <= end]
    rows = [r for r in rows if r["comment_status"] in statuses
            and r["comment_id"] not in ctx.world.comment_deleted]
    key = {"CREATE_TIME": "create_time", "LIKES": "likes", "REPLIES": "replies",
           "SMART": "likes"}[sort_field or "CREATE_TIME"]
    rows.sort(key=lambda r: (r[key], r["comment_id"]), reverse=sort_type == "DESC")
    shown, info = paginate(rows, page, size)
    for row in shown:
        ctx.world.comment_ads.setdefault(row["comment_id"], ctx.world.ads[row["ad_id"]])
        if row["comment_id"] in seen:
            ctx.world.comment_seen.setdefault(row["comment_id"], seen[row["comment_id"]])
    return {"comments": shown, "page_info": info}


def _known(ctx: Ctx, cid: str) -> Ad | None:
    """The ad a comment id belongs to: a reply, or a comment some list answered (a client only
    learns ids from a list, so a lookup never has to regenerate months of comments)."""
    if cid in ctx.world.comment_deleted:
        return None  # a deleted comment is gone (comment_threads.py)
    if cid in ctx.world.comment_replies:
        return ctx.world.ads.get(ctx.world.comment_replies[cid]["ad_id"])
    return ctx.world.comment_ads.get(cid)


@route("comment/status/update/", "POST")
def comment_status_update(ctx: Ctx) -> Any:
    """Hide or show comments (HIDDEN / PUBLIC); with ``comment_pin`` "status" also PIN /
    UNPIN one comment."""
    p = ctx.params
    adv = ctx.advertiser()
    ids = p.str_list("comment_ids", required=True, min_items=1, max_items=20) or []
    pin_ops = ["PIN", "UNPIN"] if ctx.emu.config.comment_pin == "status" else []
    operation = p.enum("operation", ["HIDDEN", "PUBLIC", *pin_ops], required=True)
    ads = {}
    for cid in ids:
        ad = _known(ctx, cid)
        if ad is None or ad.advertiser_id != adv.advertiser_id:
            raise ApiError(NOT_EXIST, f"Comment {cid} does not exist.")
        ads[cid] = ad
    if operation in ("HIDDEN", "PUBLIC"):
        for cid in ids:  # TikTok's help: a comment holding a blocked word cannot be hidden
            if _blocked(ctx, ads[cid], cid):  # or shown (blocked_words.py) [U: the code]
                raise param_error(f"Comment {cid} contains a blocked word.")
    if operation in ("PIN", "UNPIN"):
        if len(ids) != 1:
            raise param_error("Only one comment can be pinned or unpinned at a time.")
        _pin(ctx, ads[ids[0]], ids[0], operation == "PIN")
        return {}
    for cid in ids:
        ctx.world.comment_status[cid] = str(operation)
        if operation == "HIDDEN" and ctx.world.comment_pinned.get(ads[cid].ad_id) == cid:
            del ctx.world.comment_pinned[ads[cid].ad_id]  # a hidden comment is not pinned
    return {}


def raw_comment(ctx: Ctx, cid: str) -> dict[str, Any] | None:
    """A comment as written (text, time, user, likes): a reply, or one a list answered."""
    return ctx.world.comment_replies.get(cid) or ctx.world.comment_seen.get(cid)


def _blocked(ctx: Ctx, ad: Ad, cid: str) -> bool:
    """Whether a blocked word hides the comment (blocked_words.py)."""
    raw = raw_comment(ctx, cid)
    return raw is not None and blocked_words.hit(ctx, ad.advertiser_id, raw["text"], raw["at"])


def _pin(ctx: Ctx, ad: Ad, cid: str, on: bool) -> None:
    """Pin or unpin a comment of an ad's video (one pinned comment a video)."""
    w = ctx.world
    pinned = w.comment_pinned.get(ad.ad_id)
    if not on:
        if pinned == cid:
            del w.comment_pinned[ad.ad_id]
        return
    if cid in w.comment_replies:
        raise param_error("A reply cannot be pinned.")
    if w.comment_status.get(cid, "PUBLIC") != "PUBLIC" or _blocked(ctx, ad, cid):
        raise param_error("A hidden comment cannot be pinned.")
    if pinned not in (None, cid) and not ctx.emu.config.comment_pin_replaces:
        raise param_error("A comment is already pinned on this video. Unpin it first.")
    w.comment_pinned[ad.ad_id] = cid


def pin_route_on(config: EmulatorConfig) -> bool:
    """Whether comment/pin/ exists (server.py answers it as an unknown route otherwise)."""
    return config.comment_pin == "endpoint"


@route("comment/pin/", "POST")
def comment_pin(ctx: Ctx) -> Any:
    """Pin or unpin one comment (``comment_pin`` "endpoint" only; the Accounts API's shape)."""
    p = ctx.params
    adv = ctx.advertiser()
    cid = p.req("comment_id")
    action = p.enum("action", ["PIN", "UNPIN"], required=True)
    ad = _known(ctx, cid)
    if ad is None or ad.advertiser_id != adv.advertiser_id:
        raise ApiError(NOT_EXIST, f"Comment {cid} does not exist.")
    _pin(ctx, ad, cid, action == "PIN")
    return {}


# comment_post.yml: identity_type is the strict enum IdentityType, of which only AUTH_CODE,
# CUSTOMIZED_USER and TT_USER are valid keys (BC_AUTH_TT, BC_SELF_TT, UNSET: is_valid false);
# its description lets only ads of a CUSTOMIZED_USER or TT_USER identity be replied under.
POST_IDENTITY_TYPES = ["AUTH_CODE", "CUSTOMIZED_USER", "TT_USER"]
REPLY_IDENTITY_TYPES = ("CUSTOMIZED_USER", "TT_USER")


@route("comment/post/", "POST")
def comment_post(ctx: Ctx) -> Any:
    """Reply to a first-level comment as the ad's identity (comment_post.yml)."""
    p = ctx.params
    adv = ctx.advertiser()
    # comment_post.yml `required`: advertiser_id, ad_id, tiktok_item_id, comment_id,
    # comment_type, text, identity_type, identity_id (40002 when one is missing).
    ad_id = p.req("ad_id")
    item_id = p.req("tiktok_item_id")
    original = p.req("comment_id")
    # AdCommentType {POST, REPLY} (strict); the Go SDK (bububa/tiktok-business
    # model/comment/post.go): "currently only REPLY is supported" -> POST 40002 [U: the code].
    comment_type = p.enum("comment_type", ["POST", "REPLY"], required=True)
    text = p.name("text", required=True, max_len=ctx.emu.config.comment_reply_max_len) or ""
    identity_type = p.enum("identity_type", POST_IDENTITY_TYPES, required=True)
    identity_id = p.req("identity_id")
    if comment_type != "REPLY":
        raise param_error("comment_type only supports REPLY.")
    ad = _known(ctx, original)
    if ad is None or ad.advertiser_id != adv.advertiser_id:
        raise ApiError(NOT_EXIST, f"Comment {original} does not exist.")
    check_target(original, ad, ad_id, item_id, identity_type, identity_id)
    if identity_type not in REPLY_IDENTITY_TYPES:  # the yml's description [U: the code]
        raise param_error("Only ads of a CUSTOMIZED_USER or TT_USER identity can be replied to.")
    if original in ctx.world.comment_replies:  # "reply to first-level comments" [U: the code]
        raise param_error("Only first-level comments can be replied to.")
    n = len(ctx.world.comment_replies) + 1
    cid = str(7_500_000_000_000_000_000 + n)
    reply = {"comment_id": cid, "at": ctx.now, "text": text, "user": OWN_USER,
             "likes": 0, "original": original, "ad_id": ad.ad_id}
    ctx.world.comment_replies[cid] = reply
    return {"comment": _posted(ad, reply)}


def _posted(ad: Ad, reply: dict[str, Any]) -> dict[str, Any]:
    """The new reply as comment_post.yml's response_rule answers it: ``data.comment`` with
    comment_id, create_time, reply_to_comment_id, text, tiktok_item_id (nothing else); the time
    in comment/list's format [U: the yml gives no type]."""
    return {
        "comment_id": reply["comment_id"],
        "create_time": fmt_time(reply["at"]),
        "reply_to_comment_id": reply["original"],
        "text": reply["text"],
        "tiktok_item_id": item_id_of(ad),
    }
