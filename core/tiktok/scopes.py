"""TikTok permission scopes: the ids a token answer lists (spec §2.3) and the features they open.

TikTok reports a token's scopes as integers and publishes no mapping from an id to the
permission its developer portal names (spec §2.3). The ids below are the ones the emulator plays
(sandbox/tiktok/scopes.py; a test keeps the two equal); ``4`` is TikTok's own example and stands
for ads management. Against the real API this table must be set to what the app's portal page
shows; ``parse_table`` reads an override written ``group=id,…``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

SCOPE_IDS: dict[str, int] = {
    "ads_management": 4,
    "reporting": 5,
    "comments": 14,
    "pixels": 15,
    "audiences": 16,
    "catalogs": 17,
}
REQUIRED = ("ads_management", "reporting")
# Features a user may turn on; each needs its own scope (issue 17; spec §9).
OPTIONAL = ("comments", "pixels", "audiences", "catalogs")


def parse_table(text: str) -> dict[str, int]:
    """``comments=14,pixels=15`` over the default table; unknown groups and bad ids are errors."""
    table = dict(SCOPE_IDS)
    for part in filter(None, (p.strip() for p in text.split(","))):
        group, _, value = part.partition("=")
        group = group.strip()
        if group not in table or not value.strip().isdigit():
            raise ValueError(f"TIKTOK_SCOPE_IDS: bad entry {part!r}")
        table[group] = int(value)
    return table


def groups_of(scope: Iterable[int | str], table: Mapping[str, int] | None = None) -> list[str]:
    """The feature groups a token's scope ids grant, in table order. Ids may come as strings
    (spec §2.3: some clients type them so); unknown ids are ignored."""
    ids = set()
    for s in scope:
        try:
            ids.add(int(s))
        except (TypeError, ValueError):
            continue
    return [g for g, i in (table or SCOPE_IDS).items() if i in ids]


# API path prefix (relative to /open_api/v1.3/) -> the optional group it belongs to (spec §9).
_OPTIONAL_PATHS = {
    "comment/": "comments",
    "blockedword/": "comments",
    "pixel/": "pixels",
    "event/": "pixels",
    "offline/": "pixels",
    "dmp/": "audiences",
    "catalog/": "catalogs",
}


def optional_group_of(path: str | None) -> str | None:
    """The optional group whose scope an API path needs (None: a required or unknown path)."""
    rel = (path or "").split("/open_api/v1.3/")[-1].lstrip("/")
    return next((g for p, g in _OPTIONAL_PATHS.items() if rel.startswith(p)), None)
