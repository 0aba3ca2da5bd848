"""The web page as a person uses it: ``threadstore ui`` started as a process over a real local
store, driven by a real headless Chromium (Debian's package, through Playwright). Screenshots of
each step are written to ``tests/ui/screenshots/`` (not kept in git)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect, sync_playwright

from threadstore._backends.local import LocalThreadStore

from .helpers import IDS, seed

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "Chromium is missing: scripts/test installs Debian's chromium package"
    return found


@contextmanager
def ui_process(store: str, *extra: str) -> Iterator[str]:
    """``threadstore ui`` on a free loopback port; yields the address it printed."""
    command = [sys.executable, "-m", "threadstore", "--store", store, "ui", "--listen", "127.0.0.1:0", *extra]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        if not line.startswith("http://127.0.0.1:"):
            process.kill()
            raise AssertionError(f"threadstore ui did not start: {line!r} {process.communicate()[1]}")
        yield line
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def store(tmp_path: Path) -> str:
    async def main() -> None:
        async with LocalThreadStore(tmp_path / "home") as local:
            await seed(local)

    asyncio.run(main())
    return f"local:{tmp_path / 'home'}"


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[BrowserContext]:
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            user_data_dir=str(tmp_path / "chromium-profile"),  # a fresh profile
            executable_path=chromium(),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 800},
            env={**os.environ, "HOME": str(tmp_path)},
        )
        try:
            yield context
        finally:
            context.close()


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_list_filter_search_read_rename_archive_delete(store: str, browser: BrowserContext) -> None:
    page = browser.new_page()
    refused: list[str] = []  # what the page's content security policy blocked (nothing, it must be)
    page.on("console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None)
    with ui_process(store) as login:
        assert "/?token=" in login  # a token even on loopback
        address = login.split("?")[0]
        page.goto(login)
        expect(page.locator("tr.thread")).to_have_count(2)
        expect(page.get_by_role("link", name="Storage work")).to_be_visible()
        shot(page, "01-list")

        page.get_by_placeholder("Filter by title").fill("caching")
        page.locator("#filter-form button").click()
        expect(page.locator("tr.thread")).to_have_count(1)
        expect(page.locator("tr.thread")).to_contain_text("first idea about caching")
        shot(page, "02-filter")

        page.get_by_placeholder("Search messages").fill("trigram")
        page.locator("#search-form button").click()
        expect(page.locator("tr.thread mark")).to_have_text("trigram")
        expect(page.locator("tr.thread")).to_have_count(1)
        shot(page, "03-search")

        page.get_by_role("link", name="Storage work").click()
        expect(page.locator("#title")).to_have_text("Storage work")
        expect(page.locator(".turn.user .text").first).to_have_text("plan the storage layer for <b>many</b> threads")
        expect(page.locator(".turn.agent .text").last).to_have_text("A trigram index makes substring search fast.")
        tool = page.locator("details.tool")
        expect(tool.locator("pre").last).not_to_be_visible()  # folded
        tool.locator("summary").click()
        expect(tool.locator("pre").last).to_have_text("store.py\nindex.py\n")
        expect(page.get_by_text("Be a careful agent.")).to_have_count(0)
        shot(page, "04-thread")

        page.get_by_role("link", name="Show system prompts").click()
        expect(page.locator("details.hidden summary").first).to_have_text("system prompt")
        page.get_by_role("link", name="Hide system prompts").click()

        page.locator("#rename-form input[name=name]").fill("Storage plan")
        page.locator("#rename-form button").click()
        expect(page.locator("#title")).to_have_text("Storage plan")

        page.locator("#archive").click()
        expect(page.locator("#title .pill")).to_have_text("archived")
        page.get_by_role("link", name="threadstore").click()
        expect(page.locator("tr.thread")).to_have_count(1)
        page.get_by_role("link", name="Archived").click()
        expect(page.locator("tr.thread")).to_have_count(2)
        expect(page.get_by_role("link", name="Storage plan")).to_be_visible()
        shot(page, "05-archived")

        page.goto(f"{address}t/{IDS['caching']}")
        page.once("dialog", lambda dialog: dialog.accept())
        page.locator("#delete").click()
        expect(page.locator(".empty")).to_have_text("No threads.")
        shot(page, "06-after-delete")
        page.goto(f"{address}t/{IDS['caching']}")
        expect(page.locator("h1")).to_have_text("No such thread")
    assert refused == []
    print(f"\nscreenshots: {SCREENSHOTS}")


def test_a_token_protected_page(store: str, browser: BrowserContext) -> None:
    page = browser.new_page()
    with ui_process(store, "--auth-token", "t0ken") as address:
        assert address.endswith("/?token=t0ken")
        bare = address.split("?")[0]
        response = page.goto(bare)
        assert response is not None
        assert response.status == 401
        expect(page.locator("body")).to_contain_text("needs its access token")
        page.goto(address)
        assert page.url == bare  # the token was swapped for a cookie
        expect(page.locator("tr.thread")).to_have_count(2)
        shot(page, "07-token")
