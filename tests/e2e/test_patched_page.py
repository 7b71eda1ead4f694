"""Pages that fight the DOM (issue 16): a page that patches childNodes, contains, getRootNode and
MutationObserver as Salesforce Lightning's locker does, and replaces fetch, WebSocket,
JSON.stringify (with Array.prototype.toJSON as Prototype.js did) and customElements.define, is
co-browsed as any other, masking included; a page whose arrays are broken is told plainly."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import join, login, mirror, screenshot, text_of, widget

pytestmark = pytest.mark.e2e

SECRET = "4111 1111 1111 1111"


def test_a_page_that_patches_the_dom_and_its_globals_is_co_browsed_and_masked(
    server, customer, agent_page, request
):
    errors = []
    customer.on("pageerror", lambda error: errors.append(str(error)))
    customer.goto(server.customer_base + "/demo/locker/")
    patched = customer.evaluate("window.lockerPatches")
    assert patched == ["dom", "observer", "fetch", "websocket", "json", "define"]
    # The patches bite: the page's own calls fail as they would under the locker.
    assert (
        customer.evaluate(
            "(() => { try { document.body.childNodes; return 'ok'; } catch (e) { return 'refused'; } })()"
        )
        == "refused"
    )
    assert customer.evaluate("JSON.stringify({a: 1})") == "{}"

    # Everything the agent's browser receives, to prove the card number never crosses the wire.
    received: list[str] = []
    agent_page.on(
        "websocket",
        lambda ws: ws.on("framereceived", lambda payload: received.append(text_of(payload))),
    )
    w = widget(customer)
    w.get_by_test_id("cobrowse-start").click()
    code_shown = w.get_by_test_id("cobrowse-session-id")
    expect(code_shown).to_have_text(re.compile(r"^\d{3} \d{3} \d{3}$"))
    login(agent_page, server.agent_base, "agent1")
    join(agent_page, code_shown.inner_text())
    view = mirror(agent_page)
    expect(view.locator("#name")).to_be_visible()
    customer.locator("#name").fill("Ada Lovelace")
    expect(view.locator("#name")).to_have_value("Ada Lovelace")
    # Masking holds on this page too: the card number reaches the agent as stars only.
    customer.locator("#card-number").press_sequentially(SECRET, delay=5)
    expect(w.get_by_test_id("cobrowse-private-notice")).to_be_visible()
    customer.locator("#name").fill("Ada King")  # a later change: the card's have arrived too
    expect(view.locator("#name")).to_have_value("Ada King")
    masked = view.locator("#card-number").input_value()
    assert masked and set(masked) == {"*"}
    assert "4111" not in agent_page.content() and "4111" not in masked
    # Eight digits of the card in a row: a timestamp in a frame can hold "4111" by chance.
    assert received and not [frame for frame in received if "41111111" in frame.replace(" ", "")]
    screenshot(request, customer=customer, agent=agent_page)
    w.get_by_test_id("cobrowse-exit").click()
    expect(agent_page.locator("#session-status")).to_have_text("Ended")
    assert [e for e in errors if "locker" in e or "blocked" in e] == []


def test_a_page_whose_arrays_are_broken_is_told_plainly_and_nothing_starts(server, customer):
    requests = []
    customer.on("request", lambda r: requests.append(r.url))
    customer.goto(server.customer_base + "/demo/locker/?patch=array&lang=fr")
    w = widget(customer)
    note = w.get_by_test_id("cobrowse-unavailable")
    expect(note).to_have_text("Le co-browsing n'est pas disponible sur cette page.")
    expect(note).to_be_disabled()
    expect(w.get_by_test_id("cobrowse-start")).to_have_count(0)
    assert customer.evaluate("Cobrowse.start().then(s => s.status)") == "unavailable"
    customer.wait_for_timeout(300)
    assert not [url for url in requests if "/api/v1/" in url or "/ws/" in url]
