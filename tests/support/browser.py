"""A real headless Chromium (Debian's chromium + chromium-driver) driven through selenium.

Selenium's calls block; the API under test runs in the test's event loop, so every browser call
goes through `asyncio.to_thread` (`Page`) and the server keeps answering meanwhile.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.wait import WebDriverWait

T = TypeVar("T")

# The machine's network is closed and the browser must not try to reach anything.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
]


def chromium_paths() -> tuple[str, str] | None:
    """(browser, driver) when both are installed, else None."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver") or shutil.which("chromium-driver")
    return (browser, driver) if browser and driver else None


@contextmanager
def chromium() -> Iterator[webdriver.Chrome]:
    paths = chromium_paths()
    assert paths is not None
    browser, driver_path = paths
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = browser
        for flag in [*FLAGS, f"--user-data-dir={profile}"]:
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
        try:
            yield driver
        finally:
            driver.quit()


class Page:
    """Async wrappers over the few driver calls the tests use."""

    def __init__(self, driver: webdriver.Chrome) -> None:
        self.driver = driver

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(fn, *args)

    async def open(self, url: str) -> None:
        await self.call(self.driver.get, url)

    async def wait(self, condition: Callable[[webdriver.Chrome], Any], timeout: float = 15) -> Any:
        def until() -> Any:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.02).until(condition)

        return await self.call(until)

    async def element(self, css: str, timeout: float = 15) -> WebElement:
        element: WebElement = await self.wait(
            lambda d: (
                d.find_element(By.CSS_SELECTOR, css)
                if d.find_elements(By.CSS_SELECTOR, css)
                else None
            ),
            timeout,
        )
        return element

    async def click(self, css: str, timeout: float = 15) -> None:
        element = await self.element(css, timeout)
        await self.call(element.click)

    async def text(self, css: str) -> str:
        elements = await self.call(self.driver.find_elements, By.CSS_SELECTOR, css)
        return " ".join([await self.call(lambda e=e: e.text) for e in elements])

    async def wait_text(self, css: str, contains: str, timeout: float = 15) -> str:
        def has(d: webdriver.Chrome) -> str | None:
            text = " ".join(e.text for e in d.find_elements(By.CSS_SELECTOR, css))
            return text if contains in text else None

        text: str = await self.wait(has, timeout)
        return text

    async def script(self, source: str, *args: Any) -> Any:
        return await self.call(self.driver.execute_script, source, *args)

    async def severe_console_messages(self) -> list[str]:
        logs = await self.call(self.driver.get_log, "browser")
        return [entry["message"] for entry in logs if entry["level"] == "SEVERE"]
