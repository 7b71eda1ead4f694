"""How fresh the agent's view is (issue 14, item 2): the lag from a change on the customer's page
to the agent's screen, measured with both clocks' offsets taken over the sockets (the customer's
clock here is an hour fast), bytes per minute both ways, and a view that stops saying "Live"
within 2 seconds when the customer's page freezes or its tab is hidden."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import eventually, join, login, mirror, screenshot, start_cobrowse

pytestmark = pytest.mark.e2e

AN_HOUR_FAST = """(() => {
  const real = Date.now.bind(Date);
  Date.now = () => real() + 3600 * 1000;
})();"""


def readout_lag(agent_page):
    value = agent_page.get_by_test_id("latency-readout").get_attribute("data-lag")
    return int(value) if value else None


def test_the_readout_shows_the_real_lag_although_the_customers_clock_is_an_hour_fast(
    server, customer, agent_page, request
):
    customer.add_init_script(AN_HOUR_FAST)
    code = start_cobrowse(customer, server.customer_base + "/demo/checkout/")
    assert customer.evaluate("Date.now() - performance.timeOrigin - performance.now()") > 3e6
    login(agent_page, server.agent_base, "agent1")
    join(agent_page, code)
    view = mirror(agent_page)
    expect(view.locator("#name")).to_be_visible()
    readout = agent_page.get_by_test_id("latency-readout")
    expect(readout).to_be_visible()
    for text in ("Ada", " Lovelace", ", London"):
        customer.locator("#name").press_sequentially(text, delay=20)
        customer.wait_for_timeout(300)
    expect(view.locator("#name")).to_have_value("Ada Lovelace, London")
    # The lag is measured (an uncorrected hour would show as 0 or 3,600,000 ms) and plausible.
    lag = eventually(lambda: readout_lag(agent_page), lambda v: v is not None)
    assert 0 <= lag < 1500, lag
    # The hour was measured over the socket, not assumed away: server minus customer clock.
    clocks = agent_page.evaluate("CobrowseWorkspace.current().freshness.clocks")
    assert abs(clocks["customer"] + 3600 * 1000) < 1000, clocks
    assert abs(clocks["agent"]) < 1000, clocks
    expect(readout).to_contain_text(re.compile(r"Lag \d+ ms · \d+ KB/min in · \d+ KB/min out"))
    expect(agent_page.locator("#session-status")).to_have_text("Live")
    screenshot(request, agent=agent_page)
    agent_page.get_by_test_id("exit-session").click()
    expect(readout).to_be_hidden()


def test_a_frozen_page_and_a_hidden_tab_are_told_within_two_seconds(
    server, customer, agent_page, request
):
    code = start_cobrowse(customer, server.customer_base + "/demo/checkout/")
    login(agent_page, server.agent_base, "agent1")
    join(agent_page, code)
    expect(mirror(agent_page).locator("#name")).to_be_visible()
    status = agent_page.locator("#session-status")
    expect(status).to_have_text("Live")
    readout = agent_page.get_by_test_id("latency-readout")

    # A frozen page: its script stops (paused in the debugger), so nothing leaves it.
    cdp = customer.context.new_cdp_session(customer)
    cdp.send("Debugger.enable")
    cdp.send("Debugger.pause")
    frozen_at = agent_page.evaluate("performance.now()")
    expect(status).to_have_text("No updates", timeout=4000)
    told_after = agent_page.evaluate("performance.now()") - frozen_at
    assert told_after < 2600, told_after  # 2 s without a heartbeat, seen within a quarter second
    expect(readout).to_contain_text("Nothing from the customer's page for")
    screenshot(request, agent=agent_page)
    cdp.send("Debugger.resume")
    cdp.send("Debugger.disable")
    expect(status).to_have_text("Live")

    # A hidden tab: the heartbeat says so, and the agent is told the view may be out of date.
    customer.evaluate(
        "Object.defineProperty(document, 'visibilityState', {get: () => 'hidden', configurable: true})"
    )
    expect(status).to_have_text("Tab hidden", timeout=4000)
    expect(readout).to_contain_text("The customer's tab is hidden")
    customer.evaluate("delete document.visibilityState")
    expect(status).to_have_text("Live")
    agent_page.get_by_test_id("exit-session").click()
    expect(readout).to_be_hidden()
