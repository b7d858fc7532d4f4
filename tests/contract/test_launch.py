"""Bulk launches against the TikTok emulator: pre-flight, the persisted plan, approval once,
and a worker that dies halfway being resumed without creating anything twice."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.i18n import make_i18n
from bot.screens import plain
from bot.views import launch as launch_view
from core.creatives import Fetch, add_creative, delete_creative
from core.launch import runner, service
from core.templates.document import to_document
from core.templates.model import AdGroupSpec, AdSpec, CampaignSpec, Naming, Template
from core.tiktok import TikTokClient
from storage.models import Creative, Launch, LaunchItem, OutboxMessage
from storage.models import Template as TemplateRow
from tests.contract.conftest import Emu
from tests.contract.test_sync import NOW, USER, Db, connected_db, engines  # noqa: F401
from tests.media import image, mp4

IDENTITY = "Glowly Brand"


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    return {"fixture": "demo", "now": NOW}


def template(budget: Decimal = Decimal(50), geos: int = 1) -> Template:
    groups = tuple(
        AdGroupSpec(
            geo=f"G{g}",
            location_ids=("6252001",),
            optimization_goal="CLICK",
            billing_event="CPC",
            budget=budget,
        )
        for g in range(geos)
    )
    return Template(
        name="Traffic",
        campaign=CampaignSpec(objective_type="TRAFFIC"),
        adgroups=groups,
        ad=AdSpec(
            texts=("Try it today",),
            landing_url="https://shop.example/?c=__CAMPAIGN_ID__",
            identity_name=IDENTITY,
        ),
        naming=Naming(campaign="{account} {date}", adgroup="{geo}", ad="{creative} {n}"),
    )


async def setup(db: Db, t: Template, creatives: int) -> tuple[int, list[int], list[int]]:
    """A stored template, the user's ad accounts and `creatives` images in the library."""
    async with db.uow() as u:
        row = TemplateRow(user_id=USER, name=t.name, document=to_document(t))
        u.session.add(row)
        await u.commit()
        # JPY is left out: its minimums are TikTok's to tell (spec §4.2 lists USD only), and
        # this template's amounts are sized for USD and EUR.
        accounts = [
            a.id
            for a in await u.connections.accounts(USER, tracked_only=True)
            if a.currency != "JPY"
        ]
    ids = []
    for n in range(creatives):
        added = await add_creative(
            db.uow,
            USER,
            "image",
            f"img{n}",
            image(64, 64, color=(n * 3 % 256, 20, 30)),
            file_name=f"img{n}.png",
            tg_file_id=f"file-{n}",
        )
        ids.append(added.creative.id)
    return row.id, accounts, ids


class Progress:
    """Records progress; can stop the worker dead after `crash_after` settled items."""

    def __init__(self, crash_after: int | None = None) -> None:
        self.seen: list[tuple[int, int]] = []
        self.crash_after = crash_after

    async def progress(self, launch: Launch, done: int, total: int) -> None:
        self.seen.append((done, total))
        if self.crash_after is not None and done >= self.crash_after:
            raise Crash


class Crash(BaseException):
    """The process dying mid-launch (not an Exception: nothing may catch it)."""


def fetcher(db: Db) -> Callable[[Creative], Fetch]:
    async def never() -> bytes:
        raise AssertionError("fetched a creative whose bytes the test did not keep")

    def fetch(creative: Creative) -> Fetch:
        async def data() -> bytes:
            n = int(creative.name.removeprefix("img"))
            return image(64, 64, color=(n * 3 % 256, 20, 30))

        return data if creative.name.startswith("img") else never

    return fetch


async def identities(emu: Emu, client: TikTokClient, db: Db, skip: int | None = None) -> None:
    async with db.uow() as u:
        accounts = await u.connections.accounts(USER, tracked_only=True)
    for n, a in enumerate(accounts):
        if n != skip:
            await client.create_identity(emu.access_token, a.advertiser_id, IDENTITY)


