"""Connecting affiliate trackers: test, add, edit, disconnect, list.

Nothing is stored until the tracker answered with its campaign list; the API key is sealed in
the vault (like TikTok tokens), never returned, logged or audited. A disconnect deletes the key at
once and keeps the pulled data for RETENTION so a mistaken disconnect can be undone by connecting
again; the purge tick (core/privacy/purge.py) then deletes it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from core.billing.limits import TRACKERS, LimitReached, can_add, guard
from core.billing.plans import Catalogue
from core.clock import Clock
from core.timezones import is_valid
from core.trackers.base import KINDS, TrackerCampaign, TrackerClient, TrackerError
from core.trackers.factory import normalize_url
from core.trackers.fx import BadRate, currency_code
from storage.inventory import CONNECTION_DAYS
from storage.models import Tracker
from storage.uow import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

RETENTION = timedelta(days=CONNECTION_DAYS)  # the inventory's promise (storage/inventory.py)
KEY_KIND = "tracker_key"
MAX_NAME = 128
MAX_URL = 512

# core.trackers.factory.client_factory(timeout): make_client(kind, base_url, api_key) with the
# configured per-call timeout (TRACKER_TIMEOUT_SECONDS).
ClientFactory = Callable[[str, str, str], TrackerClient]


class TrackerNotFound(LookupError):
    """No such tracker of this user (someone else's id, a purged one, or disconnected)."""


class BadInput(ValueError):
    """A field the user typed is unusable; `field`: kind | name | url | time_zone | currency |
    discrepancy_pct."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


@dataclass(frozen=True)
class TrackerInfo:
    """A tracker as the bot shows it (never the key)."""

    id: int
    kind: str
    name: str
    url: str
    time_zone: str
    currency: str
    status: str  # active | failing | disconnected
    last_error: str | None
    failing_since: datetime | None
    last_ok_at: datetime | None
    discrepancy_pct: int
    purge_after: datetime | None
    plan_paused_at: datetime | None = None  # a lower plan paused it: no push, no pull


@dataclass(frozen=True)
class Added:
    """A freshly connected tracker and the campaigns its test listed."""

    tracker: TrackerInfo
    campaigns: list[TrackerCampaign]


def info(t: Tracker) -> TrackerInfo:
    """The shown form of a tracker row."""
    return TrackerInfo(
        t.id,
        t.kind,
        t.name,
        t.base_url,
        t.time_zone,
        t.currency,
        t.status,
        t.last_error,
        t.failing_since,
        t.last_ok_at,
        t.discrepancy_pct,
        t.purge_after,
        t.plan_paused_at,
    )


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise BadInput("kind")
    return kind


def _url(kind: str, url: str) -> str:
    """The canonical address for `kind` (core.trackers.factory.normalize_url); TrackerError
    ("bad_url") for anything but an http(s) address."""
    text = normalize_url(kind, url)  # type: ignore[arg-type]
    if len(text) > MAX_URL:
        raise TrackerError("bad_url", "the address is too long")
    return text


def _name(name: str, fallback: str) -> str:
    text = " ".join(name.split())[:MAX_NAME]
    return text or fallback


def _zone(zone: str) -> str:
    if not zone or not is_valid(zone):
        raise BadInput("time_zone")
    return zone


def _currency(code: str) -> str:
    try:
        return currency_code(code)
    except BadRate:
        raise BadInput("currency") from None


async def test_tracker(
    kind: str, url: str, api_key: str, client_factory: ClientFactory
) -> list[TrackerCampaign]:
    """List the tracker's campaigns with these credentials; nothing is stored. A failure raises
    TrackerError whose `reason` the bot words (bad_url, bad_key, wrong_kind, edition, timeout,
    not_json, unavailable, …)."""
    kind, url = _kind(kind), _url(kind, url)
    if not api_key.strip():
        raise TrackerError("bad_key", "empty key")
    client = client_factory(kind, url, api_key.strip())
    try:
        return await client.list_campaigns()
    finally:
        await client.close()


test_tracker.__test__ = False  # type: ignore[attr-defined]  # a use-case, not a pytest test


async def add_tracker(
    uow: UnitOfWorkFactory,
    clock: Clock,
    user_id: int,
    kind: str,
    name: str,
    url: str,
    api_key: str,
    time_zone: str,
    currency: str,
    client_factory: ClientFactory,
    catalogue: Catalogue | None = None,
) -> Added:
    """Test the connection, then store the tracker and its sealed key in one transaction (audit
    "tracker.connected"); the tracker is due for its first push and pull at once. One tracker
    more than the plan allows raises LimitReached, before the test and again under the lock
    when storing (`catalogue`; None: no plan limits, for tools and tests that sell none)."""
    kind, url = _kind(kind), _url(kind, url)
    zone, code = _zone(time_zone), _currency(currency)
    if catalogue is not None and (hit := await can_add(uow, catalogue, clock, user_id,
                                                       TRACKERS)) is not None:
        raise LimitReached(hit)
    campaigns = await test_tracker(kind, url, api_key, client_factory)
    now = clock.now()
    async with uow() as u:
        if catalogue is not None:
            hit = await guard(u, catalogue, now, user_id, TRACKERS)
            if hit is not None:
                raise LimitReached(hit)
        tracker = Tracker(
            user_id=user_id,
            kind=kind,
            name=_name(name, kind),
            base_url=url,
            time_zone=zone,
            currency=code,
            status="active",
            discrepancy_pct=20,
            created_at=now,
            updated_at=now,
            due_at=now,
            attempts=0,
        )
        u.trackers.add(tracker)
        await u.session.flush()
        tracker.credential_id = (await u.credentials.add(user_id, KEY_KIND, api_key.strip())).id
        u.audit.record(
            user_id,
            "tracker.connected",
            "tracker",
            tracker.id,
            {"kind": kind, "url": url, "campaigns": len(campaigns)},
        )
        await u.commit()
        log.info("tracker.connected", extra={"tracker_id": tracker.id, "kind": kind})
        return Added(info(tracker), campaigns)


async def resume_tracker(uow: UnitOfWorkFactory, catalogue: Catalogue, clock: Clock,
                         user_id: int, tracker_id: int) -> TrackerInfo:
    """Take a tracker a plan paused back into use by hand, if the plan allows one more
    (LimitReached otherwise): due for its push and pull at once."""
    now = clock.now()
    async with uow() as u:
        tracker = await owned(u, user_id, tracker_id)
        if tracker.plan_paused_at is not None:
            hit = await guard(u, catalogue, now, user_id, TRACKERS)
            if hit is not None:
                raise LimitReached(hit)
            tracker.plan_paused_at, tracker.due_at, tracker.attempts = None, now, 0
            tracker.updated_at = now
            u.audit.record(user_id, "tracker.resumed", "tracker", tracker.id, {})
            await u.commit()
        return info(tracker)


async def owned(u: UnitOfWork, user_id: int, tracker_id: int, *, connected: bool = True) -> Tracker:
    """The user's tracker or TrackerNotFound (another user's id is refused the same way)."""
    tracker = await u.trackers.get(user_id, tracker_id)
    if tracker is None or (connected and tracker.status == "disconnected"):
        raise TrackerNotFound(tracker_id)
    return tracker


async def get_tracker(uow: UnitOfWorkFactory, user_id: int, tracker_id: int) -> TrackerInfo:
    """One of the user's trackers (disconnected ones too, with their purge date)."""
    async with uow() as u:
        return info(await owned(u, user_id, tracker_id, connected=False))


