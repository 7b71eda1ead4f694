"""Write mode through both consumers: consent, lapse, back to pointer, control and refusals."""

import asyncio

import pytest
from channels.db import database_sync_to_async

from sessions_app.models import AgentAction, CobrowseSession
from tests.rrweb import el, events_frame, page_load
from tests.test_consumers import (
    agent_socket,
    connected_pair,
    customer_socket,
    next_of_type,
    reload,
)

pytestmark = [pytest.mark.django_db(transaction=True)]

ORIGIN = "https://shop.example.com"


def page_with(*body):
    return events_frame(1, page_load(*body))


NAME = el(10, "input", {"id": "name"})
CARD = el(11, "input", {"autocomplete": "cc-number"})
SUBMIT = el(12, "button", {"type": "submit"})


async def in_write_mode(site, agent):
    session, token, customer, agent_ws = await connected_pair(site, agent)
    await customer.send_json_to(page_with(NAME, CARD, SUBMIT))
    await agent_ws.receive_json_from()
    await agent_ws.send_json_to({"type": "write.request"})
    request = await customer.receive_json_from()
    assert request == {"type": "write.request", "agent": "Alice Agent", "timeout": 30}
    await customer.send_json_to({"type": "write.approve"})
    for ws in (customer, agent_ws):
        frame = await ws.receive_json_from()
        assert frame["type"] == "mode" and frame["mode"] == "write" and frame["by"] == "customer"
    return session, token, customer, agent_ws


@database_sync_to_async
def actions(session):
    return list(AgentAction.objects.filter(session=session).values("kind", "target", "detail"))


async def test_approval_switches_both_sides_to_write_mode_and_commands_reach_the_page(
    site, agent, channel_layer_kind
):
    session, _, customer, agent_ws = await in_write_mode(site, agent)
    assert (await reload(session)).mode == "write"
    await agent_ws.send_json_to({"type": "input", "id": 10, "value": "Grace Hopper"})
    assert await customer.receive_json_from() == {
        "type": "agent.command",
        "command": {"type": "input", "id": 10, "value": "Grace Hopper"},
    }
    await agent_ws.send_json_to({"type": "click", "id": 10, "x": 3, "y": 4})
    command = (await customer.receive_json_from())["command"]
    assert command == {"type": "click", "id": 10, "x": 3.0, "y": 4.0}
    await customer.disconnect()
    await agent_ws.disconnect()
    audit = await actions(session)
    kinds = [a["kind"] for a in audit]
    # Approved, typed, clicked; the agent's socket closing returned the page to pointer mode.
    assert kinds == ["mode", "input", "click", "mode"]
    assert audit[-1]["detail"] == "pointer (agent_disconnected)"
    assert audit[1]["target"] == "input#name" and audit[1]["detail"] == "12 characters"
    assert "Grace" not in repr(audit)


async def test_denial_is_shown_to_the_agent_and_nothing_changes(site, agent):
    session, _, customer, agent_ws = await connected_pair(site, agent)
    await agent_ws.send_json_to({"type": "write.request"})
    await customer.receive_json_from()
    await customer.send_json_to({"type": "write.deny"})
    frame = await agent_ws.receive_json_from()
    assert frame == {"type": "write.denied", "message": "The customer declined write mode."}
    assert (await reload(session)).mode == "pointer"
    await customer.disconnect()
    await agent_ws.disconnect()


async def test_an_unanswered_request_lapses_for_both(site, agent, settings):
    settings.COBROWSE_WRITE_REQUEST_TIMEOUT = 1
    _, _, customer, agent_ws = await connected_pair(site, agent)
    await agent_ws.send_json_to({"type": "write.request"})
    await customer.receive_json_from()
    assert (await customer.receive_json_from(timeout=3))["type"] == "write.lapsed"
    assert (await agent_ws.receive_json_from(timeout=3))["type"] == "write.lapsed"
    await customer.send_json_to({"type": "write.approve"})
    assert (await customer.receive_json_from())["code"] == "no_request"
    await customer.disconnect()
    await agent_ws.disconnect()