async def world_counts(client: TikTokClient, emu: Emu, db: Db) -> dict[str, list[str]]:
    """Names of what exists on TikTok that a launch made (campaigns named after the account)."""
    async with db.uow() as u:
        accounts = await u.connections.accounts(USER, tracked_only=True)
    out: dict[str, list[str]] = {"campaign": [], "adgroup": [], "ad": []}
    for a in accounts:
        camps = [
            c
            for c in await client.get_campaigns(emu.access_token, a.advertiser_id)
            if c.campaign_name.startswith(a.name + " ")
        ]
        ids = {c.campaign_id for c in camps}
        out["campaign"] += [c.campaign_name for c in camps]
        groups = [
            g
            for g in await client.get_adgroups(emu.access_token, a.advertiser_id)
            if g.campaign_id in ids
        ]
        out["adgroup"] += [g.adgroup_name for g in groups]
        gids = {g.adgroup_id for g in groups}
        out["ad"] += [
            x.ad_name
            for x in await client.get_ads(emu.access_token, a.advertiser_id)
            if x.adgroup_id in gids
        ]
    return out


async def test_preflight_lists_missing_identity_and_low_budget_and_creates_nothing(
    emu: Emu,
    client: TikTokClient,
    tmp_path: Path,
    engines: list[Any],  # noqa: F811
) -> None:
    db = await connected_db(f"sqlite+aiosqlite:///{tmp_path}/db.sqlite", client, engines)
    await identities(emu, client, db, skip=0)
    tpl, accounts, creatives = await setup(db, template(budget=Decimal(10)), 1)
    found = await service.propose(
        db.uow, db.clock, client, USER, service.Request(tpl, accounts, creatives)
    )
    assert isinstance(found, list)
    codes = sorted({(i.code, i.account_id) for i in found}, key=str)
    assert ("identity_missing", accounts[0]) in codes
    # spec §4.2: the USD ad group minimum is 20; other currencies are left to TikTok.
    async with db.uow() as u:
        usd = [a for a in await u.connections.accounts(USER) if a.currency == "USD"]
    assert ("budget_below_minimum", usd[0].id) in codes
    async with db.uow() as u:
        assert (await u.session.scalars(select(Launch))).all() == []
    assert (await world_counts(client, emu, db))["campaign"] == []


async def test_a_worker_dying_halfway_is_resumed_and_nothing_is_created_twice(
    emu: Emu,
    client: TikTokClient,
    tmp_path: Path,
    engines: list[Any],  # noqa: F811
) -> None:
    db = await connected_db(f"sqlite+aiosqlite:///{tmp_path}/db.sqlite", client, engines)
    await identities(emu, client, db)
    tpl, accounts, creatives = await setup(db, template(geos=2), 10)
    proposed = await service.propose(
        db.uow, db.clock, client, USER, service.Request(tpl, accounts, creatives)
    )
    assert isinstance(proposed, service.Proposed)
    plan_size = 2 * (1 + 2 + 2 * 10)
    assert sum(sum(v) for v in proposed.summary.per_account.values()) == plan_size
    launch_id = proposed.launch.id
    outcome, _ = await service.approve(db.uow, db.clock, USER, launch_id)
    assert outcome is service.Outcome.APPROVED
    again, _ = await service.approve(db.uow, db.clock, USER, launch_id)
    assert again is service.Outcome.DECIDED

    with pytest.raises(Crash):
        await runner.run_due(db.uow, db.clock, client, "w1", fetcher(db), Progress(25))
    made = await world_counts(client, emu, db)
    assert 0 < len(made["ad"]) < 40
    # Another worker cannot take it while the dead one's lease holds; after it lapses it can.
    assert await runner.run_due(db.uow, db.clock, client, "w2", fetcher(db), Progress()) == 0
    db.clock.set(db.clock.now() + runner.LEASE + timedelta(seconds=1))
    seen = Progress()
    assert await runner.run_due(db.uow, db.clock, client, "w2", fetcher(db), seen) == 1
    assert seen.seen[-1] == (plan_size, plan_size)

    made = await world_counts(client, emu, db)
    async with db.uow() as u:
        items = (await u.session.scalars(select(LaunchItem))).all()
        done = await u.session.get(Launch, launch_id)
        summaries = (
            await u.session.scalars(
                select(OutboxMessage).where(OutboxMessage.kind == "launch_done")
            )
        ).all()
    planned = {lv: sorted(i.name for i in items if i.level == lv) for lv in made}
    assert {lv: sorted(v) for lv, v in made.items()} == planned  # all of it, none twice
    assert all(i.state == "created" for i in items)
    assert done is not None and done.state == "done"
    assert len(summaries) == 1


