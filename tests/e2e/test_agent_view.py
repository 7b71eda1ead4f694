"""The agent's view can be trusted: tabs that come and go, typing at any speed, both pointers on
the right element, shared scrolling and a Fit that always fits (issue 11), in Chromium."""

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import (
    eventually,
    mirror,
    screenshot,
    widget,
)
from tests.e2e.test_write_mode import approve

pytestmark = pytest.mark.e2e

ADDRESS = "221B Baker Street, London NW1 6XE"
PASTE = ("Flat 4, 17 Long Harbour Road, Cobh, County Cork, P24 AB12, Ireland. " * 3)[:200]

# Where the tip of the customer's pointer is drawn in the mirror, and the mirror's element there.
CUSTOMER_POINTER_TARGET = """() => {
  const p = document.querySelector('[data-testid=customer-pointer]');
  if (!p || getComputedStyle(p).display === 'none') return null;
  const tip = p.getBoundingClientRect();
  const iframe = document.querySelector('[data-testid=cobrowse-view] iframe');
  const box = iframe.getBoundingClientRect();
  const scale = box.width / iframe.offsetWidth;
  const el = iframe.contentDocument.elementFromPoint(
    (tip.left + 1 - box.left) / scale, (tip.top + 1 - box.top) / scale);
  return el && (el.id || el.tagName.toLowerCase());
}"""

# Where the tip of the agent's pointer is drawn on the customer's page, and the element there.
AGENT_POINTER_TARGET = """() => {
  const root = document.querySelector('cobrowse-widget').shadowRoot;
  const p = root.querySelector('[data-testid=cobrowse-agent-pointer]');
  if (!p || getComputedStyle(p).display === 'none') return null;
  const tip = p.getBoundingClientRect();
  const el = document.elementFromPoint(tip.left + 1, tip.top + 1);
  return el && (el.id || el.tagName.toLowerCase());
}"""


# Whether the tip of the agent's pointer is inside an element's box on the customer's page, also
# where the customer has not scrolled (both are placed in the page, not the window).
AGENT_POINTER_ON = """id => {
  const root = document.querySelector('cobrowse-widget').shadowRoot;
  const p = root.querySelector('[data-testid=cobrowse-agent-pointer]');
  if (!p || getComputedStyle(p).display === 'none') return false;
  const tip = p.getBoundingClientRect();
  const box = document.getElementById(id).getBoundingClientRect();
  return tip.left >= box.left && tip.left <= box.right && tip.top >= box.top
    && tip.top <= box.bottom;
}"""


def mirror_scroll(agent_page) -> float:
    return agent_page.evaluate(
        "() => document.querySelector('[data-testid=cobrowse-view] iframe').contentWindow.scrollY"
    )


def center(box: dict) -> tuple[float, float]:
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


# 1. Tabs ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("closed", ["the second tab", "the first tab"])
def test_a_second_workspace_tab_that_comes_and_goes_leaves_the_other_one_live(
    server, customer, agent_page, live, request, closed
):
    second = agent_page.context.new_page()
    second.set_default_timeout(10_000)
    second.goto(server.agent_base + "/workspace/")  # rejoins the agent's live session by itself
    expect(mirror(second).locator("#name")).to_be_visible()
    expect(second.locator("#session-status")).to_have_text("Live")
    gone, kept = (second, agent_page) if closed == "the second tab" else (agent_page, second)
    gone.close()
    customer.wait_for_timeout(2500)  # past the server's presence probe
    # The customer is not told the agent dropped, and the page still streams to the open tab.
    expect(widget(customer).get_by_text("connection dropped")).to_have_count(0)
    customer.fill("#city", "Cork")
    expect(mirror(kept).locator("#city")).to_have_value("Cork")
    expect(kept.locator("#session-status")).to_have_text("Live")
    # The customer changes page: the open tab follows.
    customer.goto(server.customer_base + "/demo/account/")
    expect(mirror(kept).locator("body")).to_contain_text("Profile")
    expect(kept.locator("#session-status")).to_have_text("Live")
    screenshot(request, customer=customer, agent=kept)


# 2. Typing --------------------------------------------------------------------------------------


TYPE_IN_ANOTHER_FIELD = """text => {
  const field = document.querySelector('#city');
  let i = 0;
  const timer = setInterval(() => {
    if (i >= text.length) return clearInterval(timer);
    field.value += text[i++];
    field.dispatchEvent(new Event('input', {bubbles: true}));
  }, 23);
}"""


@pytest.mark.parametrize("delay", [10, 20, 50])
def test_the_agents_typing_arrives_whole_and_in_order_at_any_speed(
    customer, agent_page, live, request, delay
):
    approve(agent_page, customer)
    view = mirror(agent_page)
    customer.evaluate(TYPE_IN_ANOTHER_FIELD, "Cork Harbour")  # the customer types meanwhile
    view.locator("#address").press_sequentially(ADDRESS, delay=delay)
    expect(customer.locator("#address")).to_have_value(ADDRESS)
    expect(customer.locator("#city")).to_have_value("Cork Harbour")
    expect(view.locator("#address")).to_have_value(ADDRESS)
    expect(view.locator("#city")).to_have_value("Cork Harbour")
    screenshot(request, customer=customer, agent=agent_page)


def test_a_pasted_address_of_200_characters_arrives_whole(customer, agent_page, live):
    approve(agent_page, customer)
    view = mirror(agent_page)
    view.locator("#address").focus()
    agent_page.keyboard.insert_text(PASTE)
    view.locator("#address").press("End")
    view.locator("#address").press_sequentially("!", delay=10)
    expect(customer.locator("#address")).to_have_value(PASTE + "!")
    expect(view.locator("#address")).to_have_value(PASTE + "!")