async def test_approving_without_a_request_is_refused(site, agent):
    session, _, customer, agent_ws = await connected_pair(site, agent)
    await customer.send_json_to({"type": "write.approve"})
    assert (await customer.receive_json_from())["code"] == "no_request"
    assert (await reload(session)).mode == "pointer"
    await customer.disconnect()
    await agent_ws.disconnect()


@pytest.mark.parametrize("side", ["customer", "agent"])
async def test_either_side_returns_to_pointer_mode_and_the_other_is_told(site, agent, side):
    session, _, customer, agent_ws = await in_write_mode(site, agent)
    await (customer if side == "customer" else agent_ws).send_json_to({"type": "mode.pointer"})
    for ws in (customer, agent_ws):
        frame = await ws.receive_json_from()
        assert frame["mode"] == "pointer" and frame["by"] == side
        assert "pointer mode" in frame["message"]
    assert (await reload(session)).mode == "pointer"
    await agent_ws.send_json_to({"type": "input", "id": 10, "value": "x"})
    assert (await agent_ws.receive_json_from())["code"] == "wrong_mode"
    await customer.disconnect()
    await agent_ws.disconnect()


async def test_write_mode_stays_on_while_another_tab_of_the_agents_is_open(site, agent):
    session, _, customer, agent_ws = await in_write_mode(site, agent)
    second_tab = await agent_socket(agent, session.code)
    assert (await second_tab.connect())[0]
    await next_of_type(customer, "agent.joined")
    await agent_ws.disconnect()
    await asyncio.sleep(1.5)  # past the presence probe
    assert (await reload(session)).mode == CobrowseSession.Mode.WRITE
    await second_tab.send_json_to({"type": "mode.pointer"})
    assert (await next_of_type(customer, "mode"))["by"] == "agent"
    await customer.disconnect()
    await second_tab.disconnect()


async def test_the_agents_connection_dropping_returns_to_pointer_mode(site, agent):
    session, _, customer, agent_ws = await in_write_mode(site, agent)
    await agent_ws.disconnect()
    frames = [await customer.receive_json_from(timeout=5), await customer.receive_json_from()]
    assert {f["type"] for f in frames} == {"agent.disconnected", "mode"}
    frame = next(f for f in frames if f["type"] == "mode")
    assert frame["mode"] == "pointer" and frame["by"] == "agent_disconnected"
    assert (await reload(session)).mode == "pointer"
    await customer.disconnect()


async def test_a_page_change_keeps_write_mode_but_leaving_the_site_ends_it(site, agent, settings):
    settings.COBROWSE_WRITE_GRACE = 1
    session, token, customer, agent_ws = await in_write_mode(site, agent)
    await customer.disconnect()
    assert (await agent_ws.receive_json_from())["type"] == "customer.left"
    page2 = await customer_socket(token)
    await page2.connect()
    assert (await page2.receive_json_from())["mode"] == "write"  # the new page knows at once
    assert (await agent_ws.receive_json_from())["type"] == "customer.connected"
    assert await agent_ws.receive_nothing(timeout=1.5)  # no return to pointer
    await page2.disconnect()
    assert (await agent_ws.receive_json_from())["type"] == "customer.left"
    frame = await agent_ws.receive_json_from(timeout=3)
    assert frame["mode"] == "pointer" and frame["by"] == "customer_left"
    assert (await reload(session)).mode == "pointer"
    await agent_ws.disconnect()


async def test_write_mode_commands_on_restricted_or_masked_nodes_are_refused(site, agent):
    _, _, customer, agent_ws = await in_write_mode(site, agent)
    for node_id in (11, 12):
        await agent_ws.send_json_to({"type": "input", "id": node_id, "value": "x"})
        assert (await agent_ws.receive_json_from())["code"] == "restricted"
        await agent_ws.send_json_to({"type": "click", "id": node_id, "x": 1, "y": 1})
        assert (await agent_ws.receive_json_from())["code"] == "restricted"
    assert await customer.receive_nothing(timeout=0.2)
    await customer.disconnect()
    await agent_ws.disconnect()