async def approved(db: Db, client: TikTokClient, emu: Emu, creatives: int) -> tuple[int, int]:
    """An approved launch into the USD account: 1 campaign, 2 ad groups, 2 × `creatives` ads;
    (launch id, number of items)."""
    await identities(emu, client, db)
    tpl, _, ids = await setup(db, template(geos=2), creatives)
    async with db.uow() as u:
        usd = [a.id for a in await u.connections.accounts(USER) if a.currency == "USD"]
    proposed = await service.propose(
        db.uow, db.clock, client, USER, service.Request(tpl, usd[:1], ids)
    )
    assert isinstance(proposed, service.Proposed)
    outcome, _ = await service.approve(db.uow, db.clock, USER, proposed.launch.id)
    assert outcome is service.Outcome.APPROVED
    return proposed.launch.id, 1 + 2 + 2 * creatives


def dies_after_tiktok_answers(client: TikTokClient, method: str, nth: int) -> None:
    """Make the worker die right after the `nth` call of `method` reached TikTok (which made
    the object) but before the worker could record TikTok's answer."""
    original = getattr(client, method)
    calls: list[int] = []

    async def call(*args: Any, **kwargs: Any) -> Any:
        result = await original(*args, **kwargs)
        calls.append(1)
        if len(calls) == nth:
            raise Crash
        return result

    setattr(client, method, call)


async def check_made_once(db: Db, client: TikTokClient, emu: Emu, launch_id: int) -> None:
    """The launch finished, and TikTok holds exactly the planned objects, each once, under the
    ids the plan recorded."""
    async with db.uow() as u:
        items = (await u.session.scalars(select(LaunchItem))).all()
        launch = await u.session.get(Launch, launch_id)
    assert launch is not None and launch.state == "done"
    assert all(i.state == "created" for i in items)
    made = await world_counts(client, emu, db)
    planned = {lv: sorted(i.name for i in items if i.level == lv) for lv in made}
    assert {lv: sorted(v) for lv, v in made.items()} == planned
    groups = [i.tiktok_id for i in items if i.level == "adgroup"]
    adv = emu.state.adgroups[groups[0]].advertiser_id
    ads = await client.get_ads(emu.access_token, adv, filtering={"adgroup_ids": groups})
    assert sorted(a.ad_id for a in ads) == sorted(i.tiktok_id for i in items if i.level == "ad")


