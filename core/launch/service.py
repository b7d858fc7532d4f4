"""Launch use-cases: propose (pre-flight, then the persisted plan), approve or reject once,
expire what nobody approved, and read a launch back for its screens."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from core.billing.limits import (
    LAUNCHES,
    LimitReached,
    can_add,
    check_ads,
    guard,
    plan_in,
    plan_of,
)
from core.billing.plans import Catalogue
from core.clock import Clock
from core.features import is_on
from core.launch import plan, preflight
from core.launch.preflight import Issue
from core.periods import local_today
from core.templates.document import TemplateImportError, parse_document
from core.tiktok import TikTokClient
from storage.models import AdAccount, Creative, Launch, LaunchItem, Template
from storage.uow import UnitOfWork, UnitOfWorkFactory

APPROVE_FOR = timedelta(minutes=30)
MAX_ITEMS = 1000  # one launch creates at most this many objects
TWIN_WITHIN = timedelta(hours=24)  # a launch of the same plan this recent is pointed out


@dataclass(frozen=True)
class Request:
    """What the user chose for a launch."""

    template_id: int
    account_ids: list[int]
    creative_ids: list[int]
    enabled: bool = True
    run_at: datetime | None = None  # None: as soon as it is approved


@dataclass(frozen=True)
class Proposed:
    """A launch waiting for approval, with what it will create."""

    launch: Launch
    summary: plan.Summary
    accounts: list[plan.PlanAccount]
    warnings: list[Issue]  # what pre-flight could not check (e.g. unknown minimums)
    # The same template, accounts and creatives launched (or waiting for approval) within
    # TWIN_WITHIN: approving both would create everything twice.
    twin: Launch | None = None


async def targets(u: UnitOfWork, user_id: int, account_ids: list[int]) -> list[preflight.Target]:
    """The user's tracked accounts among `account_ids`, each with its token (if any)."""
    found = await u.rules.scope_accounts(user_id, account_ids)
    out = []
    for s in found:
        token = None
        if s.credential_id is not None and s.connection_status == "active":
            token = await u.credentials.reveal(s.credential_id)
        out.append(preflight.Target(s.account, token))
    return out


async def propose(
    uow: UnitOfWorkFactory,
    clock: Clock,
    client: TikTokClient,
    user_id: int,
    req: Request,
    catalogue: Catalogue | None = None,
) -> Proposed | list[Issue] | None:
    """Check everything, then record the launch and its whole plan for approval; the issues
    when something would fail; None when a template, account or creative is not the user's.
    LimitReached when the plan allows no more launches this month, or fewer ads per launch
    (`catalogue`; None: no plan limits, for tools and tests that sell none)."""
    if catalogue is not None and (hit := await can_add(uow, catalogue, clock, user_id,
                                                       LAUNCHES)) is not None:
        raise LimitReached(hit)
    async with uow() as u:
        row = await u.templates.get(user_id, req.template_id)
        user = await u.users.get(user_id)
        found = await targets(u, user_id, req.account_ids)
        creatives = await u.launches.creatives(user_id, req.creative_ids)
    if (
        row is None
        or user is None
        or not req.account_ids
        or not req.creative_ids
        or len(found) != len(set(req.account_ids))
        or len(creatives) != len(set(req.creative_ids))
    ):
        return None
    try:
        template = parse_document(row.document)
    except TemplateImportError as exc:
        return [Issue(p.code, path=p.path, params=dict(p.params)) for p in exc.problems]
    order = {a: n for n, a in enumerate(req.account_ids)}
    found.sort(key=lambda t: order[t.account.id])
    corder = {c: n for n, c in enumerate(req.creative_ids)}
    creatives.sort(key=lambda c: corder[c.id])
    accounts = [plan.PlanAccount(t.account.id, t.account.name, t.account.currency) for t in found]
    key = secrets.token_hex(12)
    # {date} is the launch date: a scheduled launch's is the day it starts.
    today = local_today(req.run_at or clock.now(), user.time_zone)
    items = plan.build(
        template, accounts, [plan.PlanCreative(c.id, c.name) for c in creatives], key, today
    )
    if catalogue is not None:  # the plan's ads per launch, before asking TikTok anything
        ads = sum(i.level == "ad" for i in items)
        if (hit := check_ads(await plan_of(uow, catalogue, clock, user_id), ads)) is not None:
            raise LimitReached(hit)
    checked = await preflight.run(client, template, found, creatives, now=clock.now(),
                                  audiences_on=is_on(user, "audiences"),
                                  catalogs_on=is_on(user, "catalogs"))
    if checked.issues:
        return checked.issues
    facts = checked.facts
    if len(items) > MAX_ITEMS:
        return [Issue("too_many_items", params={"count": len(items), "max": MAX_ITEMS})]
    now = clock.now()
    launch = Launch(
        user_id=user_id,
        template_id=row.id,
        template_name=row.name,
        document=row.document,
        params={
            "key": key,
            "accounts": {
                str(a): {"identity_id": f.identity_id, "pixel_id": f.pixel_id}
                for a, f in facts.items()
            },
            "creatives": [c.id for c in creatives],
            "media": {},
            "locale": user.language,
        },
        state="proposed",
        enabled=req.enabled,
        run_at=req.run_at,
        expires_at=now + APPROVE_FOR,
        created_at=now,
    )
    rows = [
        LaunchItem(
            seq=i.seq,
            level=i.level,
            ad_account_id=i.account_id,
            parent_seq=i.parent_seq,
            name=i.name,
            spec=i.spec,
            request_id=i.request_id,
            state="pending",
        )
        for i in items
    ]
    async with uow() as u:
        twin = next((t for t in await u.launches.made_since(user_id, now - TWIN_WITHIN)
                     if _same_plan(t, launch)), None)
        await u.launches.add(launch, rows)
        u.audit.record(
            user_id,
            "launch.proposed",
            "launch",
            launch.id,
            {"template": row.name, "items": len(rows)},
        )
        await u.commit()
    return Proposed(launch, plan.summarize(template, accounts, items), accounts, checked.warnings,
                    twin)