async def list_trackers(
    uow: UnitOfWorkFactory, user_id: int, *, include_disconnected: bool = False
) -> list[TrackerInfo]:
    """The user's trackers, oldest first (connected ones unless asked otherwise)."""
    async with uow() as u:
        rows = await u.trackers.of_user(user_id, include_disconnected=include_disconnected)
        return [info(t) for t in rows]


async def edit_tracker(
    uow: UnitOfWorkFactory,
    clock: Clock,
    user_id: int,
    tracker_id: int,
    client_factory: ClientFactory,
    *,
    name: str | None = None,
    url: str | None = None,
    api_key: str | None = None,
    time_zone: str | None = None,
    currency: str | None = None,
    discrepancy_pct: int | None = None,
) -> TrackerInfo:
    """Change the given fields; a new URL or key is tested (with the other, current one) before
    anything is saved, and a failed test changes nothing. Audit "tracker.edited" lists the
    changed fields (a key only as "replaced")."""
    async with uow() as u:
        tracker = await owned(u, user_id, tracker_id)
        kind, current_url, cred = tracker.kind, tracker.base_url, tracker.credential_id
        current_key = await u.credentials.reveal(cred) if cred is not None else None
    new_url = _url(kind, url) if url is not None else None
    new_key = api_key.strip() if api_key is not None else None
    if new_key is not None and not new_key:
        raise TrackerError("bad_key", "empty key")
    values: dict[str, Any] = {}
    if name is not None:
        values["name"] = _name(name, kind)
    if time_zone is not None:
        values["time_zone"] = _zone(time_zone)
    if currency is not None:
        values["currency"] = _currency(currency)
    if discrepancy_pct is not None:
        if not 1 <= discrepancy_pct <= 1000:
            raise BadInput("discrepancy_pct")
        values["discrepancy_pct"] = discrepancy_pct
    if new_url is not None or new_key is not None:
        key = new_key if new_key is not None else current_key
        if key is None:
            raise TrackerError("bad_key", "no key stored: type the key again")
        await test_tracker(kind, new_url or current_url, key, client_factory)
    now = clock.now()
    async with uow() as u:
        tracker = await owned(u, user_id, tracker_id)
        changed = sorted(k for k, v in values.items() if getattr(tracker, k) != v)
        for field, value in values.items():
            setattr(tracker, field, value)
        if new_url is not None and new_url != tracker.base_url:
            tracker.base_url = new_url
            changed.append("url")
        if new_key is not None:
            if tracker.credential_id is None:
                tracker.credential_id = (await u.credentials.add(user_id, KEY_KIND, new_key)).id
            else:
                await u.credentials.replace(tracker.credential_id, new_key)
            changed.append("api_key")
        if new_url is not None or new_key is not None:
            # A connection that tests fine is worth trying again at once.
            tracker.status, tracker.last_error, tracker.failing_since = "active", None, None
            tracker.due_at, tracker.attempts = now, 0
        tracker.updated_at = now
        details: dict[str, Any] = {k: values[k] for k in changed if k in values}
        if "url" in changed:
            details["url"] = tracker.base_url
        if "api_key" in changed:
            details["api_key"] = "replaced"
        u.audit.record(user_id, "tracker.edited", "tracker", tracker.id, details)
        await u.commit()
        return info(tracker)


