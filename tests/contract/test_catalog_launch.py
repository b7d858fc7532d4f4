"""A template targeting a catalog's product set (issue 17): shopping ads (PRODUCT_SALES with
product_source CATALOG) launched from a template document. Pre-flight stops a set with no
approved product, one not in the catalog, a launch with catalogs switched off (asking TikTok
nothing about catalogs) and one whose consent withheld catalogs; a set with approved products
launches ad groups with the catalog and ads with the set at the emulator."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from core.features import set_feature
from core.launch import runner, service
from core.templates.document import from_document, to_document
from core.templates.model import AdGroupSpec, CampaignSpec, CatalogTarget, Template
from core.templates.validate import validate
from core.tiktok import TikTokClient
from sandbox.tiktok import catalogs as emu_catalogs
from tests.contract.conftest import Emu
from tests.contract.feature_db import optional_calls
from tests.contract.test_launch import Progress, fetcher, identities, setup, template
from tests.contract.test_sync import NOW, USER, connected_db, engines  # noqa: F401


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    return {"fixture": "demo", "now": NOW}


def _catalogs(emu: Emu) -> dict[str, Any]:
    """The demo BC's catalogs by name (the emulator's own model)."""
    bc = next(b for b in emu.state.bcs.values() if b.name == emu_catalogs.DEMO_BC)
    return {c.name: c for c in emu_catalogs.catalogs_in(emu.state, bc, NOW.timestamp())}


def shopping(bc_id: str, catalog_id: str, set_id: str) -> Template:
    base = template(budget=Decimal(50))
    return Template(
        name=f"Shopping {catalog_id[-3:]}-{set_id[-4:]}",
        campaign=CampaignSpec("PRODUCT_SALES"),
        adgroups=(AdGroupSpec(geo="US", location_ids=("6252001",), optimization_goal="CLICK",
                              billing_event="CPC", budget=Decimal(50)),),
        ad=base.ad,
        naming=base.naming,
        catalog=CatalogTarget(bc_id, catalog_id, set_id),
    )


def test_the_template_rules_and_document() -> None:
    """A catalog goes with PRODUCT_SALES only and its ids are numbers; the JSON document
    carries it both ways."""
    t = shopping("1", "2", "3")
    assert validate(t) == []
    assert from_document(to_document(t)).catalog == CatalogTarget("1", "2", "3")
    bare = Template(t.name, t.campaign, t.adgroups, t.ad, t.naming)
    assert [(p.path, p.code) for p in validate(bare)] == [("catalog", "required")]
    traffic = Template(t.name, CampaignSpec("TRAFFIC"), t.adgroups, t.ad, t.naming, t.catalog)
    assert ("catalog", "not_allowed") in [(p.path, p.code) for p in validate(traffic)]
    bad = Template(t.name, t.campaign, t.adgroups, t.ad, t.naming, CatalogTarget("1", "x", "3"))
    assert [(p.path, p.code) for p in validate(bad)] == [("catalog.catalog_id", "invalid")]


async def test_preflight_checks_the_set_and_a_launch_uses_it(
    emu: Emu, client: TikTokClient, tmp_path: Path, engines: list[Any]  # noqa: F811
) -> None:
    db = await connected_db(f"sqlite+aiosqlite:///{tmp_path}/db.sqlite", client, engines)
    await identities(emu, client, db)
    cats = _catalogs(emu)
    us, eu = cats["Glowly Store US"], cats["Glowly EU launch"]
    bc = us.bc.bc_id

    stored: dict[str, tuple[int, list[int], list[int]]] = {}

    async def propose(t: Template) -> Any:
        if t.name not in stored:
            stored[t.name] = await setup(db, t, 1)
        tpl, accounts, creatives = stored[t.name]
        return await service.propose(db.uow, db.clock, client, USER,
                                     service.Request(tpl, accounts[:1], creatives))

    best = shopping(bc, us.catalog_id, us.sets[1].product_set_id)  # Bestsellers: approved
    off = await propose(best)
    assert isinstance(off, list) and [i.code for i in off] == ["catalogs_off"]
    assert await optional_calls(emu) == {}

    await set_feature(db.uow, db.clock, USER, "catalogs", True)
    unapproved = await propose(shopping(bc, eu.catalog_id, eu.sets[0].product_set_id))
    assert isinstance(unapproved, list)
    assert [i.code for i in unapproved] == ["product_set_unapproved"]
    wrong_set = await propose(shopping(bc, us.catalog_id, eu.sets[0].product_set_id))
    assert isinstance(wrong_set, list) and [i.code for i in wrong_set] == ["product_set_missing"]
    no_catalog = await propose(shopping(bc, "7300000000000000099", us.sets[0].product_set_id))
    assert isinstance(no_catalog, list) and [i.code for i in no_catalog] == ["catalog_missing"]
    assert not [g for g in emu.state.adgroups.values() if g.extra.get("catalog_id")]
    # The account's own Business Center is known from advertiser/info's owner_bc_id: another
    # centre's catalog is refused before any catalog/ call.
    async with db.uow() as u:
        [account, *_] = await u.connections.accounts(USER, tracked_only=True)
    assert account.bc_id == emu.state.advertisers[account.advertiser_id].owner_bc_id == bc
    before = await optional_calls(emu)
    elsewhere = replace(shopping("7000000000000000999", us.catalog_id, us.sets[1].product_set_id),
                        name="Another centre's catalog")
    elsewhere = await propose(elsewhere)
    assert isinstance(elsewhere, list) and [i.code for i in elsewhere] == ["catalog_missing"]
    assert await optional_calls(emu) == before

    proposed = await propose(best)
    assert isinstance(proposed, service.Proposed), proposed
    await service.approve(db.uow, db.clock, USER, proposed.launch.id)
    assert await runner.run_due(db.uow, db.clock, client, "w1", fetcher(db), Progress()) == 1
    [group] = [g for g in emu.state.adgroups.values() if g.extra.get("catalog_id")]
    assert group.extra["catalog_id"] == us.catalog_id
    assert group.extra["product_source"] == "CATALOG"
    ads = [emu.state.ads[a] for a in group.ad_ids]
    assert ads and {a.extra["product_set_id"] for a in ads} == {us.sets[1].product_set_id}

    for tok in emu.state.tokens.values():
        tok.scope = [s for s in tok.scope if s != 17]  # 17: catalogs (core/tiktok/scopes.py)
    withheld = await propose(best)
    assert isinstance(withheld, list) and [i.code for i in withheld] == ["catalog_scope_missing"]
