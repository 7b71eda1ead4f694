"""The widget for everyone (issue 16): no serious or critical axe-core finding (WCAG 2.2 A and
AA) in any state, a keyboard-only session that never takes focus from what the customer is
doing, the ID read digit by digit, a right-to-left page and a 360 px phone with touch."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.axe import checked_count, serious_findings
from tests.e2e.helpers import eventually, join, login, mirror, screenshot, start_cobrowse, widget
from tests.e2e.test_write_mode import ask_for_write_mode

pytestmark = pytest.mark.e2e

CODE = re.compile(r"^\d{3} \d{3} \d{3}$")
ANNOUNCER = "host => host.shadowRoot.querySelector('[aria-live=assertive]').textContent"
FOCUSED = "host => { const a = host.shadowRoot.activeElement; return a && (a.dataset.testid || a.tagName); }"


def assert_clean(page, state: str) -> None:
    found = serious_findings(page, "cobrowse-widget")
    assert found == [], f"{state}: {found}"


def test_the_widget_has_no_serious_axe_finding_in_any_state(server, customer, agent_page):
    customer.goto(server.customer_base + "/demo/checkout/")
    w = widget(customer)
    expect(w.get_by_test_id("cobrowse-start")).to_be_visible()
    assert checked_count(customer, "cobrowse-widget") > 10  # axe reached into the shadow root
    assert_clean(customer, "idle")
    code = start_cobrowse(customer, server.customer_base + "/demo/checkout/")
    assert_clean(customer, "waiting with the ID")
    login(agent_page, server.agent_base, "agent1")
    join(agent_page, code)
    expect(mirror(agent_page).locator("#name")).to_be_visible()
    expect(w.get_by_test_id("cobrowse-notices")).to_contain_text("joined")
    assert_clean(customer, "agent joined")
    ask_for_write_mode(agent_page, customer)
    customer.wait_for_timeout(800)  # Allow is armed
    assert_clean(customer, "consent dialog")
    w.get_by_test_id("cobrowse-approve-write").click()
    expect(w.get_by_test_id("cobrowse-write-toggle")).to_have_attribute("aria-checked", "true")
    assert_clean(customer, "write mode")
    w.get_by_test_id("chat-open").click()
    w.get_by_test_id("chat-input").fill("Hello")
    w.get_by_test_id("chat-send").click()
    expect(w.get_by_test_id("chat-log")).to_contain_text("Hello")
    assert_clean(customer, "chat")
    agent_page.get_by_test_id("exit-session").click()
    expect(w.get_by_test_id("cobrowse-start")).to_be_visible()
    assert_clean(customer, "ended")


def test_a_keyboard_alone_runs_a_session_and_the_request_never_takes_focus(
    server, customer, agent_page, request
):
    customer.goto(server.customer_base + "/demo/checkout/")
    w = widget(customer)
    customer.locator("#name").focus()
    customer.keyboard.press("Alt+Shift+C")  # to the widget
    assert w.evaluate(FOCUSED) == "cobrowse-start"
    customer.keyboard.press("Enter")
    expect(w.get_by_test_id("cobrowse-session-id")).to_have_text(CODE)
    assert w.evaluate(FOCUSED) == "cobrowse-exit"  # focus went on with the panel
    code = w.get_by_test_id("cobrowse-session-id").inner_text()
    # The ID is read out digit by digit, group by group, not as three large numbers.
    spoken = ", ".join(" ".join(group) for group in code.split(" "))
    expect(w.get_by_text(spoken, exact=True)).to_be_attached()
    expect(w.get_by_test_id("cobrowse-session-id")).to_have_attribute("aria-hidden", "true")

    login(agent_page, server.agent_base, "agent1")
    join(agent_page, code)
    expect(mirror(agent_page).locator("#name")).to_be_visible()
    # The customer types; the agent asks for write mode in the middle of it.
    customer.locator("#name").focus()
    customer.keyboard.type("Grace ")
    ask_for_write_mode(agent_page, customer)
    customer.keyboard.type("Hopper")
    expect(customer.locator("#name")).to_have_value("Grace Hopper")  # no key went astray
    assert customer.evaluate("document.activeElement.id") == "name"
    expect(w.get_by_test_id("cobrowse-deny-write")).to_be_visible()
    said = eventually(lambda: w.evaluate(ANNOUNCER), lambda text: "asks for write mode" in text)
    assert "Alt+Shift+C" in said
    # Answering by keyboard: to the request, Tab to Allow, Enter; focus lands on the switch.
    customer.keyboard.press("Alt+Shift+C")
    assert w.evaluate(FOCUSED) == "cobrowse-deny-write"
    customer.wait_for_timeout(800)  # Allow is armed after a moment
    customer.keyboard.press("Tab")
    assert w.evaluate(FOCUSED) == "cobrowse-approve-write"
    customer.keyboard.press("Enter")
    toggle = w.get_by_test_id("cobrowse-write-toggle")
    expect(toggle).to_have_attribute("aria-checked", "true")
    assert w.evaluate(FOCUSED) == "cobrowse-write-toggle"
    screenshot(request, customer=customer)
    customer.keyboard.press("Space")  # back to pointer mode
    expect(toggle).to_have_attribute("aria-checked", "false")
    expect(agent_page.get_by_test_id("write-mode-toggle")).to_have_attribute(
        "aria-checked", "false"
    )
    # Escape in a request denies it.
    ask_for_write_mode(agent_page, customer)
    customer.keyboard.press("Alt+Shift+C")
    customer.keyboard.press("Escape")
    expect(w.get_by_test_id("cobrowse-deny-write")).to_be_hidden()
    expect(agent_page.get_by_test_id("write-mode-toggle")).to_have_attribute(
        "aria-checked", "false"
    )
    # And the customer ends the session from the keyboard too.
    customer.keyboard.press("Alt+Shift+C")  # the switch is off: to the exit button
    assert w.evaluate(FOCUSED) == "cobrowse-exit"
    customer.keyboard.press("Enter")
    expect(agent_page.locator("#session-status")).to_have_text("Ended")


def test_on_a_right_to_left_page_the_widget_sits_left_and_reads_left_to_right(
    server, customer, request
):
    customer.goto(server.customer_base + "/demo/checkout/?lang=ar")
    assert customer.evaluate("document.documentElement.dir") == "rtl"
    w = widget(customer)
    start = w.get_by_test_id("cobrowse-start")
    expect(start).to_be_visible()
    box = start.bounding_box()
    assert box["x"] < 100  # the left corner, where a right-to-left page ends
    w.get_by_test_id("cobrowse-start").click()
    expect(w.get_by_test_id("cobrowse-session-id")).to_have_text(CODE)
    panel = w.get_by_test_id("cobrowse-session-id")
    assert panel.evaluate("el => getComputedStyle(el).direction") == "ltr"
    assert_clean(customer, "right-to-left page")
    screenshot(request, customer=customer)


def test_on_a_phone_the_widget_fits_works_by_touch_and_the_agent_sees_the_phones_viewport(
    server, browser, agent_page, request
):
    phone = browser.new_context(
        viewport={"width": 360, "height": 740},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    customer = phone.new_page()
    try:
        customer.goto(server.customer_base + "/demo/checkout/")
        w = widget(customer)
        w.get_by_test_id("cobrowse-start").tap()
        expect(w.get_by_test_id("cobrowse-session-id")).to_have_text(CODE)
        code = w.get_by_test_id("cobrowse-session-id").inner_text()
        for testid in ("cobrowse-session-id", "cobrowse-exit", "chat-open"):
            box = w.get_by_test_id(testid).bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 360, testid
        login(agent_page, server.agent_base, "agent1")
        join(agent_page, code)
        expect(mirror(agent_page).locator("#name")).to_be_visible()
        iframe = agent_page.locator("[data-testid=cobrowse-view] iframe")
        assert (
            iframe.evaluate("el => el.offsetWidth") == 360
        )  # the phone's viewport, not a desktop's
        w.get_by_test_id("chat-open").tap()
        box = w.get_by_test_id("chat-input").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 360
        assert_clean(customer, "phone")
        screenshot(request, customer=customer, agent=agent_page)
        w.get_by_test_id("cobrowse-exit").tap()
        expect(w.get_by_test_id("cobrowse-start")).to_be_visible()
    finally:
        phone.close()


def test_the_widgets_own_chat_field_is_not_called_invisible_to_the_agent(
    server, customer, agent_page
):
    # The agent reads what is typed there once it is sent: "Not visible to the agent" is wrong.
    code = start_cobrowse(customer, server.customer_base + "/demo/checkout/")
    login(agent_page, server.agent_base, "agent1")
    join(agent_page, code)
    expect(mirror(agent_page).locator("#name")).to_be_visible()
    w = widget(customer)
    customer.locator("#card-number").focus()  # the control: a masked field of the page has it
    expect(w.get_by_test_id("cobrowse-private-notice")).to_be_visible()
    w.get_by_test_id("chat-open").click()
    w.get_by_test_id("chat-input").focus()
    customer.keyboard.type("a")
    customer.wait_for_timeout(300)
    expect(w.get_by_test_id("cobrowse-private-notice")).to_be_hidden()
    w.get_by_test_id("cobrowse-exit").click()
    expect(agent_page.locator("#session-status")).to_have_text("Ended")
