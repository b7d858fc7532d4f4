"""Headless Debian chromium driven by Selenium for the dashboard's browser tests.

Selenium's calls block, and the sandbox servers run on the test's event loop: every browser
step goes through `Browser.run` (a worker thread), so the loop keeps serving the pages' calls.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

T = TypeVar("T")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage")
WIDTHS = {"phone": 390, "desktop": 1280}


def require_chromium() -> None:
    """Skip when chromium is absent locally; fail in CI (TTPULSE_REQUIRE_SERVICES=1)."""
    missing = [p for p in (CHROMIUM, DRIVER) if not os.path.exists(p)]
    if not missing:
        return
    message = (f"browser tests need Debian's chromium and chromium-driver ({', '.join(missing)} "
               "missing): `scripts/dev setup` as root installs them")
    if os.environ.get("TTPULSE_REQUIRE_SERVICES"):
        pytest.fail(message)
    pytest.skip(message)


class Browser:
    """One chromium with a fresh profile."""

    def __init__(self, profile: Path, shots: Path) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in (*FLAGS, f"--user-data-dir={profile}", "--window-size=1280,900"):
            options.add_argument(flag)
        self.driver = webdriver.Chrome(options=options, service=Service(DRIVER))
        self.driver.set_page_load_timeout(60)
        self.shots = shots

    async def run(self, step: Callable[..., T], *args: Any) -> T:
        """A Selenium call off the event loop."""
        return await asyncio.to_thread(step, *args)

    async def get(self, url: str) -> None:
        """Load `url` afresh: from a blank page, as a URL differing only in its fragment would
        otherwise not reload (a Mini App launch URL does differ only there)."""
        await self.run(self.driver.get, "about:blank")
        await self.run(self.driver.get, url)

    async def js(self, script: str, *args: Any) -> Any:
        return await self.run(self.driver.execute_script, script, *args)

    async def wait(self, script: str, *args: Any, within: float = 20) -> Any:
        """Poll a JS expression until it is truthy; its value."""
        for _ in range(int(within / 0.1)):
            value = await self.js(script, *args)
            if value:
                return value
            await asyncio.sleep(0.1)
        url = await self.run(lambda: self.driver.current_url)
        text = await self.js("return document.body ? document.body.innerText : ''")
        raise AssertionError(f"never true: {script}\nat {url}:\n{text[:2000]}")

    async def click(self, css: str) -> None:
        """Click the element, then wait for the next page (or the script's effect)."""
        from selenium.webdriver.common.by import By

        def click() -> None:
            self.driver.find_element(By.CSS_SELECTOR, css).click()

        await self.run(click)

    async def screenshot(self, name: str) -> None:
        """The page at phone and desktop width, full height, into the run's folder."""
        for label, width in WIDTHS.items():
            def shoot(width: int = width, label: str = label) -> None:
                height = self.driver.execute_script(
                    "return Math.max(document.body.scrollHeight, 700)")
                self.driver.set_window_size(width, min(int(height) + 120, 4000))
                self.driver.save_screenshot(str(self.shots / f"{name}-{label}.png"))

            await self.run(shoot)
        await self.run(self.driver.set_window_size, 1280, 900)

    async def close(self) -> None:
        await self.run(self.driver.quit)
