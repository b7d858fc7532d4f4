"""A scripted browser for the emulator's consent page (spec §2.1–§2.2): tests, benchmarks and the
demo click Authorize or Cancel the way a person would, following plain links."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urljoin, urlsplit

import aiohttp


async def click(consent_url: str, choice: str = "Authorize", *, follow: bool = False,
                withhold: tuple[str, ...] = ()) -> tuple[int, str, str]:
    """Open the consent page, click "Withhold <permission>" for each title in `withhold`
    (e.g. "Comment management"), then click `choice` ("Authorize" or "Cancel").

    Without `follow`, returns (302, redirect location, ""); with it, the browser goes on to the
    redirect target and returns (status, final URL, page text).
    """
    async with aiohttp.ClientSession() as browser:
        async with browser.get(consent_url) as page:
            text = await page.text()
        for title in withhold:
            toggle = re.search(rf'<a href="([^"]+)">Withhold {re.escape(title)}</a>', text)
            if toggle is None:
                raise AssertionError(f"no Withhold {title} link on the consent page")
            consent_url = urljoin(consent_url, html.unescape(toggle.group(1)))
            async with browser.get(consent_url) as page:
                text = await page.text()
        link = re.search(rf'<a href="([^"]+)">\s*{re.escape(choice)}\s*</a>', text)
        if link is None:
            raise AssertionError(f"no {choice} link on the consent page:\n{text[:500]}")
        target = urljoin(consent_url, html.unescape(link.group(1)))
        async with browser.get(target, allow_redirects=follow) as resp:
            if not follow:
                return resp.status, resp.headers.get("Location", ""), ""
            return resp.status, str(resp.url), await resp.text()


def redirect_query(location: str) -> dict[str, str]:
    """The query of a redirect location, one value per key."""
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