@pytest.mark.parametrize(
    ("idempotent", "method", "nth"),
    [
        # TikTok's documented terms: campaigns and ad groups de-duplicate request_id, ads not.
        (["campaign", "adgroup"], "create_ads", 3),
        # An API that de-duplicates ads too: the runner does not rely on it either way.
        (["campaign", "adgroup", "ad"], "create_ads", 3),
        # Nothing de-duplicates: the name tag alone finds the campaign and the ad group.
        ([], "create_campaign", 1),
        ([], "create_adgroup", 2),
    ],
    ids=[
        "ad-documented-terms",
        "ad-idempotent-api",
        "campaign-no-request-id",
        "adgroup-no-request-id",
    ],
)
async def test_a_worker_dying_between_tiktok_creating_and_recording_adopts_the_object(
    emu: Emu,
    client: TikTokClient,
    tmp_path: Path,
    engines: list[Any],  # noqa: F811
    idempotent: list[str],
    method: str,
    nth: int,
) -> None:
    await emu.ctl("POST", "config", {"idempotent_creates": idempotent})
    db = await connected_db(f"sqlite+aiosqlite:///{tmp_path}/db.sqlite", client, engines)
    launch_id, size = await approved(db, client, emu, creatives=4)
    dies_after_tiktok_answers(client, method, nth)
    with pytest.raises(Crash):
        await runner.run_due(db.uow, db.clock, client, "w1", fetcher(db), Progress())
    async with db.uow() as u:
        stuck = [
            i for i in (await u.session.scalars(select(LaunchItem))).all() if i.state == "creating"
        ]
    assert len(stuck) == 1 and stuck[0].tiktok_id is None  # made at TikTok, not recorded

    await emu.ctl("POST", "reset_stats")
    db.clock.set(db.clock.now() + runner.LEASE + timedelta(seconds=1))
    seen = Progress()
    assert await runner.run_due(db.uow, db.clock, client, "w2", fetcher(db), seen) == 1
    assert seen.seen[-1] == (size, size)
    await check_made_once(db, client, emu, launch_id)
    # The interrupted item was found and adopted, not created again.
    path = {"create_ads": "ad/create/", "create_campaign": "campaign/create/"}.get(
        method, "adgroup/create/"
    )
    left = {"create_ads": 8 - nth, "create_campaign": 0, "create_adgroup": 2 - nth}[method]
    assert (await emu.requests()).get(path, 0) == left
    async with db.uow() as u:
        items = (await u.session.scalars(select(LaunchItem))).all()
    assert next(i for i in items if i.id == stuck[0].id).attempts == 2


@pytest.mark.parametrize(
    "idempotent",
    [["campaign", "adgroup"], ["campaign", "adgroup", "ad"]],
    ids=["ad-documented-terms", "ad-idempotent-api"],
)
async def test_an_ad_whose_reply_is_lost_is_found_not_created_again(
    emu: Emu,
    client: TikTokClient,
    tmp_path: Path,
    engines: list[Any],  # noqa: F811
    idempotent: list[str],
) -> None:
    db = await connected_db(f"sqlite+aiosqlite:///{tmp_path}/db.sqlite", client, engines)
    launch_id, _ = await approved(db, client, emu, creatives=4)
    # The third ad is made, but its answer comes too late: the client gives up (timeout).
    client.transport.request_timeout = 1.0
    await emu.ctl(
        "POST",
        "config",
        {
            "idempotent_creates": idempotent,
            "fault_paths": ["/open_api/v1.3/ad/create/"],
            "fault_queue": ["ok", "ok", "lost_reply"],
            "timeout_seconds": 2.0,
        },
    )
    await emu.ctl("POST", "reset_stats")
    assert await runner.run_due(db.uow, db.clock, client, "w1", fetcher(db), Progress()) == 1
    assert (await emu.stats())["faults"] == {"lost_reply": 1}
    # Eight ads, eight ad/create calls: the lost one was not resent by the client or the runner.
    assert (await emu.requests())["ad/create/"] == 8
    await check_made_once(db, client, emu, launch_id)


async def test_an_unknown_minimum_is_a_warning_and_tiktoks_refusal_is_reported(
    emu: Emu,
    client: TikTokClient,
    tmp_path: Path,
    engines: list[Any],  # noqa: F811
) -> None:
    db = await connected_db(f"sqlite+aiosqlite:///{tmp_path}/db.sqlite", client, engines)
    await identities(emu, client, db)
    # 10 a day per ad group: under TikTok's USD minimum (spec §4.2), unknown in EUR.
    tpl, _, ids = await setup(db, template(budget=Decimal(10)), 1)
    async with db.uow() as u:
        eur = next(a for a in await u.connections.accounts(USER) if a.currency == "EUR")
    proposed = await service.propose(
        db.uow, db.clock, client, USER, service.Request(tpl, [eur.id], ids)
    )
    assert isinstance(proposed, service.Proposed)
    assert [(w.code, w.account_id, w.params) for w in proposed.warnings] == [
        ("minimum_unknown", eur.id, {"currency": "EUR"})
    ]
    await service.approve(db.uow, db.clock, USER, proposed.launch.id)
    assert await runner.run_due(db.uow, db.clock, client, "w1", fetcher(db), Progress()) == 1
    async with db.uow() as u:
        items = {i.level: i for i in (await u.session.scalars(select(LaunchItem))).all()}
    # The emulator's EUR minimum is above 10: TikTok refuses the ad group, in its own words.
    assert items["campaign"].state == "created"
    assert items["adgroup"].state == "failed" and "budget" in (items["adgroup"].error or "")
    assert (items["ad"].state, items["ad"].error) == ("failed", "parent_failed")


