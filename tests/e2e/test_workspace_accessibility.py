"""The Agent Workspace has no serious or critical axe-core finding (WCAG 2.2 A and AA) in any
state (issue 16): before joining, with a join error, live, in write mode, on the chats tab with a
chat, and ended."""

import pytest
from playwright.sync_api import expect

from tests.e2e.axe import checked_count, serious_findings
from tests.e2e.helpers import join, login, mirror, start_cobrowse, widget
from tests.e2e.test_write_mode import approve

pytestmark = pytest.mark.e2e


def assert_clean(page, state: str) -> None:
    found = serious_findings(page, "body")
    assert found == [], f"{state}: {found}"


def test_the_workspace_has_no_serious_axe_finding_in_any_state(server, customer, agent_page):
    login(agent_page, server.agent_base, "agent1")
    assert checked_count(agent_page) > 10
    assert_clean(agent_page, "before joining")
    join(agent_page, "12345")
    expect(agent_page.get_by_role("alert")).to_be_visible()
    assert_clean(agent_page, "join error")

    customer.goto(server.customer_base + "/demo/checkout/")
    w = widget(customer)
    w.get_by_test_id("chat-open").click()
    w.get_by_test_id("chat-input").fill("Can you help me with the checkout?")
    w.get_by_test_id("chat-send").click()
    code = start_cobrowse(customer, server.customer_base + "/demo/checkout/")
    join(agent_page, code)
    expect(mirror(agent_page).locator("#name")).to_be_visible()
    customer.mouse.move(200, 300)
    expect(agent_page.get_by_test_id("customer-pointer")).to_be_visible()
    expect(agent_page.locator("#session-status")).to_have_text("Live")
    assert_clean(agent_page, "live, with the customer's pointer")
    approve(agent_page, customer)
    assert_clean(agent_page, "write mode")
    agent_page.get_by_test_id("chats-tab").click()
    expect(agent_page.get_by_test_id("chat-queue")).to_contain_text("Website visitor")
    assert_clean(agent_page, "chats tab with a waiting chat")
    agent_page.get_by_test_id("cobrowse-tab").click()
    agent_page.get_by_test_id("exit-session").click()
    expect(agent_page.locator("#session-status")).to_have_text("Ended")
    assert_clean(agent_page, "ended")