def _same_plan(a: Launch, b: Launch) -> bool:
    """Whether two launches create the same things: one template document into the same
    accounts with the same creatives (names carry the date and a key, so TikTok would take
    both)."""
    return (a.document == b.document
            and set((a.params or {}).get("accounts", {})) == set(b.params["accounts"])
            and (a.params or {}).get("creatives") == b.params["creatives"])


class Outcome(StrEnum):
    """How an approval press ended."""

    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    DECIDED = "decided"  # pressed twice, or from another device
    GONE = "gone"


async def _closed(
    uow: UnitOfWorkFactory, clock: Clock, user_id: int, launch_id: int
) -> tuple[Outcome, Launch | None]:
    """Why a decision found nothing to decide."""
    async with uow() as u:
        launch = await u.launches.get(user_id, launch_id)
        if launch is None:
            return Outcome.GONE, None
        if launch.state == "proposed" and launch.expires_at and launch.expires_at <= clock.now():
            launch = (
                await u.launches.transition(launch_id, user_id, ["proposed"], "expired") or launch
            )
            await u.commit()
    return (Outcome.EXPIRED if launch.state == "expired" else Outcome.DECIDED), launch


async def approve(
    uow: UnitOfWorkFactory,
    clock: Clock,
    user_id: int,
    launch_id: int,
    progress_message_id: int | None = None,
    catalogue: Catalogue | None = None,
) -> tuple[Outcome, Launch | None]:
    """Approve a proposed launch once: it runs now, or waits for its scheduled time. The plan's
    limits are checked again here, before anything reaches TikTok: LimitReached when it allows
    no more launches this month or fewer ads per launch; the launch then stays proposed
    (`catalogue`; None: no plan limits)."""
    now = clock.now()
    async with uow() as u:
        launch = await u.launches.get(user_id, launch_id)
        open_ = launch is not None and launch.state == "proposed" and (
            launch.expires_at is None or launch.expires_at > now)
        if catalogue is not None and open_:
            hit = await guard(u, catalogue, now, user_id, LAUNCHES)
            if hit is None:
                ads = sum(i.level == "ad" for i in await u.launches.items(launch_id))
                hit = check_ads(await plan_in(u, catalogue, now, user_id), ads)
            if hit is not None:
                raise LimitReached(hit)
        scheduled = launch is not None and launch.run_at is not None and launch.run_at > now
        launch = await u.launches.transition(
            launch_id,
            user_id,
            ["proposed"],
            "scheduled" if scheduled else "approved",
            not_expired_at=now,
            decided_at=now,
            progress_message_id=progress_message_id,
        )
        if launch is not None:
            u.audit.record(user_id, "launch.approved", "launch", launch_id, {})
        await u.commit()
    if launch is None:
        return await _closed(uow, clock, user_id, launch_id)
    return Outcome.APPROVED, launch


