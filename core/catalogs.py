"""Catalogs and their product sets (issue 17 "Catalogs"), behind the user's "catalogs" switch:
a user who has not switched it on causes no call to a catalog endpoint.

Catalogs belong to Business Centers, not ad accounts (spec §9: catalog/get takes ``bc_id``), so
the list walks the user's live connections, the Business Centers each token's login belongs to
(bc/get, spec §3.2) and their catalogs, each with its product counts by review status
(catalog/overview) and its product sets with product counts (catalog/set/get). A Business
Center reached through two connections is listed once. Everything is read live: nothing is
stored.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.feature_access import FeatureOff, NeedsReconnect
from core.features import is_on
from core.tiktok import ScopeMissingError, TikTokClient
from core.tiktok.catalogs import Catalog, ProductSet, Review, list_catalogs, product_sets, review
from storage.uow import UnitOfWorkFactory

FEATURE = "catalogs"


@dataclass(frozen=True, slots=True)
class CatalogSummary:
    """A catalog with its review counts and product sets."""

    catalog: Catalog
    review: Review
    sets: tuple[ProductSet, ...]


@dataclass(frozen=True, slots=True)
class UserCatalogs:
    """Every catalog the user's connections reach; `lacking` names connections whose token was
    refused the catalogs permission (their catalogs are missing from the list)."""

    catalogs: tuple[CatalogSummary, ...]
    lacking: tuple[str, ...]


async def _tokens(uow: UnitOfWorkFactory, user_id: int) -> list[tuple[str, str]]:
    """(connection name, token) of the user's usable connections; FeatureOff first."""
    async with uow() as u:
        user = await u.users.get(user_id)
        if user is None or not is_on(user, FEATURE):
            raise FeatureOff()
        out = []
        for conn in await u.connections.connections(user_id):
            if conn.status in ("disconnected", "broken") or conn.credential_id is None:
                continue
            token = await u.credentials.reveal(conn.credential_id)
            if token:
                out.append((conn.display_name, token))
    return out


async def user_catalogs(uow: UnitOfWorkFactory, client: TikTokClient,
                        user_id: int) -> UserCatalogs:
    """The catalogs of every Business Center the user's connections belong to, read live
    (raises FeatureError; ScopeMissingError when no connection has the catalogs scope)."""
    tokens = await _tokens(uow, user_id)
    if not tokens:
        raise NeedsReconnect()
    seen: set[str] = set()
    found: list[CatalogSummary] = []
    lacking: list[str] = []
    refusal: ScopeMissingError | None = None
    for name, token in tokens:
        try:
            for bc in await client.get_business_centers(token):
                if bc.bc_id in seen:
                    continue
                for cat in await list_catalogs(client, token, bc.bc_id):
                    counts = await review(client, token, bc.bc_id, cat.catalog_id)
                    sets = await product_sets(client, token, bc.bc_id, cat.catalog_id)
                    found.append(CatalogSummary(cat, counts, tuple(sets)))
                seen.add(bc.bc_id)
        except ScopeMissingError as exc:
            refusal = exc
            lacking.append(name)
    if refusal is not None and not found and len(lacking) == len(tokens):
        raise refusal
    return UserCatalogs(tuple(found), tuple(lacking))


@dataclass(frozen=True, slots=True)
class SetChoice:
    """A product set a template may advertise, with its catalog's names; `approved`: the
    catalog has approved products (the set's own are checked at pre-flight)."""

    bc_id: str
    catalog_id: str
    product_set_id: str
    catalog_name: str
    set_name: str
    approved: bool


def set_choices(found: UserCatalogs) -> list[SetChoice]:
    """Every product set of the user's catalogs, catalog by catalog."""
    return [SetChoice(c.catalog.bc_id, c.catalog.catalog_id, s.product_set_id,
                      c.catalog.name or c.catalog.catalog_id, s.name or s.product_set_id,
                      c.review.approved > 0)
            for c in found.catalogs for s in c.sets]
