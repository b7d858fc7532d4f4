"""Which tracker campaign receives each TikTok campaign's clicks.

Three ways, in order of precedence (a user's choice always beats a guess):
1. manual — the user picked a tracker campaign for one TikTok campaign;
2. pattern — TikTok campaign names matching a pattern go to one tracker campaign (a pattern with
   `*` / `?` is a case-insensitive glob over the whole name; without them, the name contains it);
3. auto — the tracker's report, grouped by the click field that holds the TikTok campaign id (or
   ad / ad group id), shows clicks from that campaign (spec §4: the landing-URL macros put the ids
   there). When a campaign's clicks reach several tracker campaigns, the one with most clicks wins.

Unlinking a campaign leaves an "ignored" row (source "ignored") so the automatic mapping does not
bring it back; linking it by hand again replaces that row. Campaigns a user linked by hand in
another tracker are never linked automatically here.
"""

from __future__ import annotations

import fnmatch
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy.exc import IntegrityError

from core.clock import Clock
from core.periods import local_today
from core.trackers.base import MACROS, Level, TrackerCampaign, TrackerError
from core.trackers.connect import ClientFactory, TrackerNotFound, owned
from storage.models import Tracker, TrackerLink
from storage.repos.trackers import TikTokCampaignRow
from storage.uow import UnitOfWork, UnitOfWorkFactory

# A full automatic mapping reads this many days (a campaign that stopped weeks ago still has
# spend and revenue in the stats); in between, FULL_EVERY apart, the last RECENT_DAYS catch new
# campaigns cheaply.
AUTO_WINDOW_DAYS = 60
RECENT_DAYS = 2
FULL_EVERY = timedelta(hours=24)
LEVELS: tuple[Level, ...] = ("campaign", "adgroup", "ad")
# The URL parameter of each level in the landing-URL suffix (spec §4 convention).
URL_PARAMS: Mapping[Level, str] = {
    "campaign": "campaign_id",
    "adgroup": "adgroup_id",
    "ad": "ad_id",
}
MAX_PATTERN = 128


