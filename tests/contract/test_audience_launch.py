"""Audiences in templates (issue 17): a template's included / excluded audience ids are checked
at pre-flight in every chosen ad account (an account without one stops the launch before
anything is made), sent on adgroup/create as TikTok's audience_ids / excluded_audience_ids,
and with the audiences switch off pre-flight asks TikTok nothing about them."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from core import audiences
from core.feature_access import FeatureError
from core.features import set_feature
from core.launch import runner, service
from core.templates import service as templates
from core.templates.model import AudiencePicks
from core.tiktok import TikTokClient
from tests.contract.conftest import Emu
from tests.contract.feature_db import optional_calls
from tests.contract.test_launch import (  # noqa: F401
    Progress,
    emulator_options,
    fetcher,
    identities,
    setup,
    template,
)
from tests.contract.test_sync import NOW, USER, connected_db, engines  # noqa: F401


async def _audience(db: Any, client: TikTokClient, account_id: int, name: str) -> str:
    hashed = audiences.hash_file("\n".join(f"{name}{i}@x.io" for i in range(5)).encode())
    return await audiences.create_from_file(db.uow, client, USER, account_id, name, hashed)


async def test_template_audiences_checked_per_account_and_sent_on_adgroup_create(
    emu: Emu,
    client: TikTokClient,
    tmp_path: Path,
    engines: list[Any],  # noqa: F811
) -> None:
    db = await connected_db(f"sqlite+aiosqlite:///{tmp_path}/db.sqlite", client, engines)
    await identities(emu, client, db)
    base = template()
    await set_feature(db.uow, db.clock, USER, "audiences", True)
    _tpl, accounts, _creatives = await setup(db, base, 1)
    first, second = accounts[0], accounts[1]
    include = await _audience(db, client, first, "fans")
    exclude = await _audience(db, client, first, "buyers")
    group = replace(base.adgroups[0], audience_ids=(include,), excluded_audience_ids=(exclude,))
    with_aud = replace(base, name="With audiences", adgroups=(group,))
    tpl, _accounts, creatives = await setup(db, with_aud, 1)

    # Both accounts: the second has neither audience, so nothing is made.
    found = await service.propose(db.uow, db.clock, client, USER,
                                  service.Request(tpl, [first, second], creatives))
    assert isinstance(found, list)
    [issue] = [i for i in found if i.code == "audience_missing"]
    assert issue.account_id == second and issue.params["ids"] == f"{include}, {exclude}"
    assert not [c for c in emu.state.campaigns.values() if c.name.startswith("202")]

    # Switched off: pre-flight stops with audiences_off and makes no dmp/ call.
    await set_feature(db.uow, db.clock, USER, "audiences", False)
    await emu.ctl("POST", "reset_stats")
    found = await service.propose(db.uow, db.clock, client, USER,
                                  service.Request(tpl, [first], creatives))
    assert isinstance(found, list) and {i.code for i in found} == {"audiences_off"}
    assert await optional_calls(emu) == {}

    # On, the account that has them: launched, the ad group targets them at TikTok.
    await set_feature(db.uow, db.clock, USER, "audiences", True)
    proposed = await service.propose(db.uow, db.clock, client, USER,
                                     service.Request(tpl, [first], creatives))
    assert isinstance(proposed, service.Proposed)
    await service.approve(db.uow, db.clock, USER, proposed.launch.id)
    assert await runner.run_due(db.uow, db.clock, client, "w1", fetcher(db), Progress()) == 1
    [made] = [g for g in emu.state.adgroups.values() if g.extra.get("audience_ids")]
    assert made.extra["audience_ids"] == [include]
    assert made.extra["excluded_audience_ids"] == [exclude]


async def _advertiser(db: Any, account_id: int) -> str:
    async with db.uow() as u:
        account = await u.connections.account(USER, account_id)
    assert account is not None
    return account.advertiser_id


async def test_picks_per_account_launch_with_their_own_and_stop_where_none_were_picked(
    emu: Emu,
    client: TikTokClient,
    tmp_path: Path,
    engines: list[Any],  # noqa: F811
) -> None:
    """Picks for the first account only: launching into both stops with audience_not_picked
    naming the second (no dmp/ call decides it, no audience_missing there); into the first
    alone the ad group targets that account's picks; an audience TikTok is still computing, and
    once computed one under TARGETING_MIN_SIZE people, are warnings, not stops."""
    db = await connected_db(f"sqlite+aiosqlite:///{tmp_path}/db.sqlite", client, engines)
    await identities(emu, client, db)
    base = template()
    await set_feature(db.uow, db.clock, USER, "audiences", True)
    _tpl, accounts, _creatives = await setup(db, base, 1)
    first, second = accounts[0], accounts[1]
    include = await _audience(db, client, first, "fans")
    exclude = await _audience(db, client, first, "buyers")
    adv = await _advertiser(db, first)
    picks = AudiencePicks(adv, (include,), (exclude,))
    group = replace(base.adgroups[0], account_audiences=(picks,))
    tpl, _accounts, creatives = await setup(db, replace(base, name="Picked", adgroups=(group,)),
                                            1)

    found = await service.propose(db.uow, db.clock, client, USER,
                                  service.Request(tpl, [first, second], creatives))
    assert isinstance(found, list)
    codes = {(i.code, i.account_id) for i in found}
    assert ("audience_not_picked", second) in codes
    assert not [c for c in codes if c[0] == "audience_missing"]
    [issue] = [i for i in found if i.code == "audience_not_picked"]
    assert issue.params["geo"] == group.geo and issue.params["account"]

    # Just made, TikTok is still computing both (cover_num 0): that is said, not "small".
    computing = await service.propose(db.uow, db.clock, client, USER,
                                      service.Request(tpl, [first], creatives))
    assert isinstance(computing, service.Proposed)
    codes = [w.code for w in computing.warnings]
    assert "audience_computing" in codes and "audience_small" not in codes
    [busy] = [w for w in computing.warnings if w.code == "audience_computing"]
    assert busy.account_id == first
    assert {"fans", "buyers"} <= set(busy.params["names"].split(", "))
    await service.reject(db.uow, db.clock, USER, computing.launch.id)

    later = NOW + timedelta(hours=1)  # past the emulator's audience_ready_seconds
    await emu.ctl("POST", "clock", {"now": later.isoformat()})
    db.clock.set(later)
    proposed = await service.propose(db.uow, db.clock, client, USER,
                                     service.Request(tpl, [first], creatives))
    assert isinstance(proposed, service.Proposed)
    assert "audience_computing" not in {w.code for w in proposed.warnings}
    [small] = [w for w in proposed.warnings if w.code == "audience_small"]
    assert small.account_id == first and "fans" in small.params["names"]
    assert small.params["min"] == str(audiences.TARGETING_MIN_SIZE)
    await service.approve(db.uow, db.clock, USER, proposed.launch.id)
    assert await runner.run_due(db.uow, db.clock, client, "w1", fetcher(db), Progress()) == 1
    [made] = [g for g in emu.state.adgroups.values() if g.extra.get("audience_ids")]
    assert made.extra["audience_ids"] == [include]
    assert made.extra["excluded_audience_ids"] == [exclude]


async def test_delete_refused_while_a_template_uses_it_then_gone_when_read_back(
    emu: Emu,
    client: TikTokClient,
    tmp_path: Path,
    engines: list[Any],  # noqa: F811
) -> None:
    """A saved template picking the audience refuses its delete (naming the template); once
    the template lets go, TikTok's dmp/custom_audience/delete removes it (TikTok's envelope:
    code 0, data {}), the read-back no longer lists it, and a second delete says it was gone
    already; someone else asking for the account is refused."""
    db = await connected_db(f"sqlite+aiosqlite:///{tmp_path}/db.sqlite", client, engines)
    base = template()
    await set_feature(db.uow, db.clock, USER, "audiences", True)
    _tpl, accounts, _creatives = await setup(db, base, 0)
    first = accounts[0]
    aud = await _audience(db, client, first, "fans")
    adv = await _advertiser(db, first)
    group = replace(base.adgroups[0], account_audiences=(AudiencePicks(adv, (), (aud,)),))
    row = await templates.save(db.uow, USER, replace(base, name="Excluder", adgroups=(group,)))

    with pytest.raises(audiences.AudienceInUse) as exc:
        await audiences.delete_audience(db.uow, client, USER, first, aud)
    assert exc.value.templates == ["Excluder"]
    assert aud in emu.state.audiences
    with pytest.raises(FeatureError):  # not this user's account: nothing asked
        await audiences.delete_audience(db.uow, client, USER + 1, first, aud)

    await templates.delete(db.uow, USER, row.id)
    assert await audiences.delete_audience(db.uow, client, USER, first, aud) is True
    assert aud not in emu.state.audiences
    assert await audiences.audiences_by_id(client, emu.access_token, adv, [aud]) == {}
    assert await audiences.delete_audience(db.uow, client, USER, first, aud) is False

    other = await _audience(db, client, first, "other")
    reply = await client.transport.call(
        "POST", "dmp/custom_audience/delete/", token=emu.access_token,
        body={"advertiser_id": adv, "custom_audience_ids": [other]})
    assert reply.data == {} and reply.request_id
