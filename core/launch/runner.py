"""Running approved launches: claim one with a lease, create its planned items in order, and
finish with one summary.

The plan is the source of truth and survives a crash: an item is marked `creating` (attempts
+1) before its request goes out and `created` with TikTok's id right after. A worker that dies
leaves its lease to lapse; the next claim resumes the launch.

An attempt that may have reached TikTok without its answer reaching us — the worker died while
the item was `creating`, or the reply was lost (timeout, 5xx) — is never simply sent again:
TikTok de-duplicates by `request_id` only for campaigns and ad groups (spec §4.2, §4.6), not
for ads (§4.9, and the official SDK's AdCreateBody has no request_id). The next attempt first
lists the parent's children at TikTok (campaigns of the account, ad groups of the campaign, ads
of the ad group) and adopts the one whose name carries the item's tag (`plan.tag`); only when
there is none does it create. Nothing is created twice, nothing is forgotten. Transient failures
are retried; a refusal fails the item (and its children) with TikTok's message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from core import creatives as library
from core.clock import Clock
from core.launch import plan
from core.launch.preflight import Target
from core.launch.service import targets
from core.rules.engine import enqueue_alert
from core.templates.document import parse_document
from core.templates.model import Template
from core.templates.requests import (
    Account,
    Media,
    ad_creative,
    adgroup_body,
    campaign_body,
)
from core.tiktok import RateLimitedError, ServerError, TikTokClient, TikTokError
from storage.models import Creative, Launch, LaunchItem
from storage.uow import UnitOfWorkFactory

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=2)
ATTEMPTS = 4  # per item, across restarts too
BACKOFF_SECONDS = (1.0, 3.0, 9.0)
START_DELAY = timedelta(minutes=5)  # ad groups start a little after creation (spec §4.6)

Fetch = Callable[[Creative], Awaitable[bytes]]


class Reporter(Protocol):
    """Shows a running launch's progress (the bot edits one message)."""

    async def progress(self, launch: Launch, done: int, total: int) -> None:
        """`done` of `total` items are settled."""


class LeaseLost(Exception):
    """Another worker took the launch over; stop without touching it."""


async def run_due(
    uow: UnitOfWorkFactory,
    clock: Clock,
    client: TikTokClient,
    owner: str,
    fetch: Fetch,
    reporter: Reporter,
    lease: timedelta = LEASE,
) -> int:
    """Run every launch that is due (one at a time, held for `lease`: renewed at every item
    and every third of the lease meanwhile); how many were finished."""
    finished = 0
    while True:
        async with uow() as u:
            launch = await u.launches.claim(clock.now(), owner, clock.now() + lease)
            await u.commit()
        if launch is None:
            return finished
        keeper = asyncio.create_task(_keep(uow, clock, launch.id, owner, lease))
        try:
            await _Run(uow, clock, client, owner, fetch, reporter, launch, lease).execute()
            finished += 1
        except LeaseLost:
            log.warning("launch.lease_lost", extra={"launch_id": launch.id})
        finally:
            keeper.cancel()


async def _keep(uow: UnitOfWorkFactory, clock: Clock, launch_id: int, owner: str,
                lease: timedelta) -> None:
    """Renew a running launch's lease every third of it. One item's upload or create can take
    longer than a short lease (LAUNCH_LEASE_SECONDS) on a busy instance: without this, another
    instance would take the launch over while this one's create is still on its way, find
    nothing yet, and create the object a second time (seen in tests/e2e/test_scale_kill.py)."""
    while True:
        await asyncio.sleep(lease.total_seconds() / 3)
        try:
            async with uow() as u:
                held = await u.launches.renew(launch_id, owner, clock.now() + lease)
                await u.commit()
        except Exception:  # the next item's own renewal tells for sure
            log.warning("launch.renew_failed", extra={"launch_id": launch_id}, exc_info=True)
            continue
        if not held:
            return  # taken over: the run stops at its next item (LeaseLost)


async def release_leases(uow: UnitOfWorkFactory, owner: str) -> None:
    """Give back this worker's launch leases so another instance resumes at once."""
    async with uow() as u:
        await u.launches.release_all(owner)
        await u.commit()


