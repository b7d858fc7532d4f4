"""Catalog calls (spec §9 "Catalog / DPA"; tiktok-openapi/catalog_get.yml and, in TikTok's SDK,
catalog_overview.yml and catalog_set_get.yml), kept apart from the client's core and built on
its transport.

Catalogs belong to a Business Center: every call takes its ``bc_id``. Every call here needs the
catalogs scope: a token without it raises ScopeMissingError (core/tiktok/errors.py), which
callers explain and never retry. catalog/get's items follow the file's response_rule;
catalog/set/get's are declared only as ``data.list``, read leniently [U] (the emulator's
sandbox/tiktok/catalogs.py says what it plays).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.tiktok.client import TikTokClient
from core.tiktok.parsing import as_list, as_mapping, id_str

PAGE_SIZE = 50  # catalog_get.yml declares no maximum; 50 as bc/get's [U]
PRODUCT_PAGE_SIZE = 100  # catalog_set_product_get.yml's maximum; product/get has no file [U]


@dataclass(frozen=True, slots=True)
class Catalog:
    """A catalog of a Business Center."""

    catalog_id: str
    name: str
    bc_id: str
    bc_name: str
    region: str
    currency: str

    @classmethod
    def from_api(cls, item: Mapping[str, Any], bc_id: str) -> Catalog:
        """Build from a `catalog/get` `data.list` item (its bc_info may be an object or a
        one-item list: the response_rule writes ``bc_info[]``)."""
        bc = item.get("bc_info")
        bc_info = as_mapping(as_list(bc)[0] if isinstance(bc, list) and bc else bc)
        conf = as_mapping(item.get("catalog_conf"))
        return cls(
            catalog_id=id_str(item.get("catalog_id")),
            name=str(item.get("catalog_name") or ""),
            bc_id=id_str(bc_info.get("bc_id")) or bc_id,
            bc_name=str(bc_info.get("bc_name") or ""),
            region=str(conf.get("region_code") or ""),
            currency=str(conf.get("currency") or ""),
        )


@dataclass(frozen=True, slots=True)
class Review:
    """A catalog's product counts by review status (catalog/overview)."""

    approved: int
    processing: int
    rejected: int


@dataclass(frozen=True, slots=True)
class ProductSet:
    """A product set of a catalog and how many products it holds (None: not told)."""

    product_set_id: str
    name: str
    product_count: int | None


async def list_catalogs(client: TikTokClient, token: str, bc_id: str,
                        catalog_id: str | None = None) -> list[Catalog]:
    """A Business Center's catalogs (or one of them), every page."""
    out: list[Catalog] = []
    number, total = 1, 1
    while number <= total:
        params: dict[str, Any] = {"bc_id": bc_id, "page": number, "page_size": PAGE_SIZE}
        if catalog_id:
            params["catalog_id"] = catalog_id
        reply = await client.transport.call("GET", "catalog/get/", token=token, params=params)
        data = as_mapping(reply.data)
        total = int(as_mapping(data.get("page_info")).get("total_page") or 1)
        out += [Catalog.from_api(as_mapping(i), bc_id) for i in as_list(data.get("list"))]
        number += 1
    return [c for c in out if c.catalog_id]


def _count(value: Any) -> int:
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        return 0


async def review(client: TikTokClient, token: str, bc_id: str, catalog_id: str) -> Review:
    """How many of a catalog's products are approved, in review, rejected."""
    reply = await client.transport.call(
        "GET", "catalog/overview/", token=token,
        params={"bc_id": bc_id, "catalog_id": catalog_id},
    )
    data = as_mapping(reply.data)
    return Review(_count(data.get("approved")), _count(data.get("processing")),
                  _count(data.get("rejected")))


async def product_sets(client: TikTokClient, token: str, bc_id: str,
                       catalog_id: str) -> list[ProductSet]:
    """A catalog's product sets with their product counts."""
    reply = await client.transport.call(
        "GET", "catalog/set/get/", token=token,
        params={"bc_id": bc_id, "catalog_id": catalog_id, "return_product_count": True},
    )
    out = []
    for item in (as_mapping(i) for i in as_list(as_mapping(reply.data).get("list"))):
        count = item.get("product_count")
        out.append(ProductSet(
            product_set_id=id_str(item.get("product_set_id")),
            name=str(item.get("product_set_name") or item.get("name") or ""),
            product_count=None if count is None else _count(count),
        ))
    return [s for s in out if s.product_set_id]


async def approved_in_set(client: TikTokClient, token: str, bc_id: str, catalog_id: str,
                          product_set_id: str, enough: int = 1) -> int:
    """How many of a product set's products TikTok approved, counting page by page until
    `enough` are found (catalog/product/get by ``product_set_id``; ``audit_status`` as the
    overview's keys, APPROVED, or the Go SDK's ``audit.audit_status``, approved [U])."""
    approved, number, total = 0, 1, 1
    while number <= total and approved < enough:
        reply = await client.transport.call(
            "GET", "catalog/product/get/", token=token,
            params={"bc_id": bc_id, "catalog_id": catalog_id, "product_set_id": product_set_id,
                    "page": number, "page_size": PRODUCT_PAGE_SIZE},
        )
        data = as_mapping(reply.data)
        total = int(as_mapping(data.get("page_info")).get("total_page") or 1)
        approved += sum(1 for i in as_list(data.get("list")) if is_approved(as_mapping(i)))
        number += 1
    return approved


def is_approved(product: Mapping[str, Any]) -> bool:
    """Whether TikTok approved a product: catalog_product_delete.yml's top-level
    ``audit_status`` or the Go SDK Product's ``audit.audit_status`` (either spelling case)."""
    status = product.get("audit_status") or as_mapping(product.get("audit")).get("audit_status")
    return str(status or "").upper() == "APPROVED"
