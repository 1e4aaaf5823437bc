"""The call console in a real browser: the fixtures the console's browser tests share (the
console's process, Chromium driven by Playwright, a fresh page on the console) and where their
screenshots go. A test module using them skips first (`skip_without_browser`)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import App, Emulator
from tests.e2e.inbound_support import ANSWER_ALL, put_rules
from tools.stack import Stack, start_console

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# Only `make screenshots` rewrites the committed pictures; a test run leaves the tree clean.
SCREENSHOTS = Path(os.environ.get("CONSOLE_SCREENSHOTS_DIR") or tempfile.mkdtemp(prefix="console-shots-"))
TIMEOUT_MS = 15_000


def skip_without_browser() -> Any:
    """Playwright's sync API, or a module-level skip saying what is missing."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    if not CHROMIUM.exists() and shutil.which("chromium") is None:
        pytest.skip("no Chromium at /usr/bin/chromium (apt-get install chromium)", allow_module_level=True)
    return sync_api


@pytest.fixture(name="console_url", scope="module")
def console_url_fixture(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> str:
    log = tmp_path_factory.mktemp("console-log") / "console.log"
    return start_console(stack, log=log)


@pytest.fixture(name="browser", scope="module")
def browser_fixture() -> Iterator[Any]:
    sync_api = skip_without_browser()
    executable = str(CHROMIUM) if CHROMIUM.exists() else shutil.which("chromium")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=FLAGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(name="page")
def page_fixture(browser: Any, console_url: str, app: App, emulator: Emulator) -> Iterator[Any]:
    sync_api = skip_without_browser()
    put_rules(app, ANSWER_ALL)  # the shipped rule set: the app answers every call
    context = browser.new_context(viewport={"width": 1500, "height": 1000}, device_scale_factor=1)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.set_default_timeout(TIMEOUT_MS)
    opened.goto(console_url)
    sync_api.expect(opened.get_by_test_id("status")).to_contain_text("live")
    try:
        yield opened
    finally:
        context.close()
        emulator.control("PATCH", "settings", {"unscriptedBehavior": "answer"})
    assert errors == [], f"the page raised: {errors}"


def steps(page: Any) -> list[str]:
    return list(page.get_by_test_id("step").all_text_contents())
