"""Custom and lookalike audience calls (spec §9 "Audience management (DMP)";
tiktok-openapi/dmp_custom_audience_list.yml), kept apart from the client's core and built on
its transport.

Every call here needs the audiences scope: a token without it raises ScopeMissingError
(core/tiktok/errors.py), which callers explain and never retry. Request fields are those of
TikTok's official SDK (tiktok/tiktok-business-api-sdk: CustomAudienceCreateBody,
CustomAudienceDeleteBody, DmpcustomAudiencelookalikecreateLookalikeSpec,
dmp_custom_audience_file_upload's form fields). The yml declares the list reply only as
``data.list`` / ``page_info``; the item fields read here are read leniently [U].
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from core.tiktok.client import TikTokClient
from core.tiktok.parsing import as_list, as_mapping, id_str

PAGE_SIZE = 100  # dmp_custom_audience_list.yml: page_size maximum 100
LOOKALIKE_SIZES = ("NARROW", "BALANCED", "BROAD")


@dataclass(frozen=True, slots=True)
class Audience:
    """One custom or lookalike audience of an ad account."""

    audience_id: str
    name: str
    kind: str  # "lookalike" or "custom"
    size: int  # cover_num: 0 while TikTok computes it
    ready: bool  # is_valid
    expiring: bool
    calculate_type: str
    source_id: str | None  # a lookalike's seed audience

    @classmethod
    def from_api(cls, item: Mapping[str, Any]) -> Audience:
        """Build from a `dmp/custom_audience/list` `data.list` item."""
        spec = as_mapping(item.get("lookalike_spec"))
        kind_text = str(item.get("audience_type") or "").lower()
        lookalike = bool(spec) or "lookalike" in kind_text
        try:
            size = int(item.get("cover_num") or 0)
        except (TypeError, ValueError):
            size = 0
        return cls(
            audience_id=id_str(item.get("audience_id") or item.get("custom_audience_id")),
            name=str(item.get("name") or ""),
            kind="lookalike" if lookalike else "custom",
            size=size,
            ready=bool(item.get("is_valid")),
            expiring=bool(item.get("is_expiring")),
            calculate_type=str(item.get("calculate_type") or ""),
            source_id=id_str(spec.get("source_audience_id")) or None,
        )


async def list_audiences(client: TikTokClient, token: str, advertiser_id: str,
                         ids: Sequence[str] | None = None) -> list[Audience]:
    """Every audience of an ad account (or only `ids`), oldest first, pages of 100."""
    out: list[Audience] = []
    number, total = 1, 1
    while number <= total:
        params: dict[str, Any] = {"advertiser_id": advertiser_id, "page": number,
                                  "page_size": PAGE_SIZE}
        if ids:
            params["custom_audience_ids"] = list(ids)
        reply = await client.transport.call("GET", "dmp/custom_audience/list/", token=token,
                                            params=params)
        data = as_mapping(reply.data)
        total = int(as_mapping(data.get("page_info")).get("total_page") or 1)
        out += [Audience.from_api(as_mapping(i)) for i in as_list(data.get("list"))]
        number += 1
    return [a for a in out if a.audience_id]


async def upload_file(client: TikTokClient, token: str, advertiser_id: str,
                      content: bytes, calculate_type: str, file_name: str) -> str:
    """Upload a file of hashed identifiers (multipart, file_signature = its MD5, spec §9);
    the `file_path` to create an audience from. Not resent on a lost reply (a new file)."""
    signature = hashlib.md5(content).hexdigest()

    def build() -> aiohttp.FormData:
        form = aiohttp.FormData(default_to_multipart=True)
        form.add_field("advertiser_id", advertiser_id)
        form.add_field("calculate_type", calculate_type)
        form.add_field("file_signature", signature)
        form.add_field("file", content, filename=file_name, content_type="text/plain")
        return form

    reply = await client.transport.call("POST", "dmp/custom_audience/file/upload/",
                                        token=token, form=build, idempotent=False)
    return str(as_mapping(reply.data).get("file_path") or "")


async def create_audience(client: TikTokClient, token: str, advertiser_id: str, name: str,
                          calculate_type: str, file_paths: Sequence[str]) -> str:
    """A custom audience from uploaded files; its id (TikTok computes it over hours)."""
    reply = await client.transport.call(
        "POST", "dmp/custom_audience/create/", token=token, idempotent=False,
        body={"advertiser_id": advertiser_id, "custom_audience_name": name[:128],
              "calculate_type": calculate_type, "file_paths": list(file_paths)},
    )
    return _new_id(reply.data)


async def create_lookalike(client: TikTokClient, token: str, advertiser_id: str, name: str,
                           source_id: str, size: str = "BALANCED") -> str:
    """A lookalike of a computed custom audience; its id."""
    reply = await client.transport.call(
        "POST", "dmp/custom_audience/lookalike/create/", token=token, idempotent=False,
        body={"advertiser_id": advertiser_id, "custom_audience_name": name[:128],
              "lookalike_spec": {"source_audience_id": source_id, "audience_size": size,
                                 "include_source": False, "mobile_os": "ALL",
                                 "placements": ["TikTok"]}},
    )
    return _new_id(reply.data)


async def delete_audiences(client: TikTokClient, token: str, advertiser_id: str,
                           ids: Sequence[str]) -> None:
    """Delete audiences of the account."""
    await client.transport.call(
        "POST", "dmp/custom_audience/delete/", token=token,
        body={"advertiser_id": advertiser_id, "custom_audience_ids": list(ids)},
    )


def _new_id(data: Any) -> str:
    # Public clients read data.custom_audience_id (lookalike) and data.audience_id (create) [U].
    d = as_mapping(data)
    return id_str(d.get("custom_audience_id") or d.get("audience_id"))
