"""Debian's Chromium, headless, driven by Playwright, against the system running as processes."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.e2e.conftest import (  # noqa: F401  (the running system, as in e2e)
    system,
    system_extra_env,
)

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps trying hosts this network refuses.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(
    os.environ.get("SCREENSHOT_DIR", Path(__file__).resolve().parents[2] / "var" / "screenshots")
)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """The browser; its absence fails the run with how to install it, never skips."""
    if shutil.which(CHROMIUM) is None and not Path(CHROMIUM).exists():
        raise RuntimeError(
            f"Chromium not found at {CHROMIUM}: `apt-get install chromium` (or set CHROMIUM_PATH)"
        )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return CHROMIUM


@pytest.fixture
async def browser(chromium_path: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(locale="vi-VN", viewport={"width": 1280, "height": 900})
    opened = await context.new_page()
    try:
        yield opened
    finally:
        await context.close()


async def screenshot(page: Page, name: str) -> Path:
    """Keep a full-page picture of what the browser shows (var/screenshots/ by default)."""
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path