async def disconnect_tracker(
    uow: UnitOfWorkFactory, clock: Clock, user_id: int, tracker_id: int
) -> datetime:
    """Delete the key at once, stop pushing and pulling, drop the links, and schedule the pulled
    data for deletion after RETENTION; the purge time (audit "tracker.disconnected")."""
    now = clock.now()
    async with uow() as u:
        tracker = await owned(u, user_id, tracker_id)
        tracker.status, tracker.disconnected_at = "disconnected", now
        tracker.purge_after = now + RETENTION
        tracker.due_at, tracker.lease_owner, tracker.lease_until = None, None, None
        if tracker.credential_id is not None:
            credential_id, tracker.credential_id = tracker.credential_id, None
            await u.session.flush()
            await u.credentials.delete(credential_id)
        links = await u.trackers.drop_links(tracker.id)
        u.audit.record(
            user_id,
            "tracker.disconnected",
            "tracker",
            tracker.id,
            {"purge_after": tracker.purge_after.isoformat(), "links": links},
        )
        await u.commit()
        return tracker.purge_after


# Status (shared by push and pull) -------------------------------------------------------------
# last_error reads "<stage>: <reason>: <the tracker's words>" (stage: push | pull); a success
# of one stage clears only a failure of that same stage, so a tracker that takes costs but will
# not report revenue stays "failing" with the pull's error and its first failure time.


async def record_failure(
    uow: UnitOfWorkFactory, clock: Clock, tracker_id: int, stage: str, error: str
) -> None:
    """Mark the tracker failing with `error` (failing_since kept from the first failure)."""
    now = clock.now()
    async with uow() as u:
        tracker = await u.trackers.by_id(tracker_id)
        if tracker is None or tracker.status == "disconnected":
            return
        if tracker.status != "failing" or tracker.failing_since is None:
            tracker.failing_since = now
        tracker.status, tracker.last_error = "failing", f"{stage}: {error}"[:300]
        await u.commit()
    log.warning(
        "tracker.failing", extra={"tracker_id": tracker_id, "stage": stage, "error": error[:200]}
    )


async def record_success(
    uow: UnitOfWorkFactory, clock: Clock, tracker_id: int, stage: str, started: datetime
) -> None:
    """Note a successful push or pull begun at `started` (last_ok_at is the pull's: the data
    is at least that fresh), clearing a failure of the same stage."""
    async with uow() as u:
        tracker = await u.trackers.by_id(tracker_id)
        if tracker is None or tracker.status == "disconnected":
            return
        if tracker.last_error is None or tracker.last_error.startswith(f"{stage}:"):
            tracker.status, tracker.last_error, tracker.failing_since = "active", None, None
        if stage == "push":
            tracker.push_ok_at = started
        else:
            tracker.last_ok_at = started
        await u.commit()
