"""Write mode in Chromium: consent, remote control of the demo checkout, agent navigation."""

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import join, login, mirror, screenshot, start_cobrowse, widget

pytestmark = pytest.mark.e2e


@pytest.fixture
def live(server, customer, agent_page):
    code = start_cobrowse(customer, server.customer_base + "/demo/checkout/")
    login(agent_page, server.agent_base, "agent1")
    join(agent_page, code)
    expect(mirror(agent_page).locator("#name")).to_be_visible()
    yield code
    exit_button = agent_page.get_by_test_id("exit-session")
    if exit_button.is_visible() and exit_button.is_enabled():
        exit_button.click()
        expect(agent_page.locator("#session-status")).to_have_text("Ended")


def ask_for_write_mode(agent_page, customer):
    toggle = agent_page.get_by_test_id("write-mode-toggle")
    expect(toggle).to_have_attribute("aria-checked", "false")
    expect(agent_page.get_by_test_id("nav-back")).to_be_hidden()
    toggle.click()
    expect(toggle).to_have_text("Asking the customer…")
    expect(widget(customer).get_by_test_id("cobrowse-approve-write")).to_be_visible()


def approve(agent_page, customer):
    ask_for_write_mode(agent_page, customer)
    widget(customer).get_by_test_id("cobrowse-approve-write").click()
    expect(agent_page.get_by_test_id("write-mode-toggle")).to_have_attribute("aria-checked", "true")
    expect(widget(customer).get_by_test_id("cobrowse-write-toggle")).to_have_attribute(
        "aria-checked", "true"
    )
    expect(agent_page.get_by_test_id("nav-back")).to_be_visible()


def test_the_agent_fills_the_checkout_after_the_customer_approves(
    server, customer, agent_page, live, request
):
    approve(agent_page, customer)
    view = mirror(agent_page)
    view.locator("#name").fill("Grace Hopper")
    view.locator("#address").fill("1 Harbour Road")
    expect(customer.locator("#name")).to_have_value("Grace Hopper")
    expect(customer.locator("#address")).to_have_value("1 Harbour Road")
    view.locator("#address").press("Backspace")
    expect(customer.locator("#address")).to_have_value("1 Harbour Roa")
    view.locator("#gift").click()
    expect(customer.locator("#gift")).to_be_checked()
    view.locator("#country").select_option("IE")
    expect(customer.locator("#country")).to_have_value("IE")
    # The customer keeps full control at the same time.
    customer.fill("#city", "Cork")
    expect(view.locator("#city")).to_have_value("Cork")
    screenshot(request, customer=customer, agent=agent_page)

    # Submit is restricted and the card number masked: refused in the agent's view ...
    view.locator("#place-order").click()
    expect(agent_page.get_by_test_id("restricted-alert")).to_contain_text("Restricted control")
    view.locator("#card-number").click()
    agent_page.keyboard.type("4111111111111111")
    expect(customer.locator("#card-number")).to_have_value("")
    assert customer.url.endswith("/demo/checkout/")
    # ... while the customer can type the card and submit.
    customer.fill("#card-number", "4242 4242 4242 4242")
    customer.fill("#card-expiry", "12/30")
    customer.fill("#card-cvc", "123")
    customer.check("#terms") if customer.locator("#terms").count() else None
    customer.click("#place-order")
    expect(customer.locator("h1")).to_have_text("Order placed")


def test_the_agent_navigates_back_forward_refresh_and_by_url(server, customer, agent_page, live):
    approve(agent_page, customer)
    view = mirror(agent_page)
    view.get_by_role("navigation").get_by_role("link", name="Products").click()
    customer.wait_for_url("**/demo/products/")
    url_bar = agent_page.get_by_test_id("url-bar")
    expect(url_bar).to_have_value(server.customer_base + "/demo/products/")
    live = agent_page.locator("#session-status")
    expect(live).to_have_text("Live")
    agent_page.get_by_test_id("nav-back").click()
    customer.wait_for_url("**/demo/checkout/")
    expect(url_bar).to_have_value(server.customer_base + "/demo/checkout/")
    expect(view.locator("#name")).to_be_attached()  # the checkout is in the mirror again
    expect(live).to_have_text("Live")
    agent_page.get_by_test_id("nav-forward").click()
    customer.wait_for_url("**/demo/products/")
    expect(view.locator("#name")).not_to_be_attached()
    expect(live).to_have_text("Live")
    customer.evaluate("window.__marker = 1; document.body.dataset.marker = '1'")
    expect(view.locator("body[data-marker]")).to_be_attached()
    agent_page.get_by_test_id("nav-refresh").click()
    customer.wait_for_function("window.__marker === undefined")
    # The reloaded page is in the mirror (without the marker): the widget records it again.
    expect(view.locator("body[data-marker]")).not_to_be_attached()
    expect(view.locator("main.page")).to_be_attached()
    url_bar.fill(server.customer_base + "/demo/account/")
    url_bar.press("Enter")
    customer.wait_for_url("**/demo/account/")
    expect(url_bar).to_have_value(server.customer_base + "/demo/account/")
    # The mirror shows the account page (the URL bar alone holds what the agent typed).
    expect(view.locator("#profile-form")).to_be_attached()
    expect(live).to_have_text("Live")
    # Write mode survived every page change within the site.
    expect(agent_page.get_by_test_id("write-mode-toggle")).to_have_attribute("aria-checked", "true")
    # A typed address outside the site is refused with a message.
    url_bar.fill("https://example.org/phish")
    url_bar.press("Enter")
    expect(agent_page.locator("#session-banner")).to_contain_text("outside the customer's site")
    assert customer.url.endswith("/demo/account/")


