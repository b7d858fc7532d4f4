"""Comment management calls (spec §9; tiktok-openapi/comment_list.yml), kept apart from the
client's core (core/tiktok/client.py) and built on its transport and paging.

Every call here needs the comments scope: a token without it raises ScopeMissingError
(core/tiktok/errors.py), which callers explain to the user and never retry.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from core.tiktok.client import TikTokClient
from core.tiktok.parsing import as_list, as_mapping, id_str, utc_datetime

# comment_list.yml declares page_size without a maximum; 100 is the usual TikTok list cap and
# the emulator's default (its comment_page_size_max) [U].
PAGE_SIZE = 100
# TikTok's status values (comment_list.yml CommentStatus).
PUBLIC, HIDDEN = "PUBLIC", "HIDDEN"
# How an ad's comment is pinned (Settings.tiktok_comment_pin). TikTok's SDK has no pin call for
# ad comments: comment_status_update.yml's `operation` is the strict enum {HIDDEN, PUBLIC},
# while comment_list.yml answers `is_pinned`; the Accounts API pins an organic comment with
# POST /business/comment/pin/ (action PIN / UNPIN). "status" sends operation PIN / UNPIN to
# comment/status/update, "endpoint" POSTs comment/pin/, "off" offers no pin [U].
PIN_VIA = ("status", "endpoint", "off")


@dataclass(frozen=True, slots=True)
class Comment:
    """One comment under an ad, with the names TikTok sends alongside."""

    comment_id: str
    ad_id: str
    ad_name: str
    adgroup_id: str
    campaign_id: str
    content: str
    user_name: str
    status: str
    created: datetime
    original_comment_id: str | None
    pinned: bool = False
    # The ad's video and identity, which comment/post must repeat (comment_post.yml).
    tiktok_item_id: str = ""
    identity_type: str = ""
    identity_id: str = ""

    @classmethod
    def from_api(cls, item: Mapping[str, Any]) -> Comment:
        """Build from a `comment/list` `data.comments` item."""
        original = id_str(item.get("original_comment_id"))
        return cls(
            comment_id=id_str(item.get("comment_id")),
            ad_id=id_str(item.get("ad_id")),
            ad_name=str(item.get("ad_name") or ""),
            adgroup_id=id_str(item.get("adgroup_id")),
            campaign_id=id_str(item.get("campaign_id")),
            content=str(item.get("content") or ""),
            user_name=str(item.get("user_name") or ""),
            status=str(item.get("comment_status") or PUBLIC),
            created=utc_datetime(item.get("create_time")) or datetime(1970, 1, 1, tzinfo=UTC),
            original_comment_id=original if original not in ("", "0") else None,
            pinned=item.get("is_pinned") is True,
            tiktok_item_id=id_str(item.get("tiktok_item_id")),
            identity_type=str(item.get("identity_type") or ""),
            identity_id=id_str(item.get("identity_id")),
        )


async def _pages(client: TikTokClient, token: str, advertiser_id: str, adgroup_id: str,
                 start: date, end: date, status: str | None, replies: bool
                 ) -> AsyncIterator[list[Comment]]:
    """Pages of one ad group's comments, newest first, one request at a time (the caller stops
    as soon as it has what it needs: an ad's comments can run to thousands)."""
    params: dict[str, Any] = {
        "advertiser_id": advertiser_id,
        "start_time": start.isoformat(),
        "end_time": end.isoformat(),
        "search_field": "ADGROUP_ID",
        "search_value": adgroup_id,
        "sort_field": "CREATE_TIME",
        "sort_type": "DESC",
        "comment_type": ["REPLY"] if replies else ["COMMENT"],
        "page_size": PAGE_SIZE,
    }
    if status is not None:
        params["comment_status"] = [status]
    number, total = 1, 1
    while number <= total:
        reply = await client.transport.call("GET", "comment/list/", token=token,
                                            params={**params, "page": number})
        data = as_mapping(reply.data)
        total = int(as_mapping(data.get("page_info")).get("total_page") or 1)
        yield [Comment.from_api(as_mapping(i)) for i in as_list(data.get("comments"))]
        number += 1


async def list_since(client: TikTokClient, token: str, advertiser_id: str, adgroup_id: str,
                     since: datetime, until: datetime) -> list[Comment]:
    """The comments under one ad group's ads written at or after `since`: newest first, paging
    stops at the first comment older than that. The window's days are whole UTC days
    (comment_list.yml gives start_time/end_time as strings only [U])."""
    out: list[Comment] = []
    async for page in _pages(client, token, advertiser_id, adgroup_id, since.date(),
                             until.date(), None, False):
        out += [c for c in page if c.created >= since]
        if not page or page[-1].created < since:
            break
    return out


async def find(client: TikTokClient, token: str, advertiser_id: str, adgroup_id: str,
               comment_id: str, created: datetime, status: str) -> Comment | None:
    """Read one comment back among those with `status` (None: TikTok does not show it so)."""
    async for page in _pages(client, token, advertiser_id, adgroup_id, created.date(),
                             created.date(), status, False):
        for c in page:
            if c.comment_id == comment_id:
                return c
        if not page or page[-1].created < created:
            break
    return None


async def set_status(client: TikTokClient, token: str, advertiser_id: str,
                     comment_ids: Sequence[str], status: str) -> None:
    """Hide (HIDDEN) or show (PUBLIC) comments; setting a status twice is harmless, so a lost
    reply may be retried."""
    body = {"advertiser_id": advertiser_id, "comment_ids": list(comment_ids), "operation": status}
    await client.transport.call("POST", "comment/status/update/", token=token, body=body)


async def set_pinned(client: TikTokClient, token: str, advertiser_id: str, comment_id: str,
                     pinned: bool, via: str = "status") -> None:
    """Pin or unpin one comment on its ad's video (`via`: see PIN_VIA); repeating either is
    harmless, so a lost reply may be retried."""
    action = "PIN" if pinned else "UNPIN"
    if via == "endpoint":
        body: dict[str, Any] = {"advertiser_id": advertiser_id, "comment_id": comment_id,
                                "action": action}
        await client.transport.call("POST", "comment/pin/", token=token, body=body)
        return
    body = {"advertiser_id": advertiser_id, "comment_ids": [comment_id], "operation": action}
    await client.transport.call("POST", "comment/status/update/", token=token, body=body)


async def reply(client: TikTokClient, token: str, advertiser_id: str, comment: Comment,
                text: str) -> None:
    """Reply to a comment (as comment/list answered it) as the ad's identity; not resent on a
    lost reply (TikTok does not de-duplicate it: a second send would post the reply twice).
    comment_post.yml requires the ad, its video (tiktok_item_id), the comment, comment_type
    REPLY and the ad's identity."""
    body = {"advertiser_id": advertiser_id, "ad_id": comment.ad_id,
            "tiktok_item_id": comment.tiktok_item_id, "comment_id": comment.comment_id,
            "comment_type": "REPLY", "text": text, "identity_type": comment.identity_type,
            "identity_id": comment.identity_id}
    await client.transport.call("POST", "comment/post/", token=token, body=body,
                                idempotent=False)