class _Run:
    """One launch being executed by this worker."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        client: TikTokClient,
        owner: str,
        fetch: Fetch,
        reporter: Reporter,
        launch: Launch,
        lease: timedelta = LEASE,
    ) -> None:
        self.uow, self.clock, self.client, self.owner = uow, clock, client, owner
        self.fetch, self.reporter, self.launch, self.lease = fetch, reporter, launch, lease
        self.template: Template = parse_document(launch.document)
        self.media: dict[str, dict[str, Any]] = dict(launch.params.get("media") or {})
        self.targets: dict[int, Target] = {}
        self.creatives: dict[int, Creative] = {}

    async def execute(self) -> None:
        """Create every item still to be created, then finish with one summary."""
        launch = self.launch
        async with self.uow() as u:
            if launch.state != "running":
                await u.launches.update(
                    launch.id, state="running", started_at=launch.started_at or self.clock.now()
                )
            items = await u.launches.items(launch.id)
            ids = sorted({i.ad_account_id for i in items})
            self.targets = {t.account.id: t for t in await targets(u, launch.user_id, ids)}
            found = await u.launches.creatives(launch.user_id, launch.params["creatives"])
            self.creatives = {c.id: c for c in found}
            await u.commit()
        by_seq = {i.seq: i for i in items}
        done = sum(i.state in ("created", "failed") for i in items)
        await self.reporter.progress(launch, done, len(items))
        for item in items:
            if item.state in ("created", "failed"):
                continue
            parent = by_seq.get(item.parent_seq) if item.parent_seq is not None else None
            if parent is not None and parent.state != "created":
                await self._settle(item, "failed", error="parent_failed")
            else:
                await self._create(item, parent)
            done += 1
            await self.reporter.progress(launch, done, len(items))
        await self._finish(items)

    async def _settle(self, item: LaunchItem, state: str, **values: Any) -> None:
        """Record an item's state (and renew the lease: still ours, still alive)."""
        item.state = state
        for k, v in values.items():
            setattr(item, k, v)
        async with self.uow() as u:
            until = self.clock.now() + self.lease
            if not await u.launches.renew(self.launch.id, self.owner, until):
                raise LeaseLost
            await u.launches.update_item(item.id, state=state, **values)
            await u.commit()

    async def _create(self, item: LaunchItem, parent: LaunchItem | None) -> None:
        """Create one item: look for what an earlier attempt made before sending again."""
        target = self.targets.get(item.ad_account_id)
        if target is None or target.token is None:
            await self._settle(item, "failed", error="no_access")
            return
        while item.attempts < ATTEMPTS:
            # Any earlier attempt (before a crash, or one whose reply was lost) may have made
            # the object at TikTok.
            in_doubt = item.attempts > 0
            await self._settle(item, "creating", attempts=item.attempts + 1)
            try:
                tiktok_id = await self._find(item, parent, target) if in_doubt else None
                if tiktok_id is None:
                    tiktok_id = await self._send(item, parent, target)
            except (RateLimitedError, ServerError) as exc:
                if item.attempts >= ATTEMPTS:
                    await self._give_up(item, parent, target, _message(exc))
                    return
                await asyncio.sleep(BACKOFF_SECONDS[min(item.attempts, len(BACKOFF_SECONDS)) - 1])
                continue
            except TikTokError as exc:
                await self._settle(item, "failed", error=_message(exc))
                return
            except (ValueError, library.CreativeError) as exc:
                await self._settle(item, "failed", error=str(exc)[:500])
                return
            await self._settle(item, "created", tiktok_id=tiktok_id, error=None)
            return
        await self._give_up(item, parent, target, "attempts")

    async def _give_up(
        self, item: LaunchItem, parent: LaunchItem | None, target: Target, error: str
    ) -> None:
        """Fail an item out of attempts, unless one last look finds the object an attempt made
        (its reply lost, or the worker died while it was on its way): that one exists, and
        spends, so it is recorded as created, not reported as failed."""
        try:
            tiktok_id = await self._find(item, parent, target)
        except TikTokError:
            tiktok_id = None
        if tiktok_id is not None:
            await self._settle(item, "created", tiktok_id=tiktok_id, error=None)
        else:
            await self._settle(item, "failed", error=error)

    async def _find(
        self, item: LaunchItem, parent: LaunchItem | None, target: Target
    ) -> str | None:
        """TikTok's id for the object an earlier attempt of this item made, found among its
        parent's children by the tag at the end of its name; None when there is none."""
        mark = plan.tag(self.launch.params["key"], item.seq)
        if not item.name.endswith(mark):
            return None  # planned before names carried tags: request_id is all there is
        token, adv = target.token, target.account.advertiser_id
        assert token is not None
        found: list[str]
        if item.level == "campaign":
            # spec §4.1: campaign_name filters by a fuzzy match; the exact name is checked here.
            campaigns = await self.client.get_campaigns(
                token, adv, filtering={"campaign_name": mark.lstrip("~")}
            )
            found = [c.campaign_id for c in campaigns if _same(c.campaign_name, item.name)]
        else:
            assert parent is not None and parent.tiktok_id is not None
            if item.level == "adgroup":
                groups = await self.client.get_adgroups(
                    token, adv, filtering={"campaign_ids": [parent.tiktok_id]}
                )
                found = [g.adgroup_id for g in groups if _same(g.adgroup_name, item.name)]
            else:
                ads = await self.client.get_ads(
                    token, adv, filtering={"adgroup_ids": [parent.tiktok_id]}
                )
                found = [a.ad_id for a in ads if _same(a.ad_name, item.name)]
        if not found:
            return None
        log.info(
            "launch.item_adopted",
            extra={
                "launch_id": self.launch.id,
                "seq": item.seq,
                "level": item.level,
                "found": len(found),
            },
        )
        return min(found, key=lambda i: (len(i), i))  # the oldest: ids grow

    async def _send(self, item: LaunchItem, parent: LaunchItem | None, target: Target) -> str:
        """The create call for one item; TikTok's id for the new (or already made) object."""
        account, token = target.account, target.token
        assert token is not None
        facts = self.launch.params["accounts"][str(account.id)]
        acc = Account(account.advertiser_id, account.currency, facts.get("pixel_id"))
        if item.level == "campaign":
            body = campaign_body(
                self.template,
                acc,
                name=item.name,
                request_id=item.request_id,
                enabled=self.launch.enabled,
            )
            return await self.client.create_campaign(token, account.advertiser_id, body)
        assert parent is not None and parent.tiktok_id is not None
        if item.level == "adgroup":
            body = adgroup_body(
                self.template,
                item.spec["adgroup"],
                acc,
                campaign_id=parent.tiktok_id,
                name=item.name,
                start=self._start(),
                request_id=item.request_id,
            )
            return await self.client.create_adgroup(token, account.advertiser_id, body)
        creative = self.creatives.get(item.spec["creative"])
        if creative is None:  # deleted from the library after the launch was approved
            raise ValueError("creative_gone")
        media = await self._media(target, creative)
        body = ad_creative(
            self.template,
            name=item.name,
            media=media,
            identity_id=facts["identity_id"],
            text_index=item.spec.get("text", 0),
        )
        # One ad per call, so an ad whose reply is lost is looked for on its own (spec §4.9
        # takes up to 20). Its request_id is only a hint: TikTok documents none for ads.
        ids = await self.client.create_ads(
            token, account.advertiser_id, parent.tiktok_id, [body], request_id=item.request_id
        )
        return ids[0]

    def _start(self) -> datetime:
        return self.clock.now() + START_DELAY

    async def _media(self, target: Target, creative: Creative) -> Media:
        """The creative's TikTok ids in this account, uploaded once and remembered in the
        launch (a video also needs a cover image, spec §4.9: its own cover frame)."""
        key = f"{target.account.id}:{creative.id}"
        if key not in self.media:
            token = target.token
            assert token is not None
            adv = target.account.advertiser_id
            tiktok_id = await library.ensure_uploaded(
                self.uow,
                self.client,
                token,
                target.account,
                creative,
                self.fetch(creative),
            )
            if creative.kind == "video":
                [info] = await self.client.get_video_info(token, adv, [tiktok_id])
                if not info.video_cover_url:
                    raise ValueError("TikTok has no cover frame for this video yet")
                cover = await self._cover(token, adv, tiktok_id, info.video_cover_url)
                self.media[key] = {"video_id": tiktok_id, "image_ids": [cover]}
            else:
                self.media[key] = {"video_id": None, "image_ids": [tiktok_id]}
            params = {**self.launch.params, "media": self.media}
            self.launch.params = params
            async with self.uow() as u:
                await u.launches.update(self.launch.id, params=params)
                await u.commit()
        found = self.media[key]
        return Media(found["video_id"], tuple(found["image_ids"]))

    async def _cover(self, token: str, adv: str, video_id: str, url: str) -> str:
        """The video's cover frame as an image of the account, uploaded once: named after the
        video, so a retry after a lost reply finds the copy it made (spec §5.2)."""
        name = f"ttp-cover-{video_id}"[:96] + ".jpg"

        async def upload() -> str:
            return (await self.client.upload_image_url(token, adv, url, name)).image_id

        return await library.find_or_upload(
            self.client, token, adv, "image", name, None, upload, search_first=False
        )

    async def _finish(self, items: list[LaunchItem]) -> None:
        """Close the launch and queue its one summary in the same transaction."""
        created = sum(i.state == "created" for i in items)
        state = "done" if created else "failed"
        now = self.clock.now()
        async with self.uow() as u:
            await u.launches.update(
                self.launch.id, state=state, finished_at=now, lease_owner=None, lease_until=None
            )
            await enqueue_alert(
                u,
                self.launch.user_id,
                "launch_done",
                f"launch-done:{self.launch.id}",
                {"launch_id": self.launch.id},
                now,
                urgent=True,
            )
            u.audit.record(
                None,
                "launch.finished",
                "launch",
                self.launch.id,
                {"created": created, "failed": len(items) - created},
            )
            await u.commit()


def _same(name: str | None, planned: str) -> bool:
    return (name or "").strip() == planned.strip()


def _message(exc: Exception) -> str:
    return str(getattr(exc, "message", None) or exc)[:500]