# 3. and 4. Pointers and scrolling -----------------------------------------------------------------


def test_the_customers_pointer_is_drawn_on_the_same_element_in_the_mirror(
    customer, agent_page, live, request
):
    for field in ("#name", "#city", "#country", "#terms", "#name"):
        customer.locator(field).scroll_into_view_if_needed()  # the customer scrolls there
        customer.mouse.move(*center(customer.locator(field).bounding_box()))
        eventually(
            lambda: agent_page.evaluate(CUSTOMER_POINTER_TARGET),
            lambda found, want=field[1:]: found == want,
        )
    screenshot(request, customer=customer, agent=agent_page)


def test_the_customers_pointer_is_shown_where_it_came_to_rest_after_a_quick_last_move(
    customer, agent_page, live
):
    # rrweb drops a move that follows the previous one within its sampling interval; the last
    # move of a quick gesture (or the move after a scroll) must still reach the agent.
    for first, last in (("#name", "#address"), ("#address", "#name")):
        customer.mouse.move(*center(customer.locator(first).bounding_box()))
        customer.mouse.move(*center(customer.locator(last).bounding_box()))
        eventually(
            lambda: agent_page.evaluate(CUSTOMER_POINTER_TARGET),
            lambda found, want=last[1:]: found == want,
        )


def test_in_pointer_mode_the_agent_scrolls_their_own_view_and_the_pointers_stay_on_their_element(
    customer, agent_page, live, request
):
    view = mirror(agent_page)
    assert customer.evaluate("scrollY") == 0
    agent_page.mouse.move(*center(view.locator("#name").bounding_box()))
    agent_page.mouse.wheel(0, 600)
    eventually(lambda: mirror_scroll(agent_page), lambda v: v > 200)
    customer.wait_for_timeout(300)
    assert customer.evaluate("scrollY") == 0  # the customer's page did not move
    # The agent points at the order button, below the customer's fold: the agent's pointer is
    # on it on the customer's page (where the customer would see it by scrolling there).
    agent_page.mouse.move(*center(view.locator("#place-order").bounding_box()))
    eventually(lambda: customer.evaluate(AGENT_POINTER_ON, "place-order"), bool)
    # The customer points at the name field, above the agent's view: not drawn in the mirror ...
    customer.mouse.move(*center(customer.locator("#name").bounding_box()))
    customer.wait_for_timeout(700)
    assert agent_page.evaluate(CUSTOMER_POINTER_TARGET) is None
    # ... until the agent scrolls back up: then it is on the name field.
    agent_page.mouse.wheel(0, -600)
    eventually(lambda: agent_page.evaluate(CUSTOMER_POINTER_TARGET), lambda found: found == "name")
    screenshot(request, customer=customer, agent=agent_page)


def test_in_write_mode_the_agents_scroll_scrolls_the_customers_page(
    customer, agent_page, live, request
):
    approve(agent_page, customer)
    view = mirror(agent_page)
    agent_page.mouse.move(*center(view.locator("#name").bounding_box()))
    for _ in range(3):
        agent_page.mouse.wheel(0, 200)
        agent_page.wait_for_timeout(60)
    eventually(lambda: customer.evaluate("scrollY"), lambda v: v > 300)
    agent_page.wait_for_timeout(800)  # the echo of the customer's page settles
    assert abs(customer.evaluate("scrollY") - mirror_scroll(agent_page)) < 2
    agent_page.mouse.move(*center(view.locator("#card-number").bounding_box()))
    eventually(lambda: customer.evaluate(AGENT_POINTER_TARGET), lambda v: v == "card-number")
    screenshot(request, customer=customer, agent=agent_page)


# 5. Fit -----------------------------------------------------------------------------------------

FITS = """() => {
  const view = document.querySelector('[data-testid=cobrowse-view]').getBoundingClientRect();
  const page = document.querySelector('#mirror-stage').getBoundingClientRect();
  return page.width > 100 && page.top >= view.top - 1 && page.bottom <= view.bottom + 1
    && page.left >= view.left - 1 && page.right <= view.right + 1
    && view.bottom <= window.innerHeight + 1;
}"""


def test_zoom_to_fit_fits_with_every_banner_and_when_either_window_changes(
    customer, agent_page, live, request
):
    banner = agent_page.locator("#session-banner")
    assert agent_page.evaluate(FITS)
    approve(agent_page, customer)  # "The customer allowed write mode: ..."
    expect(banner).to_be_visible()
    eventually(lambda: agent_page.evaluate(FITS), bool)
    screenshot(request, agent=agent_page)
    agent_page.set_viewport_size({"width": 1100, "height": 560})
    eventually(lambda: agent_page.evaluate(FITS), bool)
    customer.set_viewport_size({"width": 1000, "height": 900})
    expect(agent_page.locator("#viewport-size")).to_have_text("1000 × 900")
    eventually(lambda: agent_page.evaluate(FITS), bool)
    agent_page.get_by_test_id("zoom-1to1").click()
    expect(agent_page.get_by_test_id("cobrowse-view")).to_have_attribute("data-scale", "1.000")
    agent_page.get_by_test_id("zoom-fit").click()
    eventually(lambda: agent_page.evaluate(FITS), bool)
    screenshot(request, customer=customer, agent=agent_page)
