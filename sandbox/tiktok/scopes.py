"""Permission scopes: which scope id opens which endpoints, and the refusal when one is missing.

TikTok reports a token's scopes as a list of integers (spec §2.3 ``scope``, e.g. ``[4]``) and
publishes no mapping from id to the permission names its developer portal shows ("No public
mapping from ID to portal permission name was found", spec §2.3). The ids below are therefore
the emulator's own choice: ``4`` stays ads management (the only id ever seen, and what every
token issued before scopes were modelled carries); the others are invented, kept in this one
table and overridable per emulator through ``EmulatorConfig.scope_ids``.

The product keeps the same table in core/tiktok/scopes.py (it may not import the sandbox); a
test holds the two equal.
"""

from __future__ import annotations

from sandbox.tiktok.errors import NO_PERMISSION, SCOPE_NOT_AUTHORIZED, ApiError

# Feature group -> scope id. Not public (spec §2.3): a configurable constant, not a fact.
DEFAULT_SCOPE_IDS: dict[str, int] = {
    "ads_management": 4,
    "reporting": 5,
    "comments": 14,
    "pixels": 15,
    "audiences": 16,
    "catalogs": 17,
}
# Every app asks for these; the consent page has no box to withhold them.
REQUIRED_GROUPS = ("ads_management", "reporting")
# The ones a person may grant or withhold on the consent page (spec §9 "Other product scopes").
OPTIONAL_GROUPS = ("comments", "pixels", "audiences", "catalogs")
GROUP_TITLES = {
    "ads_management": "Ads management",
    "reporting": "Reporting",
    "comments": "Comment management",
    "pixels": "Pixels and events",
    "audiences": "Audience management",
    "catalogs": "Catalog management",
}

# Path prefix (relative to /open_api/v1.3/) -> group. Longest prefix wins; a path with no
# entry needs no scope (OAuth, user/info: any valid token may call them).
PATH_GROUPS: dict[str, str] = {
    "advertiser/": "ads_management",
    "bc/": "ads_management",
    "campaign/": "ads_management",
    "creative/": "ads_management",  # creative portfolios (portfolios.py) [U]
    "adgroup/": "ads_management",
    "ad/": "ads_management",
    "file/": "ads_management",
    "identity/": "ads_management",
    "tool/": "ads_management",  # targeting reference data; its permission is not public [U]
    "oauth2/advertiser/get/": "ads_management",
    "report/": "reporting",
    "comment/": "comments",
    "blockedword/": "comments",
    "pixel/": "pixels",
    "event/": "pixels",
    "offline/": "pixels",
    "app/": "pixels",  # the SDK files app/* with pixels under MeasurementApi [U]
    "dmp/": "audiences",
    "catalog/": "catalogs",
}

# Refusal texts. Neither is quoted by a source (spec §8.1 gives the names only) [U].
MSG_NO_PERMISSION = "No permission to operate this API. The access token lacks the {title} scope."
MSG_SCOPE_NOT_AUTHORIZED = "Scope not authorized: {title}."


def group_of(path: str) -> str | None:
    """The feature group an API path belongs to (None: no scope needed)."""
    best = ""
    for prefix in PATH_GROUPS:
        if path.startswith(prefix) and len(prefix) > len(best):
            best = prefix
    return PATH_GROUPS[best] if best else None


def ids_for(groups: list[str] | tuple[str, ...], table: dict[str, int]) -> list[int]:
    """The scope ids of some groups, sorted and without repeats."""
    return sorted({table[g] for g in groups if g in table})


def check_scope(path: str, granted: list[int], table: dict[str, int], code: int) -> None:
    """Refuse a call whose group's scope the token lacks, with ``code`` 40001 or 40130."""
    group = group_of(path)
    if group is None or group not in table or table[group] in granted:
        return
    title = GROUP_TITLES.get(group, group)
    if code == SCOPE_NOT_AUTHORIZED:
        raise ApiError(SCOPE_NOT_AUTHORIZED, MSG_SCOPE_NOT_AUTHORIZED.format(title=title))
    raise ApiError(NO_PERMISSION, MSG_NO_PERMISSION.format(title=title))
