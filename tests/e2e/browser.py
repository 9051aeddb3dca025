"""Headless Chromium for the console's browser tests: Debian's ``chromium`` driven through
Debian's ``chromedriver`` (both named explicitly, so Selenium Manager never downloads a
browser or a driver), a fresh profile per test, and helpers that wait for what a user sees.

Selenium is synchronous while the stack under test (uvicorn, the worker) runs on the test's
event loop: drive the browser from a thread (``await asyncio.to_thread(flow, browser)``),
never from the loop itself, or the page waits on a server that cannot answer.
"""

from __future__ import annotations

import contextlib
import os
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARGUMENTS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


@dataclass(frozen=True)
class Viewport:
    """A window size; ``mobile`` also emulates a phone (meta viewport, overlay scrollbars)."""

    name: str
    width: int
    height: int
    mobile: bool


DESKTOP = Viewport("desktop", 1280, 900, mobile=False)
PHONE = Viewport("phone", 375, 812, mobile=True)
# Waits: the live fragments refresh every 3 s; a workflow answers in well under a second.
WAIT = 10.0
POLL = 0.1
# A full-page screenshot grows the viewport to the page's height, up to this.
MAX_SHOT_HEIGHT = 6000
# Rounding in layout may overflow the viewport by a pixel or two without a scroll bar.
SCROLL_SLACK = 2

T = TypeVar("T")


