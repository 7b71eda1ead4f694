"""Draw and spotlight (issue 14, item 1): the agent's strokes appear on the customer's page over
the same content, move with it, fade on both sides and can be cleared or hidden; a spotlight
outlines the element the agent picked, with an arrow when it is out of the customer's window, and
never outlines masked content."""

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import eventually, mirror, screenshot, widget
from tests.e2e.test_agent_view import center

pytestmark = pytest.mark.e2e

STROKES = (
    "host => host.shadowRoot.querySelectorAll('[data-testid=cobrowse-drawings] polyline').length"
)
STROKE_BOX = """host => {
  const line = host.shadowRoot.querySelector('[data-testid=cobrowse-drawings] polyline');
  if (!line) return null;
  const b = line.getBoundingClientRect();
  return {left: b.left, top: b.top, right: b.right, bottom: b.bottom};
}"""


def draw_across(agent_page, selector: str) -> None:
    box = mirror(agent_page).locator(selector).bounding_box()
    y = box["y"] + box["height"] / 2
    agent_page.mouse.move(box["x"] + 10, y)
    agent_page.mouse.down()
    agent_page.mouse.move(box["x"] + box["width"] - 10, y + 4, steps=12)
    agent_page.mouse.up()


def test_a_stroke_lands_on_the_same_field_moves_with_the_page_and_fades(
    customer, agent_page, live, request
):
    agent_page.get_by_test_id("annotate-toggle").click()
    expect(agent_page.get_by_test_id("annotate-toggle")).to_have_attribute("aria-pressed", "true")
    draw_across(agent_page, "#name")
    w = widget(customer)
    eventually(lambda: w.evaluate(STROKES), lambda n: n == 1)
    field = customer.locator("#name").bounding_box()
    stroke = w.evaluate(STROKE_BOX)
    assert field["y"] <= (stroke["top"] + stroke["bottom"]) / 2 <= field["y"] + field["height"]
    assert stroke["left"] >= field["x"] - 2 and stroke["right"] <= field["x"] + field["width"] + 2
    screenshot(request, customer=customer, agent=agent_page)
    # The customer scrolls: the stroke stays on the field.
    customer.mouse.wheel(0, 120)
    eventually(lambda: customer.evaluate("scrollY"), lambda y: y > 50)
    moved = w.evaluate(STROKE_BOX)
    field = customer.locator("#name").bounding_box()
    assert field["y"] <= (moved["top"] + moved["bottom"]) / 2 <= field["y"] + field["height"]
    # No click reached the page while drawing, and the stroke fades on both sides.
    assert customer.evaluate("document.activeElement.id") != "name"
    eventually(lambda: w.evaluate(STROKES), lambda n: n == 0, timeout=8)
    expect(agent_page.locator("[data-testid=mirror-drawings] polyline")).to_have_count(0)


def test_clear_removes_the_drawings_on_both_sides_and_the_customer_can_hide_them(
    customer, agent_page, live
):
    w = widget(customer)
    agent_page.get_by_test_id("annotate-toggle").click()
    draw_across(agent_page, "#address")
    eventually(lambda: w.evaluate(STROKES), lambda n: n == 1)
    expect(agent_page.locator("[data-testid=mirror-drawings] polyline")).to_have_count(1)
    agent_page.get_by_test_id("annotate-clear").click()
    eventually(lambda: w.evaluate(STROKES), lambda n: n == 0)
    expect(agent_page.locator("[data-testid=mirror-drawings] polyline")).to_have_count(0)
    hide = w.get_by_test_id("cobrowse-hide-drawings")
    hide.click()
    expect(hide).to_have_attribute("aria-pressed", "true")
    draw_across(agent_page, "#address")
    expect(agent_page.locator("[data-testid=mirror-drawings] polyline")).to_have_count(1)
    customer.wait_for_timeout(600)
    assert w.evaluate(STROKES) == 0  # hidden: not drawn on the customer's page
    hide.click()
    draw_across(agent_page, "#address")
    eventually(lambda: w.evaluate(STROKES), lambda n: n == 1)


def test_a_spotlight_outlines_the_picked_element_points_off_screen_and_never_masked_ones(
    customer, agent_page, live, request
):
    w = widget(customer)
    view = mirror(agent_page)
    spotlight = agent_page.get_by_test_id("spotlight-toggle")
    # An element in view: outlined where it is.
    spotlight.click()
    agent_page.mouse.click(*center(view.locator("#address").bounding_box()))
    spot = w.get_by_test_id("cobrowse-spotlight")
    expect(spot).to_be_visible()
    box, city = spot.bounding_box(), customer.locator("#address").bounding_box()
    assert box["x"] <= city["x"] and box["x"] + box["width"] >= city["x"] + city["width"]
    assert box["y"] <= city["y"] and box["y"] + box["height"] >= city["y"] + city["height"]
    expect(spotlight).to_have_attribute("aria-pressed", "false")  # one pick per spotlight
    screenshot(request, customer=customer, agent=agent_page)
    # The agent scrolls their own view down (pointer mode: the customer's page stays put).
    view.locator("#card-number").scroll_into_view_if_needed()
    customer.wait_for_timeout(300)
    # Masked content is refused in the workspace and never outlined.
    spotlight.click()
    agent_page.mouse.click(*center(view.locator("#card-number").bounding_box()))
    expect(agent_page.get_by_test_id("restricted-alert")).to_be_visible()
    expect(spotlight).to_have_attribute("aria-pressed", "true")  # still picking
    # Below the customer's fold: an arrow at the bottom edge of the customer's window.
    view.locator("#terms").scroll_into_view_if_needed()
    agent_page.mouse.click(*center(view.locator("#terms").bounding_box()))
    arrow = w.get_by_test_id("cobrowse-spotlight-arrow")
    expect(arrow).to_be_visible()
    expect(arrow).to_have_attribute("data-dir", "down")
    assert customer.evaluate("scrollY") == 0  # the customer's page did not move
    screenshot(request, customer=customer)
