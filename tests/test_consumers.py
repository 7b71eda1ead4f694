"""Both sockets through the real ASGI application, against each channel layer."""

import asyncio
import base64
import json
import os
import time

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from cobrowse.asgi import application
from sessions_app import services
from sessions_app.models import CobrowseSession
from tests.rrweb import change_frame, snapshot_frame
from tests.support import evaluate_settings

pytestmark = [pytest.mark.django_db(transaction=True)]

ORIGIN = "https://shop.example.com"
WORKSPACE_ORIGIN = "http://localhost"


@database_sync_to_async
def new_session(site):
    return services.session_create(site=site, url=ORIGIN + "/")


@database_sync_to_async
def cookie_for(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


@database_sync_to_async
def reload(session) -> CobrowseSession:
    return CobrowseSession.objects.select_related("agent").get(pk=session.pk)


async def customer_socket(token: str, origin: str = ORIGIN) -> WebsocketCommunicator:
    return WebsocketCommunicator(
        application, f"/ws/customer/?token={token}", headers=[(b"origin", origin.encode())]
    )


async def agent_socket(user, code: str, origin: str = WORKSPACE_ORIGIN) -> WebsocketCommunicator:
    headers = [(b"origin", origin.encode()), (b"host", b"localhost")]
    if user is not None:
        headers.append((b"cookie", f"sessionid={await cookie_for(user)}".encode()))
    return WebsocketCommunicator(application, f"/ws/agent/{code}/", headers=headers)


async def connected_pair(site, agent):
    """A customer waiting, then an agent joined, with the join handshake frames consumed.

    Generous timeouts: each step is a database write in a thread, slow on a loaded machine."""
    session, token = await new_session(site)
    customer = await customer_socket(token)
    ok, _ = await customer.connect(timeout=5)
    assert ok
    state = await customer.receive_json_from(timeout=5)
    assert state["type"] == "state" and state["agent"] is None
    agent_ws = await agent_socket(agent, session.code)
    ok, _ = await agent_ws.connect(timeout=5)
    assert ok
    state = await agent_ws.receive_json_from(timeout=5)
    assert state["type"] == "state" and state["session"]["status"] == "active"
    assert (await customer.receive_json_from(timeout=5))["type"] == "snapshot.request"
    joined = await customer.receive_json_from(timeout=5)
    assert joined == {"type": "agent.joined", "agent": "Alice Agent"}
    return session, token, customer, agent_ws


async def refused(comm: WebsocketCommunicator) -> tuple[dict, int]:
    ok, _ = await comm.connect()
    assert ok, "refusals are accepted first so that the browser can read the reason"
    frame = await comm.receive_json_from()
    closed = await comm.receive_output()
    assert closed["type"] == "websocket.close"
    return frame, closed["code"]


async def test_the_customers_page_reaches_the_agent_only_after_the_agent_joins(
    site, agent, channel_layer_kind
):
    session, token = await new_session(site)
    customer = await customer_socket(token)
    await customer.connect()
    await customer.receive_json_from()
    # Before an agent joins, nothing is relayed (the widget does not record either).
    await customer.send_json_to(snapshot_frame(1))
    agent_ws = await agent_socket(agent, session.code)
    await agent_ws.connect()
    assert (await agent_ws.receive_json_from())["type"] == "state"
    assert await agent_ws.receive_nothing(timeout=0.2)
    assert (await customer.receive_json_from())["type"] == "snapshot.request"
    await customer.receive_json_from()  # agent.joined
    await customer.send_json_to(snapshot_frame(2))
    relayed = await agent_ws.receive_json_from()
    assert relayed == snapshot_frame(2)
    await customer.send_json_to(change_frame(3))
    assert await agent_ws.receive_json_from() == change_frame(3)
    await customer.disconnect()
    await agent_ws.disconnect()


async def test_the_agents_pointer_and_clicks_reach_the_customer(site, agent, channel_layer_kind):
    _, _, customer, agent_ws = await connected_pair(site, agent)
    await agent_ws.send_json_to({"type": "pointer", "x": 10.44, "y": 20})
    assert await customer.receive_json_from() == {"type": "agent.pointer", "x": 10.4, "y": 20.0}
    await agent_ws.send_json_to({"type": "click", "x": 5, "y": 6})
    assert await customer.receive_json_from() == {"type": "agent.click", "x": 5.0, "y": 6.0}
    await customer.disconnect()
    await agent_ws.disconnect()


async def test_an_unknown_code_gets_a_clear_error(site, agent):
    frame, code = await refused(await agent_socket(agent, "123456780"))
    assert frame["code"] == "session_not_found"
    assert "No live co-browse session" in frame["message"]
    assert code == 4404


async def test_an_anonymous_user_cannot_join(site):
    session, _ = await new_session(site)
    frame, code = await refused(await agent_socket(None, session.code))
    assert frame["code"] == "not_authenticated" and code == 4401


async def test_a_user_outside_the_agents_group_cannot_join(site, supervisor):
    session, _ = await new_session(site)
    frame, code = await refused(await agent_socket(supervisor, session.code))
    assert frame["code"] == "not_an_agent" and code == 4403


async def test_a_second_agent_is_refused_and_the_first_keeps_the_session(site, agent, second_agent):
    session, _, customer, agent_ws = await connected_pair(site, agent)
    frame, code = await refused(await agent_socket(second_agent, session.code))
    assert frame["code"] == "session_taken" and code == 4409
    await customer.send_json_to(snapshot_frame(1))
    assert (await agent_ws.receive_json_from())["seq"] == 1
    await customer.disconnect()
    await agent_ws.disconnect()


async def test_an_agent_with_a_live_session_is_refused_another_with_its_id(site, agent):
    first, _, customer, agent_ws = await connected_pair(site, agent)
    other, _ = await new_session(site)
    frame, code = await refused(await agent_socket(agent, other.code))
    assert frame["code"] == "agent_busy" and code == 4409
    assert first.code_display in frame["message"]
    await customer.disconnect()
    await agent_ws.disconnect()


async def test_the_customers_exit_ends_the_session_for_both(site, agent, channel_layer_kind):
    session, _, customer, agent_ws = await connected_pair(site, agent)
    await customer.send_json_to({"type": "exit"})
    for ws in (customer, agent_ws):
        frame = await ws.receive_json_from()
        assert frame["type"] == "ended" and frame["reason"] == "customer_exit"
        assert (await ws.receive_output())["code"] == 4000
    assert (await reload(session)).status == "ended"


async def test_the_agents_exit_ends_the_session_for_both(site, agent):
    session, _, customer, agent_ws = await connected_pair(site, agent)
    await agent_ws.send_json_to({"type": "exit"})
    for ws in (agent_ws, customer):
        frame = await ws.receive_json_from()
        assert frame == {
            "type": "ended",
            "reason": "agent_exit",
            "message": "The agent ended co-browsing.",
        }
    ended = await reload(session)
    assert ended.status == "ended" and ended.end_reason == "agent_exit"


async def test_a_gap_in_sequence_numbers_asks_for_a_fresh_snapshot(site, agent, channel_layer_kind):
    _, _, customer, agent_ws = await connected_pair(site, agent)
    await customer.send_json_to(snapshot_frame(1))
    await agent_ws.receive_json_from()
    await customer.send_json_to(change_frame(3))  # frame 2 was lost
    assert await customer.receive_json_from() == {"type": "snapshot.request", "reason": "gap"}
    await customer.send_json_to(change_frame(4))  # still no snapshot: held back
    assert await agent_ws.receive_nothing(timeout=0.2)
    await customer.send_json_to(snapshot_frame(5, content="Fresh"))
    assert await agent_ws.receive_json_from() == snapshot_frame(5, content="Fresh")
    await customer.disconnect()
    await agent_ws.disconnect()


async def test_changes_before_the_first_snapshot_are_held_back(site, agent):
    _, _, customer, agent_ws = await connected_pair(site, agent)
    await customer.send_json_to(change_frame(1))
    assert await agent_ws.receive_nothing(timeout=0.2)
    await customer.disconnect()
    await agent_ws.disconnect()


async def test_a_snapshot_larger_than_a_websocket_message_arrives_in_chunks(site, agent):
    _, _, customer, agent_ws = await connected_pair(site, agent)
    # Random text, so that deflated it is still over 1 MB: the agent gets text chunks.
    big = snapshot_frame(1, content=base64.b64encode(os.urandom(1_200_000)).decode())
    text = json.dumps(big)
    size = 400_000
    parts = [text[i : i + size] for i in range(0, len(text), size)]
    for i, part in enumerate(parts):
        await customer.send_json_to(
            {"type": "chunk", "seq": 1, "part": i, "last": i == len(parts) - 1, "data": part}
        )
    # The agent's side is under the same 1 MiB limit: the server chunks it again.
    pieces = []
    while True:
        frame = await agent_ws.receive_from(timeout=5)
        assert len(frame.encode()) <= 1_000_000
        chunk = json.loads(frame)
        assert chunk["type"] == "chunk" and chunk["part"] == len(pieces)
        pieces.append(chunk["data"])
        if chunk["last"]:
            break
    assert json.loads("".join(pieces)) == big
    await customer.disconnect()
    await agent_ws.disconnect()


async def test_chunks_out_of_order_are_refused_and_a_snapshot_requested(site, agent):
    _, _, customer, agent_ws = await connected_pair(site, agent)
    await customer.send_json_to({"type": "chunk", "seq": 1, "part": 1, "last": True, "data": "{}"})
    assert (await customer.receive_json_from())["code"] == "bad_chunk"
    assert (await customer.receive_json_from())["type"] == "snapshot.request"
    await customer.disconnect()
    await agent_ws.disconnect()


async def test_bad_frames_get_clear_errors_and_the_session_keeps_working(site, agent):
    _, _, customer, agent_ws = await connected_pair(site, agent)
    for bad, code in [
        ("not json", "bad_json"),
        ("[1, 2]", "bad_frame"),
        ('{"type": "launch-missiles"}', "unknown_type"),
        ('{"type": "events", "seq": "one", "events": []}', "bad_frame"),
    ]:
        await customer.send_to(text_data=bad)
        assert (await customer.receive_json_from())["code"] == code
    await agent_ws.send_to(text_data='{"type": "pointer", "x": "left"}')
    assert (await agent_ws.receive_json_from())["code"] == "bad_frame"
    await agent_ws.send_to(text_data="x" * 20000)
    assert (await agent_ws.receive_json_from())["code"] == "too_large"
    await customer.send_json_to(snapshot_frame(1))
    assert (await agent_ws.receive_json_from())["seq"] == 1
    await customer.disconnect()
    await agent_ws.disconnect()


async def test_the_agent_cannot_type_or_navigate_in_pointer_mode(site, agent):
    _, _, customer, agent_ws = await connected_pair(site, agent)
    for kind in ("input", "navigate"):
        await agent_ws.send_json_to({"type": kind, "id": 5, "value": "x"})
        frame = await agent_ws.receive_json_from()
        assert frame["code"] == "wrong_mode"
    assert await customer.receive_nothing(timeout=0.2)
    await customer.disconnect()
    await agent_ws.disconnect()


async def test_a_customer_token_from_a_foreign_origin_is_refused(site, agent):
    _, token = await new_session(site)
    comm = await customer_socket(token, origin="https://evil.example.net")
    ok, _ = await comm.connect()
    assert not ok  # no site allows this origin: the handshake itself is denied


async def test_an_unknown_customer_token_gets_a_clear_error(site):
    frame, code = await refused(await customer_socket("not-a-token"))
    assert frame["code"] == "session_not_found" and code == 4404


async def test_the_customer_leaving_pauses_and_a_new_page_resumes_with_a_snapshot(
    site, agent, channel_layer_kind
):
    session, token, customer, agent_ws = await connected_pair(site, agent)
    await customer.disconnect()
    frame = await agent_ws.receive_json_from()
    assert frame["type"] == "customer.left"
    assert frame["message"] == "Paused: the customer left the site."
    assert (await reload(session)).status == "paused"
    # The customer opens another page of the site: the widget reconnects with its token.
    page2 = await customer_socket(token)
    await page2.connect()
    state = await page2.receive_json_from()
    assert state["agent"] == "Alice Agent" and state["status"] == "active"
    assert (await page2.receive_json_from())["type"] == "snapshot.request"
    assert (await agent_ws.receive_json_from())["type"] == "customer.connected"
    await page2.send_json_to(snapshot_frame(1, href=ORIGIN + "/products/"))
    assert (await agent_ws.receive_json_from())["events"][0]["data"]["href"].endswith("/products/")
    reloaded = await reload(session)
    assert reloaded.status == "active"
    assert reloaded.current_url == ORIGIN + "/products/"
    assert (reloaded.viewport_width, reloaded.viewport_height) == (1280, 720)
    await page2.disconnect()
    await agent_ws.disconnect()


async def test_a_pause_past_the_timeout_ends_the_session_for_the_agent(site, agent, settings):
    settings.COBROWSE_PAUSE_TIMEOUT = 1
    session, _, customer, agent_ws = await connected_pair(site, agent)
    await customer.disconnect()
    assert (await agent_ws.receive_json_from())["type"] == "customer.left"
    frame = await agent_ws.receive_json_from(timeout=4)
    assert frame["type"] == "ended" and frame["reason"] == "pause_timeout"
    assert (await reload(session)).end_reason == "pause_timeout"


async def test_a_newer_page_of_the_same_customer_takes_over_from_an_older_one(site, agent):
    _, token, customer, agent_ws = await connected_pair(site, agent)
    newer = await customer_socket(token)
    await newer.connect()
    await newer.receive_json_from()  # state
    frame = await customer.receive_json_from()
    assert frame["code"] == "superseded"
    assert (await customer.receive_output())["code"] == 4001
    await newer.disconnect()
    await agent_ws.disconnect()


@pytest.mark.parametrize("layer", ["pubsub", "core"])
async def test_an_idle_socket_outlives_the_redis_read_timeout(
    site, agent, redis_url, settings, layer
):
    # The Redis layer exactly as cobrowse/settings.py configures it from REDIS_URL. Without its
    # socket_timeout=None, the core layer's socket died here (redis-py 8); pubsub's survived.
    configured = evaluate_settings(REDIS_URL=redis_url, REDIS_LAYER=layer)["CHANNEL_LAYERS"]
    assert configured["default"]["BACKEND"].startswith(f"channels_redis.{layer}.")
    settings.CHANNEL_LAYERS = configured
    _, _, customer, agent_ws = await connected_pair(site, agent)
    await asyncio.sleep(6)  # redis-py 8's default socket timeout is 5 s
    await customer.send_json_to(snapshot_frame(1))
    assert (await agent_ws.receive_json_from(timeout=3))["seq"] == 1
    await customer.disconnect()
    await agent_ws.disconnect()


async def test_a_waiting_customer_is_told_when_no_agent_joined_in_time(site, settings):
    settings.COBROWSE_WAITING_TIMEOUT = 1
    session, token = await new_session(site)
    customer = await customer_socket(token)
    await customer.connect()
    await customer.receive_json_from()  # state
    frame = await customer.receive_json_from(timeout=5)
    assert frame["type"] == "ended" and frame["reason"] == "expired"
    assert (await reload(session)).end_reason == "expired"


async def next_of_type(ws: WebsocketCommunicator, kind: str, timeout: float = 5) -> dict:  # noqa: ASYNC109 (per frame, as Channels' receive_json_from)
    while True:
        frame = await ws.receive_json_from(timeout=timeout)
        if frame["type"] == kind:
            return frame


async def test_an_agent_who_does_not_come_back_in_time_ends_the_session(
    site, agent, settings, channel_layer_kind
):
    settings.COBROWSE_AGENT_GRACE = 1
    session, _, customer, agent_ws = await connected_pair(site, agent)
    await agent_ws.disconnect()
    told = await next_of_type(customer, "agent.disconnected")
    assert told["grace"] == 1
    ended = await next_of_type(customer, "ended", timeout=6)
    assert ended["reason"] == "agent_lost"
    assert "did not come back" in ended["message"]
    assert (await reload(session)).end_reason == "agent_lost"


async def test_an_agent_who_comes_back_within_the_grace_period_keeps_the_session(
    site, agent, settings
):
    settings.COBROWSE_AGENT_GRACE = 1
    session, _, customer, agent_ws = await connected_pair(site, agent)
    await agent_ws.disconnect()
    await next_of_type(customer, "agent.disconnected")
    again = await agent_socket(agent, session.code)
    assert (await again.connect())[0]
    await next_of_type(customer, "agent.joined")
    await asyncio.sleep(3.5)  # well past the grace period and the presence probe
    assert (await reload(session)).status == CobrowseSession.Status.ACTIVE
    await customer.send_json_to(snapshot_frame(1))
    assert (await next_of_type(again, "events"))["seq"] == 1
    await customer.disconnect()
    await again.disconnect()


async def test_the_agents_other_tab_keeps_the_session_live_when_one_tab_closes(
    site, agent, settings
):
    settings.COBROWSE_AGENT_GRACE = 1
    session, _, customer, agent_ws = await connected_pair(site, agent)
    second_tab = await agent_socket(agent, session.code)
    assert (await second_tab.connect())[0]
    await next_of_type(customer, "agent.joined")
    await agent_ws.disconnect()
    # The customer is not told the agent dropped (its widget would stop sharing the page) ...
    assert await customer.receive_nothing(timeout=3.5)
    assert (await reload(session)).status == CobrowseSession.Status.ACTIVE
    # ... and the page still reaches the tab that stayed open.
    await customer.send_json_to(snapshot_frame(1))
    assert (await next_of_type(second_tab, "events"))["seq"] == 1
    await customer.disconnect()
    await second_tab.disconnect()


async def test_a_new_page_finds_out_that_the_agent_is_gone_and_starts_the_grace_period(
    site, agent, settings
):
    settings.COBROWSE_AGENT_GRACE = 1
    session, token, customer, agent_ws = await connected_pair(site, agent)
    await agent_ws.disconnect()
    await next_of_type(customer, "agent.disconnected")
    await customer.disconnect()  # the customer changes pages while the agent is away
    new_page = await customer_socket(token)
    assert (await new_page.connect())[0]
    assert (await next_of_type(new_page, "agent.disconnected"))["grace"] == 1
    assert (await next_of_type(new_page, "ended", timeout=8))["reason"] == "agent_lost"
    assert (await reload(session)).end_reason == "agent_lost"


async def test_pings_are_answered_with_the_servers_clock_and_the_customers_reach_the_agent(
    site, agent, channel_layer_kind
):
    _, _, customer, agent_ws = await connected_pair(site, agent)
    before = time.time() * 1000
    await customer.send_json_to({"type": "ping", "t": 123, "offset": -3600000.4, "rtt": 12})
    pong = await next_of_type(customer, "pong")
    assert pong["t"] == 123 and before - 1 <= pong["server"] <= time.time() * 1000 + 1
    beat = await next_of_type(agent_ws, "customer.beat")
    assert beat == {
        "type": "customer.beat",
        "t": 123,
        "offset": -3600000,
        "rtt": 12,
        "hidden": False,
    }
    # What is not a plausible number goes as unknown, never as text or NaN.
    await customer.send_json_to(
        {"type": "ping", "t": "soon", "offset": "1e400", "rtt": -5, "hidden": "yes"}
    )
    assert (await next_of_type(customer, "pong"))["t"] is None
    beat = await next_of_type(agent_ws, "customer.beat")
    assert beat == {
        "type": "customer.beat",
        "t": None,
        "offset": None,
        "rtt": None,
        "hidden": False,
    }
    await agent_ws.send_json_to({"type": "ping", "t": 7})
    assert (await next_of_type(agent_ws, "pong"))["t"] == 7
    await customer.disconnect()
    await agent_ws.disconnect()


async def test_strokes_and_spotlights_reach_the_customer_in_pointer_mode_and_bad_ones_do_not(
    site, agent, channel_layer_kind
):
    _, _, customer, agent_ws = await connected_pair(site, agent)
    await agent_ws.send_json_to({"type": "annotate", "points": [[1.04, 2], [30, 40.55]]})
    stroke = await next_of_type(customer, "agent.annotate")
    assert stroke == {"type": "agent.annotate", "points": [[1.0, 2.0], [30.0, 40.5]]}
    for points in ([[1, 2]], [[1, "2"], [3, 4]], [[1, 2, 3], [4, 5]], [[0, 0]] * 401, "1,2 3,4"):
        await agent_ws.send_json_to({"type": "annotate", "points": points})
        assert (await next_of_type(agent_ws, "error"))["code"] == "bad_frame"
    await agent_ws.send_json_to({"type": "annotate.clear"})
    assert (await next_of_type(customer, "agent.annotate.clear")) == {
        "type": "agent.annotate.clear"
    }
    # A spotlight before the guard has said what is masked is refused: fail closed.
    await agent_ws.send_json_to({"type": "spotlight", "id": 12})
    assert (await next_of_type(agent_ws, "error"))["code"] == "not_ready"
    await customer.disconnect()
    await agent_ws.disconnect()
