"""Audiences in templates (issue 17): a template's included / excluded audience ids are checked
at pre-flight in every chosen ad account (an account without one stops the launch before
anything is made), sent on adgroup/create as TikTok's audience_ids / excluded_audience_ids,
and with the audiences switch off pre-flight asks TikTok nothing about them."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from core import audiences
from core.features import set_feature
from core.launch import runner, service
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
from tests.contract.test_sync import USER, connected_db, engines  # noqa: F401


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