class LinkError(ValueError):
    """A link the use-case refuses; `reason`: no_campaign (the TikTok campaign is not one of the
    user's synced ones) | no_tracker_campaign (the tracker does not list that id) | pattern
    (empty or too long) | no_link."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Linked:
    """An effective link: one TikTok campaign → one tracker campaign, with where ids land."""

    ad_account_id: int
    campaign_id: str
    campaign_name: str
    currency: str  # the ad account's
    time_zone: str  # the ad account's
    tracker_campaign_id: str
    tracker_campaign_name: str
    id_fields: Mapping[str, str]
    source: str  # manual | pattern | auto
    link_id: int


@dataclass(frozen=True)
class LinkInfo:
    """A stored link as listed (a pattern link has no campaign)."""

    id: int
    ad_account_id: int | None
    campaign_id: str | None
    pattern: str | None
    tracker_campaign_id: str
    tracker_campaign_name: str
    source: str  # manual | pattern | auto | ignored
    id_fields: Mapping[str, str]


@dataclass(frozen=True)
class AutoMapReport:
    """What an automatic mapping run found: links made or moved, and all auto links now."""

    new: int
    linked: list[tuple[int, str, str]]  # (ad account, TikTok campaign, tracker campaign)


def _info(link: TrackerLink) -> LinkInfo:
    return LinkInfo(
        link.id,
        link.ad_account_id,
        link.tiktok_campaign_id,
        link.pattern,
        link.tracker_campaign_id,
        link.tracker_campaign_name,
        link.source,
        dict(link.id_fields or {}),
    )


def matches(pattern: str, name: str) -> bool:
    """True if a TikTok campaign name matches a link pattern (see the module docstring)."""
    p, n = pattern.casefold(), name.casefold()
    if "*" in p or "?" in p:
        return fnmatch.fnmatchcase(n, p)
    return p in n


def landing_suffix(kind: str, id_fields: Mapping[str, str] | None = None) -> str:
    """The query suffix for a TikTok landing URL: `campaign_id=__CAMPAIGN_ID__&adgroup_id=__AID__
    &ad_id=__CID__` (spec §4), limited to the levels the tracker campaign records when its
    `id_fields` are known (all three when it records none yet: the recommended set-up). The URL
    parameter names are the project's convention, the ones the tracker's parameters / tokens
    are set to read (Keitaro parameter `name`, Binom token "Parameter"); the suffix is the same
    for every kind, `kind` is accepted so a kind needing a different form can get it here."""
    del kind  # same convention for Keitaro, Binom 1 and Binom 2
    levels = [lv for lv in LEVELS if id_fields and id_fields.get(lv)] or list(LEVELS)
    return "&".join(f"{URL_PARAMS[lv]}={MACROS[lv]}" for lv in levels)


def resolve_links(
    links: Sequence[TrackerLink],
    campaigns: Sequence[TikTokCampaignRow],
    taken_elsewhere: set[tuple[int, str]] = frozenset(),  # type: ignore[assignment]
) -> list[Linked]:
    """Effective links: manual, then pattern, then auto, for the user's synced campaigns."""
    by_pair = {(c.ad_account_id, c.campaign_id): c for c in campaigns}
    direct = {
        (lk.ad_account_id, lk.tiktok_campaign_id): lk
        for lk in links
        if lk.tiktok_campaign_id is not None and lk.ad_account_id is not None
    }
    patterns = [lk for lk in links if lk.pattern and lk.tiktok_campaign_id is None]
    out: list[Linked] = []
    for pair, c in by_pair.items():
        row = direct.get(pair)
        chosen: TrackerLink | None = None
        if row is not None and row.source == "manual":
            chosen = row
        elif row is not None and row.source == "ignored":
            continue
        else:
            chosen = next(
                (
                    p
                    for p in patterns
                    if (p.ad_account_id is None or p.ad_account_id == c.ad_account_id)
                    and matches(p.pattern or "", c.name)
                ),
                None,
            )
            if (
                chosen is None
                and row is not None
                and row.source == "auto"
                and pair not in taken_elsewhere
            ):
                chosen = row
        if chosen is None:
            continue
        out.append(
            Linked(
                c.ad_account_id,
                c.campaign_id,
                c.name,
                c.currency,
                c.time_zone,
                chosen.tracker_campaign_id,
                chosen.tracker_campaign_name,
                dict(chosen.id_fields or {}),
                chosen.source,
                chosen.id,
            )
        )
    out.sort(key=lambda lk: (lk.tracker_campaign_id, lk.ad_account_id, lk.campaign_id))
    return out


async def effective_links(u: UnitOfWork, tracker: Tracker) -> list[Linked]:
    """The tracker's effective links over the owner's synced campaigns (inside a unit of work)."""
    links = await u.trackers.links(tracker.id)
    campaigns = await u.trackers.tiktok_campaigns(tracker.user_id)
    elsewhere = await u.trackers.manual_links_elsewhere(tracker.user_id, tracker.id)
    return resolve_links(links, campaigns, elsewhere)


async def mapping(uow: UnitOfWorkFactory, user_id: int, tracker_id: int) -> list[Linked]:
    """The user's tracker's effective links (which TikTok campaign goes where, and how)."""
    async with uow() as u:
        return await effective_links(u, await owned(u, user_id, tracker_id))


async def list_links(uow: UnitOfWorkFactory, user_id: int, tracker_id: int) -> list[LinkInfo]:
    """The stored links of the user's tracker (patterns and ignored campaigns included)."""
    async with uow() as u:
        await owned(u, user_id, tracker_id)
        return [_info(lk) for lk in await u.trackers.links(tracker_id)]


async def tiktok_campaigns(
    uow: UnitOfWorkFactory, user_id: int, query: str = ""
) -> list[TikTokCampaignRow]:
    """The user's synced TikTok campaigns whose name contains `query` (any case), by name."""
    q = query.strip().casefold()
    async with uow() as u:
        rows = await u.trackers.tiktok_campaigns(user_id)
    return [r for r in rows if not q or q in r.name.casefold() or q == r.campaign_id]


