import re
import time
import zlib
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def login(page: Page, base: str, username: str) -> None:
    page.goto(base + "/accounts/login/?next=/workspace/")
    page.fill("#id_username", username)
    page.fill("#id_password", f"{username}-demo-pass")
    page.click("[data-testid=login-submit]")
    expect(page.get_by_test_id("join-cobrowse")).to_be_enabled()  # workspace.js is ready


def start_cobrowse(page: Page, url: str) -> str:
    """Open a page of the company's site, click Start Co-browse, return the ID as shown."""
    page.goto(url)
    page.get_by_test_id("cobrowse-start").click()
    shown = page.get_by_test_id("cobrowse-session-id")
    expect(shown).to_have_text(re.compile(r"^\d{3} \d{3} \d{3}$"))
    return shown.inner_text()


def join(page: Page, code: str) -> None:
    page.get_by_test_id("session-id-input").fill(code)
    page.get_by_test_id("join-cobrowse").click()


def mirror(page: Page):
    """The customer's page as rebuilt in the agent's sandboxed iframe."""
    return page.frame_locator("[data-testid=cobrowse-view] iframe")


def widget(page: Page):
    """The customer's widget (Playwright's CSS engine reaches into its open shadow root)."""
    return page.locator("cobrowse-widget")


def screenshot(request, **pages: Page) -> None:
    """Save what each page shows now as test-artifacts/<test>-<name>.png."""
    ARTIFACTS.mkdir(exist_ok=True)
    for name, page in pages.items():
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-{name}.png"))


def eventually(read: Callable[[], object], check: Callable[[object], bool], timeout: float = 10):
    """Read a value until it passes the check (Playwright's expect() covers locators only)."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if check(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still {value!r} after {timeout} s")
        time.sleep(0.05)


def text_of(frame: str | bytes) -> str:
    """A WebSocket frame's text as it travelled: a binary frame is a deflated page frame
    (frontend/deflate.js), inflated here, so that a search for a secret sees what it carried."""
    if isinstance(frame, str):
        return frame
    try:
        return zlib.decompress(frame).decode("utf-8")
    except zlib.error as error:
        raise AssertionError(f"a binary frame that is not deflated JSON: {error}") from None
