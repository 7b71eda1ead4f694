"""The admin's "Preview and lint" page, with a demo page picked, on a live daphne.

Under the test client the preview worked while a real server answered 400 (DisallowedHost
'testserver'): the demo page was rendered through a request on the test client's host name.
Here it runs where only the server's real host names are allowed.
"""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ARTIFACTS

pytestmark = pytest.mark.e2e

ADMIN = ("admin", "admin-demo-pass")


@pytest.fixture
def admin_page(browser, request):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def log_in_to_the_admin(page: Page, base: str) -> None:
    page.goto(base + "/admin/login/?next=/admin/policies/site/")
    page.fill("#id_username", ADMIN[0])
    page.fill("#id_password", ADMIN[1])
    page.click("input[type=submit]")
    expect(page.get_by_role("link", name="Preview and lint")).to_be_visible()


def preview_demo_page(page: Page, demo_page: str) -> None:
    """Pick a demo page on the preview form and submit it; the answer must be 200."""
    page.select_option("select[name=demo_page]", demo_page)
    with page.expect_response(
        lambda r: r.url.endswith("/preview/") and r.request.method == "POST"
    ) as answer:
        page.click("input[type=submit][value=Preview]")
    assert answer.value.status == 200, answer.value.text()[:500]
    expect(page.locator("#lint")).to_be_visible()
    expect(page.locator("select[name=demo_page]")).to_have_value(demo_page)  # still picked


def shot(page: Page, request, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-{name}.png"), full_page=True)


def test_the_preview_renders_each_demo_page_and_lints_it(server, admin_page, request):
    page = admin_page
    log_in_to_the_admin(page, server.agent_base)
    page.get_by_role("link", name="Preview and lint").click()
    expect(page.locator("h1")).to_have_text("Policy preview: Demo shop")

    preview_demo_page(page, "/demo/checkout/")
    lint = page.locator("#lint")
    expect(lint).to_contain_text("4 masked elements, 1 restricted element.")
    expect(lint).to_contain_text('[autocomplete~="cc-number" i] matches 1 element')
    expect(lint).to_contain_text("Rule .private-input matches nothing on this page.")
    expect(page.locator("input[name=url]")).to_have_value(server.customer_base + "/demo/checkout/")
    shown = page.frame_locator("#preview")
    expect(shown.locator("h1")).to_be_visible()
    expect(shown.locator("#place-order")).to_have_attribute("data-cobrowse-restrict", "control")
    for card_field in ("#card-number", "#card-expiry", "#card-cvc"):
        expect(shown.locator(card_field)).to_have_attribute("data-cobrowse-mask", "input")
    expect(shown.locator("#name")).not_to_have_attribute("data-cobrowse-mask", re.compile("."))
    assert shown.locator("script").count() == 0
    shot(page, request, "checkout")

    preview_demo_page(page, "/demo/privacy/")
    expect(lint).to_contain_text(re.compile(r"\.private-input matches \d+ element"))
    expect(shown.locator("#lab-rule")).to_have_attribute("data-cobrowse-mask", "input")
    expect(shown.locator("#lab-password")).to_have_attribute("data-cobrowse-mask", "input")
    shot(page, request, "privacy")

    for demo_page in ("/demo/account/", "/demo/"):
        preview_demo_page(page, demo_page)
        expect(page.locator("input[name=url]")).to_have_value(server.customer_base + demo_page)
        expect(shown.locator("body")).not_to_be_empty()

    log = server.log_path.read_text()
    assert "DisallowedHost" not in log and "testserver" not in log


def test_the_preview_works_on_the_shops_host_name_too(server, admin_page, request):
    log_in_to_the_admin(admin_page, server.customer_base)
    admin_page.get_by_role("link", name="Preview and lint").click()
    preview_demo_page(admin_page, "/demo/checkout/")
    shown = admin_page.frame_locator("#preview")
    expect(shown.locator("#place-order")).to_have_attribute("data-cobrowse-restrict", "control")
    shot(admin_page, request, "checkout")