async def test_a_video_ad_gets_one_cover_even_when_the_cover_upload_reply_is_lost(
    emu: Emu,
    client: TikTokClient,
    tmp_path: Path,
    engines: list[Any],  # noqa: F811
) -> None:
    db = await connected_db(f"sqlite+aiosqlite:///{tmp_path}/db.sqlite", client, engines)
    await identities(emu, client, db)
    clip = mp4(8.0)
    async with db.uow() as u:
        row = TemplateRow(user_id=USER, name="Video", document=to_document(template()))
        u.session.add(row)
        await u.commit()
        usd = next(a for a in await u.connections.accounts(USER) if a.currency == "USD")
    video = await add_creative(
        db.uow, USER, "video", "clip", clip, file_name="clip.mp4", tg_file_id="file-clip"
    )
    proposed = await service.propose(
        db.uow, db.clock, client, USER, service.Request(row.id, [usd.id], [video.creative.id])
    )
    assert isinstance(proposed, service.Proposed)
    await service.approve(db.uow, db.clock, USER, proposed.launch.id)
    # The cover frame is uploaded by URL (spec §4.9: a video ad takes one cover image); TikTok
    # makes it but the answer is lost.
    await emu.ctl(
        "POST",
        "config",
        {
            "fault_paths": ["/open_api/v1.3/file/image/ad/upload/"],
            "fault_queue": ["lost_reply"],
            "timeout_seconds": 4.0,
        },
    )

    def fetch(creative: Creative) -> Fetch:
        async def data() -> bytes:
            return clip

        return data

    assert await runner.run_due(db.uow, db.clock, client, "w1", fetch, Progress()) == 1
    await check_made_once(db, client, emu, proposed.launch.id)
    covers = [i for i in emu.state.images.values() if i.file_name.startswith("ttp-cover-")]
    assert len(covers) == 1 and (await emu.stats())["faults"] == {"lost_reply": 1}
    [ad] = [a for a in emu.state.ads.values() if a.name.startswith("clip ")]
    assert ad.extra["image_ids"] == [covers[0].image_id]


async def test_preflight_says_how_to_grant_a_withheld_pixel_permission(
    emu: Emu,
    client: TikTokClient,
    tmp_path: Path,
    engines: list[Any],  # noqa: F811
) -> None:
    """A conversion template on accounts whose consent withheld pixels: the pre-flight names
    the missing permission (issue 17), not "TikTok did not answer", and creates nothing."""
    db = await connected_db(f"sqlite+aiosqlite:///{tmp_path}/db.sqlite", client, engines)
    await identities(emu, client, db)
    for tok in emu.state.tokens.values():
        tok.scope = [s for s in tok.scope if s != 15]  # 15: pixels (core/tiktok/scopes.py)
    base = template(budget=Decimal(50))
    convert = Template(
        name="Conversions",
        campaign=CampaignSpec("WEB_CONVERSIONS"),
        adgroups=(AdGroupSpec(geo="US", location_ids=("6252001",), budget=Decimal(50),
                              optimization_event="COMPLETE_PAYMENT"),),
        ad=base.ad,
        naming=base.naming,
    )
    tpl, accounts, creatives = await setup(db, convert, 1)
    found = await service.propose(
        db.uow, db.clock, client, USER, service.Request(tpl, accounts, creatives)
    )
    assert isinstance(found, list)
    codes = {i.code for i in found}
    assert "pixel_scope_missing" in codes and "tiktok_unreachable" not in codes
    assert (await world_counts(client, emu, db))["campaign"] == []


