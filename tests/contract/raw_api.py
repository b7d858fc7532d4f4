"""Raw Marketing API calls as an outside client makes them (spec §1.3, §1.4), for contract tests."""

from __future__ import annotations

import json
from typing import Any

import aiohttp


class Api:
    """Raw Marketing API calls as any outside client makes them (spec §1.3, §1.4)."""

    def __init__(self, api_url: str, token: str, session: aiohttp.ClientSession) -> None:
        """Calls to ``api_url`` (…/open_api/v1.3/) with ``token``."""
        self.api_url, self.session = api_url, session
        self.headers = {"Access-Token": token}

    async def get(self, path: str, **params: Any) -> dict[str, Any]:
        """GET with lists and objects as JSON text; the whole envelope."""
        query = {
            k: json.dumps(v) if isinstance(v, list | dict) else str(v) for k, v in params.items()
        }
        async with self.session.get(self.api_url + path, params=query, headers=self.headers) as r:
            body: dict[str, Any] = await r.json()
            return body

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST a JSON body; the whole envelope."""
        async with self.session.post(self.api_url + path, json=body, headers=self.headers) as r:
            reply: dict[str, Any] = await r.json()
            return reply

    async def report(self, **params: Any) -> dict[str, Any]:
        """One report/integrated/get call (BASIC), the envelope."""
        return await self.get("report/integrated/get/", report_type="BASIC", **params)

    async def report_rows(self, **params: Any) -> list[dict[str, Any]]:
        """Every row of a report, page by page (spec §1.6)."""
        rows: list[dict[str, Any]] = []
        page = 1
        while True:
            body = await self.report(page=page, page_size=1000, **params)
            assert body["code"] == 0, body["message"]
            rows += body["data"]["list"]
            if page >= body["data"]["page_info"]["total_page"]:
                return rows
            page += 1
