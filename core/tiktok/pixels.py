"""Pixel and event calls (spec §9 "Pixel / Events"; tiktok-openapi/pixel_list.yml and
pixel_event_stats.yml), kept apart from the client's core and built on its transport.

Every call here needs the pixels scope: a token without it raises ScopeMissingError
(core/tiktok/errors.py), which callers explain and never retry. The files declare the replies
only as ``data.pixels`` / ``page_info`` and ``data.list``; the item fields read here are the
ones two public sources agree on [L] (the Go SDK bububa/tiktok-business model/pixel, and a
client generated from TikTok's docs, types/events-1-0.ts): a pixel/list event's ``event_type``
(the PixelEventType key) and ``optimization_event`` (what an ad group optimises for), and a
pixel/event/stats entry's ``statistics`` [{``pixel_event_type`` or ``custom_event_type``,
``total_count``}], joined to the events by type. Read leniently.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from core.tiktok.client import TikTokClient
from core.tiktok.parsing import as_list, as_mapping, chunks, id_str, to_int

PAGE_SIZE = 20  # pixel_list.yml: page_size maximum 20
STATS_MAX_DAYS = 30  # the longest date_range asked for at once [U]
STATS_MAX_PIXELS = 10  # pixel ids per pixel/event/stats call (the Go SDK's comment) [L]


@dataclass(frozen=True, slots=True)
class PixelEvent:
    """One event set up on a pixel: `kind` is the optimisation event an ad group names
    (COMPLETE_PAYMENT), or its type for an event nothing optimises for (PAGE_VIEW); `type` the
    PixelEventType key its counts are reported under."""

    kind: str
    code: str
    name: str
    type: str = ""


@dataclass(frozen=True, slots=True)
class Pixel:
    """A pixel of an ad account with its events."""

    pixel_id: str
    code: str
    name: str
    events: tuple[PixelEvent, ...]

    @classmethod
    def from_api(cls, item: Mapping[str, Any]) -> Pixel:
        """Build from a `pixel/list` `data.pixels` item."""
        events = []
        for e in (as_mapping(x) for x in as_list(item.get("events"))):
            kind = str(e.get("event_type") or "")
            events.append(PixelEvent(
                kind=str(e.get("optimization_event") or kind),
                code=str(e.get("event_code") or ""),
                name=str(e.get("name") or e.get("event_code") or ""),
                type=kind,
            ))
        return cls(
            pixel_id=id_str(item.get("pixel_id")),
            code=str(item.get("pixel_code") or ""),
            name=str(item.get("pixel_name") or ""),
            events=tuple(events),
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
                       pixels: Sequence[Pixel], first: date, last: date
                       ) -> dict[tuple[str, str], int]:
    """Event counts over the account's local days first..last: (pixel id, event kind) -> n, for
    the events set up on these pixels (asked STATS_MAX_PIXELS pixels at a time)."""
    kinds = {p.pixel_id: {e.type: e.kind for e in p.events if e.type} for p in pixels}
    out: dict[tuple[str, str], int] = {}
    for ids in chunks(kinds, STATS_MAX_PIXELS):
        reply = await client.transport.call(
            "GET", "pixel/event/stats/", token=token,
            params={"advertiser_id": advertiser_id, "pixel_ids": ids,
                    "date_range": {"start_date": first.isoformat(),
                                   "end_date": last.isoformat()}},
        )
        for entry in (as_mapping(x) for x in as_list(as_mapping(reply.data).get("list"))):
            pid = id_str(entry.get("pixel_id"))
            for stat in (as_mapping(e) for e in as_list(entry.get("statistics"))):
                kind = kinds.get(pid, {}).get(
                    str(stat.get("pixel_event_type") or stat.get("custom_event_type") or ""))
                if kind is not None:
                    n = to_int(stat.get("total_count")) or 0
                    out[(pid, kind)] = out.get((pid, kind), 0) + n
    return out