async def _key(u: UnitOfWork, tracker: Tracker) -> str:
    key = await u.credentials.reveal(tracker.credential_id) if tracker.credential_id else None
    if key is None:
        raise TrackerError("bad_key", "no key stored")
    return key


async def tracker_campaigns(
    uow: UnitOfWorkFactory,
    user_id: int,
    tracker_id: int,
    client_factory: ClientFactory,
    query: str = "",
) -> list[TrackerCampaign]:
    """The tracker's campaigns whose name contains `query` (any case) or whose id is `query`,
    by name; TrackerError if the tracker cannot be reached."""
    async with uow() as u:
        tracker = await owned(u, user_id, tracker_id)
        kind, url, key = tracker.kind, tracker.base_url, await _key(u, tracker)
    client = client_factory(kind, url, key)
    try:
        found = await client.list_campaigns()
    finally:
        await client.close()
    q = query.strip().casefold()
    picked = [c for c in found if not q or q in c.name.casefold() or q == c.id.casefold()]
    return sorted(picked, key=lambda c: (c.name.casefold(), c.id))


async def _tracker_campaign(
    uow: UnitOfWorkFactory,
    user_id: int,
    tracker_id: int,
    client_factory: ClientFactory,
    campaign_id: str,
) -> TrackerCampaign:
    for c in await tracker_campaigns(uow, user_id, tracker_id, client_factory):
        if c.id == campaign_id:
            return c
    raise LinkError("no_tracker_campaign")


async def link_campaign(
    uow: UnitOfWorkFactory,
    clock: Clock,
    user_id: int,
    tracker_id: int,
    ad_account_id: int,
    tiktok_campaign_id: str,
    tracker_campaign_id: str,
    client_factory: ClientFactory,
) -> LinkInfo:
    """Link one TikTok campaign to a tracker campaign by hand (beats any automatic or pattern
    link; audit "tracker.linked")."""
    chosen = await _tracker_campaign(uow, user_id, tracker_id, client_factory, tracker_campaign_id)
    async with uow() as u:
        tracker = await owned(u, user_id, tracker_id)
        mine = {
            (c.ad_account_id, c.campaign_id)
            for c in await u.trackers.tiktok_campaigns(user_id, ad_account_id)
        }
        if (ad_account_id, tiktok_campaign_id) not in mine:
            raise LinkError("no_campaign")
        link = await u.trackers.link_of(tracker.id, ad_account_id, tiktok_campaign_id)
        if link is None:
            link = TrackerLink(
                tracker_id=tracker.id,
                ad_account_id=ad_account_id,
                tiktok_campaign_id=tiktok_campaign_id,
                created_at=clock.now(),
            )
            u.trackers.add_link(link)
        link.source, link.tracker_campaign_id = "manual", chosen.id
        link.tracker_campaign_name, link.id_fields = chosen.name[:256], dict(chosen.id_fields)
        await u.session.flush()
        u.audit.record(
            user_id,
            "tracker.linked",
            "tracker",
            tracker.id,
            {
                "ad_account_id": ad_account_id,
                "campaign_id": tiktok_campaign_id,
                "tracker_campaign_id": chosen.id,
            },
        )
        await u.commit()
        return _info(link)