async def reject(
    uow: UnitOfWorkFactory, clock: Clock, user_id: int, launch_id: int
) -> tuple[Outcome, Launch | None]:
    """Reject a proposed launch: nothing is created."""
    now = clock.now()
    async with uow() as u:
        launch = await u.launches.transition(
            launch_id, user_id, ["proposed"], "rejected", not_expired_at=now, decided_at=now
        )
        await u.commit()
    if launch is None:
        return await _closed(uow, clock, user_id, launch_id)
    return Outcome.REJECTED, launch


async def expire_due(uow: UnitOfWorkFactory, clock: Clock) -> int:
    """Close launches nobody approved in time; how many."""
    async with uow() as u:
        closed = await u.launches.expire_due(clock.now())
        await u.commit()
    return len(closed)


@dataclass(frozen=True)
class Detail:
    """A launch with its plan, for the history screens."""

    launch: Launch
    items: list[LaunchItem]
    accounts: dict[int, str]  # account id → name


async def detail(uow: UnitOfWorkFactory, user_id: int, launch_id: int) -> Detail | None:
    """One of the user's launches with its items (None if not theirs)."""
    async with uow() as u:
        return await detail_in(u, user_id, launch_id)


async def detail_in(u: UnitOfWork, user_id: int, launch_id: int) -> Detail | None:
    """`detail` inside an open unit of work (the notifier renders the summary in one)."""
    launch = await u.launches.get(user_id, launch_id)
    if launch is None:
        return None
    items = await u.launches.items(launch_id)
    names = {}
    for account_id in {i.ad_account_id for i in items}:
        acc = await u.connections.account(user_id, account_id)
        names[account_id] = acc.name if acc else str(account_id)
    return Detail(launch, items, names)


async def history(
    uow: UnitOfWorkFactory, user_id: int, page: int, size: int = 8
) -> tuple[list[tuple[Launch, dict[str, int]]], int]:
    """A page of the user's launches (newest first) with their items per state, and the
    number of pages."""
    async with uow() as u:
        total = await u.launches.count(user_id)
        rows = await u.launches.of_user(user_id, size, page * size)
        out = [(r, await u.launches.item_counts(r.id)) for r in rows]
    return out, max(1, -(-total // size))


@dataclass(frozen=True)
class Choices:
    """What a launch can be made of."""

    templates: list[Template]
    accounts: list[AdAccount]
    creatives: list[Creative]


async def choices(uow: UnitOfWorkFactory, user_id: int) -> Choices:
    """The user's templates, tracked ad accounts and creatives."""
    async with uow() as u:
        templates, creatives = await u.launches.choices(user_id)
        accounts = await u.connections.accounts(user_id, tracked_only=True)
    return Choices(templates, accounts, creatives)


_WHEN = re.compile(r"^(?:(\d{1,2})\.(\d{1,2})(?:\.(\d{4}))?\s+)?(\d{1,2}):(\d{2})$")


def parse_when(text: str, now: datetime, time_zone: str) -> datetime | None:
    """A start typed in the user's time zone: `18:30` (the next such time) or `5.12 18:30`
    / `5.12.2026 18:30`; None when it is not a time or not in the future (within 30 days)."""
    m = _WHEN.match(text.strip())
    if m is None:
        return None
    day, month, year, hour, minute = (int(g) if g else None for g in m.groups())
    zone = ZoneInfo(time_zone)
    local_now = now.astimezone(zone)
    try:
        if day is None:
            when = local_now.replace(hour=hour or 0, minute=minute or 0, second=0, microsecond=0)
            if when <= local_now:
                when = datetime.combine(when.date() + timedelta(days=1), when.timetz())
        else:
            when = datetime(
                year or local_now.year, month or 1, day, hour or 0, minute or 0, tzinfo=zone
            )
            if year is None and when <= local_now:
                # No year typed: late in December, "5.1" is January of the next year.
                when = when.replace(year=local_now.year + 1)
    except ValueError:
        return None
    when = when.replace(tzinfo=zone).astimezone(UTC)
    if not now < when <= now + timedelta(days=30):
        return None
    return when
