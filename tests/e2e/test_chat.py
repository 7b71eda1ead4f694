"""Chat-linked co-browse in Chromium: the customer chats, the agent accepts, co-browse opens
without typing the ID, and ending the chat ends co-browse."""

import json
import re
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import login, mirror, screenshot, start_cobrowse, widget

pytestmark = pytest.mark.e2e


def test_a_chat_customer_starts_cobrowse_and_the_agent_ending_the_chat_ends_it(
    server, customer, agent_page, request
):
    customer.goto(server.customer_base + "/demo/checkout/")
    w = widget(customer)
    w.get_by_test_id("chat-open").click()
    w.get_by_test_id("chat-input").fill("Hi, the checkout confuses me")
    w.get_by_test_id("chat-send").click()

    login(agent_page, server.agent_base, "agent1")
    agent_page.get_by_test_id("chats-tab").click()
    agent_page.get_by_test_id("accept-chat").click()
    transcript = agent_page.get_by_test_id("transcript")
    expect(transcript).to_contain_text("Hi, the checkout confuses me")
    agent_page.get_by_test_id("chat-input").fill("Happy to help. Click Start Co-browse below.")
    agent_page.get_by_test_id("chat-send").click()
    expect(w.get_by_test_id("chat-log")).to_contain_text("Happy to help")

    # The customer navigates: the transcript follows, and a message typed on the way is not lost.
    customer.goto(server.customer_base + "/demo/products/")
    expect(w.get_by_test_id("chat-log")).to_contain_text("Happy to help")
    w.get_by_test_id("chat-input").fill("I'm on the products page now")
    w.get_by_test_id("chat-send").click()
    expect(transcript).to_contain_text("I'm on the products page now")

    # Start Co-browse during the chat: no ID to type, the agent's Co-browse tab opens on it.
    w.get_by_test_id("cobrowse-start").click()
    expect(w.get_by_test_id("cobrowse-session-id")).to_have_text(re.compile(r"^\d{3} \d{3} \d{3}$"))
    code = w.get_by_test_id("cobrowse-session-id").inner_text()
    expect(agent_page.get_by_test_id("cobrowse-view")).to_be_visible()
    expect(agent_page.locator("#session-code")).to_have_text(code)
    expect(mirror(agent_page).locator("img").first).to_be_visible()
    screenshot(request, customer=customer, agent=agent_page)
    agent_page.get_by_test_id("chats-tab").click()
    link = agent_page.get_by_test_id("cobrowse-link")
    expect(link).to_contain_text(code)
    screenshot(request, agent_transcript=agent_page)

    # Ending the chat ends co-browse for both sides at once.
    agent_page.get_by_test_id("end-interaction").click()
    expect(w.get_by_test_id("cobrowse-start")).to_be_visible()
    expect(w.get_by_test_id("chat-log")).to_contain_text("The agent ended the chat.")
    agent_page.get_by_test_id("cobrowse-tab").click()
    expect(agent_page.locator("#session-status")).to_have_text("Ended")
    expect(agent_page.locator("#session-banner")).to_contain_text("The chat or call ended")


def test_a_voice_call_shows_in_the_workspace_and_links_the_session_joined_by_id(
    server, customer, agent_page
):
    token = server.telephony_token
    login(agent_page, server.agent_base, "agent2")
    body = json.dumps({"agent": "agent2", "external_id": "call-7", "customer_name": "Caller Ada"})
    req = urllib.request.Request(
        server.agent_base + "/api/v1/interactions/",
        data=body.encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
    )
    call = json.loads(urllib.request.urlopen(req, timeout=10).read())
    agent_page.get_by_test_id("chats-tab").click()
    expect(agent_page.get_by_test_id("my-interactions")).to_contain_text("Caller Ada")
    # The caller reads out their co-browse ID; the agent joins it while on the call.
    code = start_cobrowse(customer, server.customer_base + "/demo/")
    agent_page.get_by_test_id("cobrowse-tab").click()
    agent_page.get_by_test_id("session-id-input").fill(code)
    agent_page.get_by_test_id("join-cobrowse").click()
    expect(mirror(agent_page).locator("h1").first).to_be_visible()
    # The telephony system ends the call: co-browse ends with it.
    end = urllib.request.Request(
        server.agent_base + f"/api/v1/interactions/{call['id']}/end/",
        data=b"",
        headers={"Authorization": f"Token {token}"},
    )
    assert json.loads(urllib.request.urlopen(end, timeout=10).read())["ended_sessions"] == 1
    expect(agent_page.locator("#session-status")).to_have_text("Ended")
    expect(widget(customer).get_by_test_id("cobrowse-start")).to_be_visible()
