"""A customer on the demo shop and an agent in the workspace, side by side in real Chromium."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import join, login, mirror, screenshot, start_cobrowse, text_of, widget

pytestmark = pytest.mark.e2e


@pytest.fixture
def live(server, customer, agent_page, request):
    """The customer on the checkout has started co-browse; agent1 has joined and sees the page."""
    code = start_cobrowse(customer, server.customer_base + "/demo/checkout/")
    login(agent_page, server.agent_base, "agent1")
    join(agent_page, code)
    expect(mirror(agent_page).locator("#name")).to_be_visible()
    yield code
    screenshot(request, customer=customer, agent=agent_page)
    # Leave agent1 free for the next test, as an agent would.
    exit_button = agent_page.get_by_test_id("exit-session")
    if exit_button.is_visible() and exit_button.is_enabled():
        exit_button.click()
        expect(agent_page.locator("#session-status")).to_have_text("Ended")


def test_the_customers_typing_checkbox_scroll_and_script_changes_appear_for_the_agent(
    server, customer, agent_page, live
):
    view = mirror(agent_page)
    expect(agent_page.locator("#session-status")).to_have_text("Live")
    expect(agent_page.get_by_test_id("url-bar")).to_have_value(
        server.customer_base + "/demo/checkout/"
    )
    customer.fill("#name", "Ada Lovelace")
    expect(view.locator("#name")).to_have_value("Ada Lovelace")
    customer.check("#gift")
    expect(view.locator("#gift")).to_be_checked()
    customer.evaluate("document.querySelector('h1').textContent = 'Changed by the page script'")
    expect(view.locator("h1")).to_have_text("Changed by the page script")
    customer.mouse.move(300, 300)
    customer.mouse.wheel(0, 600)
    customer.wait_for_function("window.scrollY > 300")
    agent_page.wait_for_function(
        "document.querySelector('[data-testid=cobrowse-view] iframe').contentWindow.scrollY > 300"
    )


def test_the_mirror_is_at_the_customers_window_size_with_fit_and_1to1(
    server, customer, agent_page, live
):
    iframe = agent_page.locator("[data-testid=cobrowse-view] iframe")
    expect(agent_page.locator("#viewport-size")).to_have_text("1280 × 720")
    assert iframe.evaluate("f => [f.width, f.height]") == ["1280", "720"]
    view = agent_page.get_by_test_id("cobrowse-view")
    expect(view).to_have_attribute("data-zoom", "fit")
    assert float(view.get_attribute("data-scale")) < 1
    agent_page.get_by_test_id("zoom-1to1").click()
    expect(view).to_have_attribute("data-scale", "1.000")
    assert view.evaluate("v => v.scrollWidth > v.clientWidth"), "1:1 larger than the panel scrolls"
    agent_page.get_by_test_id("zoom-fit").click()
    expect(view).to_have_attribute("data-zoom", "fit")


def test_an_agent_click_draws_a_red_circle_on_both_pages(server, customer, agent_page, live):
    view = agent_page.get_by_test_id("cobrowse-view")
    box = view.bounding_box()
    agent_page.mouse.move(box["x"] + 300, box["y"] + 150)
    agent_page.mouse.click(box["x"] + 300, box["y"] + 150)
    expect(agent_page.get_by_test_id("agent-click")).to_have_count(1)
    ring = widget(customer).get_by_test_id("cobrowse-agent-click")
    expect(ring).to_have_count(1)
    assert ring.evaluate("el => getComputedStyle(el).borderTopColor") == "rgb(229, 57, 53)"
    expect(widget(customer).get_by_test_id("cobrowse-agent-pointer")).to_be_visible()
    # Pointer mode: the click did not reach the customer's page.
    assert customer.evaluate("document.activeElement === document.body")


def test_the_widget_is_never_part_of_the_mirror(server, customer, agent_page, live):
    """Not in the first snapshot, nor in the next page's, nor in the changes after it (the page
    moving the widget's element, the widget's own UI drawing the agent's click), nor on the wire."""
    view = mirror(agent_page)

    def widget_absent():
        assert view.locator("cobrowse-widget").count() == 0
        expect(view.locator("body")).not_to_contain_text(live)  # the ID the widget shows

    widget_absent()
    sent: list[str] = []
    customer.on("websocket", lambda ws: ws.on("framesent", lambda f: sent.append(text_of(f))))
    customer.get_by_role("navigation").get_by_role("link", name="Products").click()
    expect(view.locator("h1")).to_have_text("All products")  # the new page's snapshot
    widget_absent()
    customer.evaluate(
        """() => {
            document.body.prepend(document.querySelector("cobrowse-widget"));
            document.querySelector("h1").textContent = "The widget moved";
        }"""
    )
    expect(view.locator("h1")).to_have_text("The widget moved")
    widget_absent()
    box = agent_page.get_by_test_id("cobrowse-view").bounding_box()
    agent_page.mouse.click(box["x"] + 300, box["y"] + 150)
    expect(widget(customer).get_by_test_id("cobrowse-agent-click")).to_have_count(1)
    customer.evaluate("document.querySelector('h1').textContent = 'After the click'")
    expect(view.locator("h1")).to_have_text("After the click")
    widget_absent()
    page_frames = [f for f in sent if '"type":"events"' in f or '"type":"chunk"' in f]
    assert len(page_frames) >= 3, sent  # the snapshot and both changes were watched
    assert not [f for f in sent if "cobrowse-widget" in f]


