"""Browser-test fixtures: the platform behind nginx (harness.py) and the machine's headless Chromium
driven by Playwright. Playwright never downloads a browser here: it launches /usr/bin/chromium."""

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.browser.harness import Platform, running_platform

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1366, "height": 768}
EXPECT_TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def platform(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with running_platform(database_url, tmp_path_factory.mktemp("web")) as running:
        yield running


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the session (a Playwright Browser); each test gets its own context."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements-dev.txt)")
    # Pages refresh on timers (5 s) and CI machines are loaded: an assertion may wait a few refreshes.
    sync_api.expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class PageWatch:
    """What the page said on its own: dialogs opened (each is dismissed) and console errors."""

    def __init__(self, page: Any) -> None:
        self.dialogs: list[str] = []
        self.console_errors: list[str] = []
        page.on("dialog", self._dialog)
        page.on("console", lambda message: message.type == "error" and self.console_errors.append(message.text))
        page.on("pageerror", lambda error: self.console_errors.append(f"uncaught: {error}"))

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    @property
    def policy_violations(self) -> list[str]:
        return [text for text in self.console_errors if "Content Security Policy" in text or text.startswith("uncaught")]


@contextmanager
def open_tab(browser: Any, platform: Platform, **options: Any) -> Iterator[Any]:
    """A fresh 1366x768 tab on the gateway in its own context (its own cookies); fails if the page broke
    the CSP or threw. `options` go to the browser context (e.g. bypass_csp for injecting axe-core)."""
    context = browser.new_context(viewport=VIEWPORT, base_url=platform.url, **options)
    context.set_default_timeout(15_000)
    tab = context.new_page()
    tab.watch = PageWatch(tab)
    try:
        yield tab
    finally:
        context.close()
    violations = tab.watch.policy_violations
    assert not violations, f"the page broke its Content Security Policy or threw: {violations}"


@pytest.fixture
def page(browser: Any, platform: Platform) -> Iterator[Any]:
    with open_tab(browser, platform) as tab:
        yield tab