async def link_pattern(
    uow: UnitOfWorkFactory,
    clock: Clock,
    user_id: int,
    tracker_id: int,
    pattern: str,
    tracker_campaign_id: str,
    client_factory: ClientFactory,
    ad_account_id: int | None = None,
) -> tuple[LinkInfo, list[TikTokCampaignRow]]:
    """Send TikTok campaigns whose names match `pattern` (in one ad account, or all) to a
    tracker campaign; the link and the campaigns it matches now (audit "tracker.linked")."""
    text = " ".join(pattern.split())
    if not text or len(text) > MAX_PATTERN:
        raise LinkError("pattern")
    chosen = await _tracker_campaign(uow, user_id, tracker_id, client_factory, tracker_campaign_id)
    async with uow() as u:
        tracker = await owned(u, user_id, tracker_id)
        link = TrackerLink(
            tracker_id=tracker.id,
            ad_account_id=ad_account_id,
            tiktok_campaign_id=None,
            pattern=text,
            source="pattern",
            tracker_campaign_id=chosen.id,
            tracker_campaign_name=chosen.name[:256],
            id_fields=dict(chosen.id_fields),
            created_at=clock.now(),
        )
        u.trackers.add_link(link)
        await u.session.flush()
        u.audit.record(
            user_id,
            "tracker.linked",
            "tracker",
            tracker.id,
            {"pattern": text, "tracker_campaign_id": chosen.id, "ad_account_id": ad_account_id},
        )
        now_linked = [lk for lk in await effective_links(u, tracker) if lk.link_id == link.id]
        await u.commit()
        campaigns = await u.trackers.tiktok_campaigns(user_id)
    wanted = {(lk.ad_account_id, lk.campaign_id) for lk in now_linked}
    return _info(link), [c for c in campaigns if (c.ad_account_id, c.campaign_id) in wanted]


async def unlink(
    uow: UnitOfWorkFactory, clock: Clock, user_id: int, tracker_id: int, link_id: int
) -> None:
    """Remove a link: a pattern is deleted; a campaign's link becomes "ignored" so the automatic
    mapping leaves that campaign alone (audit "tracker.unlinked")."""
    async with uow() as u:
        tracker = await owned(u, user_id, tracker_id)
        link = await u.trackers.link(tracker.id, link_id)
        if link is None:
            raise LinkError("no_link")
        details: dict[str, Any] = {
            "pattern": link.pattern,
            "campaign_id": link.tiktok_campaign_id,
            "tracker_campaign_id": link.tracker_campaign_id,
        }
        if link.tiktok_campaign_id is None:
            await u.trackers.delete_link(link)
        else:
            link.source = "ignored"
        u.audit.record(user_id, "tracker.unlinked", "tracker", tracker.id, details)
        await u.commit()


def _search_field(c: TrackerCampaign) -> tuple[Level, str] | None:
    """Where to look for TikTok ids in a tracker campaign's clicks: the campaign id field, else
    the ad's, else the ad group's."""
    for level in ("campaign", "ad", "adgroup"):
        field = c.id_fields.get(level)  # type: ignore[call-overload]
        if field:
            return level, field  # type: ignore[return-value]
    return None


