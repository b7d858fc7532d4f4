"""Driving the emulator's consent page like a browser would (spec §2.1, §2.2)."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import aiohttp

from core.tiktok import auth_code_from_redirect

_AUTHORIZE = re.compile(r'<a href="([^"]+)">\s*Authorize\s*</a>', re.IGNORECASE)


async def obtain_auth_code(emu: Any, consent_url: str) -> tuple[str, str]:
    """Open the consent page, click Authorize; return (auth_code, state) from the redirect."""
    async with aiohttp.ClientSession() as browser:
        async with browser.get(consent_url) as page:
            assert page.status == 200, await page.text()
            text = await page.text()
        match = _AUTHORIZE.search(text)
        assert match, "no Authorize link on the consent page"
        target = urljoin(consent_url, html.unescape(match.group(1)))
        async with browser.get(target, allow_redirects=False) as resp:
            assert resp.status in (302, 303), await resp.text()
            location = resp.headers["Location"]
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    code = auth_code_from_redirect(query)
    assert code, f"no auth code in redirect {location}"
    return code, query.get("state", "")