async def test_navigation_outside_the_site_is_refused(site, agent):
    _, _, customer, agent_ws = await in_write_mode(site, agent)
    await agent_ws.send_json_to(
        {"type": "navigate", "action": "url", "url": "https://evil.example/"}
    )
    error = await agent_ws.receive_json_from()
    assert error["code"] == "foreign_url" and ORIGIN in error["message"]
    await agent_ws.send_json_to({"type": "navigate", "action": "url", "url": ORIGIN + "/account/"})
    command = (await customer.receive_json_from())["command"]
    assert command == {"type": "navigate", "action": "url", "url": ORIGIN + "/account/"}
    await agent_ws.send_json_to({"type": "navigate", "action": "format-disk"})
    assert (await agent_ws.receive_json_from())["code"] == "bad_frame"
    await customer.disconnect()
    await agent_ws.disconnect()


async def test_a_site_without_write_mode_refuses_the_request(site, agent):
    site.write_mode_enabled = False
    await database_sync_to_async(site.save)()
    _session, _, customer, agent_ws = await connected_pair(site, agent)
    await agent_ws.send_json_to({"type": "write.request"})
    assert (await agent_ws.receive_json_from())["code"] == "write_mode_disabled"
    assert await customer.receive_nothing(timeout=0.2)
    await customer.disconnect()
    await agent_ws.disconnect()


async def test_the_page_refusing_a_command_tells_the_agent(site, agent):
    _, _, customer, agent_ws = await in_write_mode(site, agent)
    await customer.send_json_to(
        {"type": "refused", "message": "Only the customer can choose files."}
    )
    error = await agent_ws.receive_json_from()
    assert error == {
        "type": "error",
        "code": "refused_by_page",
        "message": "Only the customer can choose files.",
    }
    await customer.disconnect()
    await agent_ws.disconnect()


async def test_only_the_sessions_agent_can_command_the_page(site, agent, second_agent):
    session, _, customer, agent_ws = await in_write_mode(site, agent)
    intruder = await agent_socket(second_agent, session.code)
    _ok, _ = await intruder.connect()
    assert (await intruder.receive_json_from())["code"] == "session_taken"
    assert (await reload(session)).agent_id == agent.pk
    assert CobrowseSession.Mode.WRITE == (await reload(session)).mode
    await customer.disconnect()
    await agent_ws.disconnect()


async def test_a_request_repeated_right_after_a_denial_is_refused_and_not_shown(
    site, agent, settings
):
    settings.COBROWSE_WRITE_RETRY_AFTER_DENIAL = 30
    _, _, customer, agent_ws = await connected_pair(site, agent)
    await agent_ws.send_json_to({"type": "write.request"})
    await customer.receive_json_from()
    await customer.send_json_to({"type": "write.deny"})
    assert (await agent_ws.receive_json_from())["type"] == "write.denied"
    await agent_ws.send_json_to({"type": "write.request"})
    error = await agent_ws.receive_json_from()
    assert error["code"] == "write_cooldown" and "seconds" in error["message"]
    assert await customer.receive_nothing(timeout=0.3), "the customer is not asked again"
    await customer.disconnect()
    await agent_ws.disconnect()


async def test_a_request_after_the_cooldown_is_shown_again(site, agent, settings):
    settings.COBROWSE_WRITE_RETRY_AFTER_DENIAL = 0
    _, _, customer, agent_ws = await connected_pair(site, agent)
    for _ in range(2):
        await agent_ws.send_json_to({"type": "write.request"})
        assert (await customer.receive_json_from())["type"] == "write.request"
        await customer.send_json_to({"type": "write.deny"})
        assert (await agent_ws.receive_json_from())["type"] == "write.denied"
    await customer.disconnect()
    await agent_ws.disconnect()


NESTED = el(20, "form", {"id": "pay"}, [el(21, "button", {"type": "bogus"}, [el(22, "span")])])
LINK_OFF_SITE = el(23, "area", {"href": "https://elsewhere.example/"})


