"""A bulk launch over the plan's limits is refused at its check, before TikTok is asked anything
or anything is stored: more ads than one launch may have, or one launch more this month."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from core.billing.limits import LimitHit, LimitReached
from core.billing.plans import PlanBook, parse
from core.launch import service
from core.tiktok import TikTokClient
from storage.models import Launch
from tests.contract.conftest import Emu
from tests.contract.test_launch import (  # noqa: F401 - fixtures used by name
    emulator_options,
    identities,
    setup,
    template,
    world_counts,
)
from tests.contract.test_sync import USER, connected_db, engines  # noqa: F401

PLANS = PlanBook().current()  # Free: 20 ads per launch, 5 launches a month
ONE_A_MONTH = parse({"plans": [{"code": "free", "name": "Free", "rank": 0, "limits": {
    "ad_accounts": None, "rules_on": None, "rule_every_minutes": 60, "launches_per_month": 1,
    "ads_per_launch": None, "trackers": None, "seats": 1}}]})


async def test_too_many_ads_and_one_launch_too_many_are_refused_before_tiktok(
    emu: Emu,
    client: TikTokClient,
    tmp_path: Path,
    engines: list[Any],  # noqa: F811
) -> None:
    db = await connected_db(f"sqlite+aiosqlite:///{tmp_path}/db.sqlite", client, engines)
    await identities(emu, client, db)
    tpl, accounts, creatives = await setup(db, template(geos=2), 6)
    assert len(accounts) >= 2

    # Each account × 2 ad groups × 6 creatives: 24 ads or more; Free allows 20 in one launch.
    with pytest.raises(LimitReached) as hit:
        await service.propose(db.uow, db.clock, client, USER,
                              service.Request(tpl, accounts, creatives), PLANS)
    assert hit.value.hit == LimitHit("ads_per_launch", len(accounts) * 12, 20, PLANS.free)
    async with db.uow() as u:
        assert (await u.session.scalars(select(Launch))).all() == []
    assert (await world_counts(client, emu, db))["campaign"] == []

    # One account: 12 ads fit. Approved once, the month's one launch (on a plan allowing one)
    # is used up: the next is refused at its check.
    first = await service.propose(db.uow, db.clock, client, USER,
                                  service.Request(tpl, accounts[:1], creatives), ONE_A_MONTH)
    assert isinstance(first, service.Proposed)
    outcome, _ = await service.approve(db.uow, db.clock, USER, first.launch.id,
                                       catalogue=ONE_A_MONTH)
    assert outcome is service.Outcome.APPROVED
    with pytest.raises(LimitReached) as month:
        await service.propose(db.uow, db.clock, client, USER,
                              service.Request(tpl, accounts[1:2], creatives), ONE_A_MONTH)
    assert month.value.hit == LimitHit("launches_per_month", 1, 1, ONE_A_MONTH.free)