def _convert(event: str) -> Template:
    base = template(budget=Decimal(50))
    return Template(
        name=f"Conversions {event}",
        campaign=CampaignSpec("WEB_CONVERSIONS"),
        adgroups=(AdGroupSpec(geo="US", location_ids=("6252001",), budget=Decimal(50),
                              optimization_event=event),),
        ad=base.ad,
        naming=base.naming,
    )


async def test_preflight_stops_a_launch_whose_pixel_event_never_fired(
    emu: Emu,
    client: TikTokClient,
    tmp_path: Path,
    engines: list[Any],  # noqa: F811
) -> None:
    """On the demo account with a test pixel (issue 17): an event set up but never fired, or
    not set up at all, stops the launch before anything is made, naming the event; the event
    that fires passes and the launch uses the pixel it fires on."""
    db = await connected_db(f"sqlite+aiosqlite:///{tmp_path}/db.sqlite", client, engines)
    await identities(emu, client, db)
    adv = min((g.advertiser_id for g in emu.state.adgroups.values() if g.extra.get("pixel_id")),
              key=int)
    tracked = {str(g.extra["pixel_id"]) for g in emu.state.adgroups.values()
               if g.advertiser_id == adv and g.extra.get("pixel_id")}
    found: dict[str, Any] = {}
    for event in ("ON_WEB_REGISTER", "ON_WEB_CART", "COMPLETE_PAYMENT"):
        tpl, _, creatives = await setup(db, _convert(event), 1)
        async with db.uow() as u:
            [account] = [a for a in await u.connections.accounts(USER) if a.advertiser_id == adv]
        found[event] = await service.propose(
            db.uow, db.clock, client, USER, service.Request(tpl, [account.id], creatives)
        )
    silent = found["ON_WEB_REGISTER"]
    assert isinstance(silent, list)
    [issue] = [i for i in silent if i.code.startswith("pixel")]
    assert issue.code == "pixel_event_silent"
    assert issue.params["event"] == "ON_WEB_REGISTER"
    assert issue.params["pixel"] == "Landing test pixel"
    missing = found["ON_WEB_CART"]
    assert isinstance(missing, list)
    assert [(i.code, i.params["event"]) for i in missing if i.code.startswith("pixel")] == [
        ("pixel_event_missing", "ON_WEB_CART")]
    assert (await world_counts(client, emu, db))["campaign"] == []
    fires = found["COMPLETE_PAYMENT"]
    assert isinstance(fires, service.Proposed), fires
    before = set(emu.state.adgroups)
    await service.approve(db.uow, db.clock, USER, fires.launch.id)
    assert await runner.run_due(db.uow, db.clock, client, "w1", fetcher(db), Progress()) == 1
    made = [g for i, g in emu.state.adgroups.items() if i not in before]
    assert made and {str(g.extra["pixel_id"]) for g in made} <= tracked


async def test_a_scheduled_launch_names_its_objects_with_the_day_it_starts(
    emu: Emu,
    client: TikTokClient,
    tmp_path: Path,
    engines: list[Any],  # noqa: F811
) -> None:
    """{date} is the launch date: a launch approved tonight to start in two days is named with
    the day it starts, not the day it was planned."""
    db = await connected_db(f"sqlite+aiosqlite:///{tmp_path}/db.sqlite", client, engines)
    await identities(emu, client, db)
    tpl, accounts, creatives = await setup(db, template(), 1)
    async with db.uow() as u:
        zone = (await u.users.get(USER)).time_zone  # type: ignore[union-attr]
    run_at = NOW + timedelta(days=2)
    proposed = await service.propose(
        db.uow, db.clock, client, USER,
        service.Request(tpl, accounts[:1], creatives, run_at=run_at),
    )
    assert isinstance(proposed, service.Proposed)
    async with db.uow() as u:
        [campaign] = [i for i in await u.launches.items(proposed.launch.id)
                      if i.level == "campaign"]
    day = run_at.astimezone(ZoneInfo(zone)).date().isoformat()
    assert day in campaign.name and NOW.date().isoformat() not in campaign.name