def test_a_denied_request_is_shown_to_the_agent(server, customer, agent_page, live):
    ask_for_write_mode(agent_page, customer)
    widget(customer).get_by_test_id("cobrowse-deny-write").click()
    expect(agent_page.locator("#session-banner")).to_have_text("The customer declined write mode.")
    expect(agent_page.get_by_test_id("write-mode-toggle")).to_have_attribute(
        "aria-checked", "false"
    )
    mirror(agent_page).locator("#name").fill("nope")
    expect(customer.locator("#name")).to_have_value("")


def test_the_customer_switches_back_to_pointer_mode(server, customer, agent_page, live):
    approve(agent_page, customer)
    widget(customer).get_by_test_id("cobrowse-write-toggle").click()
    expect(agent_page.get_by_test_id("write-mode-toggle")).to_have_attribute(
        "aria-checked", "false"
    )
    expect(agent_page.locator("#session-banner")).to_contain_text("switched back to pointer mode")
    expect(agent_page.get_by_test_id("nav-back")).to_be_hidden()


def test_the_agent_switches_back_to_pointer_mode(server, customer, agent_page, live):
    approve(agent_page, customer)
    agent_page.get_by_test_id("write-mode-toggle").click()
    expect(widget(customer).get_by_test_id("cobrowse-write-toggle")).to_have_attribute(
        "aria-checked", "false"
    )
    expect(widget(customer).get_by_role("status").filter(has_text="switched back")).to_have_count(1)


def test_the_consent_dialog_never_takes_the_keys_the_customer_is_typing(
    server, customer, agent_page, live, request
):
    customer.locator("#name").click()
    customer.keyboard.type("Ada")
    ask_for_write_mode(agent_page, customer)
    # The customer goes on typing, spaces and Enter-free, right as the dialog appears.
    customer.keyboard.type(" King Lovelace")
    expect(customer.locator("#name")).to_have_value("Ada King Lovelace")
    assert customer.evaluate("document.activeElement.id") == "name", "focus stayed in the field"
    allow = widget(customer).get_by_test_id("cobrowse-approve-write")
    expect(allow).to_be_visible()
    # A script's click on Allow (the page's, or anything not the customer) is no consent.
    customer.evaluate(
        "document.querySelector('cobrowse-widget').shadowRoot"
        ".querySelector('[data-testid=cobrowse-approve-write]').click()"
    )
    customer.wait_for_timeout(300)
    toggle = agent_page.get_by_test_id("write-mode-toggle")
    expect(toggle).to_have_attribute("aria-checked", "false")
    screenshot(request, customer_dialog=customer)
    allow.click()  # the customer's own, deliberate click
    expect(toggle).to_have_attribute("aria-checked", "true")


def test_a_request_right_after_a_denial_is_refused_for_a_while(server, customer, agent_page, live):
    ask_for_write_mode(agent_page, customer)
    widget(customer).get_by_test_id("cobrowse-deny-write").click()
    toggle = agent_page.get_by_test_id("write-mode-toggle")
    expect(toggle).to_have_attribute("aria-checked", "false")
    expect(toggle).not_to_have_text("Asking the customer…")
    toggle.click()
    expect(agent_page.get_by_text("you can ask again in", exact=False)).to_be_visible()
    expect(widget(customer).get_by_test_id("cobrowse-approve-write")).to_be_hidden()


def test_back_and_forward_never_take_the_customer_off_the_site(server, customer, agent_page):
    customer.goto(server.agent_base + "/accounts/login/")  # a page of another origin came first
    code = start_cobrowse(customer, server.customer_base + "/demo/checkout/")
    login(agent_page, server.agent_base, "agent1")
    join(agent_page, code)
    expect(mirror(agent_page).locator("#name")).to_be_visible()
    approve(agent_page, customer)
    agent_page.get_by_test_id("nav-back").click()
    expect(agent_page.locator("#session-banner")).to_contain_text("Going back would leave the site")
    agent_page.get_by_test_id("nav-forward").click()
    expect(agent_page.locator("#session-banner")).to_contain_text("forward would leave the site")
    assert customer.url == server.customer_base + "/demo/checkout/"
    agent_page.get_by_test_id("exit-session").click()
    expect(agent_page.locator("#session-status")).to_have_text("Ended")