async def auto_map(
    uow: UnitOfWorkFactory,
    clock: Clock,
    tracker_id: int,
    client_factory: ClientFactory,
    *,
    user_id: int | None = None,
    days: int | None = None,
) -> AutoMapReport:
    """Link TikTok campaigns whose ids appear in the tracker's clicks over the last `days` days
    (None: AUTO_WINDOW_DAYS when the last full mapping is older than FULL_EVERY, else
    RECENT_DAYS); source auto; manual, pattern and ignored links are left alone. With
    `user_id`, the tracker must be theirs. TrackerError if the tracker cannot be reached."""
    async with uow() as u:
        tracker = (
            await owned(u, user_id, tracker_id)
            if user_id is not None
            else await u.trackers.by_id(tracker_id)
        )
        if tracker is None or tracker.status == "disconnected":
            raise TrackerNotFound(tracker_id)
        kind, url, zone, owner = tracker.kind, tracker.base_url, tracker.time_zone, tracker.user_id
        started = clock.now()
        if days is None:
            stale = tracker.mapped_at is None or tracker.mapped_at <= started - FULL_EVERY
            days = AUTO_WINDOW_DAYS if stale else RECENT_DAYS
        key = await _key(u, tracker)
        campaigns = await u.trackers.tiktok_campaigns(owner)
        objects = await u.trackers.objects_under(
            {c.ad_account_id for c in campaigns}, {c.campaign_id for c in campaigns}
        )
    pairs_of: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
    for c in campaigns:
        pairs_of[("campaign", c.campaign_id)].append((c.ad_account_id, c.campaign_id))
    for account_id, level, object_id, campaign_id, _ in objects:
        if level != "campaign":
            pairs_of[(level, object_id)].append((account_id, campaign_id))
    client = client_factory(kind, url, key)
    found: dict[str, TrackerCampaign] = {}
    clicks: dict[tuple[int, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    try:
        listed = await client.list_campaigns()
        groups: dict[tuple[str, str], list[TrackerCampaign]] = defaultdict(list)
        for tc in listed:
            where = _search_field(tc)
            if where is not None:
                groups[where].append(tc)
                found[tc.id] = tc
        end = local_today(clock.now(), zone)
        start = end - timedelta(days=days - 1)
        for (level, field), members in sorted(groups.items()):
            rows = await client.pull([m.id for m in members], field, start, end, zone)
            for row in rows:
                if row.id_value is None or row.campaign_id not in found:
                    continue
                for pair in pairs_of.get((level, row.id_value), ()):
                    # A click counts even at 0 clicks reported: the id reached the tracker.
                    clicks[pair][row.campaign_id] += max(row.clicks, 1)
    finally:
        await client.close()
    save = partial(_save_auto_links, uow, clock, tracker_id, owner, clicks, found, days, started,
                   {tc.id: tc for tc in listed})
    try:
        return await save()
    except IntegrityError:
        # Another mapping of this tracker (the scheduled run, a press of "Run automatic
        # mapping", a link made by hand) linked one of these campaigns since the links were
        # read: read them again, and what it linked stands.
        return await save()


async def _save_auto_links(
    uow: UnitOfWorkFactory,
    clock: Clock,
    tracker_id: int,
    owner: int,
    clicks: Mapping[tuple[int, str], Mapping[str, int]],
    found: Mapping[str, TrackerCampaign],
    days: int,
    started: datetime,
    listed: Mapping[str, TrackerCampaign],
) -> AutoMapReport:
    """Link each TikTok campaign to the tracker campaign most of its clicks reached (auto links
    only; the user's choices stand), and refresh every link's tracker campaign name and id
    fields from `listed` (what the tracker says now)."""
    async with uow() as u:
        tracker = await u.trackers.by_id(tracker_id)
        if tracker is None or tracker.status == "disconnected":
            raise TrackerNotFound(tracker_id)
        elsewhere = await u.trackers.manual_links_elsewhere(owner, tracker_id)
        stored = await u.trackers.links(tracker_id)
        for lk in stored:
            # A link (by hand, by pattern, or automatic) keeps its tracker campaign as it is now:
            # renamed, or with its parameters set since (pushes and pulls then use that field).
            now = listed.get(lk.tracker_campaign_id)
            if now is not None and lk.tracker_campaign_name != now.name[:256]:
                lk.tracker_campaign_name = now.name[:256]
            if now is not None and dict(lk.id_fields or {}) != dict(now.id_fields):
                lk.id_fields = dict(now.id_fields)
        existing = {
            (lk.ad_account_id, lk.tiktok_campaign_id): lk
            for lk in stored
            if lk.tiktok_campaign_id is not None
        }
        new = 0
        linked: list[tuple[int, str, str]] = []
        for pair, per_campaign in sorted(clicks.items()):
            if pair in elsewhere:
                continue
            best = min(per_campaign.items(), key=lambda kv: (-kv[1], kv[0]))[0]
            tc = found[best]
            link = existing.get(pair)
            if link is not None and link.source != "auto":
                continue  # the user's choice (manual or ignored) stands
            if link is None:
                link = TrackerLink(
                    tracker_id=tracker_id,
                    ad_account_id=pair[0],
                    tiktok_campaign_id=pair[1],
                    source="auto",
                    created_at=clock.now(),
                )
                u.trackers.add_link(link)
                new += 1
            elif link.tracker_campaign_id != tc.id:
                new += 1
            link.tracker_campaign_id, link.tracker_campaign_name = tc.id, tc.name[:256]
            link.id_fields = dict(tc.id_fields)
            linked.append((pair[0], pair[1], tc.id))
        if days >= AUTO_WINDOW_DAYS:
            tracker.mapped_at = started
        if new:
            u.audit.record(None, "tracker.auto_linked", "tracker", tracker_id, {"new": new})
        await u.commit()
    return AutoMapReport(new, linked)