async def test_commands_that_would_submit_or_leave_the_site_are_refused_by_the_server(site, agent):
    _, _, customer, agent_ws = await connected_pair(site, agent)
    await customer.send_json_to(page_with(NAME, NESTED, LINK_OFF_SITE))
    await agent_ws.receive_json_from()
    await agent_ws.send_json_to({"type": "write.request"})
    await customer.receive_json_from()
    await customer.send_json_to({"type": "write.approve"})
    for ws in (customer, agent_ws):
        assert (await ws.receive_json_from())["type"] == "mode"
    for node_id in (22, 21, 23, 999):
        await agent_ws.send_json_to({"type": "click", "id": node_id, "x": 1, "y": 1})
        error = await agent_ws.receive_json_from()
        assert error["code"] in ("restricted", "refused_by_page"), error
    assert await customer.receive_nothing(timeout=0.2), "nothing reached the page"
    await agent_ws.send_json_to({"type": "click", "id": 10, "x": 1, "y": 1})
    assert (await customer.receive_json_from())["type"] == "agent.command"
    await customer.disconnect()
    await agent_ws.disconnect()


async def test_a_command_while_the_customer_changes_page_gets_a_clear_error(site, agent):
    _session, token, customer, agent_ws = await in_write_mode(site, agent)
    await customer.disconnect()  # the customer's page unloads on its way to the next one
    assert (await agent_ws.receive_json_from(timeout=5))["type"] == "customer.left"
    await agent_ws.send_json_to({"type": "navigate", "action": "refresh"})
    error = await agent_ws.receive_json_from(timeout=5)
    assert error["code"] == "customer_away" and "try again" in error["message"]
    back = await customer_socket(token)
    assert (await back.connect(timeout=5))[0]
    while (await agent_ws.receive_json_from(timeout=5))["type"] != "customer.connected":
        pass
    await agent_ws.send_json_to({"type": "navigate", "action": "refresh"})
    while (frame := await back.receive_json_from(timeout=5))["type"] != "agent.command":
        pass
    assert frame["command"] == {"type": "navigate", "action": "refresh"}
    await back.disconnect()
    await agent_ws.disconnect()


async def test_the_agents_scroll_reaches_the_page_in_write_mode_and_is_not_audited(site, agent):
    session, _, customer, agent_ws = await in_write_mode(site, agent)
    await agent_ws.send_json_to({"type": "scroll", "id": 1, "x": 0, "y": 640.4})
    assert await customer.receive_json_from() == {
        "type": "agent.command",
        "command": {"type": "scroll", "id": 1, "x": 0, "y": 640},
    }
    await agent_ws.send_json_to({"type": "scroll", "id": 10, "x": 0, "y": 20})
    assert (await customer.receive_json_from())["command"]["id"] == 10
    # A masked field is the customer's to scroll; a node the page does not have is refused.
    await agent_ws.send_json_to({"type": "scroll", "id": 11, "x": 0, "y": 20})
    assert (await agent_ws.receive_json_from())["code"] == "restricted"
    await agent_ws.send_json_to({"type": "scroll", "id": 999, "x": 0, "y": 20})
    assert (await agent_ws.receive_json_from())["message"] == "That element is restricted."
    for bad in ({"x": -1, "y": 0}, {"x": "0", "y": 0}, {"x": 0}, {"x": True, "y": 0}):
        await agent_ws.send_json_to({"type": "scroll", "id": 1, **bad})
        assert (await agent_ws.receive_json_from())["code"] == "bad_frame"
    assert await customer.receive_nothing(timeout=0.3)
    await customer.disconnect()
    await agent_ws.disconnect()
    assert [a["kind"] for a in await actions(session)] == ["mode", "mode"]


async def test_the_agents_scroll_in_pointer_mode_stays_in_their_own_view(site, agent):
    _, _, customer, agent_ws = await connected_pair(site, agent)
    await customer.send_json_to(page_with(NAME))
    await agent_ws.receive_json_from()
    await agent_ws.send_json_to({"type": "scroll", "id": 1, "x": 0, "y": 100})
    assert (await agent_ws.receive_json_from())["code"] == "wrong_mode"
    await customer.disconnect()
    await agent_ws.disconnect()
