"""Async TikTok Marketing API v1.3 client: one app, many users' access tokens."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar, overload

import aiohttp

from core.tiktok.config import TikTokConfig
from core.tiktok.creative_calls import CreativeCalls
from core.tiktok.models import (
    Ad,
    AdGroup,
    Advertiser,
    AuthorizedAdvertiser,
    BusinessCenter,
    Campaign,
    Identity,
    RevokeResult,
    StatusUpdateResult,
    TokenGrant,
)
from core.tiktok.oauth import DEFAULT_AUTH_URL, consent_url
from core.tiktok.parsing import as_list, as_mapping, chunks, id_str, str_tuple
from core.tiktok.ratelimit import RateLimiter, build_limiter
from core.tiktok.report_calls import FILTER_IDS_BATCH, ReportCalls
from core.tiktok.transport import RetryPolicy, Transport

T = TypeVar("T")


# spec §1.6 batch and page limits
ENTITY_PAGE_SIZE = 1000
BC_PAGE_SIZE = 50
IDENTITY_PAGE_SIZE = 100
ADVERTISER_INFO_BATCH = 100
STATUS_IDS_BATCH = 20
STATUSES = ("ENABLE", "DISABLE", "DELETE")


class TikTokClient(ReportCalls, CreativeCalls):
    """Typed async client; every call except the OAuth exchange takes the user's token."""

    def __init__(
        self,
        *,
        base_url: str,
        app_id: str,
        secret: str,
        session: aiohttp.ClientSession | None = None,
        limiter: RateLimiter | None = None,
        retry: RetryPolicy | None = None,
        request_timeout: float = 30.0,
        page_concurrency: int = 8,
        auth_url: str = DEFAULT_AUTH_URL,
        rng: random.Random | None = None,
    ) -> None:
        self.app_id = app_id
        self._secret = secret
        self.auth_url = auth_url
        self._page_concurrency = max(1, page_concurrency)
        self._rng = rng or random.Random()
        self.transport = Transport(
            base_url=base_url,
            session=session,
            limiter=limiter if limiter is not None else build_limiter(app_id, 10.0),
            retry=retry or RetryPolicy(),
            request_timeout=request_timeout,
            secrets=(secret,),
            rng=self._rng,
        )

    @classmethod
    def from_config(
        cls,
        config: TikTokConfig,
        *,
        session: aiohttp.ClientSession | None = None,
        retry: RetryPolicy | None = None,
    ) -> TikTokClient:
        """Build a client (and its shared limiter) from a TikTokConfig."""
        limiter = build_limiter(config.app_id, config.qps, redis_url=config.redis_url)
        return cls(
            base_url=config.api_url,
            app_id=config.app_id,
            secret=config.secret,
            session=session,
            limiter=limiter,
            retry=retry,
            auth_url=config.auth_url,
        )

    async def close(self) -> None:
        """Close the HTTP session if the client created it."""
        await self.transport.close()

    async def __aenter__(self) -> TikTokClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ---- OAuth (spec §2) -------------------------------------------------------------

    def consent_url(self, state: str, redirect_uri: str) -> str:
        """The advertiser consent page URL for this app."""
        return consent_url(self.app_id, state, redirect_uri, self.auth_url)

    async def exchange_auth_code(self, auth_code: str) -> TokenGrant:
        """Exchange a one-time auth code for a long-lived access token (spec §2.3)."""
        reply = await self.transport.call(
            "POST",
            "oauth2/access_token/",
            body={"app_id": self.app_id, "secret": self._secret, "auth_code": auth_code},
        )
        return TokenGrant.from_api(as_mapping(reply.data))

    async def get_authorized_advertisers(self, token: str) -> list[AuthorizedAdvertiser]:
        """Every ad account the token can access (spec §2.5; not paginated)."""
        reply = await self.transport.call(
            "GET",
            "oauth2/advertiser/get/",
            token=token,
            params={"app_id": self.app_id, "secret": self._secret},
        )
        items = as_list(as_mapping(reply.data).get("list"))
        return [AuthorizedAdvertiser.from_api(as_mapping(i)) for i in items]

    async def revoke_token(self, token: str) -> RevokeResult:
        """Revoke an access token (spec §2.6)."""
        reply = await self.transport.call(
            "POST",
            "oauth2/revoke_token/",
            token=token,
            body={"app_id": self.app_id, "secret": self._secret, "access_token": token},
        )
        return RevokeResult.from_api(as_mapping(reply.data))

    # ---- Accounts (spec §3) ----------------------------------------------------------

    async def get_advertisers(
        self, token: str, advertiser_ids: Sequence[str], *, fields: Sequence[str] | None = None
    ) -> list[Advertiser]:
        """Ad account details, batched by 100 ids (spec §3.1)."""
        items = await self._batched_list(
            "advertiser/info/",
            "advertiser_ids",
            token,
            advertiser_ids,
            ADVERTISER_INFO_BATCH,
            {"fields": list(fields)} if fields else {},
        )
        return [Advertiser.from_api(i) for i in items]

    async def get_business_centers(
        self,
        token: str,
        *,
        bc_id: str | None = None,
        scene: str | None = None,
        filtering: Mapping[str, Any] | None = None,
    ) -> list[BusinessCenter]:
        """Business Centers of the token's user, every page (spec §3.2)."""
        params = {"bc_id": bc_id, "scene": scene, "filtering": dict(filtering or {}) or None}
        items = await self._get_all_pages("bc/get/", token, params, BC_PAGE_SIZE)
        return [BusinessCenter.from_api(i) for i in items]

    # ---- Campaigns, ad groups, ads (spec §4) -----------------------------------------

    async def get_campaigns(
        self,
        token: str,
        advertiser_id: str,
        *,
        fields: Sequence[str] | None = None,
        filtering: Mapping[str, Any] | None = None,
        include_deleted: bool = False,
    ) -> list[Campaign]:
        """Every campaign matching `filtering`, all pages of 1000 (spec §4.1)."""
        items = await self._get_entities(
            "campaign/get/", token, advertiser_id, fields, filtering, include_deleted
        )
        return [Campaign.from_api(i) for i in items]

    async def get_adgroups(
        self,
        token: str,
        advertiser_id: str,
        *,
        fields: Sequence[str] | None = None,
        filtering: Mapping[str, Any] | None = None,
        include_deleted: bool = False,
    ) -> list[AdGroup]:
        """Every ad group matching `filtering`, all pages of 1000 (spec §4.5)."""
        items = await self._get_entities(
            "adgroup/get/", token, advertiser_id, fields, filtering, include_deleted
        )
        return [AdGroup.from_api(i) for i in items]

    async def get_ads(
        self,
        token: str,
        advertiser_id: str,
        *,
        fields: Sequence[str] | None = None,
        filtering: Mapping[str, Any] | None = None,
        include_deleted: bool = False,
    ) -> list[Ad]:
        """Every ad matching `filtering`, all pages of 1000 (spec §4.8)."""
        items = await self._get_entities(
            "ad/get/", token, advertiser_id, fields, filtering, include_deleted
        )
        return [Ad.from_api(i) for i in items]

    async def create_campaign(
        self, token: str, advertiser_id: str, fields: Mapping[str, Any]
    ) -> str:
        """Create a campaign from API fields; return its id (spec §4.2)."""
        data = await self._create("campaign/create/", token, advertiser_id, fields)
        return id_str(as_mapping(data).get("campaign_id"))

    async def update_campaign(
        self, token: str, advertiser_id: str, campaign_id: str, changes: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        """Update a campaign's mutable fields; return TikTok's data (spec §4.3)."""
        body = {**changes, "advertiser_id": advertiser_id, "campaign_id": campaign_id}
        reply = await self.transport.call("POST", "campaign/update/", token=token, body=body)
        return as_mapping(reply.data)

    async def update_campaign_status(
        self, token: str, advertiser_id: str, campaign_ids: Sequence[str], status: str
    ) -> StatusUpdateResult:
        """ENABLE/DISABLE/DELETE campaigns, 20 ids per call (spec §4.4)."""
        return await self._update_status(
            "campaign/status/update/",
            "campaign_ids",
            "campaign_id",
            token,
            advertiser_id,
            campaign_ids,
            status,
        )

    async def create_adgroup(
        self, token: str, advertiser_id: str, fields: Mapping[str, Any]
    ) -> str:
        """Create an ad group from API fields; return its id (spec §4.6)."""
        data = await self._create("adgroup/create/", token, advertiser_id, fields)
        return id_str(as_mapping(data).get("adgroup_id"))

    async def update_adgroup(
        self, token: str, advertiser_id: str, adgroup_id: str, changes: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        """Update an ad group's mutable fields; return TikTok's data (spec §4.7)."""
        body = {**changes, "advertiser_id": advertiser_id, "adgroup_id": adgroup_id}
        reply = await self.transport.call("POST", "adgroup/update/", token=token, body=body)
        return as_mapping(reply.data)

    async def update_adgroup_status(
        self, token: str, advertiser_id: str, adgroup_ids: Sequence[str], status: str
    ) -> StatusUpdateResult:
        """ENABLE/DISABLE/DELETE ad groups, 20 ids per call (spec §4.7)."""
        return await self._update_status(
            "adgroup/status/update/",
            "adgroup_ids",
            "adgroup_id",
            token,
            advertiser_id,
            adgroup_ids,
            status,
        )

    async def create_ads(
        self,
        token: str,
        advertiser_id: str,
        adgroup_id: str,
        creatives: Sequence[Mapping[str, Any]],
        *,
        request_id: str | None = None,
    ) -> tuple[str, ...]:
        """Create ads (≤20 creatives per call, batched); return the new ad ids (spec §4.9).

        TikTok documents no idempotency for ad creation (spec §4.9; the official SDK's
        AdCreateBody has no request_id), so a call whose reply is lost is not sent again here:
        the error reaches the caller, who must look for the ads before creating them again.
        `request_id` (one call only) is passed along as a hint TikTok may ignore."""
        if request_id is not None and len(creatives) > 20:
            raise ValueError("a request_id covers one call: at most 20 creatives")
        ids: list[str] = []
        for batch in _batches(list(creatives), 20):
            fields: dict[str, Any] = {
                "adgroup_id": adgroup_id,
                "creatives": [dict(c) for c in batch],
            }
            if request_id is not None:
                fields["request_id"] = request_id
            data = await self._create("ad/create/", token, advertiser_id, fields, idempotent=False)
            ids.extend(_ad_ids(data))
        return tuple(ids)

    async def update_ads(
        self,
        token: str,
        advertiser_id: str,
        adgroup_id: str,
        creatives: Sequence[Mapping[str, Any]],
        *,
        patch_update: bool = True,
    ) -> tuple[str, ...]:
        """Update ads (each creative carries its ad_id, ≤20 per call); return the ad ids (§4.10)."""
        ids: list[str] = []
        for batch in _batches(list(creatives), 20):
            body: dict[str, Any] = {
                "advertiser_id": advertiser_id,
                "adgroup_id": adgroup_id,
                "creatives": [dict(c) for c in batch],
            }
            if patch_update:
                body["patch_update"] = True
            reply = await self.transport.call("POST", "ad/update/", token=token, body=body)
            ids.extend(_ad_ids(reply.data))
        return tuple(ids)

    async def update_ad_status(
        self, token: str, advertiser_id: str, ad_ids: Sequence[str], status: str
    ) -> StatusUpdateResult:
        """ENABLE/DISABLE/DELETE ads, 20 ids per call (spec §4.10)."""
        return await self._update_status(
            "ad/status/update/", "ad_ids", "ad_id", token, advertiser_id, ad_ids, status
        )

    # ---- Identities (spec §6) --------------------------------------------------------

    async def get_identities(
        self,
        token: str,
        advertiser_id: str,
        *,
        identity_type: str | None = None,
        identity_authorized_bc_id: str | None = None,
        keyword: str | None = None,
    ) -> list[Identity]:
        """Identities of an ad account, every page of 100 (spec §6.1)."""
        params = {
            "advertiser_id": advertiser_id,
            "identity_type": identity_type,
            "identity_authorized_bc_id": identity_authorized_bc_id,
            "filtering": {"keyword": keyword} if keyword else None,
        }
        items = await self._get_all_pages(
            "identity/get/", token, params, IDENTITY_PAGE_SIZE, list_key="identity_list"
        )
        return [Identity.from_api(i) for i in items]

    async def get_pixels(self, token: str, advertiser_id: str) -> list[str]:
        """The ids of an ad account's pixels, every page of 20 (spec §9 Pixel / Events)."""
        items = await self._get_all_pages(
            "pixel/list/", token, {"advertiser_id": advertiser_id}, 20, list_key="pixels"
        )
        return [id_str(i.get("pixel_id")) for i in items if i.get("pixel_id")]

    async def create_identity(
        self, token: str, advertiser_id: str, display_name: str, image_uri: str | None = None
    ) -> str:
        """Create a CUSTOMIZED_USER identity; return its id (spec §6.2)."""
        body: dict[str, Any] = {"display_name": display_name}
        if image_uri:
            body["image_uri"] = image_uri
        # spec §6.2 documents no request_id: a lost reply is not resent blindly.
        data = await self._create("identity/create/", token, advertiser_id, body, idempotent=False)
        return id_str(as_mapping(data).get("identity_id"))

    # ---- helpers ---------------------------------------------------------------------

    async def _get_all_pages(
        self,
        path: str,
        token: str,
        params: Mapping[str, Any],
        page_size: int,
        *,
        list_key: str = "list",
    ) -> list[dict[str, Any]]:
        """Every item of a paginated listing, in page order (spec §1.6)."""
        pages: dict[int, list[dict[str, Any]]] = {}
        async for number, items in self._iter_pages(path, token, params, page_size, list_key):
            pages[number] = items
        return _flatten(pages[n] for n in sorted(pages))

    @overload
    def _iter_pages(
        self,
        path: str,
        token: str,
        params: Mapping[str, Any],
        page_size: int,
        list_key: str = "list",
    ) -> AsyncIterator[tuple[int, list[dict[str, Any]]]]: ...

    @overload
    def _iter_pages(
        self,
        path: str,
        token: str,
        params: Mapping[str, Any],
        page_size: int,
        list_key: str = "list",
        *,
        parse: Callable[[list[Any]], T],
    ) -> AsyncIterator[tuple[int, T]]: ...

    async def _iter_pages(
        self,
        path: str,
        token: str,
        params: Mapping[str, Any],
        page_size: int,
        list_key: str = "list",
        *,
        parse: Callable[[list[Any]], Any] | None = None,
    ) -> AsyncIterator[tuple[int, Any]]:
        """Yield (page number, items): page 1 first, then the rest as they arrive.

        Page 1 tells `total_page`; the other pages are then fetched concurrently, so a
        listing costs exactly the pages it has and no extra empty page (spec §1.6). With
        `parse`, each page's list (as decoded: items may be anything) is parsed as the reply
        is decoded (Transport.call), and what it returns is yielded instead of the items.
        """

        def decode(data: Any) -> tuple[Any, int]:
            data = as_mapping(data)
            info = as_mapping(data.get("page_info"))
            total = int(info.get("total_page") or 1)
            items = as_list(data.get(list_key))
            if parse is None:
                return [as_mapping(i) for i in items], total
            return parse(items), total

        async def page(number: int) -> tuple[int, Any, int]:
            query = {**params, "page": number, "page_size": page_size}
            reply = await self.transport.call("GET", path, token=token, params=query, parse=decode)
            items, total = reply.data
            return number, items, total

        _, first, total_pages = await page(1)
        yield 1, first
        if total_pages <= 1:
            return
        gate = asyncio.Semaphore(self._page_concurrency)

        async def gated(number: int) -> tuple[int, Any, int]:
            async with gate:
                return await page(number)

        tasks = [asyncio.create_task(gated(n)) for n in range(2, total_pages + 1)]
        try:
            for done in asyncio.as_completed(tasks):
                number, items, _ = await done
                yield number, items
        finally:
            for task in tasks:
                task.cancel()

    async def _get_entities(
        self,
        path: str,
        token: str,
        advertiser_id: str,
        fields: Sequence[str] | None,
        filtering: Mapping[str, Any] | None,
        include_deleted: bool,
    ) -> list[dict[str, Any]]:
        filt = dict(filtering or {})
        if include_deleted and "primary_status" not in filt:
            # spec §4.0: deleted objects are hidden unless STATUS_ALL is asked for.
            filt["primary_status"] = "STATUS_ALL"
        # spec §1.6: id filters accept 1–100 ids, so longer lists become several queries.
        id_key = next(
            (
                k
                for k in ("ad_ids", "adgroup_ids", "campaign_ids")
                if isinstance(filt.get(k), list | tuple) and len(filt[k]) > FILTER_IDS_BATCH
            ),
            None,
        )
        variants = (
            [
                {**filt, id_key: batch}
                for batch in chunks(map(id_str, filt[id_key]), FILTER_IDS_BATCH)
            ]
            if id_key
            else [filt]
        )

        async def one(variant: dict[str, Any]) -> list[dict[str, Any]]:
            params = {
                "advertiser_id": advertiser_id,
                "fields": list(fields) if fields else None,
                "filtering": variant or None,
            }
            return await self._get_all_pages(path, token, params, ENTITY_PAGE_SIZE)

        return _flatten(await asyncio.gather(*(one(v) for v in variants)))

    async def _create(
        self,
        path: str,
        token: str,
        advertiser_id: str,
        fields: Mapping[str, Any],
        *,
        idempotent: bool = True,
    ) -> Any:
        body = {**fields, "advertiser_id": advertiser_id}
        if idempotent and "request_id" not in body:
            # spec §4.2 / §4.6: a client-chosen int64 (as a string) makes retried campaign and
            # ad group creates idempotent, so the transport may resend them after a timeout.
            body["request_id"] = str(self._rng.getrandbits(62) + 1)
        reply = await self.transport.call(
            "POST", path, token=token, body=body, idempotent=idempotent
        )
        return reply.data

    async def _update_status(
        self,
        path: str,
        ids_key: str,
        id_key: str,
        token: str,
        advertiser_id: str,
        ids: Sequence[str],
        status: str,
    ) -> StatusUpdateResult:
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, not {status!r}")
        done: list[str] = []
        errors: dict[str, str] = {}
        reported: str | None = None
        for batch in chunks(dict.fromkeys(map(id_str, ids)), STATUS_IDS_BATCH):
            body = {"advertiser_id": advertiser_id, ids_key: batch, "operation_status": status}
            reply = await self.transport.call("POST", path, token=token, body=body)
            data = as_mapping(reply.data)
            done.extend(str_tuple(data.get(ids_key)))
            reported = str(data.get("status") or reported or status)
            for err in as_list(data.get("error_list")):
                err = as_mapping(err)
                errors[id_str(err.get(id_key))] = str(err.get("error_message") or "")
        return StatusUpdateResult(tuple(done), reported, errors)


    async def _batched_list(
        self,
        path: str,
        key: str,
        token: str,
        ids: Sequence[str],
        size: int,
        params: Mapping[str, Any],
    ) -> list[Mapping[str, Any]]:
        """The `list` of GET `path` for the distinct ids, `size` a call (spec §1.6), the calls
        made together, in the ids' order."""

        async def one(batch: list[str]) -> list[Mapping[str, Any]]:
            reply = await self.transport.call(
                "GET", path, token=token, params={**params, key: batch}
            )
            return [as_mapping(i) for i in as_list(as_mapping(reply.data).get("list"))]

        batches = chunks(dict.fromkeys(map(id_str, ids)), size)
        return _flatten(await asyncio.gather(*(one(b) for b in batches)))


def _flatten(parts: Iterable[list[T]]) -> list[T]:
    return [item for part in parts for item in part]


def _batches(items: list[T], size: int) -> list[list[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _ad_ids(data: Any) -> tuple[str, ...]:
    # spec §4.9: clients read data.ad_ids; the Go SDK models a single ad object instead.
    mapping = as_mapping(data)
    if mapping.get("ad_ids"):
        return str_tuple(mapping["ad_ids"])
    creatives = [as_mapping(c) for c in as_list(mapping.get("creatives"))]
    ids = tuple(id_str(c.get("ad_id")) for c in creatives if c.get("ad_id"))
    if ids:
        return ids
    return (id_str(mapping["ad_id"]),) if mapping.get("ad_id") else ()