def chromium_binaries() -> tuple[Path, Path]:
    """Debian's chromium and chromedriver; without them the browser tests skip."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        pytest.skip(
            f"{', '.join(missing)} not installed (Debian's chromium and chromium-driver); "
            "`make test` installs them when run as root"
        )
    return CHROMIUM, CHROMEDRIVER


def start_chromium(profile: Path, viewport: Viewport = DESKTOP) -> WebDriver:
    """A headless Chromium with its own profile directory ``profile``, nothing downloaded."""
    browser, driver = chromium_binaries()
    # Selenium's usage statistics would be a network call from the test.
    os.environ.setdefault("SE_AVOID_STATS", "true")
    options = webdriver.ChromeOptions()
    options.binary_location = str(browser)
    for argument in ARGUMENTS:
        options.add_argument(argument)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={viewport.width},{viewport.height}")
    chromium = webdriver.Chrome(service=Service(executable_path=str(driver)), options=options)
    # A page whose server stopped answering fails the test instead of hanging it.
    chromium.set_page_load_timeout(30)
    chromium.set_script_timeout(10)
    return chromium


class Browser:
    """One person's browser on the console at ``base_url``."""

    def __init__(self, driver: WebDriver, base_url: str, shots: Path) -> None:
        self.driver = driver
        self.base_url = base_url.rstrip("/")
        self.shots = shots
        self.viewport = DESKTOP
        self.resize(DESKTOP)

    # -- navigation and waiting --

    def open(self, path: str) -> None:
        self.driver.get(self.base_url + path)

    @property
    def path(self) -> str:
        """The current URL's path (and query), without the origin."""
        return self.driver.current_url.removeprefix(self.base_url)

    def until(self, check: Callable[[WebDriver], T | None], what: str, timeout: float = WAIT) -> T:
        """Poll ``check`` until it returns something truthy (None, False, "": not yet);
        fail saying ``what`` was awaited.

        An element replaced under ``check`` (a live fragment swapped in) counts as not yet.
        """

        def ready(driver: WebDriver) -> T | Literal[False]:
            found = check(driver)
            return False if found is None else found

        wait: WebDriverWait[WebDriver] = WebDriverWait(
            self.driver,
            timeout,
            poll_frequency=POLL,
            ignored_exceptions=(StaleElementReferenceException,),
        )
        return wait.until(ready, f"waited {timeout:g} s for {what} on {self.path}")

    def element(self, css: str, timeout: float = WAIT) -> WebElement:
        """The first element matching ``css`` once it is displayed."""

        def shown(driver: WebDriver) -> WebElement | None:
            for found in driver.find_elements(By.CSS_SELECTOR, css):
                if found.is_displayed():
                    return found
            return None

        return self.until(shown, f"{css} to be shown", timeout)

    def text_of(self, css: str, wanted: str, timeout: float = WAIT) -> str:
        """Wait until the element ``css`` reads ``wanted`` (stripped); its text."""

        def reads(driver: WebDriver) -> str | None:
            found = driver.find_elements(By.CSS_SELECTOR, css)
            text = found[0].text.strip() if found else None
            return text if text == wanted else None

        return self.until(reads, f"{css} to read {wanted!r}", timeout)

    def text_in(self, css: str, wanted: str, timeout: float = WAIT) -> str:
        """Wait until the element ``css`` contains ``wanted``; its whole text."""

        def contains(driver: WebDriver) -> str | None:
            found = driver.find_elements(By.CSS_SELECTOR, css)
            text = found[0].text if found else ""
            return text if wanted in text else None

        return self.until(contains, f"{css} to contain {wanted!r}", timeout)

    def at(self, pattern: Callable[[str], bool], what: str) -> str:
        """Wait until the current path satisfies ``pattern``; the path."""
        return self.until(lambda _: self.path if pattern(self.path) else None, what)

    def attribute_of(self, css: str, name: str, wanted: str, timeout: float = WAIT) -> str:
        """Wait until the element ``css`` has attribute ``name`` equal to ``wanted``."""

        def has(driver: WebDriver) -> str | None:
            found = driver.find_elements(By.CSS_SELECTOR, css)
            return wanted if found and found[0].get_attribute(name) == wanted else None

        return self.until(has, f"{css} to have {name}={wanted!r}", timeout)

    def press(self, css: str, label: str) -> None:
        """Click the button labelled ``label`` inside ``css`` (found afresh: a live fragment
        may have been swapped in meanwhile), then wait for the next page."""
        html = self.driver.find_element(By.TAG_NAME, "html")

        def clicked(driver: WebDriver) -> bool:
            scope = driver.find_element(By.CSS_SELECTOR, css)
            scope.find_element(By.XPATH, f".//button[normalize-space()='{label}']").click()
            return True

        self.until(clicked, f"{label!r} in {css} to be clicked")
        self.until(lambda _: _gone(html), "the next page to load")

    def submit(self, form: WebElement) -> None:
        """Press the form's submit button, as a person would, then wait for the next page."""
        buttons = form.find_elements(
            By.CSS_SELECTOR, "button:not([type]), button[type=submit], input[type=submit]"
        )
        html = self.driver.find_element(By.TAG_NAME, "html")
        if buttons:
            buttons[0].click()
        else:
            form.submit()
        self.until(lambda _: _gone(html), "the next page to load")

    def fill(self, form: WebElement, name: str, value: str) -> None:
        """Type ``value`` into the form's field ``name`` (cleared first)."""
        field = form.find_element(By.NAME, name)
        field.clear()
        field.send_keys(value)

    def choose(self, form: WebElement, name: str, value: str) -> None:
        """Pick the option whose value is ``value`` in the form's select ``name``."""
        Select(form.find_element(By.CSS_SELECTOR, f'select[name="{name}"]')).select_by_value(value)

    def set_value(self, form: WebElement, name: str, value: str) -> None:
        """Set a field a person fills through a browser widget (``datetime-local``)."""
        field = form.find_element(By.NAME, name)
        self.driver.execute_script(
            "arguments[0].value = arguments[1];"
            "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));"
            "arguments[0].dispatchEvent(new Event('change', {bubbles: true}));",
            field,
            value,
        )

    # -- viewports and screenshots --

    def resize(self, viewport: Viewport, height: int | None = None) -> None:
        """Use ``viewport`` (``height`` overrides its height, for a full-page shot)."""
        self.driver.set_window_size(viewport.width, viewport.height)
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {
                "width": viewport.width,
                "height": height or viewport.height,
                "deviceScaleFactor": 1,
                "mobile": viewport.mobile,
            },
        )
        self.viewport = viewport

    def painted(self) -> None:
        """Wait until the browser has painted the current layout (two animation frames):
        content that a resize brought into view is drawn before a screenshot."""
        self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "requestAnimationFrame(() => requestAnimationFrame(() => done(true)));"
        )

    def horizontal_overflow(self) -> int:
        """How many CSS pixels the page is wider than the viewport (0: no sideways scroll)."""
        width = self.driver.execute_script("return document.documentElement.scrollWidth")
        return max(0, int(width) - self.viewport.width)

    def assert_fits(self) -> None:
        """The page does not scroll sideways at the current viewport."""
        overflow = self.horizontal_overflow()
        if overflow > SCROLL_SLACK:
            wide = self.driver.execute_script(
                "const w = document.documentElement.clientWidth;"
                "return [...document.querySelectorAll('body *')]"
                ".filter(e => e.getBoundingClientRect().right > w + 2)"
                ".slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')"
                " + (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ').join('.') : ''))"
            )
            pytest.fail(
                f"{self.path} scrolls sideways at {self.viewport.width} px: {overflow} px too "
                f"wide (widest: {wide})"
            )

    def shot(self, name: str) -> Path:
        """A full-page screenshot ``<name>-<viewport>.png`` in the screenshot directory."""
        viewport = self.viewport
        tall = int(self.driver.execute_script("return document.documentElement.scrollHeight"))
        self.resize(viewport, min(max(tall, viewport.height), MAX_SHOT_HEIGHT))
        self.painted()
        target = self.shots / f"{name}-{viewport.name}.png"
        try:
            if not self.driver.save_screenshot(str(target)):
                pytest.fail(f"no screenshot of {self.path}")
        finally:
            self.resize(viewport)
        return target

    def both_sizes(self, name: str) -> list[Path]:
        """Screenshots of the current page at desktop and phone widths; at the phone width
        the page must not scroll sideways. Ends at the desktop size."""
        taken = [self.shot(name)]
        self.resize(PHONE)
        try:
            self.assert_fits()
            taken.append(self.shot(name))
        finally:
            self.resize(DESKTOP)
        return taken


def _gone(element: WebElement) -> bool:
    """Whether the page that held ``element`` has been replaced."""
    try:
        element.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as err:
        # Asked while the old document is torn down, chromedriver can answer "unhandled
        # inspector error: ... Node with given id does not belong to the document"
        # instead of a stale element: that page is gone too (seen once in a full run).
        if "inspector error" in str(err.msg or ""):
            return True
        raise
    return False


def png_size(path: Path) -> tuple[int, int]:
    """Width and height of a PNG file, from its header."""
    header = path.read_bytes()[:24]
    if header[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG")
    width, height = struct.unpack(">II", header[16:24])
    return int(width), int(height)


def screenshot_dir(fallback: Path) -> Path:
    """``$TOCSIN_SCREENSHOTS`` (made if missing), else ``fallback``."""
    named = os.environ.get("TOCSIN_SCREENSHOTS")
    target = Path(named) if named else fallback
    target.mkdir(parents=True, exist_ok=True)
    return target


@contextlib.contextmanager
def chromium_session(profile: Path) -> Iterator[WebDriver]:
    """A headless Chromium (profile in ``profile``) until exit, then quit."""
    driver = start_chromium(profile)
    try:
        yield driver
    finally:
        with contextlib.suppress(WebDriverException):  # already gone: nothing to stop
            driver.quit()