async def test_an_ad_whose_last_attempt_reply_is_lost_is_found_not_reported_failed(
    emu: Emu,
    client: TikTokClient,
    tmp_path: Path,
    engines: list[Any],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """TikTok fails an ad three times, then makes it on the last attempt but the answer is
    lost: the runner looks once more before giving up, so the ad that exists (and spends) is
    recorded as created, not reported as failed."""
    monkeypatch.setattr(runner, "BACKOFF_SECONDS", (0.0, 0.0, 0.0))
    db = await connected_db(f"sqlite+aiosqlite:///{tmp_path}/db.sqlite", client, engines)
    launch_id, _ = await approved(db, client, emu, creatives=1)
    client.transport.request_timeout = 1.0
    await emu.ctl(
        "POST",
        "config",
        {
            "fault_paths": ["/open_api/v1.3/ad/create/"],
            "fault_queue": ["50002", "50002", "50002", "lost_reply"],
            "timeout_seconds": 2.0,
        },
    )
    assert await runner.run_due(db.uow, db.clock, client, "w1", fetcher(db), Progress()) == 1
    assert (await emu.stats())["faults"] == {"50002": 3, "lost_reply": 1}
    await check_made_once(db, client, emu, launch_id)


async def test_a_creative_deleted_after_approval_fails_its_ads_and_the_rest_is_made(
    emu: Emu,
    client: TikTokClient,
    tmp_path: Path,
    engines: list[Any],  # noqa: F811
) -> None:
    """A scheduled launch whose creative the user deletes from the library before it runs:
    the ads of that creative fail with a reason the user can read, everything else is made
    and the launch finishes (no worker crashing on it tick after tick)."""
    db = await connected_db(f"sqlite+aiosqlite:///{tmp_path}/db.sqlite", client, engines)
    launch_id, size = await approved(db, client, emu, creatives=2)
    async with db.uow() as u:
        items = await u.launches.items(launch_id)
    gone = items[-1].spec["creative"]
    assert await delete_creative(db.uow, USER, gone)
    seen = Progress()
    assert await runner.run_due(db.uow, db.clock, client, "w1", fetcher(db), seen) == 1
    assert seen.seen[-1] == (size, size)
    async with db.uow() as u:
        items = await u.launches.items(launch_id)
        launch = await u.session.get(Launch, launch_id)
    assert launch is not None and launch.state == "done"
    failed = [i for i in items if i.state == "failed"]
    assert failed and all(i.level == "ad" and i.spec["creative"] == gone for i in failed)
    assert {i.error for i in failed} == {"creative_gone"}
    assert all(i.state == "created" for i in items if i not in failed)
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale("en"):
        text = plain(launch_view.finished(
            service.Detail(launch, items, {i.ad_account_id: "Acc" for i in items}))[0])
    assert "deleted" in text and "creative_gone" not in text


async def test_proposing_the_same_plan_again_says_approving_makes_it_twice(
    emu: Emu,
    client: TikTokClient,
    tmp_path: Path,
    engines: list[Any],  # noqa: F811
) -> None:
    """A second proposal of the same template, accounts and creatives within a day (a double
    tap, another device, a forgotten launch) says so before approval; another plan does not."""
    db = await connected_db(f"sqlite+aiosqlite:///{tmp_path}/db.sqlite", client, engines)
    await identities(emu, client, db)
    tpl, accounts, creatives = await setup(db, template(), 2)
    first = await service.propose(db.uow, db.clock, client, USER,
                                  service.Request(tpl, accounts, creatives))
    assert isinstance(first, service.Proposed) and first.twin is None
    await service.approve(db.uow, db.clock, USER, first.launch.id)
    again = await service.propose(db.uow, db.clock, client, USER,
                                  service.Request(tpl, list(reversed(accounts)), creatives))
    assert isinstance(again, service.Proposed)
    assert again.twin is not None and again.twin.id == first.launch.id
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale("en"):
        text, _ = launch_view.proposal(again.launch, again.summary, {}, "UTC", [], again.twin)
    assert "The same plan was launched at" in plain(text)
    other = await service.propose(db.uow, db.clock, client, USER,
                                  service.Request(tpl, accounts, creatives[:1]))
    assert isinstance(other, service.Proposed) and other.twin is None
