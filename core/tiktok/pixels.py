"""Pixel and event calls (spec §9 "Pixel / Events"; tiktok-openapi/pixel_list.yml and
pixel_event_stats.yml), kept apart from the client's core and built on its transport.

Every call here needs the pixels scope: a token without it raises ScopeMissingError
(core/tiktok/errors.py), which callers explain and never retry. The files declare the replies
only as ``data.pixels`` / ``page_info`` and ``data.list``; the item fields read here are the
emulator's (sandbox/tiktok/pixels.py) and read leniently [U].
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from core.tiktok.client import TikTokClient
from core.tiktok.parsing import as_list, as_mapping, id_str

PAGE_SIZE = 20  # pixel_list.yml: page_size maximum 20
STATS_MAX_DAYS = 30  # the longest date_range asked for at once [U]


@dataclass(frozen=True, slots=True)
class PixelEvent:
    """One event set up on a pixel; `kind` is the optimisation event enum (COMPLETE_PAYMENT)."""

    kind: str
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class Pixel:
    """A pixel of an ad account with its events."""

    pixel_id: str
    code: str
    name: str
    status: str
    events: tuple[PixelEvent, ...]

    @classmethod
    def from_api(cls, item: Mapping[str, Any]) -> Pixel:
        """Build from a `pixel/list` `data.pixels` item."""
        events = tuple(
            PixelEvent(
                kind=str(e.get("custom_event_type") or e.get("event_type") or ""),
                code=str(e.get("event_code") or ""),
                name=str(e.get("name") or e.get("event_code") or ""),
            )
            for e in (as_mapping(x) for x in as_list(item.get("events")))
        )
        return cls(
            pixel_id=id_str(item.get("pixel_id")),
            code=str(item.get("pixel_code") or ""),
            name=str(item.get("pixel_name") or ""),
            status=str(item.get("activity_status") or ""),
            events=events,
        )


async def list_pixels(client: TikTokClient, token: str, advertiser_id: str) -> list[Pixel]:
    """Every pixel of an ad account, oldest first, every page of 20."""
    out: list[Pixel] = []
    number, total = 1, 1
    while number <= total:
        reply = await client.transport.call(
            "GET", "pixel/list/", token=token,
            params={"advertiser_id": advertiser_id, "page": number, "page_size": PAGE_SIZE},
        )
        data = as_mapping(reply.data)
        total = int(as_mapping(data.get("page_info")).get("total_page") or 1)
        out += [Pixel.from_api(as_mapping(i)) for i in as_list(data.get("pixels"))]
        number += 1
    return [p for p in out if p.pixel_id]


async def event_counts(client: TikTokClient, token: str, advertiser_id: str,
                       pixel_ids: Sequence[str], first: date, last: date
                       ) -> dict[tuple[str, str], int]:
    """Event counts over the account's local days first..last: (pixel id, event kind) -> n."""
    if not pixel_ids:
        return {}
    reply = await client.transport.call(
        "GET", "pixel/event/stats/", token=token,
        params={"advertiser_id": advertiser_id, "pixel_ids": list(pixel_ids),
                "date_range": {"start_date": first.isoformat(), "end_date": last.isoformat()}},
    )
    out: dict[tuple[str, str], int] = {}
    for entry in (as_mapping(x) for x in as_list(as_mapping(reply.data).get("list"))):
        pid = id_str(entry.get("pixel_id"))
        for ev in (as_mapping(e) for e in as_list(entry.get("events"))):
            kind = str(ev.get("custom_event_type") or ev.get("event_type") or "")
            out[(pid, kind)] = out.get((pid, kind), 0) + int(ev.get("count") or 0)
    return out