def test_a_second_agent_is_refused(server, customer, agent_page, second_agent_page, live):
    login(second_agent_page, server.agent_base, "agent2")
    join(second_agent_page, live)
    expect(second_agent_page.locator("#join-error")).to_contain_text(
        "Another agent is already in this session"
    )
    customer.fill("#name", "Still mine")
    expect(mirror(agent_page).locator("#name")).to_have_value("Still mine")


def test_an_agent_with_a_live_session_cannot_join_another(
    server, browser, customer, agent_page, live
):
    other = browser.new_context().new_page()
    try:
        other_code = start_cobrowse(other, server.customer_base + "/demo/")
        join(agent_page, other_code)
        expect(agent_page.locator("#join-error")).to_contain_text(
            f"You already have a live co-browse session ({live})"
        )
        expect(agent_page.locator("#session-code")).to_have_text(live)
    finally:
        other.context.close()


def test_navigating_within_the_site_keeps_the_session(server, customer, agent_page, live):
    customer.get_by_role("navigation").get_by_role("link", name="Products").click()
    customer.wait_for_url("**/demo/products/")
    expect(widget(customer).get_by_test_id("cobrowse-session-id")).to_have_text(live)
    expect(agent_page.get_by_test_id("url-bar")).to_have_value(
        server.customer_base + "/demo/products/"
    )
    expect(mirror(agent_page).locator("h1")).to_have_text("All products")
    expect(mirror(agent_page).locator("img").first).to_be_visible()
    expect(agent_page.locator("#session-status")).to_have_text("Live")


def test_leaving_the_site_pauses_and_coming_back_resumes(server, customer, agent_page, live):
    customer.goto(server.customer_base + "/demo/outside/")
    expect(agent_page.locator("#session-banner")).to_have_text(
        "Paused: the customer left the site."
    )
    expect(agent_page.locator("#session-status")).to_have_text("Paused")
    customer.goto(server.customer_base + "/demo/")
    expect(agent_page.locator("#session-status")).to_have_text("Live")
    expect(agent_page.locator("#session-banner")).to_be_hidden()
    expect(agent_page.get_by_test_id("url-bar")).to_have_value(server.customer_base + "/demo/")


def test_the_customers_exit_notifies_the_agent(server, customer, agent_page, live):
    widget(customer).get_by_test_id("cobrowse-exit").click()
    expect(agent_page.locator("#session-banner")).to_have_text("The customer ended co-browsing.")
    expect(agent_page.locator("#session-status")).to_have_text("Ended")
    expect(widget(customer).get_by_test_id("cobrowse-start")).to_be_visible()


def test_the_agents_exit_notifies_the_customer(server, customer, agent_page, live):
    agent_page.get_by_test_id("exit-session").click()
    expect(
        widget(customer).get_by_role("status").filter(has_text="The agent ended co-browsing.")
    ).to_have_count(1)
    expect(widget(customer).get_by_test_id("cobrowse-start")).to_be_visible()
    # After a reload the customer's tab no longer thinks it is co-browsing.
    customer.reload()
    expect(widget(customer).get_by_test_id("cobrowse-start")).to_be_visible()
    expect(agent_page.locator("#session-status")).to_have_text("Ended")


def test_a_wrong_session_id_gets_a_clear_message(server, agent_page):
    login(agent_page, server.agent_base, "agent2")
    join(agent_page, "000 000 001")
    expect(agent_page.locator("#join-error")).to_contain_text(
        "No live co-browse session has this ID"
    )
    join(agent_page, "12345")
    expect(agent_page.locator("#join-error")).to_have_text(re.compile("9 digits"))


def test_a_page_larger_than_a_websocket_message_still_reaches_the_agent(
    server, customer, agent_page
):
    code = start_cobrowse(customer, server.customer_base + "/demo/")
    # 1.5 million characters: the widget sends the snapshot in chunks under daphne's 1 MiB limit.
    customer.evaluate(
        "() => { const d = document.createElement('pre'); d.id = 'huge';"
        " d.textContent = 'x'.repeat(1500000) + 'END'; document.body.prepend(d); }"
    )
    login(agent_page, server.agent_base, "agent1")
    join(agent_page, code)
    huge = mirror(agent_page).locator("#huge")
    expect(huge).to_be_attached(timeout=20_000)
    assert huge.evaluate("el => el.textContent.length") == 1_500_003
    agent_page.get_by_test_id("exit-session").click()
    expect(agent_page.locator("#session-status")).to_have_text("Ended")
