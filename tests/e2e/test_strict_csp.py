"""The widget works on a page with a strict Content-Security-Policy and Trusted Types required
(issue 16): the customer starts, is mirrored, approves write mode, chats and exits, and the
page's browser reports no violation at all."""

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import join, login, mirror, screenshot, start_cobrowse, widget
from tests.e2e.test_write_mode import approve

pytestmark = pytest.mark.e2e


def violations(page) -> list[str]:
    return page.evaluate("window.cspViolations")


def test_a_strict_csp_page_co_browses_from_start_to_exit_without_a_violation(
    server, customer, agent_page, request
):
    console = []
    customer.on(
        "console", lambda m: console.append(m.text) if m.type in ("error", "warning") else None
    )
    response = customer.request.get(server.customer_base + "/demo/strict/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'nonce-" in policy and "'strict-dynamic'" in policy
    assert "style-src 'self';" in policy and "require-trusted-types-for 'script'" in policy

    code = start_cobrowse(customer, server.customer_base + "/demo/strict/")
    login(agent_page, server.agent_base, "agent1")
    join(agent_page, code)
    view = mirror(agent_page)
    expect(view.locator("#name")).to_be_visible()
    customer.locator("#name").fill("Ada Lovelace")
    expect(view.locator("#name")).to_have_value("Ada Lovelace")
    # The widget's styles apply (a constructed stylesheet): the exit button is the red globe.
    exit_button = widget(customer).get_by_test_id("cobrowse-exit")
    expect(exit_button).to_have_css("background-color", "rgb(198, 40, 40)")

    approve(agent_page, customer)
    view.locator("#city").fill("Cork")
    expect(customer.locator("#city")).to_have_value("Cork")

    w = widget(customer)
    w.get_by_test_id("chat-open").click()
    w.get_by_test_id("chat-input").fill("Is delivery free?")
    w.get_by_test_id("chat-send").click()
    expect(w.get_by_test_id("chat-log")).to_contain_text("Is delivery free?")
    screenshot(request, customer=customer, agent=agent_page)

    exit_button.click()
    expect(agent_page.locator("#session-status")).to_have_text("Ended")
    expect(w.get_by_test_id("cobrowse-start")).to_be_visible()

    assert violations(customer) == []
    assert not [text for text in console if "Content Security Policy" in text or "Trusted" in text]
    expect(customer.get_by_test_id("csp-status")).to_contain_text("violations on this page: 0")


def test_the_strict_page_reports_a_violation_when_one_happens(server, customer):
    # The control: the same page counts a real violation, so zero above means zero.
    customer.goto(server.customer_base + "/demo/strict/")
    customer.evaluate("""() => {
      const s = document.createElement('style');
      s.textContent = 'body { outline: 1px solid red }';
      document.head.appendChild(s);
      try { document.createElement('div').innerHTML = '<b>x</b>'; } catch (e) {}
    }""")
    expect(customer.get_by_test_id("csp-status")).to_contain_text("violations on this page: 2")
    found = violations(customer)
    assert any(v.startswith("style-src") for v in found)
    assert any(v.startswith("require-trusted-types-for") for v in found)
