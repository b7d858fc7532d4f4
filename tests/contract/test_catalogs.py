# ruff: noqa: F811 - pytest fixtures imported by name come back as parameters
"""Catalogs against the emulator (issue 17): with the "catalogs" switch off nothing is asked of
TikTok; with it on, the catalogs of the Business Centers the user's connection reaches are
listed with their products' review counts and their product sets' product counts; a withheld
catalogs permission is one refused request raised as ScopeMissingError, never retried."""

from __future__ import annotations

from typing import Any

import pytest

from core import catalogs
from core.feature_access import FeatureOff
from core.features import set_feature
from core.tiktok import ScopeMissingError, TikTokClient
from core.tiktok import catalogs as api
from tests.contract.feature_db import db, emulator_options, optional_calls  # noqa: F401
from tests.contract.test_sync import USER, Db, sync_all


async def test_catalogs_off_asks_nothing_on_lists_counts(
    db: Db, client: TikTokClient, emu: Any
) -> None:
    """Off: FeatureOff and zero catalog calls. On: the demo BC's two catalogs with TikTok's
    review counts and set counts, one request per catalog for each."""
    await sync_all(db, client)
    with pytest.raises(FeatureOff):
        await catalogs.user_catalogs(db.uow, client, USER)
    assert await optional_calls(emu) == {}

    await set_feature(db.uow, db.clock, USER, "catalogs", True)
    found = await catalogs.user_catalogs(db.uow, client, USER)
    assert found.lacking == ()
    by_name = {c.catalog.name: c for c in found.catalogs}
    assert set(by_name) == {"Glowly Store US", "Glowly EU launch"}
    us = by_name["Glowly Store US"]
    assert (us.review.approved, us.review.processing, us.review.rejected) == (18, 4, 2)
    assert [(s.name, s.product_count) for s in us.sets] == [
        ("All products", 24), ("Bestsellers", 8), ("New arrivals", 6)]
    assert us.catalog.bc_name == "Demo Media BC" and us.catalog.currency == "USD"
    eu = by_name["Glowly EU launch"]
    assert eu.review.approved == 0 and eu.review.processing == 6
    assert await optional_calls(emu) == {"catalog/get/": 1, "catalog/overview/": 2,
                                          "catalog/set/get/": 2}


async def test_client_pages_catalog_get(
    db: Db, client: TikTokClient, emu: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The client walks every page of catalog/get and filters by catalog_id."""
    await emu.ctl("POST", "config", {"catalog_page_size_max": 1})
    monkeypatch.setattr(api, "PAGE_SIZE", 1)
    token = emu.access_token
    [bc] = [b for b in await client.get_business_centers(token) if b.name == "Demo Media BC"]
    both = await api.list_catalogs(client, token, bc.bc_id)
    assert [c.name for c in both] == ["Glowly Store US", "Glowly EU launch"]
    one = await api.list_catalogs(client, token, bc.bc_id, both[1].catalog_id)
    assert [c.catalog_id for c in one] == [both[1].catalog_id]


async def test_a_withheld_catalogs_scope_is_explained_not_retried(
    db: Db, client: TikTokClient, emu: Any
) -> None:
    """The consent withheld catalogs: one refused request, raised as ScopeMissingError
    (group "catalogs") for the bot to explain."""
    await sync_all(db, client)
    await set_feature(db.uow, db.clock, USER, "catalogs", True)
    for tok in emu.state.tokens.values():
        tok.scope = [s for s in tok.scope if s != 17]  # 17: catalogs (core/tiktok/scopes.py)
    with pytest.raises(ScopeMissingError) as refused:
        await catalogs.user_catalogs(db.uow, client, USER)
    assert refused.value.group == "catalogs"
    assert await optional_calls(emu) == {"catalog/get/": 1}
